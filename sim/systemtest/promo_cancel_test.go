package systemtest

import (
	"strings"
	"testing"
	"time"

	"marketingbot/pkg/domain"
	"marketingbot/sim/testutil"
	"marketingbot/sim/world"
)

// TestPromoCancelMidway: the row is set back to Черновик while the
// broadcast is sending; the scanner stops it.
func TestPromoCancelMidway(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	const n = 400
	p := world.NewPromo(t, world.PromoOptions{Partners: n, Promotions: []domain.Promotion{
		promoPromotion("STOPME", "Акция, которую остановят", domain.PromotionScheduled, time.Now().Add(-time.Minute)),
	}})
	p.StartWorker()
	p.RunScheduler(2 * time.Second)
	testutil.Eventually(t, 30*time.Second, "a quarter of the recipients reached", func() bool {
		return p.Telegram.Stats().Sends >= n/4
	})
	p.SetStatus("STOPME", domain.PromotionDraft)
	note := p.GroupText("остановлена", 10*time.Second)

	// Sending stops: sends already past the cancel check finish, nothing after.
	var reached int64
	testutil.Eventually(t, 30*time.Second, "sending to stop", func() bool {
		before := p.Telegram.Stats().Sends
		time.Sleep(2 * time.Second)
		reached = p.Telegram.Stats().Sends - 1 // minus the note in the operators' group
		return p.Telegram.Stats().Sends == before
	})
	delivered := 0
	for _, pt := range p.Partners {
		c := p.PromoCount(pt.TelegramID, "которую остановят")
		if c > 1 {
			t.Errorf("%d got the promotion %d times", pt.TelegramID, c)
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
		r = p.Row("STOPME")
		return world.PromoCellNum(r, 7) == delivered
	})
	if world.PromoCellStr(r, 6) != string(domain.PromotionDraft) || world.PromoCellNum(r, 8) != 0 || world.PromoCellNum(r, 9) != 0 || world.PromoCellStr(r, 10) != "" {
		t.Errorf("row after cancel: %v", r)
	}
	if !strings.Contains(note.Text, "Доставлено") {
		t.Errorf("stopped note: %q", note.Text)
	}
	if got := p.Counter("marketingbot_promo_broadcasts_total", "cancelled"); got != 1 {
		t.Errorf("broadcasts_total{cancelled} = %v", got)
	}

	// Scheduling it again is refused: people who got it would get it twice.
	p.SetStatus("STOPME", domain.PromotionScheduled)
	p.WaitStatus("STOPME", domain.PromotionFailed, 30*time.Second)
	p.GroupText("уже проводилась", 5*time.Second)
	if got := p.Telegram.Stats().Sends - 2; got != reached { // minus the two notes
		t.Errorf("sends after the refusal: %d, want %d", got, reached)
	}
}
