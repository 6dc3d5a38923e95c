package promo

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/tasks"
)

// broadcasts lists the promotion ids of the broadcast tasks, sorted.
func (u *unit) broadcasts() []string {
	u.t.Helper()
	var ids []string
	for _, x := range u.queue.ofType(tasks.TypePromoBroadcast) {
		p, err := tasks.ParsePromoBroadcast(x.Task)
		if err != nil {
			u.t.Fatal(err)
		}
		ids = append(ids, p.PromotionID)
	}
	slices.Sort(ids)
	return ids
}

// The scan starts what is Запланировано and due (starts_at reached, or
// none), and nothing else; time passing makes a later row due.
func TestScannerStartsWhatIsDue(t *testing.T) {
	base := time.Date(2025, 6, 2, 10, 0, 0, 0, time.UTC)
	rows := []domain.Promotion{
		promotion("DUE", domain.PromotionScheduled, base.Add(-5*time.Minute)),
		promotion("NOW", domain.PromotionScheduled, base), // starts_at reached to the second
		promotion("NODATE", domain.PromotionScheduled, time.Time{}),
		promotion("LATER", domain.PromotionScheduled, base.Add(time.Hour)),
		promotion("DRAFT", domain.PromotionDraft, base.Add(-time.Hour)),
		promotion("ERR", domain.PromotionFailed, base.Add(-time.Hour)),
		promotion("SENT", domain.PromotionSent, base.Add(-time.Hour)),
	}
	u := newUnit(t, Options{}, rows, partners(2))
	u.setClock(base)
	u.scan()
	want := map[string]domain.PromotionStatus{
		"DUE": domain.PromotionSending, "NOW": domain.PromotionSending, "NODATE": domain.PromotionSending,
		"LATER": domain.PromotionScheduled, "DRAFT": domain.PromotionDraft, "ERR": domain.PromotionFailed, "SENT": domain.PromotionSent,
	}
	for id, st := range want {
		if got := u.store.row(id).Status; got != st {
			t.Errorf("%s: status %q, want %q", id, got, st)
		}
	}
	if got := u.broadcasts(); !slices.Equal(got, []string{"DUE", "NODATE", "NOW"}) {
		t.Errorf("broadcasts %v, want DUE NODATE NOW", got)
	}
	u.scan() // nothing is started twice
	if got := u.broadcasts(); len(got) != 3 {
		t.Errorf("broadcasts after a second scan %v", got)
	}
	u.setClock(base.Add(2 * time.Hour))
	u.scan()
	if got := u.broadcasts(); !slices.Equal(got, []string{"DUE", "LATER", "NODATE", "NOW"}) {
		t.Errorf("broadcasts after two hours %v", got)
	}
	if got := len(u.sender.all()); got != 0 {
		t.Errorf("%d messages from scans that only start broadcasts", got)
	}
}

// Two pollers scanning at once start each due promotion once.
func TestScannerTwoPollers(t *testing.T) {
	u := newUnit(t, Options{}, []domain.Promotion{
		promotion("A", domain.PromotionScheduled, time.Time{}), promotion("B", domain.PromotionScheduled, time.Time{}),
	}, partners(2))
	d := u.svc.d // the same Redis, sheet and bus
	d.Registry = nil
	second := New(d, u.svc.o)
	var wg sync.WaitGroup
	for _, s := range []*Service{u.svc, second} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Scanner().Scan(u.ctx()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := u.broadcasts(); !slices.Equal(got, []string{"A", "B"}) {
		t.Errorf("broadcasts %v, want A and B once each", got)
	}
}

// A promotion already broadcast under its id is never sent again: set back
// to Запланировано, the row becomes Ошибка and the group is told, once.
func TestScannerRefusesARepeat(t *testing.T) {
	u := started(t, Options{}, 2)
	u.drain(1)
	u.store.setStatus("P1", domain.PromotionScheduled)
	u.scan()
	u.scan()
	if got := u.store.row("P1").Status; got != domain.PromotionFailed {
		t.Errorf("status %q, want Ошибка", got)
	}
	var repeats int
	for _, m := range u.sender.to(testGroup) {
		if strings.Contains(m.Text, "уже проводилась") {
			repeats++
		}
	}
	if repeats != 1 {
		t.Errorf("%d repeat notes, want 1", repeats)
	}
	u.drain(1)
	if got := len(u.direct.all()); got != 2 {
		t.Errorf("%d sends, want the 2 of the first broadcast", got)
	}
}

// Отправляется rows keep moving: a broadcast whose task was lost is
// enqueued again; a row nobody of ours started is left alone.
func TestScannerChecksSending(t *testing.T) {
	u := newUnit(t, Options{}, []domain.Promotion{
		promotion("LOST", domain.PromotionScheduled, time.Time{}),
		promotion("FOREIGN", domain.PromotionSending, time.Time{}),
	}, partners(2))
	u.scan()
	if err := u.queue.DeleteTask("", broadcastTaskID("LOST")); err != nil {
		t.Fatal(err)
	}
	u.scan()
	if got := u.broadcasts(); !slices.Equal(got, []string{"LOST"}) {
		t.Errorf("broadcasts %v, want LOST enqueued again and nothing for FOREIGN", got)
	}
	if st := u.state("FOREIGN"); st.Phase != "" {
		t.Errorf("FOREIGN got a broadcast state %+v", st)
	}
}

// The Mini App lists what is sending or sent, started within 30 days,
// newest first, expiring after ten scan intervals.
func TestScannerProjection(t *testing.T) {
	base := time.Date(2025, 6, 2, 10, 0, 0, 0, time.UTC)
	sent := promotion("SENT", domain.PromotionSent, base.Add(-48*time.Hour))
	early := promotion("EARLY", domain.PromotionSent, base.Add(24*time.Hour)) // started early by an operator
	early.FinishedAt = base.Add(-time.Hour)
	rows := []domain.Promotion{
		promotion("DUE", domain.PromotionScheduled, base.Add(-5*time.Minute)),
		promotion("NODATE", domain.PromotionScheduled, time.Time{}),
		promotion("LATER", domain.PromotionScheduled, base.Add(time.Hour)),
		sent, early,
		promotion("OLD", domain.PromotionSent, base.Add(-40*24*time.Hour)),
		promotion("DRAFT", domain.PromotionDraft, base.Add(-time.Hour)),
	}
	for _, tc := range []struct {
		interval, ttl time.Duration
	}{{0, 10 * time.Minute}, {2 * time.Minute, 20 * time.Minute}} {
		u := newUnit(t, Options{ScanInterval: tc.interval}, slices.Clone(rows), partners(1))
		u.setClock(base)
		u.scan()
		var ids []string
		for _, p := range u.proj.list {
			ids = append(ids, p.ID)
		}
		if !slices.Equal(ids, []string{"NODATE", "DUE", "EARLY", "SENT"}) {
			t.Errorf("projection %v, want [NODATE DUE EARLY SENT]", ids)
		}
		if p := u.proj.list[1]; p.Text != "Текст DUE" || p.Audience != "all" || !p.StartsAt.Equal(base.Add(-5*time.Minute)) {
			t.Errorf("projection entry %+v", p)
		}
		if u.proj.ttl != tc.ttl {
			t.Errorf("scan interval %s: projection ttl %s, want %s", tc.interval, u.proj.ttl, tc.ttl)
		}
	}
}
