package promo

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/tasks"
	"marketingbot/pkg/telegram"
)

// A due promotion reaches every recipient once through the unlimited
// sender; the row ends Отправлено with the counters and finished_at, the
// group gets the note, and running every task again changes nothing.
func TestBroadcastReachesEveryoneOnce(t *testing.T) {
	const n = 10
	u := newUnit(t, Options{}, []domain.Promotion{promotion("P1", domain.PromotionScheduled, time.Time{})}, partners(n))
	u.scan()
	if got := u.store.row("P1").Status; got != domain.PromotionSending {
		t.Fatalf("status after the scan %q, want Отправляется", got)
	}
	u.drain(1)
	for i := range n {
		if got := len(u.direct.to(firstUser + int64(i))); got != 1 {
			t.Errorf("recipient %d got %d messages", i, got)
		}
	}
	row := u.store.row("P1")
	if row.Status != domain.PromotionSent || row.Sent != n || row.Failed != 0 || row.Blocked != 0 || !row.FinishedAt.Equal(u.clock()) {
		t.Errorf("row %+v, want Отправлено %d/0/0 finished now", row, n)
	}
	notes := u.sender.to(testGroup)
	if len(notes) != 1 || !strings.Contains(notes[0].Text, "завершена: доставлено 10") {
		t.Errorf("operators' notes %+v", notes)
	}
	if got := u.counter("marketingbot_promo_broadcasts_total", "finished"); got != 1 {
		t.Errorf("broadcasts_total{finished} = %v", got)
	}

	// asynq is at least once: every task again, and another scan.
	for _, x := range u.queue.ofType(tasks.TypePromoBroadcast) {
		if err := u.run(x.Task); err != nil {
			t.Fatal(err)
		}
	}
	for _, x := range u.queue.ofType(tasks.TypePromoSend) {
		if err := u.run(x.Task); err != nil {
			t.Fatal(err)
		}
	}
	u.scan()
	if got := len(u.direct.all()); got != n {
		t.Errorf("%d sends after the re-runs, want %d", got, n)
	}
	if got := len(u.queue.ofType(tasks.TypePromoSend)); got != n {
		t.Errorf("%d send tasks, want %d", got, n)
	}
	if got := u.counter("marketingbot_promo_sends_total", "sent"); got != n {
		t.Errorf("sends_total{sent} = %v, want %d", got, n)
	}
}

// The fan-out paces the sends at the configured rate by asynq.ProcessAt.
func TestFanOutPacing(t *testing.T) {
	u := newUnit(t, Options{SendRate: 10}, []domain.Promotion{promotion("P1", domain.PromotionScheduled, time.Time{})}, partners(5))
	u.scan()
	x := u.queue.next()
	if err := u.run(x.Task); err != nil {
		t.Fatal(err)
	}
	sends := u.queue.ofType(tasks.TypePromoSend)
	if len(sends) != 5 {
		t.Fatalf("%d send tasks, want 5", len(sends))
	}
	// The tasks are enqueued concurrently: order them by recipient.
	at := make([]time.Time, len(sends))
	for _, s := range sends {
		p, err := tasks.ParsePromoSend(s.Task)
		if err != nil {
			t.Fatal(err)
		}
		at[p.TelegramID-firstUser] = s.At
	}
	for i := range at {
		if got, want := at[i].Sub(at[0]), time.Duration(i)*100*time.Millisecond; got != want {
			t.Errorf("send %d at +%s, want +%s", i, got, want)
		}
	}
}

// A fan-out that failed part-way is resumed by the retried broadcast task:
// it enqueues what is missing, and never a send of a processed recipient.
func TestFanOutResumes(t *testing.T) {
	const n = 450 // three batches
	u := newUnit(t, Options{}, []domain.Promotion{promotion("P1", domain.PromotionScheduled, time.Time{})}, partners(n))
	u.scan()
	broadcast := u.queue.next().Task
	failed := false
	u.queue.EnqueueErr = func(t2 *asynq.Task) error {
		if p, _ := tasks.ParsePromoSend(t2); p.TelegramID == firstUser+300 && !failed {
			failed = true
			return errTest
		}
		return nil
	}
	if err := u.run(broadcast); err == nil {
		t.Fatal("the fan-out did not report the failed enqueue")
	}
	if st := u.state("P1"); st.Enqueued != 200 {
		t.Errorf("cursor %d after a failure in the second batch, want 200", st.Enqueued)
	}
	// One recipient of the unfinished batch was processed meanwhile.
	done := firstUser + 250
	if _, err := u.svc.mark(u.ctx(), "P1", done, outcomeSent); err != nil {
		t.Fatal(err)
	}
	if err := u.queue.DeleteTask("", tasks.PromoSendTaskID("P1", done)); err != nil {
		t.Fatal(err)
	}
	if err := u.run(broadcast); err != nil {
		t.Fatal(err)
	}
	if got := len(u.queue.ofType(tasks.TypePromoSend)); got != n-1 {
		t.Errorf("%d send tasks, want %d (all but the processed one)", got, n-1)
	}
	if _, err := u.queue.GetTaskInfo("", tasks.PromoSendTaskID("P1", done)); err == nil {
		t.Error("a send of a processed recipient was enqueued again")
	}
	if st := u.state("P1"); st.Enqueued != n {
		t.Errorf("cursor %d, want %d", st.Enqueued, n)
	}
}

