package promo

import (
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/tasks"
)

// The row set back to Черновик mid-way: the scan cancels the broadcast,
// the remaining sends only count themselves skipped, the counters reach the
// row (which stays Черновик), and scheduling it again is refused.
func TestCancelStopsTheSends(t *testing.T) {
	const n, before = 10, 4
	u := started(t, Options{}, n)
	sends := u.queue.ofType(tasks.TypePromoSend)
	for _, x := range sends[:before] {
		if err := u.run(x.Task); err != nil {
			t.Fatal(err)
		}
		u.queue.setState(x, asynq.TaskStateCompleted)
	}
	u.store.setStatus("P1", domain.PromotionDraft)
	u.scan()
	u.scan() // a second scan: one note, one cancel
	notes := u.sender.to(testGroup)
	if len(notes) != 1 || !strings.Contains(notes[0].Text, "остановлена") || !strings.Contains(notes[0].Text, "Доставлено 4") {
		t.Fatalf("operators' notes %+v", notes)
	}
	u.drain(1)
	if got := len(u.direct.all()); got != before {
		t.Errorf("%d sends, want the %d before the cancel", got, before)
	}
	if u.lim.waits != before {
		t.Errorf("%d limiter slots taken, want %d (a skipped send takes none)", u.lim.waits, before)
	}
	row := u.store.row("P1")
	if row.Status != domain.PromotionDraft || row.Sent != before || !row.FinishedAt.IsZero() {
		t.Errorf("row %s sent %d finished %s, want Черновик %d without finished_at", row.Status, row.Sent, row.FinishedAt, before)
	}
	for _, up := range u.store.allUpdates() {
		if up.P.ID == "P1" && up.has(domain.PromotionFieldStatus) && up.P.Status != domain.PromotionSending {
			t.Errorf("a cancelled broadcast wrote the status %q", up.P.Status)
		}
	}
	st := u.state("P1")
	if st.Skipped != n-before || !st.Cancelled || st.Phase != phaseDone {
		t.Errorf("state skipped %d cancelled %v phase %s, want %d true done", st.Skipped, st.Cancelled, st.Phase, n-before)
	}
	if got := u.counter("marketingbot_promo_broadcasts_total", "cancelled"); got != 1 {
		t.Errorf("broadcasts_total{cancelled} = %v", got)
	}

	u.store.setStatus("P1", domain.PromotionScheduled)
	u.scan()
	if got := u.store.row("P1").Status; got != domain.PromotionFailed {
		t.Errorf("scheduled again: status %q, want Ошибка", got)
	}
	if notes := u.sender.to(testGroup); len(notes) != 2 || !strings.Contains(notes[1].Text, "уже проводилась") {
		t.Errorf("operators' notes %+v", notes)
	}
	u.drain(1)
	if got := len(u.direct.all()); got != before {
		t.Errorf("%d sends after the refusal, want %d", got, before)
	}
}

// Set back to Черновик before the broadcast task ran: nothing is sent, and
// the promotion can be scheduled again.
func TestCancelBeforeStart(t *testing.T) {
	u := newUnit(t, Options{}, []domain.Promotion{promotion("P1", domain.PromotionScheduled, time.Time{})}, partners(3))
	u.scan()
	u.store.setStatus("P1", domain.PromotionDraft)
	u.drain(1)
	if got := len(u.direct.all()); got != 0 {
		t.Fatalf("%d sends of a promotion cancelled before it started", got)
	}
	if st := u.state("P1"); st.Phase != phaseAborted {
		t.Errorf("phase %q, want aborted", st.Phase)
	}
	u.store.setStatus("P1", domain.PromotionScheduled)
	u.scan()
	u.drain(1)
	if row := u.store.row("P1"); row.Status != domain.PromotionSent || row.Sent != 3 {
		t.Errorf("row %s sent %d, want Отправлено 3", row.Status, row.Sent)
	}
}
