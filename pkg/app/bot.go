package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	"github.com/go-redis/redis_rate/v10"
	"github.com/hibiken/asynq"
	"github.com/mymmrac/telego"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/config"
	"marketingbot/pkg/intake"
	"marketingbot/pkg/miniapp"
	"marketingbot/pkg/obs"
	"marketingbot/pkg/projection"
	"marketingbot/pkg/redisx"
	"marketingbot/pkg/telegram"
	"marketingbot/pkg/texts"
	"marketingbot/pkg/worker"
)

// BotOptions adjust the bot role for in-process use.
type BotOptions struct {
	Registry *prometheus.Registry // nil: a new one
}

// Bot is the always-up front: it turns updates into tasks, serves the Mini
// App and its API, and never calls Sheets or Gemini.
type Bot struct {
	cfg      *config.Config
	log      *slog.Logger
	reg      *prometheus.Registry
	rdb      redis.UniversalClient
	client   *asynq.Client
	insp     *asynq.Inspector
	texts    *texts.Texts
	api      *miniapp.API
	tg       *telego.Bot
	HTTP     *obs.Server
	intake   *intake.Intake
	longPoll *intake.LongPoll

	cancel context.CancelFunc
	wg     sync.WaitGroup
	failed chan error
}

// NewBot builds the bot role; nothing is started and no connection is made.
func NewBot(cfg *config.Config, log *slog.Logger, o BotOptions) (*Bot, error) {
	reg := o.Registry
	if reg == nil {
		reg = obs.NewRegistry()
	}
	rdb, err := redisx.NewClient(cfg.Redis)
	if err != nil {
		return nil, err
	}
	tg, err := telegram.NewBot(telegramBotOptions(cfg.Telegram), log)
	if err != nil {
		rdb.Close()
		return nil, err
	}
	b := &Bot{cfg: cfg, log: log, reg: reg, rdb: rdb, tg: tg, failed: make(chan error, 1)}
	b.client = asynq.NewClientFromRedisClient(rdb)
	b.intake = intake.New(b.client, intake.NewRedisSequencer(rdb, cfg.Redis.KeyPrefix, 7*24*time.Hour), cfg.Telegram.OperatorsChatID, cfg.Worker.UpdateRetention, intake.NewMetrics(reg), log)
	b.HTTP = obs.NewServer(cfg.HTTP.BotAddr, reg, log)
	b.HTTP.AddCheck("redis", func(ctx context.Context) error { return redisx.Ping(ctx, rdb) })
	b.HTTP.AddCheck("intake", func(ctx context.Context) error {
		if b.longPoll != nil {
			return b.longPoll.Healthy()
		}
		return b.intake.Healthy()
	})
	if cfg.Telegram.WebhookURL != "" {
		b.HTTP.Mux.Handle("POST "+cfg.Telegram.WebhookPath, b.intake.Webhook(cfg.Telegram.WebhookSecret))
	}
	tx, err := loadTexts(cfg)
	if err != nil {
		rdb.Close()
		return nil, err
	}
	b.texts = tx
	b.api = miniapp.New(miniapp.Deps{Projection: projection.New(rdb, cfg.Redis.KeyPrefix), Tasks: b.client,
		Limiter: redis_rate.NewLimiter(rdb), Texts: tx, Log: log, Registry: reg, Now: time.Now}, MiniAppOptions(cfg, ""))
	b.api.Mount(b.HTTP.Mux)
	b.insp = asynq.NewInspectorFromRedisClient(rdb)
	reg.MustRegister(worker.NewQueueCollector(b.insp))
	if err := mountAdmin(b.HTTP.Mux, cfg); err != nil {
		rdb.Close()
		return nil, err
	}
	return b, nil
}

