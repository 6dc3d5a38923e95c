package app

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"marketingbot/pkg/config"
)

func TestRetry(t *testing.T) {
	t.Run("until success, logging each failure", func(t *testing.T) {
		var buf bytes.Buffer
		var at []time.Time
		retry(context.Background(), slog.New(slog.NewTextHandler(&buf, nil)), "setWebhook", func() error {
			at = append(at, time.Now())
			if len(at) < 3 {
				return errors.New("connection refused")
			}
			return nil
		})
		if len(at) != 3 {
			t.Fatalf("%d calls, want 3", len(at))
		}
		if gap1, gap2 := at[1].Sub(at[0]), at[2].Sub(at[1]); gap1 < 200*time.Millisecond || gap2 < 400*time.Millisecond {
			t.Fatalf("retried after %s and %s, want the 200 ms, 400 ms backoff", gap1, gap2)
		}
		if n := strings.Count(buf.String(), "method=setWebhook"); n != 2 {
			t.Fatalf("%d failures logged, want 2:\n%s", n, &buf)
		}
	})
	t.Run("until ctx ends", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		calls := 0
		retry(ctx, slog.New(slog.DiscardHandler), "deleteWebhook", func() error { calls++; return errors.New("502") })
		if ctx.Err() == nil || calls < 2 {
			t.Fatalf("returned after %d calls with ctx %v", calls, ctx.Err())
		}
	})
}

// The bot long-polls with the same client: a request outlasts the poll timeout.
func TestTelegramBotOptions(t *testing.T) {
	o := telegramBotOptions(config.Telegram{Token: "t", APIURL: "http://x", PollTimeout: 30 * time.Second, RequestTimeout: 20 * time.Second})
	if o.Token != "t" || o.APIURL != "http://x" || o.RequestTimeout != 40*time.Second {
		t.Fatalf("%+v", o)
	}
	if o := telegramBotOptions(config.Telegram{PollTimeout: time.Second, RequestTimeout: time.Minute}); o.RequestTimeout != time.Minute {
		t.Fatalf("request timeout %s, want the configured minute", o.RequestTimeout)
	}
}
