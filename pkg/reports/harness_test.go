package reports_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/config"
	"marketingbot/pkg/domain"
	"marketingbot/pkg/projection"
	"marketingbot/pkg/reports"
	"marketingbot/pkg/sheets"
	"marketingbot/pkg/tasks"
	"marketingbot/pkg/telegram"
	"marketingbot/pkg/texts"
	sheetsemu "marketingbot/sim/emulator/sheets"
	tgemu "marketingbot/sim/emulator/telegram"
	"marketingbot/sim/fixtures"
	"marketingbot/sim/listinggen"
	"marketingbot/sim/testutil"
)

const (
	sid     = "reports-test"
	userID  = int64(700001)
	partner = "P-0001"
)

// testNow anchors the demo market at today, so the engine's 12-month trend
// has data whatever day the tests run.
var testNow = time.Now().UTC().Truncate(24 * time.Hour)

// listings are generated once: the same demo market for every test.
var (
	listings = listinggen.Generate(listinggen.Config{Seed: 7, N: 3000, Now: testNow})
	codes    = listinggen.Codes(listings, 3)
)

// env is one test's world: a private Redis, the Telegram and Sheets
// emulators, a gateway and the service under test.
type env struct {
	t     *testing.T
	cfg   *config.Config
	rdb   *redis.Client
	tg    *tgemu.Server
	emu   *fixtures.Sheets
	gw    *sheets.Gateway
	proj  *projection.Store
	tasks *asynq.Client
	insp  *asynq.Inspector
	tx    *texts.Texts
	reg   *prometheus.Registry
	svc   *reports.Service
}

type option func(*config.Config, *reports.Deps)

func quiet() *slog.Logger {
	if os.Getenv("DBG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func newEnv(t *testing.T, queue [][]any, opts ...option) *env {
	t.Helper()
	r := testutil.StartRedis(t)
	rdb := r.Client()

	tg := tgemu.New(tgemu.Options{})
	tgSrv := httptest.NewServer(tg)
	t.Cleanup(func() { tgSrv.Close(); tg.Close() })
	if _, err := tg.PutUsers(tgemu.User{ID: userID, FirstName: "Анна", Username: "anna_agent"}); err != nil {
		t.Fatal(err)
	}

	cfg := config.Defaults()
	cfg.Telegram.Token = tgemu.DefaultToken
	cfg.Telegram.APIURL = tgSrv.URL
	cfg.Redis.KeyPrefix = "test:"
	cfg.Sheets.SpreadsheetID = sid
	cfg.HTTP.PublicURL = "https://bot.example.test"

	deps := reports.Deps{Now: time.Now, Log: quiet()}
	for _, o := range opts {
		o(&cfg, &deps)
	}

	emu := fixtures.StartSheets(t, &sheetsemu.Quota{})
	data := fixtures.Data{
		Partners: []domain.Partner{{Code: partner, Phone: "79990000001", FullName: "Анна Петрова",
			Status: domain.PartnerStatusAuthorized, TelegramID: userID, AuthorizedAt: testNow}},
		Listings: listings,
		Queue:    queue,
	}
	if err := emu.Load(sid, fixtures.Spreadsheet(sid, cfg.Sheets.Titles, data, cfg.Location())); err != nil {
		t.Fatal(err)
	}
	gw := newGateway(t, emu, rdb, &cfg)

	tx, err := texts.Load("")
	if err != nil {
		t.Fatal(err)
	}
	bot, err := telegram.NewBot(telegram.BotOptions{Token: cfg.Telegram.Token, APIURL: cfg.Telegram.APIURL, RequestTimeout: cfg.Telegram.RequestTimeout}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	lim := telegram.NewLimiter(rdb, cfg.Redis.KeyPrefix, cfg.Telegram.GlobalPerSecond, cfg.Telegram.ChatPerSecond, cfg.Telegram.ChatBurst, cfg.Telegram.GroupPerMinute)
	client := asynq.NewClientFromRedisClient(rdb)
	t.Cleanup(func() { client.Close() })

	e := &env{t: t, cfg: &cfg, rdb: rdb, tg: tg, emu: emu, gw: gw, tasks: client, tx: tx, reg: reg,
		proj: projection.New(rdb, cfg.Redis.KeyPrefix), insp: asynq.NewInspectorFromRedisClient(rdb)}
	deps.Sheets, deps.Sender, deps.Tasks, deps.Projection = gw, telegram.NewSender(bot, lim, reg, quiet()), client, e.proj
	deps.Texts, deps.Config, deps.Registry, deps.Redis = tx, &cfg, reg, rdb
	e.svc = reports.New(deps)
	return e
}

func newGateway(t *testing.T, emu *fixtures.Sheets, rdb redis.UniversalClient, cfg *config.Config) *sheets.Gateway {
	o := fixtures.GatewayOptions(emu.URL, sid, rdb)
	o.Location, o.KeyPrefix = cfg.Location(), cfg.Redis.KeyPrefix
	o.ReadsPerWindow, o.WritesPerWindow = 100000, 100000
	o.ListingsTTL = cfg.Sheets.ListingsTTL
	o.Registry = prometheus.NewRegistry()
	return fixtures.NewGateway(t, o)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// sheetLoc is the time zone of the default configuration, in which the
// gateway reads times typed into the sheet.
var sheetLoc = func() *time.Location { c := config.Defaults(); return c.Location() }()

// queueRow is a raw Queue row as Apps Script or a person would leave it.
func queueRow(id, code, status string, created, updated time.Time) []any {
	return []any{id, domain.FormatSheetTime(created, sheetLoc), code, "700001", partner, status,
		domain.FormatSheetTime(updated, sheetLoc), "", "", "", ""}
}

// row reads one Queue row straight from the emulator.
func (e *env) row(id string) domain.AnalyticsRequest {
	e.t.Helper()
	r, err := e.gw.Request(ctxT(e.t), id)
	if err != nil {
		e.t.Fatalf("queue row %s: %v", id, err)
	}
	return r
}

// request runs HandleRequest for a new order of code and returns its id.
func (e *env) request(id, code string) {
	e.t.Helper()
	task, err := tasks.NewAnalyticsRequestTask(tasks.AnalyticsRequestPayload{
		RequestID: id, ObjectCode: code, TelegramID: userID, Requester: partner, CreatedAt: time.Now()})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.svc.HandleRequest(ctxT(e.t), task); err != nil {
		e.t.Fatalf("HandleRequest: %v", err)
	}
}

func (e *env) process(id string) error {
	task, err := tasks.NewAnalyticsProcessTask(id)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.svc.HandleProcess(ctxT(e.t), task)
}

func (e *env) deliver(id string) error {
	task, err := tasks.NewAnalyticsDeliverTask(id)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.svc.HandleDeliver(ctxT(e.t), task)
}

// chat returns the bot's messages to the user.
func (e *env) chat() []tgemu.TranscriptMessage {
	e.t.Helper()
	tr, err := e.tg.Transcript(userID, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []tgemu.TranscriptMessage
	for _, m := range tr.Messages {
		if m.FromBot {
			out = append(out, m)
		}
	}
	return out
}

// counts splits the chat into texts and documents.
func counts(msgs []tgemu.TranscriptMessage) (texts, docs int) {
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
func (e *env) taskState(id string) string {
	info, err := e.insp.GetTaskInfo(tasks.QueueAnalytics, id)
	if err != nil {
		return ""
	}
	return info.State.String()
}

func contains(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}

// metric returns the value of a counter with the given label value (0 when absent).
func metric(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
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
