package telegram_test

import (
	"context"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/telegram"
)

// newLimiter builds the limiter on miniredis with the production defaults
// (30/s global, 1/s per chat with a burst of 3, 20/min per group). The
// clock of the Lua script (Redis TIME) is frozen at the returned time.
func newLimiter(t *testing.T) (*telegram.Limiter, *miniredis.Miniredis, time.Time) {
	t.Helper()
	mr := miniredis.RunT(t)
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	mr.SetTime(now)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { rdb.Close() })
	return telegram.NewLimiter(rdb, "test:", 30, 1, 3, 20), mr, now
}

// take reserves n tokens and returns the waits that were asked for.
func take(t *testing.T, l *telegram.Limiter, n int, chatID int64, prio telegram.Priority) []time.Duration {
	t.Helper()
	waits := make([]time.Duration, n)
	for i := range waits {
		d, err := l.Reserve(context.Background(), chatID, prio)
		if err != nil {
			t.Fatal(err)
		}
		waits[i] = d
	}
	return waits
}

// granted counts leading zero waits: how many sends went at once.
func granted(waits []time.Duration) int {
	for i, d := range waits {
		if d > 0 {
			return i
		}
	}
	return len(waits)
}

func near(got, want time.Duration) bool {
	return got > want-time.Millisecond && got < want+time.Millisecond
}

func TestLimiterRates(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		chatID  int64
		prio    telegram.Priority
		burst   int           // sends that go at once
		refused time.Duration // the wait asked of the next one
	}{
		// Global: 30/s, burst 2/3 of a second; a chat reply may use all of it.
		{"global, chat priority", 0, telegram.PriorityChat, 20, time.Second / 30},
		// Broadcast leaves a third of the global burst to chat replies.
		{"global, broadcast", 0, telegram.PriorityBroadcast, 14, time.Second / 30},
		// Private chat: 1/s after a burst of 3 (the global bucket has room).
		{"private chat", 7, telegram.PriorityChat, 3, time.Second},
		// Group: 20/min after a burst of 5; broadcast leaves one to replies.
		{"group, chat priority", -100, telegram.PriorityChat, 5, 3 * time.Second},
		{"group, broadcast", -100, telegram.PriorityBroadcast, 4, 3 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, _, _ := newLimiter(t)
			waits := take(t, l, tc.burst+1, tc.chatID, tc.prio)
			if n := granted(waits); n != tc.burst {
				t.Fatalf("%d sends at once, want %d (waits %v)", n, tc.burst, waits)
			}
			if got := waits[tc.burst]; !near(got, tc.refused) {
				t.Fatalf("next send asked to wait %s, want %s", got, tc.refused)
			}
		})
	}
}

func TestLimiterRefillsWithTime(t *testing.T) {
	t.Parallel()
	l, mr, now := newLimiter(t)
	if n := granted(take(t, l, 4, 7, telegram.PriorityChat)); n != 3 {
		t.Fatalf("%d sends at once, want 3", n)
	}
	mr.SetTime(now.Add(time.Second))
	if n := granted(take(t, l, 2, 7, telegram.PriorityChat)); n != 1 {
		t.Fatalf("a second later %d sends went, want 1", n)
	}
}

func TestLimiterBucketsAreSeparate(t *testing.T) {
	t.Parallel()
	l, _, _ := newLimiter(t)
	take(t, l, 3, 7, telegram.PriorityChat) // chat 7 used its burst
	if d := take(t, l, 1, 8, telegram.PriorityChat)[0]; d != 0 {
		t.Fatalf("another chat waits %s", d)
	}
	if d := take(t, l, 1, -100, telegram.PriorityChat)[0]; d != 0 {
		t.Fatalf("a group waits %s", d)
	}
}

// A refused send takes no token from any bucket: the global tokens stay for others.
func TestLimiterAllOrNothing(t *testing.T) {
	t.Parallel()
	l, _, _ := newLimiter(t)
	take(t, l, 3, 7, telegram.PriorityChat)
	take(t, l, 10, 7, telegram.PriorityChat) // all refused by the chat bucket
	if n := granted(take(t, l, 20, 0, telegram.PriorityChat)); n != 17 {
		t.Fatalf("%d global tokens left, want 17 (20 minus the 3 granted)", n)
	}
}

// After a broadcast took all it may, chat replies still go at once.
func TestLimiterChatAheadOfBroadcast(t *testing.T) {
	t.Parallel()
	l, _, _ := newLimiter(t)
	if n := granted(take(t, l, 20, 0, telegram.PriorityBroadcast)); n != 14 {
		t.Fatalf("broadcast took %d, want 14", n)
	}
	if n := granted(take(t, l, 7, 0, telegram.PriorityChat)); n != 6 {
		t.Fatalf("chat replies got %d after the broadcast, want the reserve of 6", n)
	}
}

func TestLimiterWait(t *testing.T) {
	t.Parallel()
	t.Run("max wait returns the delay instead of sleeping", func(t *testing.T) {
		l, _, _ := newLimiter(t)
		take(t, l, 3, 7, telegram.PriorityChat)
		// A deadline shorter than the 1-s slot: a Wait that slept toward the
		// slot would end with the deadline, not with the delay.
		ctx, cancel := context.WithTimeout(context.Background(), 900*time.Millisecond)
		defer cancel()
		d, err := l.Wait(ctx, 7, telegram.PriorityChat, 500*time.Millisecond)
		if err != nil || !near(d, time.Second) {
			t.Fatalf("Wait = %s, %v; want 1s, nil (without sleeping)", d, err)
		}
	})
	t.Run("sleeps until the slot", func(t *testing.T) {
		mr := miniredis.RunT(t) // real clock
		rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
		defer rdb.Close()
		l := telegram.NewLimiter(rdb, "test:", 30, 20, 1, 20) // a chat: 20/s, no burst
		take(t, l, 1, 7, telegram.PriorityChat)
		start := time.Now()
		d, err := l.Wait(context.Background(), 7, telegram.PriorityChat, 0)
		if el := time.Since(start); d != 0 || err != nil || el < 40*time.Millisecond {
			t.Fatalf("Wait = %s, %v after %s; want 0, nil after ~50ms", d, err, el)
		}
	})
	t.Run("ctx ends the wait", func(t *testing.T) {
		l, _, _ := newLimiter(t)
		take(t, l, 3, 7, telegram.PriorityChat)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if _, err := l.Wait(ctx, 7, telegram.PriorityChat, 0); err != context.DeadlineExceeded {
			t.Fatalf("Wait = %v, want the deadline", err)
		}
	})
}
