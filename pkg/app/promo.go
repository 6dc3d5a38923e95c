package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
	"github.com/mymmrac/telego"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/config"
	"marketingbot/pkg/projection"
	"marketingbot/pkg/promo"
	"marketingbot/pkg/store"
	"marketingbot/pkg/telegram"
)

// The adapters the roles hand to promotions fit its seams.
var (
	_ promo.Store         = (*store.Spreadsheet)(nil)
	_ promo.Sender        = (*telegram.Sender)(nil)
	_ promo.Limiter       = (*telegram.Limiter)(nil)
	_ promo.BotInfo       = (*telego.Bot)(nil)
	_ promo.Enqueuer      = (*asynq.Client)(nil)
	_ promo.TaskInspector = (*asynq.Inspector)(nil)
	_ promo.Projection    = (*projection.Store)(nil)
)

// promoOptions maps the configuration onto the promotions' settings.
func promoOptions(cfg *config.Config) promo.Options {
	return promo.Options{
		OperatorsChatID: cfg.Telegram.OperatorsChatID,
		ProgressEvery:   cfg.Promo.ProgressEvery,
		SendRate:        cfg.Telegram.GlobalPerSecond,
		KeyPrefix:       cfg.Redis.KeyPrefix,
		MiniAppURL:      cfg.MiniAppURL(),
		ScanInterval:    cfg.Poller.PromotionsInterval,
	}
}

// newPromo builds promotions on the role's adapters; the poller runs only
// its scanner.
func newPromo(d *deps, now func() time.Time) *promo.Service {
	// The sends reserve the shared limiter themselves and then call the Bot
	// API through a copy of the Sender without it (see pkg/promo's doc).
	direct := *d.sender
	direct.Limiter = nil
	var lim promo.Limiter
	if d.sender.Limiter != nil { // a nil *Limiter must not become a non-nil interface
		lim = d.sender.Limiter
	}
	return promo.New(promo.Deps{Store: d.sheets, Sender: d.sender, Direct: &direct, Limiter: lim, Bot: d.tg,
		Tasks: d.tasks, Inspector: asynq.NewInspectorFromRedisClient(d.rdb), Redis: d.rdb, Projection: d.proj,
		Texts: d.texts, Log: d.log, Registry: d.reg, Now: now}, promoOptions(d.cfg))
}

// PromoOptions adjust an in-process promotions service.
type PromoOptions struct {
	Registry *prometheus.Registry // nil: a new one
	Now      func() time.Time     // nil: time.Now
}

// Promo is the promotions service wired as the roles wire it, with its own
// adapters, outside a role: the whole-system tests play a poller's scanner
// or the operators' handler with it.
type Promo struct {
	*promo.Service
	Sender     *telegram.Sender // the limited Bot API client the service sends with
	Projection *projection.Store
	d          *deps
}

// NewPromo builds the promotions service from the configuration on rdb,
// which the caller keeps and closes; Close releases the rest.
func NewPromo(cfg *config.Config, log *slog.Logger, rdb redis.UniversalClient, o PromoOptions) (*Promo, error) {
	reg := o.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	d, err := newDeps(context.Background(), cfg, log, reg, rdb, false)
	if err != nil {
		return nil, err
	}
	return &Promo{Service: newPromo(d, now), Sender: d.sender, Projection: d.proj, d: d}, nil
}

// Close releases the adapters the service was built on.
func (p *Promo) Close() { p.d.close() }
