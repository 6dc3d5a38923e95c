package app

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/config"
	"marketingbot/pkg/obs"
	"marketingbot/pkg/redisx"
	"marketingbot/pkg/tasks"
	"marketingbot/pkg/worker"
)

// WorkerOptions adjust the worker role for in-process use.
type WorkerOptions struct {
	Registry *prometheus.Registry
	// Now is the chat's clock (nil: time.Now); whole-system tests of the
	// working hours move it.
	Now func() time.Time
}

// Worker runs the asynq server: every side effect on Sheets, Gemini and
// outgoing Telegram messages happens here.
type Worker struct {
	cfg    *config.Config
	log    *slog.Logger
	reg    *prometheus.Registry
	rdb    redis.UniversalClient
	d      *deps
	srv    *worker.Server
	HTTP   *obs.Server
	failed chan error
}

// NewWorker builds the worker role and registers every handler that works in this build.
func NewWorker(cfg *config.Config, log *slog.Logger, o WorkerOptions) (*Worker, error) {
	reg := o.Registry
	if reg == nil {
		reg = obs.NewRegistry()
	}
	rdb, err := redisx.NewClient(cfg.Redis)
	if err != nil {
		return nil, err
	}
	d, err := newDeps(context.Background(), cfg, log, reg, rdb, true)
	if err != nil {
		rdb.Close()
		return nil, err
	}
	if o.Now != nil {
		d.now = o.Now
	}
	w := &Worker{cfg: cfg, log: log, reg: reg, rdb: rdb, d: d, failed: make(chan error, 1)}
	w.srv = worker.New(rdb, worker.Options{
		Concurrency:     cfg.Worker.Concurrency,
		ShutdownTimeout: cfg.Worker.ShutdownTimeout,
		Logger:          log,
		Registry:        reg,
	})
	pr := d.promoService()
	chat := d.chatService(pr)
	w.srv.HandleFunc(tasks.TypeChatMessage, chat.HandleMessage)
	w.srv.HandleFunc(tasks.TypeChatCallback, chat.HandleCallback)
	w.srv.HandleFunc(tasks.TypeOperatorMessage, chat.HandleOperatorMessage)
	w.srv.HandleFunc(tasks.TypeChatMember, chat.HandleMember)
	w.srv.HandleFunc(tasks.TypeChatDrain, chat.HandleDrain)
	rep := d.reportsService()
	w.srv.HandleFunc(tasks.TypeAnalyticsRequest, rep.HandleRequest)
	w.srv.HandleFunc(tasks.TypeAnalyticsProcess, rep.HandleProcess)
	w.srv.HandleFunc(tasks.TypeAnalyticsDeliver, rep.HandleDeliver)
	w.srv.HandleFunc(tasks.TypePromoBroadcast, pr.HandleBroadcast)
	w.srv.HandleFunc(tasks.TypePromoSend, pr.HandleSend)
	w.HTTP = obs.NewServer(cfg.HTTP.WorkerAddr, reg, log)
	w.HTTP.EnablePprof()
	w.HTTP.AddCheck("redis", func(ctx context.Context) error { return redisx.Ping(ctx, rdb) })
	return w, nil
}

// Start serves HTTP and begins processing tasks.
func (w *Worker) Start(ctx context.Context) error {
	if err := w.HTTP.Start(); err != nil {
		return err
	}
	return w.srv.Start()
}

// Stop stops fetching tasks, lets in-flight ones finish within the shutdown
// timeout (the rest go back to the queue), then closes connections.
func (w *Worker) Stop(ctx context.Context) error {
	w.srv.Shutdown()
	w.d.close()
	return errors.Join(w.HTTP.Shutdown(ctx), w.rdb.Close())
}

// Check verifies Redis, the spreadsheet (every sheet present, the service
// account's key accepted), Telegram and Gemini (the API key, and that every
// model it uses exists), and reports every problem found (check.go).
func (w *Worker) Check(ctx context.Context) error {
	return runProbes(ctx, []probe{
		redisProbe(func(ctx context.Context) error { return redisx.Ping(ctx, w.rdb) }),
		sheetsProbe(w.d),
		telegramProbe(func(ctx context.Context) error { _, err := w.d.tg.GetMe(ctx); return err }),
		geminiProbe(w.d.ai, w.cfg.Gemini),
	})
}

// Failed never fires: asynq reconnects to Redis by itself.
func (w *Worker) Failed() <-chan error { return w.failed }

// Addr is the bound HTTP address.
func (w *Worker) Addr() string { return w.HTTP.Addr() }

// Ready runs the readiness checks (/readyz).
func (w *Worker) Ready(ctx context.Context) error { return w.HTTP.Ready(ctx) }
