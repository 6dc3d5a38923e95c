package app_test

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/config"
	"marketingbot/sim/fixtures"
	"marketingbot/sim/testutil"
	"marketingbot/sim/world"
)

// pendingUpdates counts update tasks in the chat queue (not processed: no
// worker runs in these tests).
func pendingUpdates(t *testing.T, rdb *redis.Client) int {
	t.Helper()
	n, err := rdb.LLen(context.Background(), "asynq:{chat}:pending").Result()
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

func taskIDs(t *testing.T, rdb *redis.Client) map[string]int {
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
	e := world.New(t, world.Options{Data: &fixtures.Data{}})
	bot := e.Start(config.RoleBot)
	rdb := e.Redis.Client()
	for i := 0; i < 60; i++ {
		e.AddUser(int64(5000+i), "U", "")
	}
	first := e.Send(5000, "до остановки")
	testutil.Eventually(t, 10*time.Second, "first update enqueued", func() bool { return pendingUpdates(t, rdb) == 1 })

	e.Redis.Stop()
	for i := 0; i < 50; i++ {
		e.Send(int64(5001+i), fmt.Sprintf("во время остановки %d", i))
	}
	testutil.Eventually(t, 10*time.Second, "bot reports not ready", func() bool { return bot.Ready() != nil })
	time.Sleep(2 * time.Second) // the bot keeps trying; nothing must be confirmed meanwhile
	e.Redis.Start()             // an empty Redis: the pre-outage task is gone with it
	testutil.Eventually(t, 30*time.Second, "50 updates enqueued after the outage", func() bool { return pendingUpdates(t, rdb) >= 50 })
	time.Sleep(time.Second)
	if n := pendingUpdates(t, rdb); n != 50 {
		t.Fatalf("%d tasks after the outage, want 50", n)
	}
	testutil.Eventually(t, 10*time.Second, "bot ready again", func() bool { return bot.Ready() == nil })

	// Telegram delivers some updates again: known ids, no new tasks.
	if n := e.Telegram.Redeliver(first.UpdateID); n == 0 {
		t.Fatal("emulator redelivered nothing")
	}
	time.Sleep(2 * time.Second)
	ids := taskIDs(t, rdb)
	if len(ids) != 50 && len(ids) != 51 { // the first update's task died with the old Redis data and may be re-created once
		t.Fatalf("%d distinct tasks after redelivery", len(ids))
	}
	for id, n := range ids {
		if n != 1 {
			t.Fatalf("task %s enqueued %d times", id, n)
		}
	}
}

// A bot process restarted mid-stream (SIGTERM, and kill -9) loses nothing and duplicates nothing.
func TestIntakeBotRestartMidStream(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
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
	time.Sleep(300 * time.Millisecond)
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
	testutil.Eventually(t, 30*time.Second, "every update enqueued", func() bool { return pendingUpdates(t, rdb) >= n })
	time.Sleep(2 * time.Second)
	ids := taskIDs(t, rdb)
	if len(ids) != n {
		t.Fatalf("%d distinct tasks for %d updates", len(ids), n)
	}
	for id, c := range ids {
		if c != 1 {
			t.Fatalf("task %s enqueued %d times", id, c)
		}
	}
}

// Webhook mode: the emulator pushes updates; while Redis is down the bot
// answers 500 and the emulator delivers again later.
func TestWebhookRedeliveredAfterEnqueueFailure(t *testing.T) {
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
	testutil.Eventually(t, 10*time.Second, "first update via webhook", func() bool { return pendingUpdates(t, rdb) == 1 })
	e.Redis.Stop()
	e.Send(5100, "два")
	time.Sleep(1500 * time.Millisecond) // the emulator keeps retrying (500)
	e.Redis.Start()
	testutil.Eventually(t, 20*time.Second, "re-delivered update enqueued", func() bool { return pendingUpdates(t, rdb) == 1 })
}

// Each required key missing stops a role binary with exit code 2 and one
// line naming the key.
func TestMissingSettingExitCode(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries")
	}
	e := world.New(t, world.Options{Data: &fixtures.Data{}})
	bin := world.Binaries(t)
	cases := []struct{ role, env, key string }{
		{"worker", "MARKETINGBOT_TELEGRAM_TOKEN", "telegram.token"},
		{"bot", "MARKETINGBOT_TELEGRAM_TOKEN", "telegram.token"},
		{"worker", "MARKETINGBOT_SHEETS_SPREADSHEET_ID", "sheets.spreadsheet_id"},
		{"poller", "MARKETINGBOT_SHEETS_SPREADSHEET_ID", "sheets.spreadsheet_id"},
		{"worker", "MARKETINGBOT_GEMINI_API_KEY", "gemini.api_key"},
		{"worker", "MARKETINGBOT_TELEGRAM_OPERATORS_CHAT_ID", "telegram.operators_chat_id"},
		{"poller", "MARKETINGBOT_REDIS_URL", "redis.url"},
	}
	for _, c := range cases {
		t.Run(c.role+"/"+c.key, func(t *testing.T) {
			cmd := exec.Command(bin+"/"+c.role, "--config", e.ConfigPath)
			cmd.Env = append(e.Env(), c.env+"=")
			out, err := cmd.CombinedOutput()
			ee, ok := err.(*exec.ExitError)
			if !ok || ee.ExitCode() != 2 {
				t.Fatalf("exit %v, want 2\n%s", err, out)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], c.key) {
				t.Fatalf("want one line naming %s, got:\n%s", c.key, out)
			}
		})
	}
	t.Run("check", func(t *testing.T) {
		cmd := exec.Command(bin+"/worker", "--check", "--config", e.ConfigPath)
		cmd.Env = e.Env()
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), "OK worker") {
			t.Fatalf("--check on a good setup: %v %s", err, out)
		}
		cmd = exec.Command(bin+"/worker", "--check", "--config", e.ConfigPath)
		cmd.Env = append(e.Env(), "MARKETINGBOT_SHEETS_TITLES_QUEUE=Нет такого")
		out, err = cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), `"Нет такого"`) {
			t.Fatalf("--check with a missing sheet: %v %s", err, out)
		}
		e.Redis.Stop()
		cmd = exec.Command(bin+"/bot", "--check", "--config", e.ConfigPath)
		cmd.Env = e.Env()
		out, err = cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.HasPrefix(string(out), "FAIL bot: redis") {
			t.Fatalf("--check with Redis down: %v %s", err, out)
		}
	})
}
