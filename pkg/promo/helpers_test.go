package promo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/mymmrac/telego"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/config"
	"marketingbot/pkg/domain"
	"marketingbot/pkg/projection"
	"marketingbot/pkg/promo"
	"marketingbot/pkg/scan"
	"marketingbot/pkg/sheets/a1"
	"marketingbot/pkg/store"
	"marketingbot/pkg/tasks"
	"marketingbot/pkg/telegram"
	"marketingbot/pkg/texts"
	"marketingbot/pkg/worker"
	tgemu "marketingbot/sim/emulator/telegram"
	"marketingbot/sim/fixtures"
	"marketingbot/sim/testutil"
)

const (
	sid           = "promo-test"
	operatorsChat = int64(-1001234567890)
	operatorID    = int64(900001)
	firstUserID   = int64(100001)
	keyPrefix     = "t:"
	miniAppURL    = "https://mini.example/app/"
)

// env is one isolated world: a private Redis, the Telegram emulator (flood
// limits on), the Sheets emulator (Google's quota), the service wired as
// the lead wires it, and optionally a worker serving its tasks.
type env struct {
	t        *testing.T
	redis    *testutil.Redis
	rdb      *redis.Client
	tg       *tgemu.Server
	tgURL    string
	sh       *fixtures.Sheets
	cfg      *config.Config
	svc      *promo.Service
	deps     promo.Deps
	reg      *prometheus.Registry
	editor   *store.Spreadsheet // the operator editing the sheet by hand
	partners []domain.Partner
	logs     *testutil.SyncBuffer
	offset   int
}

type envOptions struct {
	partners    int
	code        func(i int) string // partner code of the i-th partner (P-0001… by default)
	noUser      func(i int) bool   // partners whose Telegram account does not exist in the emulator
	promotions  []domain.Promotion
	concurrency int // 0: no worker in this process
	now         func() time.Time
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	e := &env{t: t, logs: &testutil.SyncBuffer{}}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("service log (warnings and errors, tail):\n%s", e.logs.Tail(8000))
		}
	})
	e.redis = testutil.StartRedis(t)
	e.rdb = e.redis.Client()
	e.tg = tgemu.New(tgemu.Options{})
	hs := httptest.NewServer(e.tg)
	t.Cleanup(func() { hs.Close(); e.tg.Close() })
	e.tgURL = hs.URL
	e.sh = fixtures.StartSheets(t, nil)

	cfg, err := config.Load(config.Options{Env: configEnv(e.tgURL, e.redis.URL(), e.sh.URL)})
	if err != nil {
		t.Fatal(err)
	}
	e.cfg = cfg
	for i := range o.partners {
		code := fmt.Sprintf("P-%04d", i+1)
		if o.code != nil {
			code = o.code(i)
		}
		e.partners = append(e.partners, domain.Partner{
			Code: code, Phone: fmt.Sprintf("7900%07d", i+1), FullName: "Партнёр " + strconv.Itoa(i+1),
			Status: domain.PartnerStatusAuthorized, TelegramID: firstUserID + int64(i),
			AuthorizedAt: time.Now().Add(-24 * time.Hour),
		})
	}
	if err := e.sh.Load(sid, fixtures.Spreadsheet(sid, fixtures.DefaultTitles(),
		fixtures.Data{Partners: e.partners, Promotions: o.promotions}, cfg.Location())); err != nil {
		t.Fatal(err)
	}
	users := []user{{ID: operatorID, FirstName: "Ольга", LastName: "Операторова", Username: "olga_op"}}
	for i, p := range e.partners {
		if o.noUser == nil || !o.noUser(i) {
			users = append(users, user{ID: p.TelegramID, FirstName: p.FullName})
		}
	}
	e.control("POST", "/_emulator/users", users, nil)
	e.control("POST", "/_emulator/groups", tgemu.Group{ID: operatorsChat, Title: "Операторы"}, nil)

	e.reg = prometheus.NewRegistry()
	e.deps = newDeps(t, cfg, e.rdb, e.reg, slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if o.now != nil {
		e.deps.Now = o.now
	}
	e.svc = promo.New(e.deps)
	eo := fixtures.EmulatorStoreOptions(e.sh.URL, sid, e.rdb)
	eo.Location = cfg.Location()
	e.editor = fixtures.NewStore(t, eo)
	if o.concurrency > 0 {
		startWorker(t, e.rdb, e.svc, o.concurrency, e.reg, e.deps.Log)
	}
	return e
}

