package sheets

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	"google.golang.org/api/googleapi"
)

var errTimeout = errors.New("request timeout")

// noRetry stops the retry policy while still counting against the breaker.
type noRetry struct{ err error }

func (e noRetry) Error() string { return e.err.Error() }
func (e noRetry) Unwrap() error { return e.err }

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
	if authRefused(err) {
		return false // auth.go: Google refused our key; the request never left
	}
	var nerr net.Error
	return errors.As(err, &nerr)
}

// ambiguous: the request may have been applied although we saw an error
// (timeouts, dropped connections, 500/502/504). Appends must check before
// trying again; 429 and 503 are refused before anything happens.
func ambiguous(err error) bool {
	if err == nil || errors.Is(err, circuitbreaker.ErrOpen) || errors.Is(err, context.Canceled) || authFailed(err) {
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

// isClientError: a 4xx other than 429 — the request itself is wrong and will
// stay wrong (bad range, cell too long, grid limits).
func isClientError(err error) bool {
	var gerr *googleapi.Error
	return errors.As(err, &gerr) && gerr.Code >= 400 && gerr.Code < 500 && gerr.Code != http.StatusTooManyRequests
}

// newPolicies builds the retry policy (unbounded attempts: the caller's
// context bounds them) and the circuit breaker every request runs under.
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
