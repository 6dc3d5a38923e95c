package app

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/config"
	"marketingbot/pkg/obs"
	"marketingbot/pkg/redisx"
	"marketingbot/pkg/scan"
)

// PollerOptions adjust the poller role for in-process use.
type PollerOptions struct {
	Registry *prometheus.Registry
	// Now is the chat's clock (nil: time.Now); whole-system tests of the
	// working hours move it.
	Now func() time.Time
}

// Poller runs the periodic scanners.
type Poller struct {
	cfg   *config.Config
	log   *slog.Logger
	reg   *prometheus.Registry
	rdb   redis.UniversalClient
	d     *deps
	sched *scan.Scheduler
	HTTP  *obs.Server

	cancel context.CancelFunc
	wg     sync.WaitGroup
	failed chan error
}

// NewPoller builds the poller role with every scanner that works in this build.
func NewPoller(cfg *config.Config, log *slog.Logger, o PollerOptions) (*Poller, error) {
	reg := o.Registry
	if reg == nil {
		reg = obs.NewRegistry()
	}
	rdb, err := redisx.NewClient(cfg.Redis)
	if err != nil {
		return nil, err
	}
	d, err := newDeps(context.Background(), cfg, log, reg, rdb, false)
	if err != nil {
		rdb.Close()
		return nil, err
	}
	if o.Now != nil {
		d.now = o.Now
	}
	p := &Poller{cfg: cfg, log: log, reg: reg, rdb: rdb, d: d, failed: make(chan error, 1)}
	p.sched = scan.NewScheduler(reg, log)
	chat := d.chatService(nil)
	p.sched.Add(cfg.Poller.AuthInterval, chat.AuthScanner())
	p.sched.Add(cfg.Poller.Interval, chat.SweepScanner())
	p.sched.Add(cfg.Poller.Interval, chat.TopicScanner())
	p.sched.Add(cfg.Poller.Interval, chat.OpeningScanner())
	p.sched.Add(cfg.Poller.Interval, d.reportsService().Scanner())
	p.sched.Add(cfg.Poller.PromotionsInterval, d.promoService().Scanner())
	p.sched.Add(cfg.Poller.StatsInterval, chat.StatsScanner())
	p.HTTP = obs.NewServer(cfg.HTTP.PollerAddr, reg, log)
	p.HTTP.EnablePprof()
	p.HTTP.AddCheck("redis", func(ctx context.Context) error { return redisx.Ping(ctx, rdb) })
	return p, nil
}

// Start serves HTTP and starts the scanners.
func (p *Poller) Start(ctx context.Context) error {
	if err := p.HTTP.Start(); err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p.cancel = cancel
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.sched.Run(runCtx)
	}()
	return nil
}

// Stop waits for running scans to return.
func (p *Poller) Stop(ctx context.Context) error {
	if p.cancel != nil {
		p.cancel()
	}
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	p.d.close()
	return errors.Join(p.HTTP.Shutdown(ctx), p.rdb.Close())
}

// Check verifies Redis, the spreadsheet and Telegram (the poller posts
// operators' notes), and reports every problem found (check.go). The
// poller never calls Gemini, so its models are the worker's to check.
func (p *Poller) Check(ctx context.Context) error {
	return runProbes(ctx, []probe{
		redisProbe(func(ctx context.Context) error { return redisx.Ping(ctx, p.rdb) }),
		sheetsProbe(p.d),
		telegramProbe(func(ctx context.Context) error { _, err := p.d.tg.GetMe(ctx); return err }),
	})
}

// Failed never fires.
func (p *Poller) Failed() <-chan error { return p.failed }

// Addr is the bound HTTP address.
func (p *Poller) Addr() string { return p.HTTP.Addr() }

// Ready runs the readiness checks (/readyz).
func (p *Poller) Ready(ctx context.Context) error { return p.HTTP.Ready(ctx) }
