package sheets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	"github.com/go-redis/redis_rate/v10"
	"google.golang.org/api/googleapi"
	sheetsapi "google.golang.org/api/sheets/v4"
)

type quotaKind string

const (
	quotaRead  quotaKind = "read"
	quotaWrite quotaKind = "write"
)

// client is one Sheets request with everything around it: the shared quota,
// retries with jittered exponential backoff, the circuit breaker, a
// per-request timeout and metrics. Everything the gateway sends goes through call.
type client struct {
	svc     *sheetsapi.Service
	id      string
	limiter *redis_rate.Limiter
	limits  map[quotaKind]redis_rate.Limit
	keys    map[quotaKind]string
	breaker circuitbreaker.CircuitBreaker[any]
	retry   retrypolicy.RetryPolicy[any]
	timeout time.Duration
	m       *metrics
	log     *slog.Logger
}

// errLimiter marks a failure of the shared limiter itself (Redis unreachable).
type errLimiter struct{ err error }

func (e errLimiter) Error() string { return "sheets: quota limiter: " + e.err.Error() }
func (e errLimiter) Unwrap() error { return e.err }

// ErrRowMoved means a row was not where the index said (someone sorted or
// inserted rows); nothing was written. Callers re-resolve the row and retry.
var ErrRowMoved = errors.New("sheets: row moved")

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

// wait blocks until the shared budget admits one request of kind.
func (c *client) wait(ctx context.Context, kind quotaKind) error {
	start := time.Now()
	defer func() { c.m.quotaWait.WithLabelValues(string(kind)).Observe(time.Since(start).Seconds()) }()
	for {
		res, err := c.limiter.Allow(ctx, c.keys[kind], c.limits[kind])
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

// call runs fn under the policies. preAcquired says the caller already took
// the quota token for the first attempt (the batchers take it while they
// collect callers). It returns only on success, on a permanent error, or when
// ctx ends: callers see errors only after their deadline.
func (c *client) call(ctx context.Context, kind quotaKind, method string, preAcquired bool, fn func(ctx context.Context) error) error {
	first := true
	err := failsafe.With[any](c.retry, c.breaker).WithContext(ctx).Run(func() error {
		if !(first && preAcquired) {
			if err := c.wait(ctx, kind); err != nil {
				return err
			}
		}
		first = false
		rctx, cancel := context.WithTimeout(ctx, c.timeout)
		defer cancel()
		start := time.Now()
		err := fn(rctx)
		c.m.observe(method, err, time.Since(start))
		if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("sheets: %s timed out after %s: %w", method, c.timeout, errTimeout)
		}
		return err
	})
	if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
	}
	return err
}

var errTimeout = errors.New("request timeout")

// retryable: worth trying again (Google's guidance: 429 and 5xx with backoff).
func retryable(err error) bool {
	var nr noRetry
	if err == nil || errors.As(err, &nr) {
		return false
	}
	if errors.Is(err, circuitbreaker.ErrOpen) || errors.Is(err, errTimeout) {
		return true
	}
	var le errLimiter
	if errors.As(err, &le) {
		return true
	}
	return serverTrouble(err)
}

// serverTrouble: the failures that count against the circuit breaker.
func serverTrouble(err error) bool {
	var gerr *googleapi.Error
	if errors.As(err, &gerr) {
		switch gerr.Code {
		case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
			http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		return false
	}
	if errors.Is(err, errTimeout) {
		return true
	}
	var nerr net.Error
	return errors.As(err, &nerr)
}

// ambiguous: the request may have been applied although we saw an error
// (timeouts, dropped connections, 500/502/504). Appends must check before
// trying again; 429 and 503 are refused before anything happens.
func ambiguous(err error) bool {
	if err == nil || errors.Is(err, circuitbreaker.ErrOpen) || errors.Is(err, context.Canceled) {
		return false
	}
	var le errLimiter
	if errors.As(err, &le) {
		return false
	}
	var gerr *googleapi.Error
	if errors.As(err, &gerr) {
		switch gerr.Code {
		case http.StatusInternalServerError, http.StatusBadGateway, http.StatusGatewayTimeout:
			return true
		}
		return false
	}
	return true // timeouts and connection errors after the request was sent
}

func newPolicies(maxDelay, breakerDelay time.Duration, failures uint, m *metrics, log *slog.Logger) (retrypolicy.RetryPolicy[any], circuitbreaker.CircuitBreaker[any]) {
	rp := retrypolicy.NewBuilder[any]().
		HandleIf(func(_ any, err error) bool { return retryable(err) }).
		WithMaxRetries(-1). // bounded by the caller's context instead
		WithBackoff(300*time.Millisecond, maxDelay).
		WithJitterFactor(0.5).
		OnRetry(func(e failsafe.ExecutionEvent[any]) { m.retries.Inc() }).
		Build()
	cb := circuitbreaker.NewBuilder[any]().
		HandleIf(func(_ any, err error) bool { return serverTrouble(err) }).
		WithFailureThreshold(failures).
		WithSuccessThreshold(2).
		WithDelay(breakerDelay).
		WithJitterFactor(0.2).
		OnStateChanged(func(e circuitbreaker.StateChangedEvent) {
			m.breakerState.Set(float64(e.NewState))
			m.breakerTransitions.WithLabelValues(stateName(e.NewState)).Inc()
			log.Warn("sheets circuit breaker", "from", stateName(e.OldState), "to", stateName(e.NewState))
		}).
		Build()
	return rp, cb
}

func stateName(s circuitbreaker.State) string {
	switch s {
	case circuitbreaker.ClosedState:
		return "closed"
	case circuitbreaker.OpenState:
		return "open"
	case circuitbreaker.HalfOpenState:
		return "half_open"
	}
	return strconv.Itoa(int(s))
}

func statusCode(err error) string {
	if err == nil {
		return "200"
	}
	var gerr *googleapi.Error
	if errors.As(err, &gerr) {
		return strconv.Itoa(gerr.Code)
	}
	if errors.Is(err, context.Canceled) {
		return "canceled"
	}
	return "error"
}

// isClientError: a 4xx other than 429 — the request itself is wrong and will
// stay wrong (bad range, cell too long, grid limits).
func isClientError(err error) bool {
	var gerr *googleapi.Error
	return errors.As(err, &gerr) && gerr.Code >= 400 && gerr.Code < 500 && gerr.Code != http.StatusTooManyRequests
}
