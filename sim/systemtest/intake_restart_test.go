package systemtest

import (
	"testing"
	"time"

	"marketingbot/sim/fixtures"
	"marketingbot/sim/testutil"
	"marketingbot/sim/world"
)

// A bot process restarted mid-stream (SIGTERM, and kill -9) loses nothing and duplicates nothing.
func TestIntakeBotRestartMidStream(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	e := world.New(t, world.Options{Data: &fixtures.Data{}})
	rdb := e.Redis.Client()
	for i := 0; i < 300; i++ {
		e.AddUser(int64(6000+i), "U", "")
	}
	bot := e.StartProcess("bot")
	stopSending := make(chan struct{})
	sent := make(chan int)
	go func() {
		n := 0
		defer func() { sent <- n }()
		for i := 0; i < 300; i++ {
			select {
			case <-stopSending:
				return
			default:
			}
			e.Send(int64(6000+i), "сообщение")
			n++
			time.Sleep(5 * time.Millisecond)
		}
	}()
	// SIGTERM once the bot is streaming: a process that has not yet reached
	// its signal handler dies of the signal instead (a race-built binary
	// on a busy machine can take longer than any fixed pause to start).
	testutil.Eventually(t, 30*time.Second, "the bot enqueuing updates", func() bool { return intakePending(t, rdb) > 0 })
	took, code := bot.Terminate(10 * time.Second)
	if code != 0 {
		t.Fatalf("bot exit code %d after SIGTERM (took %s)\n%s", code, took, bot.Output())
	}
	t.Logf("bot stopped %s after SIGTERM", took.Round(time.Millisecond))
	bot = e.StartProcess("bot")
	time.Sleep(300 * time.Millisecond)
	bot.Kill()
	e.StartProcess("bot")
	n := <-sent
	testutil.Eventually(t, 30*time.Second, "every update enqueued", func() bool { return intakePending(t, rdb) >= n })
	time.Sleep(2 * time.Second)
	ids := intakeTaskIDs(t, rdb)
	if len(ids) != n {
		t.Fatalf("%d distinct tasks for %d updates", len(ids), n)
	}
	for id, c := range ids {
		if c != 1 {
			t.Fatalf("task %s enqueued %d times", id, c)
		}
	}
}
