package systemtest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"marketingbot/pkg/intake"
	"marketingbot/pkg/telegram"
	tgemu "marketingbot/sim/emulator/telegram"
	"marketingbot/sim/testutil"
)

// BenchmarkIntake measures the bot's intake alone: the Telegram emulator
// holds b.N pending private messages of 1,000 users and serves them in
// getUpdates batches of 100 (Telegram's maximum), the real telego client
// fetches them, and intake enqueues one asynq task per update into a private
// redis-server (with the per-user chain) and confirms the offset. The clock
// runs from the first getUpdates to the last task stored; filling the
// emulator is not measured.
//
//	go test -run '^$' -bench Intake -benchtime 20000x ./sim/systemtest/
//	go test -run '^$' -bench Intake -benchtime 20000x -cpuprofile /tmp/intake.prof ./sim/systemtest/
func BenchmarkIntake(b *testing.B) {
	const users = 1000
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	rds := testutil.StartRedis(b)
	rdb := rds.Client()
	emu := tgemu.New(tgemu.Options{FloodLimits: &tgemu.FloodLimits{}, Logger: quiet})
	ts := httptest.NewServer(emu)
	b.Cleanup(func() { ts.Close(); emu.Close() })
	var all []tgemu.User
	for i := range users {
		all = append(all, tgemu.User{ID: int64(700000 + i), FirstName: "Партнёр"})
	}
	if _, err := emu.PutUsers(all...); err != nil {
		b.Fatal(err)
	}
	for i := range b.N {
		if _, err := emu.SendText(int64(700000+i%users), fmt.Sprintf("сообщение %d", i)); err != nil {
			b.Fatal(err)
		}
	}
	bot, err := telegram.NewBot(telegram.BotOptions{Token: emu.Token(), APIURL: ts.URL, RequestTimeout: 30 * time.Second}, quiet)
	if err != nil {
		b.Fatal(err)
	}
	client := asynq.NewClientFromRedisClient(rdb)
	in := intake.New(client, intake.NewRedisSequencer(rdb, "bench:", time.Hour), -1001, time.Hour,
		intake.NewMetrics(prometheus.NewRegistry()), quiet)
	lp := intake.NewLongPoll(bot, in, time.Second, quiet)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.ResetTimer()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- lp.Run(ctx) }()
	for {
		n, err := rdb.LLen(ctx, "asynq:{chat}:pending").Result()
		if err != nil {
			b.Fatal(err)
		}
		if n >= int64(b.N) {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cancel()
	<-done
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "updates/s")
}
