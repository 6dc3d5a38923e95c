package sheets

import (
	"context"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

type quotaKind string

const (
	quotaRead  quotaKind = "read"
	quotaWrite quotaKind = "write"
)

// quota is the request budget every process shares: one GCRA limiter key in
// Redis for reads and one for writes.
type quota struct {
	limiter *redis_rate.Limiter
	limits  map[quotaKind]redis_rate.Limit
	keys    map[quotaKind]string
	m       *metrics
}

func newQuota(rdb redis.UniversalClient, prefix string, reads, writes int, window time.Duration, m *metrics) *quota {
	return &quota{
		limiter: redis_rate.NewLimiter(rdb),
		limits: map[quotaKind]redis_rate.Limit{
			quotaRead:  quotaLimit(reads, window, GoogleQuotaPerWindow),
			quotaWrite: quotaLimit(writes, window, GoogleQuotaPerWindow),
		},
		keys: map[quotaKind]string{quotaRead: prefix + "quota:read", quotaWrite: prefix + "quota:write"},
		m:    m,
	}
}

// errLimiter marks a failure of the shared limiter itself (Redis unreachable).
type errLimiter struct{ err error }

func (e errLimiter) Error() string { return "sheets: quota limiter: " + e.err.Error() }
func (e errLimiter) Unwrap() error { return e.err }

// quotaLimit builds the shared budget: `rate` requests per window with a
// burst chosen so that no sliding window of that length ever sees more than
// Google's 60: GCRA admits at most burst + rate in any window, and two
// requests are kept in hand for the clock difference between Redis (which
// admits) and Google (which counts on arrival).
func quotaLimit(rate int, window time.Duration, googleMax int) redis_rate.Limit {
	burst := googleMax - rate - 2
	if burst < 1 {
		burst = 1
	}
	if burst > rate {
		burst = rate
	}
	return redis_rate.Limit{Rate: rate, Burst: burst, Period: window}
}

// wait blocks until the shared budget admits one request of kind. This is
// waiting for a slot the limiter names (RetryAfter), not retrying a failure:
// a failing limiter returns errLimiter at once.
func (q *quota) wait(ctx context.Context, kind quotaKind) error {
	start := time.Now()
	defer func() { q.m.quotaWait.WithLabelValues(string(kind)).Observe(time.Since(start).Seconds()) }()
	for {
		res, err := q.limiter.Allow(ctx, q.keys[kind], q.limits[kind])
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return errLimiter{err}
		}
		if res.Allowed > 0 {
			return nil
		}
		t := time.NewTimer(res.RetryAfter)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
