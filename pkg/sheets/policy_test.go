package sheets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/api/googleapi"
)

func TestErrorClassification(t *testing.T) {
	gerr := func(code int) error { return fmt.Errorf("sheets: read: %w", &googleapi.Error{Code: code}) }
	netErr := &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}
	for _, tc := range []struct {
		name                                  string
		err                                   error
		retryable, trouble, ambiguous, client bool
	}{
		{"400 bad range", gerr(http.StatusBadRequest), false, false, false, true},
		{"403 no access", gerr(http.StatusForbidden), false, false, false, true},
		{"429 quota", gerr(http.StatusTooManyRequests), true, true, false, false},
		{"500", gerr(http.StatusInternalServerError), true, true, true, false},
		{"502", gerr(http.StatusBadGateway), true, true, true, false},
		{"503 refused before anything happened", gerr(http.StatusServiceUnavailable), true, true, false, false},
		{"504", gerr(http.StatusGatewayTimeout), true, true, true, false},
		{"request timeout", fmt.Errorf("sheets: values.append timed out: %w", errTimeout), true, true, true, false},
		{"connection reset", netErr, true, true, true, false},
		{"breaker open", circuitbreaker.ErrOpen, true, false, false, false},
		{"limiter down", errLimiter{errors.New("dial tcp: refused")}, true, false, false, false},
		{"caller gone", context.Canceled, false, false, false, false},
		{"not to be retried", noRetry{gerr(http.StatusBadGateway)}, false, true, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := retryable(tc.err); got != tc.retryable {
				t.Errorf("retryable = %v", got)
			}
			if got := serverTrouble(tc.err); got != tc.trouble {
				t.Errorf("serverTrouble = %v", got)
			}
			if got := ambiguous(tc.err); got != tc.ambiguous {
				t.Errorf("ambiguous = %v", got)
			}
			if got := isClientError(tc.err); got != tc.client {
				t.Errorf("isClientError = %v", got)
			}
		})
	}
}

// newTestService is a service without the Sheets API: call runs the given
// functions under the real quota (miniredis), retry policy and breaker.
func newTestService(t *testing.T, timeout time.Duration) *service {
	t.Helper()
	q, _ := newMiniQuota(t, time.Second)
	q.limits[quotaRead] = quotaLimit(1000, time.Second, 2000) // the budget is not what these tests are about
	q.limits[quotaWrite] = q.limits[quotaRead]
	m := newMetrics(prometheus.NewRegistry())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rp, cb := newPolicies(time.Second, time.Second, 5, m, log)
	return &service{quota: q, breaker: cb, retry: rp, timeout: timeout, m: m, log: log}
}

// failing fails the first n attempts with err, then succeeds.
func failing(n int, err error) (func(context.Context) error, *atomic.Int32) {
	var attempts atomic.Int32
	return func(context.Context) error {
		if attempts.Add(1) <= int32(n) {
			return err
		}
		return nil
	}, &attempts
}

func TestCallRetriesServerTroubleOnly(t *testing.T) {
	t.Parallel()
	s := newTestService(t, time.Second)
	ctx := testCtx(t)
	fn, attempts := failing(1, &googleapi.Error{Code: http.StatusServiceUnavailable})
	if err := s.call(ctx, quotaRead, "values.batchGet", false, fn); err != nil || attempts.Load() != 2 {
		t.Errorf("503 then 200: %v after %d attempts, want success after 2", err, attempts.Load())
	}
	fn, attempts = failing(5, errBadRequest)
	if err := s.call(ctx, quotaRead, "values.batchGet", false, fn); !errors.Is(err, errBadRequest) || attempts.Load() != 1 {
		t.Errorf("400: %v after %d attempts, want it at once", err, attempts.Load())
	}
	fn, attempts = failing(5, &googleapi.Error{Code: http.StatusBadGateway})
	if err := s.callNoAmbiguousRetry(ctx, quotaWrite, "values.append", false, fn); attempts.Load() != 1 || !ambiguous(err) {
		t.Errorf("append, 502: %v after %d attempts, want it back at once to look before appending again", err, attempts.Load())
	}
	if got := counterValue(t, s.m.retries); got != 1 {
		t.Errorf("retries_total %v, want 1", got)
	}
}

// A caller sees an error only at its deadline, and then the last error too.
func TestCallFailsOnlyAtTheCallersDeadline(t *testing.T) {
	t.Parallel()
	s := newTestService(t, time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	start := time.Now()
	fn, _ := failing(1000, &googleapi.Error{Code: http.StatusServiceUnavailable})
	err := s.call(ctx, quotaRead, "values.batchGet", false, fn)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want the caller's deadline", err)
	}
	if el := time.Since(start); el < 350*time.Millisecond {
		t.Errorf("failed after %s, before the caller's 400 ms deadline", el)
	}
}

// A request slower than the per-request timeout is abandoned and tried again.
func TestCallTimesOutSlowRequests(t *testing.T) {
	t.Parallel()
	s := newTestService(t, 50*time.Millisecond)
	var attempts atomic.Int32
	err := s.call(testCtx(t), quotaRead, "values.batchGet", false, func(ctx context.Context) error {
		if attempts.Add(1) == 1 {
			<-ctx.Done() // a hanging request
			return ctx.Err()
		}
		return nil
	})
	if err != nil || attempts.Load() != 2 {
		t.Errorf("%v after %d attempts, want success on the second", err, attempts.Load())
	}
}
