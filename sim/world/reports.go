package world

import (
	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/app"
	"marketingbot/pkg/config"
	"marketingbot/pkg/projection"
	"marketingbot/pkg/reports"
	"marketingbot/pkg/store"
	"marketingbot/pkg/telegram"
	messages "marketingbot/pkg/texts"
	"marketingbot/sim/fixtures"
)

// ReportsRig is Analytics 360 wired in-process over an Env: the adapters
// the worker, the poller and the bot give packages reports and miniapp,
// each at hand for a test to drive a handler or look at the result. The
// options come from app.ReportsOptions, so a service is built from the
// configuration exactly as the roles build it.
type ReportsRig struct {
	Env        *Env
	Config     *config.Config
	Redis      *redis.Client
	Store      *store.Spreadsheet // the test's own view of the spreadsheet
	Projection *projection.Store
	Tasks      *asynq.Client
	Inspector  *asynq.Inspector
	Texts      *messages.Texts
}

// Reports loads the worker's configuration, lets change adjust it (nil:
// none) and connects the adapters; everything is closed at cleanup.
func (e *Env) Reports(change func(*config.Config)) *ReportsRig {
	e.T.Helper()
	cfg := e.Config(config.RoleWorker)
	if change != nil {
		change(cfg)
	}
	r := &ReportsRig{Env: e, Config: cfg, Redis: e.Redis.Client()}
	r.Store = r.NewStore()
	r.Projection = projection.New(r.Redis, cfg.Redis.KeyPrefix)
	r.Tasks = asynq.NewClientFromRedisClient(r.Redis)
	e.T.Cleanup(func() { r.Tasks.Close() })
	r.Inspector = asynq.NewInspectorFromRedisClient(r.Redis)
	tx, err := messages.Load("")
	if err != nil {
		e.T.Fatal(err)
	}
	r.Texts = tx
	return r
}

// NewStore is another gateway over the same spreadsheet and Redis, as a
// separate process has one. Quotas are out of the way: these tests are
// about the protocol, not about Google's limits.
func (r *ReportsRig) NewStore() *store.Spreadsheet {
	o := fixtures.EmulatorStoreOptions(r.Env.Sheets.URL, r.Env.SpreadsheetID, r.Redis)
	// The rig's own quota bucket (and row index): it reads and writes as the
	// test's hand, outside the fleet's budget, which these worlds' 1-second
	// poller scans keep busy. A GCRA key shared with a different rate would
	// starve the faster client behind the slower one. The worlds' Sheets
	// emulator has no quota unless a test sets one.
	o.Location, o.KeyPrefix = r.Config.Location(), r.Config.Redis.KeyPrefix+"rig:"
	o.ReadsPerWindow, o.WritesPerWindow = 100000, 100000
	o.ListingsTTL = r.Config.Sheets.ListingsTTL
	o.Registry = prometheus.NewRegistry()
	return fixtures.NewStore(r.Env.T, o)
}

// NewSender is a Telegram sender towards the emulator, with the fleet's
// flood limiter in the rig's Redis and its metrics on reg.
func (r *ReportsRig) NewSender(reg prometheus.Registerer) *telegram.Sender {
	r.Env.T.Helper()
	cfg := r.Config.Telegram
	bot, err := telegram.NewBot(telegram.BotOptions{Token: cfg.Token, APIURL: cfg.APIURL, RequestTimeout: cfg.RequestTimeout}, quiet())
	if err != nil {
		r.Env.T.Fatal(err)
	}
	lim := telegram.NewLimiter(r.Redis, r.Config.Redis.KeyPrefix, cfg.GlobalPerSecond, cfg.ChatPerSecond, cfg.ChatBurst, cfg.GroupPerMinute)
	return telegram.NewSender(bot, lim, reg, quiet())
}

// ReportsService says how Service builds one reports.Service.
type ReportsService struct {
	Store    *store.Spreadsheet   // nil: a new one (another process)
	Registry *prometheus.Registry // nil: a new one
	Send     bool                 // give it a sender (the worker's)
	AI       reports.Polisher     // nil: no polishing
}

// Service builds a reports.Service as the worker (Send) or the poller
// builds it.
func (r *ReportsRig) Service(o ReportsService) *reports.Service {
	if o.Store == nil {
		o.Store = r.NewStore()
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	d := reports.Deps{Store: o.Store, Tasks: r.Tasks, Inspector: r.Inspector, Projection: r.Projection, AI: o.AI,
		Redis: r.Redis, Texts: r.Texts, Log: quiet(), Registry: o.Registry}
	if o.Send {
		d.Sender = r.NewSender(o.Registry)
	}
	return reports.New(d, app.ReportsOptions(r.Config))
}
