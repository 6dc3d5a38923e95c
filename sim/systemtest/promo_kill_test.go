package systemtest

import (
	"testing"
	"time"

	"marketingbot/pkg/domain"
	"marketingbot/sim/testutil"
	"marketingbot/sim/world"
)

// TestPromoHelperWorkerProcess is not a test: TestWorkerKilledMidBroadcast
// runs the test binary again with only this function, as a worker process
// (app.Execute, as cmd/worker) that it can kill -9.
func TestPromoHelperWorkerProcess(t *testing.T) { world.RunHelperWorker(t) }

// TestWorkerKilledMidBroadcast: the worker process is killed
// (SIGKILL) when about 30 % were sent and another one takes over; asynq
// recovers the tasks the dead one held once their lease expires. Nobody
// gets the promotion twice, nobody is skipped, the counters are right.
func TestWorkerKilledMidBroadcast(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	const n = 600
	p := world.NewPromo(t, world.PromoOptions{Partners: n, Promotions: []domain.Promotion{
		promoPromotion("KILL", "Акция переживёт падение воркера", domain.PromotionScheduled, time.Now().Add(-time.Minute)),
	}})
	first := p.StartWorkerProcess("TestPromoHelperWorkerProcess")
	p.Scan()
	testutil.Eventually(t, 60*time.Second, "30 % of the recipients reached", func() bool {
		return p.Telegram.Stats().Sends >= n*3/10
	})
	finished, finishedAt := p.WatchStatus("KILL", domain.PromotionSent)
	// Killed while its sends wait for the limiter (the common case), not
	// in the claim-to-request window where the design accepts a loss:
	// TestDiedDuringCall in pkg/promo covers a death there.
	release := p.HoldBroadcastSends()
	p.WaitSendsQuiet(300*time.Millisecond, 10*time.Second)
	first.Kill() // SIGKILL: no shutdown, leases left behind
	killed, atKill := time.Now(), p.Telegram.Stats().Sends
	release()
	second := p.StartWorkerProcess("TestPromoHelperWorkerProcess")
	// What follows is mostly waiting for asynq to recover the dead worker's
	// leases: it goes on while this test waits for its turn among the
	// parallel tests, and the time of the end comes from the watcher.
	t.Parallel()

	r := p.WaitStatus("KILL", domain.PromotionSent, 110*time.Second)
	<-finished
	took := finishedAt().Sub(killed)
	t.Logf("killed after %d of %d sends; the broadcast finished %.1f s after the kill", atKill, n, took.Seconds())
	if took > 110*time.Second {
		t.Errorf("the broadcast finished %s after the kill, want at most 110 s", took)
	}
	second.Terminate(10 * time.Second)
	for _, pt := range p.Partners {
		if got := p.PromoCount(pt.TelegramID, "переживёт падение"); got != 1 {
			t.Errorf("%d got the promotion %d times", pt.TelegramID, got)
		}
	}
	if sent, failed, blocked := world.PromoCellNum(r, 7), world.PromoCellNum(r, 8), world.PromoCellNum(r, 9); sent != n || failed != 0 || blocked != 0 {
		t.Errorf("row counters %d/%d/%d, want %d/0/0", sent, failed, blocked, n)
	}
	if got := p.Telegram.Stats().HTTP429; got != 0 {
		t.Errorf("the emulator answered 429 %d times", got)
	}
}