// Start serves HTTP and begins taking updates (webhook or long polling).
func (b *Bot) Start(ctx context.Context) error {
	if err := b.HTTP.Start(); err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	b.cancel = cancel
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		// The menu button opens the Mini App; commands get their Russian descriptions.
		retry(runCtx, b.log, "setChatMenuButton/setMyCommands", func() error { return miniapp.SetupBot(runCtx, b.tg, b.cfg.MiniAppURL(), b.texts) })
	}()
	if b.cfg.Telegram.WebhookURL != "" {
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			b.registerWebhook(runCtx)
		}()
		return nil
	}
	b.longPoll = intake.NewLongPoll(b.tg, b.intake, b.cfg.Telegram.PollTimeout, b.log)
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		b.dropWebhook(runCtx)
		_ = b.longPoll.Run(runCtx)
	}()
	return nil
}

// registerWebhook points Telegram at us, retrying until it succeeds.
func (b *Bot) registerWebhook(ctx context.Context) {
	params := &telego.SetWebhookParams{
		URL:            b.cfg.Telegram.WebhookURL,
		SecretToken:    b.cfg.Telegram.WebhookSecret,
		AllowedUpdates: intake.AllowedUpdates,
		MaxConnections: 40,
	}
	retry(ctx, b.log, "setWebhook", func() error { return b.tg.SetWebhook(ctx, params) })
}

// dropWebhook makes long polling possible (pending updates are kept).
func (b *Bot) dropWebhook(ctx context.Context) {
	retry(ctx, b.log, "deleteWebhook", func() error { return b.tg.DeleteWebhook(ctx, &telego.DeleteWebhookParams{}) })
}

// retry calls f until it succeeds or ctx ends, backing off 200 ms → 10 s and
// logging each failure: the bot's setup calls must happen eventually, and
// Telegram being unreachable at start is no reason to give up.
func retry(ctx context.Context, log *slog.Logger, what string, f func() error) {
	policy := retrypolicy.NewBuilder[any]().
		WithMaxRetries(-1). // until ctx ends
		WithBackoff(200*time.Millisecond, 10*time.Second).
		OnRetryScheduled(func(e failsafe.ExecutionScheduledEvent[any]) {
			log.Warn("telegram call failed; retrying", "method", what, "err", e.LastError())
		}).
		Build()
	_ = failsafe.With(policy).WithContext(ctx).Run(f)
}

// telegramBotOptions maps the configuration onto the Bot API client. The
// bot role long-polls with it, so a request may last the poll timeout plus
// a margin.
func telegramBotOptions(t config.Telegram) telegram.BotOptions {
	return telegram.BotOptions{Token: t.Token, APIURL: t.APIURL,
		RequestTimeout: max(t.RequestTimeout, t.PollTimeout+10*time.Second)}
}

// Stop stops intake first (the poll loop confirms what it stored), then HTTP.
func (b *Bot) Stop(ctx context.Context) error {
	if b.cancel != nil {
		b.cancel()
	}
	done := make(chan struct{})
	go func() { b.wg.Wait(); close(done) }()
	var errs []error
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("bot: intake did not stop in time: %w", ctx.Err()))
	}
	errs = append(errs, b.HTTP.Shutdown(ctx), b.rdb.Close()) // the asynq client shares rdb
	return errors.Join(errs...)
}

// Check verifies Redis and Telegram (getMe) and reports every problem
// found (check.go).
func (b *Bot) Check(ctx context.Context) error {
	return runProbes(ctx, []probe{
		redisProbe(func(ctx context.Context) error { return redisx.Ping(ctx, b.rdb) }),
		telegramProbe(func(ctx context.Context) error { _, err := b.tg.GetMe(ctx); return err }),
	})
}

// Failed never fires for the bot: every failure is retried in place.
func (b *Bot) Failed() <-chan error { return b.failed }

// Addr is the bound HTTP address.
func (b *Bot) Addr() string { return b.HTTP.Addr() }

// Registry exposes the metrics registry (tests, sandbox).
func (b *Bot) Registry() *prometheus.Registry { return b.reg }

// Ready runs the readiness checks (/readyz).
func (b *Bot) Ready(ctx context.Context) error { return b.HTTP.Ready(ctx) }
