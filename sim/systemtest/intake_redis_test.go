package systemtest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/config"
	"marketingbot/sim/fixtures"
	"marketingbot/sim/testutil"
	"marketingbot/sim/world"
)

// intakePending counts update tasks in the chat queue (not processed: no
// worker runs in these tests).
func intakePending(t *testing.T, rdb *redis.Client) int {
	t.Helper()
	n, err := rdb.LLen(context.Background(), "asynq:{chat}:pending").Result()
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

func intakeTaskIDs(t *testing.T, rdb *redis.Client) map[string]int {
	t.Helper()
	ids, err := rdb.LRange(context.Background(), "asynq:{chat}:pending", 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, id := range ids {
		out[id]++
	}
	return out
}

// With Redis stopped, 50 updates sent during the outage are all enqueued
// exactly once after Redis returns; a re-delivered update yields no second task.
func TestIntakeLosesNothingWhileRedisIsDown(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	e := world.New(t, world.Options{Data: &fixtures.Data{}})
	bot := e.Start(config.RoleBot)
	rdb := e.Redis.Client()
	for i := 0; i < 60; i++ {
		e.AddUser(int64(5000+i), "U", "")
	}
	first := e.Send(5000, "до остановки")
	testutil.Eventually(t, 10*time.Second, "first update enqueued", func() bool { return intakePending(t, rdb) == 1 })

	e.Redis.Stop()
	for i := 0; i < 50; i++ {
		e.Send(int64(5001+i), fmt.Sprintf("во время остановки %d", i))
	}
	testutil.Eventually(t, 10*time.Second, "bot reports not ready", func() bool { return bot.Ready() != nil })
	time.Sleep(2 * time.Second) // the bot keeps trying; nothing must be confirmed meanwhile
	e.Redis.Start()             // an empty Redis: the pre-outage task is gone with it
	testutil.Eventually(t, 30*time.Second, "50 updates enqueued after the outage", func() bool { return intakePending(t, rdb) >= 50 })
	time.Sleep(time.Second)
	if n := intakePending(t, rdb); n != 50 {
		t.Fatalf("%d tasks after the outage, want 50", n)
	}
	testutil.Eventually(t, 10*time.Second, "bot ready again", func() bool { return bot.Ready() == nil })

	// Telegram delivers some updates again: known ids, no new tasks.
	if n := e.Telegram.Redeliver(first.UpdateID); n == 0 {
		t.Fatal("emulator redelivered nothing")
	}
	time.Sleep(2 * time.Second)
	ids := intakeTaskIDs(t, rdb)
	if len(ids) != 50 && len(ids) != 51 { // the first update's task died with the old Redis data and may be re-created once
		t.Fatalf("%d distinct tasks after redelivery", len(ids))
	}
	for id, n := range ids {
		if n != 1 {
			t.Fatalf("task %s enqueued %d times", id, n)
		}
	}
}

// Webhook mode: the emulator pushes updates; while Redis is down the bot
// answers 500 and the emulator delivers again later.
func TestWebhookRedeliveredAfterEnqueueFailure(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	e := world.New(t, world.Options{Data: &fixtures.Data{}})
	port := testutil.FreePort(t)
	e.Set("MARKETINGBOT_HTTP_BOT_ADDR", fmt.Sprintf("127.0.0.1:%d", port))
	e.Set("MARKETINGBOT_TELEGRAM_WEBHOOK_URL", fmt.Sprintf("http://127.0.0.1:%d/telegram/webhook", port))
	e.Set("MARKETINGBOT_TELEGRAM_WEBHOOK_SECRET", "s3cret-webhook_token")
	e.Start(config.RoleBot)
	rdb := e.Redis.Client()
	e.AddUser(5100, "U", "")
	testutil.Eventually(t, 10*time.Second, "webhook registered", func() bool {
		return e.Telegram.Stats().ByMethod["setWebhook"] > 0
	})
	e.Send(5100, "раз")
	testutil.Eventually(t, 10*time.Second, "first update via webhook", func() bool { return intakePending(t, rdb) == 1 })
	e.Redis.Stop()
	e.Send(5100, "два")
	time.Sleep(1500 * time.Millisecond) // the emulator keeps retrying (500)
	e.Redis.Start()
	testutil.Eventually(t, 20*time.Second, "re-delivered update enqueued", func() bool { return intakePending(t, rdb) == 1 })
}
