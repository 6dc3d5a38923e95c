// Package worker is the asynq server every cmd/worker instance runs: all
// queues with their priorities, task metrics, retry policy (rate limits retry
// after the server's delay without counting as failures), and a mux that
// archives unknown task types with a clear error instead of retrying them.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/obs"
	"marketingbot/pkg/tasks"
)

// Options configure the server.
type Options struct {
	Concurrency     int
	ShutdownTimeout time.Duration
	Logger          *slog.Logger
	Registry        prometheus.Registerer
	// DelayedTaskCheckInterval is how often retries and scheduled tasks are
	// moved to pending; small values shorten rate-limit waits.
	DelayedTaskCheckInterval time.Duration
}

// Server wraps asynq.Server with our mux and metrics.
type Server struct {
	srv *asynq.Server
	mux *asynq.ServeMux
	log *slog.Logger
	m   *metrics
	// running counts handlers still running; asynq stops waiting for them
	// at its shutdown timeout (and cancels their contexts) but does not
	// wait for them to return.
	running sync.WaitGroup
}

// handlerGrace is how long Shutdown waits, after asynq's shutdown timeout,
// for cancelled handlers to return. A handler cancelled in the middle of a
// Bot API request still gets the answer (pkg/telegram waits for a request
// that left) and records the message as sent; exiting before that would
// send it again when the task runs elsewhere.
const handlerGrace = 3 * time.Second

type metrics struct {
	processed *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	inflight  *prometheus.GaugeVec
}

// New builds the server on an existing Redis connection.
func New(rdb redis.UniversalClient, o Options) *Server {
	m := newMetrics(o.Registry)
	s := &Server{mux: asynq.NewServeMux(), log: o.Logger, m: m}
	s.srv = asynq.NewServerFromRedisClient(rdb, serverConfig(o))
	return s
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		processed: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: obs.Namespace, Name: "tasks_processed_total",
			Help: "Tasks handled, by type and outcome (ok, retry, deferred, failed, skipped)."}, []string{"type", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: obs.Namespace, Name: "task_duration_seconds",
			Help: "Task handling time by type.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 14)}, []string{"type"}),
		inflight: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: obs.Namespace, Name: "tasks_in_flight",
			Help: "Tasks being handled now, by type."}, []string{"type"}),
	}
	reg.MustRegister(m.processed, m.duration, m.inflight)
	return m
}

// serverConfig: every queue by its weight, our retry policy, and failures
// logged once (deferrals are not failures).
func serverConfig(o Options) asynq.Config {
	if o.DelayedTaskCheckInterval == 0 {
		o.DelayedTaskCheckInterval = time.Second
	}
	return asynq.Config{
		Concurrency:              o.Concurrency,
		Queues:                   tasks.Queues(),
		ShutdownTimeout:          o.ShutdownTimeout,
		Logger:                   obs.AsynqLogger{L: o.Logger},
		LogLevel:                 asynq.WarnLevel,
		IsFailure:                isFailure,
		RetryDelayFunc:           retryDelay,
		DelayedTaskCheckInterval: o.DelayedTaskCheckInterval,
		// asynq sleeps this long when it finds every queue empty; its default
		// (1 s) would add up to a second to every chat answer.
		TaskCheckInterval: 100 * time.Millisecond,
		ErrorHandler:      asynq.ErrorHandlerFunc(func(ctx context.Context, t *asynq.Task, err error) { logFailure(ctx, o.Logger, t, err) }),
	}
}

// logFailure logs a failed task: a warning while it will be retried, an
// error when it will not; a deferral (RetryAfterError) is no failure.
func logFailure(ctx context.Context, log *slog.Logger, t *asynq.Task, err error) {
	if _, ok := tasks.AsRetryAfter(err); ok {
		return
	}
	retried, _ := asynq.GetRetryCount(ctx)
	maxRetry, _ := asynq.GetMaxRetry(ctx)
	id, _ := asynq.GetTaskID(ctx)
	lvl := slog.LevelWarn
	if retried >= maxRetry || errors.Is(err, asynq.SkipRetry) {
		lvl = slog.LevelError
	}
	log.Log(ctx, lvl, "task failed", "task_type", t.Type(), "task_id", id, "retried", retried, "max_retry", maxRetry, "err", err)
}

// Handle registers the handler of a task type.
func (s *Server) Handle(typ string, h asynq.Handler) { s.mux.Handle(typ, h) }

// HandleFunc registers a handler function.
func (s *Server) HandleFunc(typ string, h func(context.Context, *asynq.Task) error) {
	s.mux.HandleFunc(typ, h)
}

// Start begins processing in the background.
func (s *Server) Start() error {
	if err := s.srv.Start(s); err != nil {
		return fmt.Errorf("worker: start: %w", err)
	}
	return nil
}

// Shutdown stops fetching new tasks, waits up to the shutdown timeout for
// in-flight ones and hands the rest back to the queue, then gives the
// handlers it cancelled up to handlerGrace to return.
func (s *Server) Shutdown() {
	s.srv.Shutdown()
	done := make(chan struct{})
	go func() { s.running.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(handlerGrace):
		s.log.Warn("handlers still running after the shutdown timeout and the grace period; exiting anyway", "grace", handlerGrace)
	}
}

// ProcessTask dispatches with metrics; unknown types are archived (SkipRetry).
func (s *Server) ProcessTask(ctx context.Context, t *asynq.Task) error {
	h, pattern := s.mux.Handler(t)
	typ := t.Type()
	if pattern == "" {
		s.m.processed.WithLabelValues("unknown", "skipped").Inc()
		return fmt.Errorf("worker: no handler for task type %q in this build; archived: %w", typ, asynq.SkipRetry)
	}
	s.running.Add(1)
	defer s.running.Done()
	s.m.inflight.WithLabelValues(typ).Inc()
	start := time.Now()
	err := h.ProcessTask(ctx, t)
	s.m.inflight.WithLabelValues(typ).Dec()
	s.m.duration.WithLabelValues(typ).Observe(time.Since(start).Seconds())
	s.m.processed.WithLabelValues(typ, outcome(err)).Inc()
	return err
}

func outcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, asynq.SkipRetry):
		return "skipped"
	default:
		if _, ok := tasks.AsRetryAfter(err); ok {
			return "deferred"
		}
		return "retry"
	}
}

func isFailure(err error) bool {
	_, deferred := tasks.AsRetryAfter(err)
	return !deferred
}

func retryDelay(n int, err error, t *asynq.Task) time.Duration {
	if r, ok := tasks.AsRetryAfter(err); ok {
		return r.After
	}
	// Capped exponential backoff with jitter: 1s, 2s, 4s … 5 min. asynq's
	// default grows as n^4 and reaches hours, too slow for a chat.
	d := time.Second << min(n, 9)
	if d > 5*time.Minute {
		d = 5 * time.Minute
	}
	return d/2 + time.Duration(float64(d/2)*jitter())
}
