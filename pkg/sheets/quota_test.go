package sheets

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

func TestQuotaLimitKeepsEveryWindowUnderGoogles(t *testing.T) {
	for _, tc := range []struct {
		rate, burst int
	}{
		{55, 3},  // the default share: 55 + 3 ≤ 58, two in hand
		{50, 8},  // the storm test's share
		{58, 1},  // nothing left for a burst: still one request at a time
		{70, 1},  // over Google's limit (misconfigured): no burst on top
		{10, 10}, // a small share: the burst is bounded by the rate
	} {
		got := quotaLimit(tc.rate, time.Minute, GoogleQuotaPerWindow)
		if got.Rate != tc.rate || got.Burst != tc.burst || got.Period != time.Minute {
			t.Errorf("rate %d: got %+v, want burst %d", tc.rate, got, tc.burst)
		}
	}
}

func newMiniQuota(t *testing.T, window time.Duration) (*quota, *miniredis.Miniredis) {
	t.Helper()
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	return newQuota(rdb, "test:sheets:id:", 55, 55, window, newMetrics(prometheus.NewRegistry())), mr
}

// The GCRA limiter in Redis never admits more than Google's 60 in any
// sliding window, however hard the callers push, and still admits the
// configured rate over time.
func TestQuotaNoSlidingWindowOverGoogles(t *testing.T) {
	t.Parallel()
	q, mr := newMiniQuota(t, time.Minute)
	ctx := context.Background()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var admitted []time.Time
	for step := time.Duration(0); step < 4*time.Minute; step += 250 * time.Millisecond {
		now := start.Add(step)
		mr.SetTime(now)
		res, err := q.limiter.Allow(ctx, q.keys[quotaRead], q.limits[quotaRead])
		if err != nil {
			t.Fatal(err)
		}
		if res.Allowed > 0 {
			admitted = append(admitted, now)
		}
	}
	worst := 0
	for i, from := range admitted {
		n := 0
		for _, at := range admitted[i:] {
			if at.Sub(from) < time.Minute {
				n++
			}
		}
		worst = max(worst, n)
	}
	if worst > GoogleQuotaPerWindow-2 {
		t.Errorf("%d requests admitted in one sliding minute, want at most %d", worst, GoogleQuotaPerWindow-2)
	}
	if perMin := len(admitted) / 4; perMin < 54 {
		t.Errorf("%d requests a minute admitted, want the configured 55", perMin)
	}
}

// Every process shares one budget: two limiters on one Redis key admit the
// burst once between them.
func TestQuotaSharedBetweenProcesses(t *testing.T) {
	q1, mr := newMiniQuota(t, time.Hour) // nothing replenishes during the test
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	q2 := newQuota(rdb, "test:sheets:id:", 55, 55, time.Hour, q1.m)
	ctx := context.Background()
	admitted := 0
	for range 10 {
		for _, q := range []*quota{q1, q2} {
			res, err := q.limiter.Allow(ctx, q.keys[quotaWrite], q.limits[quotaWrite])
			if err != nil {
				t.Fatal(err)
			}
			admitted += res.Allowed
		}
	}
	if want := q1.limits[quotaWrite].Burst; admitted != want {
		t.Errorf("%d admitted between two processes, want the one burst of %d", admitted, want)
	}
}

// wait blocks while the budget is spent and gives up with the caller's
// context; a limiter that cannot be reached is an errLimiter at once.
func TestQuotaWait(t *testing.T) {
	t.Parallel()
	q, mr := newMiniQuota(t, time.Hour)
	ctx := context.Background()
	for range q.limits[quotaRead].Burst {
		if err := q.wait(ctx, quotaRead); err != nil {
			t.Fatal(err)
		}
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := q.wait(short, quotaRead); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("spent budget: got %v, want the caller's deadline", err)
	}
	if el := time.Since(start); el < 90*time.Millisecond {
		t.Errorf("gave up after %s, before the caller's deadline", el)
	}
	if err := q.wait(ctx, quotaWrite); err != nil {
		t.Errorf("writes have their own budget: %v", err)
	}
	mr.Close()
	var le errLimiter
	if err := q.wait(ctx, quotaWrite); !errors.As(err, &le) {
		t.Errorf("Redis down: got %v, want errLimiter", err)
	}
}
