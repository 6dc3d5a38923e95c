// Package scan runs the poller role's periodic scanners: the Queue sheet
// (analytics results to deliver, stuck requests), the Promotions sheet
// (broadcasts due), the Auth sheet (authorization projection) and orphaned
// chat inboxes. Scanners only read and enqueue tasks with ids derived from
// the rows they saw, so two pollers running at once cause no double effects.
package scan

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"marketingbot/pkg/obs"
)

// Scanner is one periodic job.
type Scanner interface {
	Name() string
	Scan(ctx context.Context) error
}

// ScanFunc adapts a function to Scanner.
type ScanFunc struct {
	N string
	F func(ctx context.Context) error
}

func (s ScanFunc) Name() string                   { return s.N }
func (s ScanFunc) Scan(ctx context.Context) error { return s.F(ctx) }

type job struct {
	s        Scanner
	interval time.Duration
}

// Scheduler runs each scanner immediately and then every interval; a scan
// never overlaps its own previous run, and a slow scanner does not delay others.
type Scheduler struct {
	log  *slog.Logger
	jobs []job

	runs     *prometheus.CounterVec
	duration *prometheus.HistogramVec
	lastOK   *prometheus.GaugeVec

	mu      sync.Mutex
	lastErr map[string]error
}

// NewScheduler builds an empty scheduler with its metrics on reg.
func NewScheduler(reg prometheus.Registerer, log *slog.Logger) *Scheduler {
	s := &Scheduler{
		log:     log,
		lastErr: map[string]error{},
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: obs.Namespace, Name: "poller_scans_total",
			Help: "Scanner runs by scanner and outcome."}, []string{"scanner", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: obs.Namespace, Name: "poller_scan_duration_seconds",
			Help: "Scanner run time.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 12)}, []string{"scanner"}),
		lastOK: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: obs.Namespace, Name: "poller_last_success_timestamp_seconds",
			Help: "Unix time of each scanner's last successful run."}, []string{"scanner"}),
	}
	reg.MustRegister(s.runs, s.duration, s.lastOK)
	return s
}

// Add registers a scanner; call before Run.
func (s *Scheduler) Add(interval time.Duration, sc Scanner) {
	s.jobs = append(s.jobs, job{s: sc, interval: interval})
}

// Scanners lists the registered scanner names.
func (s *Scheduler) Scanners() []string {
	var out []string
	for _, j := range s.jobs {
		out = append(out, j.s.Name())
	}
	return out
}

// LastErrors returns the scanners whose last run failed.
func (s *Scheduler) LastErrors() map[string]error {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]error{}
	for k, v := range s.lastErr {
		if v != nil {
			out[k] = v
		}
	}
	return out
}

// Run blocks until ctx is cancelled and every running scan has returned.
func (s *Scheduler) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, j := range s.jobs {
		wg.Add(1)
		go func(j job) {
			defer wg.Done()
			t := time.NewTicker(j.interval)
			defer t.Stop()
			for {
				s.runOnce(ctx, j.s)
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		}(j)
	}
	wg.Wait()
}

// RunOnce runs every scanner once, sequentially (tests, tools).
func (s *Scheduler) RunOnce(ctx context.Context) {
	for _, j := range s.jobs {
		s.runOnce(ctx, j.s)
	}
}

func (s *Scheduler) runOnce(ctx context.Context, sc Scanner) {
	if ctx.Err() != nil {
		return
	}
	start := time.Now()
	err := sc.Scan(ctx)
	s.duration.WithLabelValues(sc.Name()).Observe(time.Since(start).Seconds())
	s.mu.Lock()
	s.lastErr[sc.Name()] = err
	s.mu.Unlock()
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		s.runs.WithLabelValues(sc.Name(), "error").Inc()
		s.log.Warn("scan failed", "scanner", sc.Name(), "err", err)
		return
	}
	s.runs.WithLabelValues(sc.Name(), "ok").Inc()
	s.lastOK.WithLabelValues(sc.Name()).SetToCurrentTime()
}
