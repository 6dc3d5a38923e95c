package systemtest

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/config"
	"marketingbot/pkg/domain"
	"marketingbot/pkg/projection"
	"marketingbot/pkg/reports"
	"marketingbot/pkg/store"
	"marketingbot/pkg/tasks"
	"marketingbot/pkg/texts"
	tgemu "marketingbot/sim/emulator/telegram"
	"marketingbot/sim/fixtures"
	"marketingbot/sim/listinggen"
	"marketingbot/sim/world"
)

// The Analytics 360 handler tests drive package reports' handlers directly,
// the way the worker and the poller call them, against the Sheets and
// Telegram emulators and a private redis-server (sim/world).

const (
	reportsUserID  = int64(700001)
	reportsPartner = "P-0001"
)

// reportsMarketData is the demo market every reports test uses: listings
// anchored at today (so the engine's 12-month trend has data whatever day
// the tests run) and three object codes in it.
type reportsMarketData struct {
	now      time.Time
	listings []domain.Listing
	codes    []string
}

// reportsMarket is generated once, and only when a reports test runs.
var reportsMarket = sync.OnceValue(func() reportsMarketData {
	now := time.Now().UTC().Truncate(24 * time.Hour)
	ls := listinggen.Generate(listinggen.Config{Seed: 7, N: 3000, Now: now})
	return reportsMarketData{now: now, listings: ls, codes: listinggen.Codes(ls, 3)}
})

func reportsCode(i int) string { return reportsMarket().codes[i] }

// reportsEnv is one test's world and the service under test.
type reportsEnv struct {
	t     *testing.T
	env   *world.Env
	rig   *world.ReportsRig
	cfg   *config.Config
	rdb   *redis.Client
	tg    *tgemu.Server
	emu   *fixtures.Sheets
	gw    *store.Spreadsheet
	proj  *projection.Store
	tasks *asynq.Client
	insp  *asynq.Inspector
	tx    *texts.Texts
	reg   *prometheus.Registry
	svc   *reports.Service
}

// reportsSetup is what a reportsOption changes.
type reportsSetup struct {
	config []func(*config.Config)
	ai     reports.Polisher
}

type reportsOption func(*reportsSetup)

func reportsAppsScript(s *reportsSetup) {
	s.config = append(s.config, func(c *config.Config) { c.Analytics.Engine = reports.EngineAppsScript })
}

func reportsWithPolisher(p reports.Polisher) reportsOption {
	return func(s *reportsSetup) {
		s.ai = p
		s.config = append(s.config, func(c *config.Config) { c.Gemini.PolishAnalytics = true })
	}
}

func reportsQuiet() *slog.Logger {
	if os.Getenv("DBG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// newReportsEnv starts a world whose spreadsheet holds one authorized
// partner, the demo market and the given raw Queue rows.
func newReportsEnv(t *testing.T, queue [][]any, opts ...reportsOption) *reportsEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("whole-system test")
	}
	var setup reportsSetup
	for _, o := range opts {
		o(&setup)
	}
	m := reportsMarket()
	env := world.New(t, world.Options{Data: &fixtures.Data{
		Partners: []domain.Partner{{Code: reportsPartner, Phone: "79990000001", FullName: "Анна Петрова",
			Status: domain.PartnerStatusAuthorized, TelegramID: reportsUserID, AuthorizedAt: m.now}},
		Listings: m.listings,
		Queue:    queue,
	}})
	if _, err := env.Telegram.PutUsers(tgemu.User{ID: reportsUserID, FirstName: "Анна", Username: "anna_agent"}); err != nil {
		t.Fatal(err)
	}
	rig := env.Reports(func(c *config.Config) {
		c.Redis.KeyPrefix = "test:"
		c.HTTP.PublicURL = "https://bot.example.test"
		for _, f := range setup.config {
			f(c)
		}
	})
	e := &reportsEnv{t: t, env: env, rig: rig, cfg: rig.Config, rdb: rig.Redis, tg: env.Telegram, emu: env.Sheets, gw: rig.Store,
		proj: rig.Projection, tasks: rig.Tasks, insp: rig.Inspector, tx: rig.Texts, reg: prometheus.NewRegistry()}
	e.svc = rig.Service(world.ReportsService{Store: rig.Store, Registry: e.reg, Send: true, AI: setup.ai})
	return e
}

func reportsCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// reportsSheetLoc is the time zone of the default configuration, in which
// the gateway reads times typed into the sheet.
var reportsSheetLoc = func() *time.Location { c := config.Defaults(); return c.Location() }()

// reportsQueueRow is a raw Queue row as Apps Script or a person would leave it.
func reportsQueueRow(id, code, status string, created, updated time.Time) []any {
	return []any{id, domain.FormatSheetTime(created, reportsSheetLoc), code, "700001", reportsPartner, status,
		domain.FormatSheetTime(updated, reportsSheetLoc), "", "", "", ""}
}

// row reads one Queue row straight from the emulator.
func (e *reportsEnv) row(id string) domain.AnalyticsRequest {
	e.t.Helper()
	r, err := e.gw.Request(reportsCtx(e.t), id)
	if err != nil {
		e.t.Fatalf("queue row %s: %v", id, err)
	}
	return r
}

// request runs HandleRequest for a new order of code.
func (e *reportsEnv) request(id, code string) {
	e.t.Helper()
	task, err := tasks.NewAnalyticsRequestTask(tasks.AnalyticsRequestPayload{
		RequestID: id, ObjectCode: code, TelegramID: reportsUserID, Requester: reportsPartner, CreatedAt: time.Now()})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.svc.HandleRequest(reportsCtx(e.t), task); err != nil {
		e.t.Fatalf("HandleRequest: %v", err)
	}
}

func (e *reportsEnv) process(id string) error {
	task, err := tasks.NewAnalyticsProcessTask(id)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.svc.HandleProcess(reportsCtx(e.t), task)
}

func (e *reportsEnv) deliver(id string) error {
	task, err := tasks.NewAnalyticsDeliverTask(id)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.svc.HandleDeliver(reportsCtx(e.t), task)
}

// chat returns the bot's messages to the user.
func (e *reportsEnv) chat() []tgemu.TranscriptMessage { return e.env.BotMessages(reportsUserID) }

// reportsCounts splits the chat into texts and documents.
func reportsCounts(msgs []tgemu.TranscriptMessage) (texts, docs int) {
	for _, m := range msgs {
		if m.Document != nil {
			docs++
		} else {
			texts++
		}
	}
	return
}

// taskState is the asynq state of a task in the analytics queue, "" if none.
func (e *reportsEnv) taskState(id string) string {
	info, err := e.insp.GetTaskInfo(tasks.QueueAnalytics, id)
	if err != nil {
		return ""
	}
	return info.State.String()
}

func reportsContains(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}

// reportsMetric returns the value of a counter with the given label value
// (0 when absent).
func reportsMetric(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetValue() == label {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
