package promo_test

import (
	"strings"
	"testing"
	"time"

	"marketingbot/pkg/domain"
	"marketingbot/sim/testutil"
)

// TestCancelMidway: the row is set back to Черновик while the broadcast is
// sending; the scanner stops it.
func TestCancelMidway(t *testing.T) {
	t.Parallel()
	const n = 400
	e := newEnv(t, envOptions{partners: n, concurrency: 64, promotions: []domain.Promotion{
		promotion("STOPME", "Акция, которую остановят", domain.PromotionScheduled, time.Now().Add(-time.Minute)),
	}})
	e.runScheduler(2 * time.Second)
	testutil.Eventually(t, 30*time.Second, "a quarter of the recipients reached", func() bool {
		return e.tg.Stats().Sends >= n/4
	})
	e.setStatus("STOPME", domain.PromotionDraft)
	note := e.groupText("остановлена", 10*time.Second)

	// Sending stops: sends already past the cancel check finish, nothing after.
	var reached int64
	testutil.Eventually(t, 30*time.Second, "sending to stop", func() bool {
		before := e.tg.Stats().Sends
		time.Sleep(2 * time.Second)
		reached = e.tg.Stats().Sends - 1 // minus the note in the operators' group
		return e.tg.Stats().Sends == before
	})
	delivered := 0
	for _, p := range e.partners {
		c := e.promoCount(p.TelegramID, "которую остановят")
		if c > 1 {
			t.Errorf("%d got the promotion %d times", p.TelegramID, c)
		}
		delivered += c
	}
	t.Logf("cancelled after %d of %d recipients were reached (note: %q)", delivered, n, note.Text)
	if int64(delivered) != reached || delivered > n*3/4 {
		t.Errorf("delivered %d (emulator counted %d), want well below %d", delivered, reached, n)
	}
	// The counters reach the row; the row stays Черновик without finished_at.
	var r []any
	testutil.Eventually(t, 30*time.Second, "the row's counters", func() bool {
		r = e.row("STOPME")
		return cellNum(r, 7) == delivered
	})
	if cellStr(r, 6) != string(domain.PromotionDraft) || cellNum(r, 8) != 0 || cellNum(r, 9) != 0 || cellStr(r, 10) != "" {
		t.Errorf("row after cancel: %v", r)
	}
	if !strings.Contains(note.Text, "Доставлено") {
		t.Errorf("stopped note: %q", note.Text)
	}
	if got := counter(t, e, "marketingbot_promo_broadcasts_total", "cancelled"); got != 1 {
		t.Errorf("broadcasts_total{cancelled} = %v", got)
	}

	// Scheduling it again is refused: people who got it would get it twice.
	e.setStatus("STOPME", domain.PromotionScheduled)
	e.waitStatus("STOPME", domain.PromotionFailed, 30*time.Second)
	e.groupText("уже проводилась", 5*time.Second)
	if got := e.tg.Stats().Sends - 2; got != reached { // minus the two notes
		t.Errorf("sends after the refusal: %d, want %d", got, reached)
	}
}
