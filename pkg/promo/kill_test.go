package promo_test

import (
	"io"
	"log/slog"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"marketingbot/pkg/config"
	"marketingbot/pkg/domain"
	"marketingbot/pkg/promo"
	"marketingbot/pkg/redisx"
	"marketingbot/sim/testutil"
)

const helperEnv = "PROMO_TEST_HELPER_WORKER"

// TestHelperWorkerProcess is not a test: TestWorkerKilledMidBroadcast runs
// the test binary again with only this function, as a separate worker
// process it can kill -9. The configuration comes from the environment;
// the process serves promotion tasks until its stdin closes.
func TestHelperWorkerProcess(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		t.Skip("the helper worker process of TestWorkerKilledMidBroadcast")
	}
	cfg, err := config.Load(config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rdb, err := redisx.NewClient(cfg.Redis)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	reg := prometheus.NewRegistry()
	svc := promo.New(newDeps(t, cfg, rdb, reg, log))
	startWorker(t, rdb, svc, 64, reg, log)
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// TestWorkerKilledMidBroadcast: the worker process is killed (SIGKILL) when
// about 30 % were sent and another one takes over; asynq recovers the tasks
// the dead one held once their lease expires. Nobody gets the promotion
// twice, nobody is skipped, the counters are right.
func TestWorkerKilledMidBroadcast(t *testing.T) {
	if testing.Short() {
		t.Skip("waits about a minute for asynq to recover the killed worker's tasks")
	}
	t.Parallel()
	const n = 600
	e := newEnv(t, envOptions{partners: n, promotions: []domain.Promotion{
		promotion("KILL", "Акция переживёт падение воркера", domain.PromotionScheduled, time.Now().Add(-time.Minute)),
	}})
	logs := &testutil.SyncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("worker processes' output (tail):\n%s", logs.Tail(8000))
		}
	})
	start := func() (*exec.Cmd, io.Closer) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWorkerProcess$", "-test.timeout=3m")
		cmd.Env = append(os.Environ(), helperEnv+"=1")
		for k, v := range configEnv(e.tgURL, e.redis.URL(), e.sh.URL) {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		cmd.Stdout, cmd.Stderr = logs, logs
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd, stdin
	}

	first, _ := start()
	e.scan()
	testutil.Eventually(t, 60*time.Second, "30 % of the recipients reached", func() bool {
		return e.tg.Stats().Sends >= n*3/10
	})
	if err := first.Process.Kill(); err != nil { // SIGKILL: no shutdown, leases left behind
		t.Fatal(err)
	}
	_ = first.Wait()
	killed, atKill := time.Now(), e.tg.Stats().Sends
	_, stdin := start()

	r := e.waitStatus("KILL", domain.PromotionSent, 110*time.Second)
	t.Logf("killed after %d of %d sends; the broadcast finished %.1f s after the kill", atKill, n, time.Since(killed).Seconds())
	_ = stdin.Close()
	for _, p := range e.partners {
		if got := e.promoCount(p.TelegramID, "переживёт падение"); got != 1 {
			t.Errorf("%d got the promotion %d times", p.TelegramID, got)
		}
	}
	if sent, failed, blocked := cellNum(r, 7), cellNum(r, 8), cellNum(r, 9); sent != n || failed != 0 || blocked != 0 {
		t.Errorf("row counters %d/%d/%d, want %d/0/0", sent, failed, blocked, n)
	}
	if got := e.tg.Stats().HTTP429; got != 0 {
		t.Errorf("the emulator answered 429 %d times", got)
	}
}

// TestDiedDuringCall: a send whose earlier attempt died inside the Bot API
// call (its claim is left) counts the recipient as sent and does not send
// again — a second message is worse than the rare one lost that way.
func TestDiedDuringCall(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{partners: 5, concurrency: 8, promotions: []domain.Promotion{
		promotion("CLAIM", "Акция с прерванной отправкой", domain.PromotionScheduled, time.Now().Add(-time.Minute)),
	}})
	died := e.partners[2].TelegramID
	if err := promo.LeaveClaim(ctxT(t, time.Second), e.svc, "CLAIM", died); err != nil {
		t.Fatal(err)
	}
	e.scan()
	r := e.waitStatus("CLAIM", domain.PromotionSent, 30*time.Second)
	if cellNum(r, 7) != 5 {
		t.Errorf("sent counter %d, want 5", cellNum(r, 7))
	}
	for _, p := range e.partners {
		want := 1
		if p.TelegramID == died {
			want = 0 // in reality the dead attempt's request delivered it
		}
		if got := e.promoCount(p.TelegramID, "прерванной"); got != want {
			t.Errorf("%d got it %d times, want %d", p.TelegramID, got, want)
		}
	}
}