// user is a simulated user as POST /_emulator/users takes it.
type user struct {
	ID        int64  `json:"id"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name,omitempty"`
	Username  string `json:"username,omitempty"`
}

// configEnv is the configuration as environment overrides, so that the
// helper worker process reads exactly the same settings.
func configEnv(tgURL, redisURL, sheetsURL string) map[string]string {
	return map[string]string{
		config.EnvName("telegram.token"):             tgemu.DefaultToken,
		config.EnvName("telegram.api_url"):           tgURL,
		config.EnvName("telegram.operators_chat_id"): strconv.FormatInt(operatorsChat, 10),
		config.EnvName("telegram.mini_app_url"):      miniAppURL,
		config.EnvName("telegram.request_timeout"):   "10s",
		config.EnvName("redis.url"):                  redisURL,
		config.EnvName("redis.key_prefix"):           keyPrefix,
		config.EnvName("sheets.endpoint"):            sheetsURL,
		config.EnvName("sheets.spreadsheet_id"):      sid,
		config.EnvName("promo.progress_every"):       "50",
	}
}

// newDeps wires the service's collaborators from the configuration, the
// way the worker role does.
func newDeps(t testing.TB, cfg *config.Config, rdb redis.UniversalClient, reg prometheus.Registerer, log *slog.Logger) promo.Deps {
	t.Helper()
	bot, err := telegram.NewBot(telegram.BotOptions{Token: cfg.Telegram.Token, APIURL: cfg.Telegram.APIURL, RequestTimeout: cfg.Telegram.RequestTimeout}, log)
	if err != nil {
		t.Fatal(err)
	}
	tc := cfg.Telegram
	lim := telegram.NewLimiter(rdb, cfg.Redis.KeyPrefix, tc.GlobalPerSecond, tc.ChatPerSecond, tc.ChatBurst, tc.GroupPerMinute)
	o := fixtures.EmulatorStoreOptions(cfg.Sheets.Endpoint, cfg.Sheets.SpreadsheetID, rdb)
	o.Location, o.Registry, o.Logger = cfg.Location(), reg, log
	tx, err := texts.Load("")
	if err != nil {
		t.Fatal(err)
	}
	return promo.Deps{
		Sheets: fixtures.NewStore(t, o), Sender: telegram.NewSender(bot, lim, reg, log),
		Tasks: asynq.NewClientFromRedisClient(rdb), Redis: rdb, Projection: projection.New(rdb, cfg.Redis.KeyPrefix),
		Texts: tx, Config: cfg, Log: log, Registry: reg,
	}
}

func startWorker(t testing.TB, rdb redis.UniversalClient, svc *promo.Service, concurrency int, reg prometheus.Registerer, log *slog.Logger) *worker.Server {
	t.Helper()
	w := worker.New(rdb, worker.Options{Concurrency: concurrency, ShutdownTimeout: 5 * time.Second, Logger: log,
		Registry: reg, DelayedTaskCheckInterval: time.Second})
	w.HandleFunc(tasks.TypePromoBroadcast, svc.HandleBroadcast)
	w.HandleFunc(tasks.TypePromoSend, svc.HandleSend)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Shutdown)
	return w
}

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// control calls the Telegram emulator's control API.
func (e *env) control(method, path string, body, out any) {
	e.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.tgURL+path, r)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			e.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

func (e *env) block(ids ...int64) {
	for _, id := range ids {
		e.control("POST", "/_emulator/block", map[string]any{"user_id": id, "blocked": true}, nil)
	}
}

// scan runs the promotions scanner once, as the poller does.
func (e *env) scan() {
	e.t.Helper()
	if err := e.svc.Scanner().Scan(ctxT(e.t, 30*time.Second)); err != nil {
		e.t.Fatalf("scan: %v", err)
	}
}

// runScheduler runs the scanner every interval until the test ends.
func (e *env) runScheduler(interval time.Duration) {
	s := scan.NewScheduler(prometheus.NewRegistry(), e.deps.Log)
	s.Add(interval, e.svc.Scanner())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	e.t.Cleanup(func() { cancel(); <-done })
}

// row returns a promotion's row as the emulator holds it.
func (e *env) row(id string) []any {
	e.t.Helper()
	for _, r := range e.sheet(fixtures.DefaultTitles().Promotions) {
		if len(r) > 0 && fmt.Sprint(r[0]) == id {
			return r
		}
	}
	e.t.Fatalf("no promotion row %s", id)
	return nil
}

func (e *env) sheet(title string) [][]any {
	e.t.Helper()
	snap, err := e.sh.Snapshot(sid)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, s := range snap.Sheets {
		if s.Title == title {
			return s.Rows
		}
	}
	e.t.Fatalf("no sheet %s", title)
	return nil
}