// Each recipient's outcome is counted once: delivered, blocked (Auth G and
// the projection updated), failed for chat not found and other 400s.
func TestOutcomeCounting(t *testing.T) {
	ps := partners(8)
	u := newUnit(t, Options{}, []domain.Promotion{promotion("P1", domain.PromotionScheduled, time.Time{})}, ps)
	outcome := map[int64]error{
		firstUser + 1: telegram.ErrBlocked,
		firstUser + 4: telegram.ErrBlocked,
		firstUser + 2: telegram.ErrChatNotFound,
		firstUser + 6: apiError(400, "Bad Request: wrong something"),
	}
	u.direct.Fail = func(s sent) error { return outcome[s.ChatID] }
	u.scan()
	u.drain(1)
	row := u.store.row("P1")
	if row.Sent != 4 || row.Failed != 2 || row.Blocked != 2 || row.Status != domain.PromotionSent {
		t.Errorf("row %s %d/%d/%d, want Отправлено 4/2/2", row.Status, row.Sent, row.Failed, row.Blocked)
	}
	for uid, err := range outcome {
		if got := u.direct.attempts(uid); got != 1 {
			t.Errorf("%d (%v): %d attempts, want 1", uid, err, got)
		}
	}
	for _, uid := range []int64{firstUser + 1, firstUser + 4} {
		if _, ok := u.store.blocked[uid]; !ok {
			t.Errorf("%d not marked blocked in Auth G", uid)
		}
	}
	if len(u.store.blocked) != 2 || len(u.proj.removed) != 2 {
		t.Errorf("Auth G writes %v, projection removals %v; want the two who blocked", u.store.blocked, u.proj.removed)
	}
	for outcome, want := range map[string]float64{"sent": 4, "failed": 2, "blocked": 2, "skipped": 0} {
		if got := u.counter("marketingbot_promo_sends_total", outcome); got != want {
			t.Errorf("sends_total{%s} = %v, want %v", outcome, got, want)
		}
	}
	notes := u.sender.to(testGroup)
	if len(notes) != 1 || !strings.Contains(notes[0].Text, "доставлено 4, заблокировали бота 2, ошибок 2") {
		t.Errorf("operators' notes %+v", notes)
	}
}

// The counters are written every ProgressEvery processed recipients, and
// once more with the end.
func TestProgressCadence(t *testing.T) {
	tests := []struct {
		every, n int
		want     []int // the sent counter of each write, the last one final
	}{
		{every: 3, n: 10, want: []int{3, 6, 9, 10}},
		{every: 5, n: 10, want: []int{5, 10}},
		{every: 50, n: 10, want: []int{10}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("every %d", tc.every), func(t *testing.T) {
			u := newUnit(t, Options{ProgressEvery: tc.every}, []domain.Promotion{promotion("P1", domain.PromotionScheduled, time.Time{})}, partners(tc.n))
			u.scan()
			u.drain(1)
			var got []int
			for _, up := range u.store.allUpdates() {
				if up.has(domain.PromotionFieldCounters) {
					got = append(got, up.P.Sent)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("counter writes %v, want %v", got, tc.want)
			}
			last := u.store.allUpdates()
			if end := last[len(last)-1]; !end.has(domain.PromotionFieldStatus) || !end.has(domain.PromotionFieldFinishedAt) || end.P.Status != domain.PromotionSent {
				t.Errorf("last write %+v, want Отправлено with finished_at", end)
			}
		})
	}
}

// A promotion that cannot be sent becomes Ошибка with the reason in the
// operators' group; once fixed it can be scheduled again. (A long text can
// be sent: it goes in several messages, see TestLongPromotionInParts.)
func TestContentRefused(t *testing.T) {
	empty := promotion("EMPTY", domain.PromotionScheduled, time.Time{})
	empty.Text = ""
	tagsOnly := promotion("TAGS", domain.PromotionScheduled, time.Time{})
	tagsOnly.Row, tagsOnly.Text = 3, "<b> </b>"
	u := newUnit(t, Options{}, []domain.Promotion{empty, tagsOnly}, partners(3))
	u.scan()
	u.drain(1)
	for id, reason := range map[string]string{"EMPTY": "нет ни текста, ни картинки", "TAGS": "нет ни текста, ни картинки"} {
		if got := u.store.row(id).Status; got != domain.PromotionFailed {
			t.Errorf("%s: status %q, want Ошибка", id, got)
		}
		found := false
		for _, m := range u.sender.to(testGroup) {
			found = found || (strings.Contains(m.Text, "("+id+") не запущена") && strings.Contains(m.Text, reason))
		}
		if !found {
			t.Errorf("%s: no note with the reason %q in %+v", id, reason, u.sender.to(testGroup))
		}
	}
	if got := len(u.direct.all()); got != 0 {
		t.Fatalf("%d sends of promotions that cannot be sent", got)
	}

	// Fixed and scheduled again: the aborted broadcast starts afresh.
	u.store.mu.Lock()
	u.store.promos[0].Text, u.store.promos[0].Status = "Исправленная акция", domain.PromotionScheduled
	u.store.mu.Unlock()
	u.scan()
	u.drain(1)
	if got := u.store.row("EMPTY").Status; got != domain.PromotionSent {
		t.Errorf("fixed promotion: status %q, want Отправлено", got)
	}
	for i := range 3 {
		if got := u.direct.to(firstUser + int64(i)); len(got) != 1 || got[0].Text != "Исправленная акция" {
			t.Errorf("recipient %d got %+v", i, got)
		}
	}
}