// setStatus edits a promotion's status cell, as an operator does by hand.
func (e *env) setStatus(id string, status domain.PromotionStatus) {
	e.t.Helper()
	e.setCell(id, 6, string(status))
}

// setCell edits a cell of a promotion's row (col 0 = A).
func (e *env) setCell(id string, col int, value string) {
	e.t.Helper()
	rows := e.sheet(fixtures.DefaultTitles().Promotions)
	for i, r := range rows {
		if len(r) > 0 && fmt.Sprint(r[0]) == id {
			rng := a1.Cell(fixtures.DefaultTitles().Promotions, col, i+1)
			if err := e.editor.Write(ctxT(e.t, 30*time.Second), rng, [][]any{{value}}); err != nil {
				e.t.Fatal(err)
			}
			return
		}
	}
	e.t.Fatalf("no promotion row %s", id)
}

func cellStr(r []any, i int) string {
	if i < len(r) && r[i] != nil {
		return fmt.Sprint(r[i])
	}
	return ""
}

func cellNum(r []any, i int) int {
	n, _ := strconv.Atoi(cellStr(r, i))
	return n
}

// waitStatus waits until the promotion's row has the status.
func (e *env) waitStatus(id string, want domain.PromotionStatus, timeout time.Duration) []any {
	e.t.Helper()
	var r []any
	testutil.Eventually(e.t, timeout, fmt.Sprintf("promotion %s to become %s", id, want), func() bool {
		r = e.row(id)
		return cellStr(r, 6) == string(want)
	})
	return r
}

// botMessages returns the bot's messages in a chat.
func (e *env) botMessages(chatID int64) []tgemu.TranscriptMessage {
	e.t.Helper()
	tr, err := e.tg.Transcript(chatID, 0)
	if err != nil {
		e.t.Fatalf("transcript %d: %v", chatID, err)
	}
	var out []tgemu.TranscriptMessage
	for _, m := range tr.Messages {
		if m.FromBot && !m.Deleted {
			out = append(out, m)
		}
	}
	return out
}

// promoCount is how many of the bot's messages in a chat carry marker.
func (e *env) promoCount(chatID int64, marker string) int {
	n := 0
	for _, m := range e.botMessages(chatID) {
		if strings.Contains(m.Text, marker) || strings.Contains(m.Caption, marker) {
			n++
		}
	}
	return n
}

// groupText waits for a bot message in the operators' group containing s.
func (e *env) groupText(s string, timeout time.Duration) tgemu.TranscriptMessage {
	e.t.Helper()
	var found tgemu.TranscriptMessage
	testutil.Eventually(e.t, timeout, "operators' group message containing "+strconv.Quote(s), func() bool {
		for _, m := range e.botMessages(operatorsChat) {
			if strings.Contains(m.Text, s) {
				found = m
				return true
			}
		}
		return false
	})
	return found
}

// nextUpdate reads the next update the bot would receive (the test plays
// cmd/bot's intake).
func (e *env) nextUpdate() telego.Update {
	e.t.Helper()
	ctx := ctxT(e.t, 15*time.Second)
	for ctx.Err() == nil {
		ups, err := e.deps.Sender.Bot.GetUpdates(ctx, &telego.GetUpdatesParams{Offset: e.offset, Timeout: 1})
		if err != nil {
			e.t.Fatalf("getUpdates: %v", err)
		}
		if len(ups) > 0 {
			e.offset = ups[0].UpdateID + 1
			return ups[0]
		}
	}
	e.t.Fatal("no update")
	return telego.Update{}
}

// sendsTo counts the calls of the message-sending methods aimed at chatID,
// by HTTP status.
func sendsTo(calls []tgemu.Call) map[string]map[int]int {
	out := map[string]map[int]int{}
	for _, c := range calls {
		if c.Method != "sendMessage" && c.Method != "sendPhoto" {
			continue
		}
		chat, _ := c.Params["chat_id"].(string)
		if out[chat] == nil {
			out[chat] = map[int]int{}
		}
		out[chat][c.Status]++
	}
	return out
}

func promotion(id, text string, status domain.PromotionStatus, startsAt time.Time) domain.Promotion {
	return domain.Promotion{ID: id, Title: "Акция " + id, Text: text, StartsAt: startsAt, Audience: "all", Status: status}
}

// counter reads a counter with one label (outcome) from the env's registry.
func counter(t *testing.T, e *env, name, outcome string) float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == outcome {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
