package miniapp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
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
	"marketingbot/pkg/miniapp"
	"marketingbot/pkg/projection"
	"marketingbot/pkg/reports"
	"marketingbot/pkg/scan"
	"marketingbot/pkg/sheets"
	"marketingbot/pkg/tasks"
	"marketingbot/pkg/telegram"
	"marketingbot/pkg/texts"
	"marketingbot/pkg/worker"
	sheetsemu "marketingbot/sim/emulator/sheets"
	tgemu "marketingbot/sim/emulator/telegram"
	"marketingbot/sim/fixtures"
	"marketingbot/sim/listinggen"
	"marketingbot/sim/testutil"
)

const (
	sid         = "miniapp-test"
	partnerID   = int64(810001) // an authorized partner
	strangerID  = int64(810002) // a Telegram user who is not a partner
	partnerCode = "P-0042"
	botUsername = "emulator_bot"
)

var (
	marketNow = time.Now().UTC().Truncate(24 * time.Hour)
	listings  = listinggen.Generate(listinggen.Config{Seed: 11, N: 2000, Now: marketNow})
	codes     = listinggen.Codes(listings, 2)
)

func quiet() *slog.Logger {
	if os.Getenv("MARKETINGBOT_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// stack is the bot's HTTP side (the API on httptest) over a private Redis
// and the Telegram emulator; withBackend adds the Sheets emulator, a worker
// running the three analytics handlers and pollers running the scanner.
type stack struct {
	t     *testing.T
	cfg   *config.Config
	redis *testutil.Redis
	rdb   *redis.Client
	tg    *tgemu.Server
	tgURL string
	api   *httptest.Server
	reg   *prometheus.Registry
	proj  *projection.Store
	insp  *asynq.Inspector
	tx    *texts.Texts

	emu          *fixtures.Sheets
	gw           *sheets.Gateway
	workerReg    *prometheus.Registry
	seenAtStart  sync.Map // request id → status the process handler found
	pollInterval time.Duration
}

type stackOptions struct {
	now     func() time.Time
	config  func(*config.Config)
	backend bool // sheets, worker, pollers
	pollers int
}

func newStack(t *testing.T, o stackOptions) *stack {
	t.Helper()
	s := &stack{t: t, redis: testutil.StartRedis(t), reg: prometheus.NewRegistry(), pollInterval: 100 * time.Millisecond}
	s.rdb = s.redis.Client()

	s.tg = tgemu.New(tgemu.Options{BotUsername: botUsername})
	tgSrv := httptest.NewServer(s.tg)
	t.Cleanup(func() { tgSrv.Close(); s.tg.Close() })
	s.tgURL = tgSrv.URL
	if _, err := s.tg.PutUsers(
		tgemu.User{ID: partnerID, FirstName: "Ольга", Username: "olga_realty"},
		tgemu.User{ID: strangerID, FirstName: "Пётр"},
	); err != nil {
		t.Fatal(err)
	}

	mux := http.NewServeMux()
	s.api = httptest.NewServer(mux)
	t.Cleanup(s.api.Close)

	cfg := config.Defaults()
	cfg.Telegram.Token = tgemu.DefaultToken
	cfg.Telegram.APIURL = s.tgURL
	cfg.Redis.KeyPrefix = "mt:"
	cfg.Sheets.SpreadsheetID = sid
	cfg.HTTP.PublicURL = s.api.URL
	cfg.Poller.Interval = s.pollInterval
	if o.config != nil {
		o.config(&cfg)
	}
	s.cfg = &cfg

	var err error
	if s.tx, err = texts.Load(""); err != nil {
		t.Fatal(err)
	}
	s.proj = projection.New(s.rdb, cfg.Redis.KeyPrefix)
	s.insp = asynq.NewInspectorFromRedisClient(s.rdb)
	s.putPartner()

	client := asynq.NewClientFromRedisClient(s.rdb)
	t.Cleanup(func() { client.Close() })
	now := o.now
	if now == nil {
		now = time.Now
	}
	api := miniapp.New(miniapp.Deps{Projection: s.proj, Tasks: client, Redis: s.rdb, Texts: s.tx, Config: s.cfg,
		Log: quiet(), Registry: s.reg, Now: now, BotUsername: botUsername})
	api.Mount(mux)

	if o.backend {
		s.startBackend(max(1, o.pollers))
	}
	return s
}

// putPartner is what the poller's Auth scan leaves in the projection for
// an authorized partner.
func (s *stack) putPartner() {
	s.t.Helper()
	p := projection.Partner{TelegramID: partnerID, Code: partnerCode, Name: "Ольга Смирнова", Phone: "79990000042"}
	if err := s.proj.PutPartner(context.Background(), p, time.Hour); err != nil {
		s.t.Fatal(err)
	}
}

// startBackend loads the spreadsheet and starts a worker and n pollers, each
// with its own gateway and service as separate processes would have.
func (s *stack) startBackend(pollers int) {
	t := s.t
	s.emu = fixtures.StartSheets(t, &sheetsemu.Quota{})
	data := fixtures.Data{
		Partners: []domain.Partner{{Code: partnerCode, Phone: "79990000042", FullName: "Ольга Смирнова",
			Status: domain.PartnerStatusAuthorized, TelegramID: partnerID, AuthorizedAt: marketNow}},
		Listings: listings,
	}
	if err := s.emu.Load(sid, fixtures.Spreadsheet(sid, s.cfg.Sheets.Titles, data, s.cfg.Location())); err != nil {
		t.Fatal(err)
	}
	s.gw = s.gateway()

	// Worker.
	bot, err := telegram.NewBot(telegram.BotOptions{Token: s.cfg.Telegram.Token, APIURL: s.cfg.Telegram.APIURL, RequestTimeout: s.cfg.Telegram.RequestTimeout}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	s.workerReg = prometheus.NewRegistry()
	lim := telegram.NewLimiter(s.rdb, s.cfg.Redis.KeyPrefix, s.cfg.Telegram.GlobalPerSecond, s.cfg.Telegram.ChatPerSecond,
		s.cfg.Telegram.ChatBurst, s.cfg.Telegram.GroupPerMinute)
	wclient := asynq.NewClientFromRedisClient(s.rdb)
	t.Cleanup(func() { wclient.Close() })
	svc := reports.New(reports.Deps{Sheets: s.gateway(), Sender: telegram.NewSender(bot, lim, s.workerReg, quiet()), Tasks: wclient,
		Projection: s.proj, Texts: s.tx, Config: s.cfg, Log: quiet(), Registry: s.workerReg, Redis: s.rdb})
	w := worker.New(s.rdb, worker.Options{Concurrency: 8, ShutdownTimeout: 2 * time.Second, Logger: quiet(),
		Registry: s.workerReg, DelayedTaskCheckInterval: 100 * time.Millisecond})
	w.HandleFunc(tasks.TypeAnalyticsRequest, svc.HandleRequest)
	w.HandleFunc(tasks.TypeAnalyticsProcess, func(ctx context.Context, task *asynq.Task) error {
		// Record what the engine found, to show the row was NEW before it.
		if p, err := tasks.ParseAnalyticsRow(task); err == nil {
			if r, err := s.gw.Request(ctx, p.RequestID); err == nil {
				s.seenAtStart.LoadOrStore(p.RequestID, r.Status)
			}
		}
		return svc.HandleProcess(ctx, task)
	})
	w.HandleFunc(tasks.TypeAnalyticsDeliver, svc.HandleDeliver)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Shutdown)

	// Pollers, scanning concurrently.
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range pollers {
		pclient := asynq.NewClientFromRedisClient(s.rdb)
		psvc := reports.New(reports.Deps{Sheets: s.gateway(), Tasks: pclient, Projection: s.proj, Texts: s.tx, Config: s.cfg,
			Log: quiet(), Registry: prometheus.NewRegistry(), Redis: s.rdb})
		sched := scan.NewScheduler(prometheus.NewRegistry(), quiet())
		sched.Add(s.cfg.Poller.Interval, psvc.Scanner())
		wg.Add(1)
		go func() { defer wg.Done(); sched.Run(ctx) }()
		t.Cleanup(func() { pclient.Close() })
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
}

func (s *stack) gateway() *sheets.Gateway {
	o := fixtures.GatewayOptions(s.emu.URL, sid, s.rdb)
	o.Location, o.KeyPrefix = s.cfg.Location(), s.cfg.Redis.KeyPrefix
	o.ReadsPerWindow, o.WritesPerWindow = 100000, 100000
	o.ListingsTTL = s.cfg.Sheets.ListingsTTL
	o.Registry = prometheus.NewRegistry()
	return fixtures.NewGateway(s.t, o)
}

// initData asks the Telegram emulator for signed launch data, as the
// Telegram client would hand it to the Mini App.
func (s *stack) initData(userID int64, authDate time.Time) string {
	s.t.Helper()
	q := url.Values{"user_id": {fmt.Sprint(userID)}}
	if !authDate.IsZero() {
		q.Set("auth_date", fmt.Sprint(authDate.Unix()))
	}
	var out struct {
		InitData string `json:"init_data"`
	}
	s.getJSON(s.tgURL+"/_emulator/initdata?"+q.Encode(), &out)
	if out.InitData == "" {
		s.t.Fatal("the emulator returned no init data")
	}
	return out.InitData
}

func (s *stack) getJSON(u string, v any) {
	s.t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		s.t.Fatalf("GET %s: %s %s", u, resp.Status, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		s.t.Fatal(err)
	}
}

// apiResponse is one API answer.
type apiResponse struct {
	status int
	header http.Header
	body   []byte
}

func (r apiResponse) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("answer %d is not JSON: %q", r.status, r.body)
	}
	return m
}

// call sends one API request; auth is the whole Authorization header.
func (s *stack) call(method, path, auth, contentType, body string) apiResponse {
	s.t.Helper()
	req, err := http.NewRequest(method, s.api.URL+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return apiResponse{status: resp.StatusCode, header: resp.Header, body: b}
}

func (s *stack) order(initData, code string) apiResponse {
	b, _ := json.Marshal(map[string]string{"object_code": code})
	return s.call(http.MethodPost, "/api/v1/analytics", "tma "+initData, "application/json", string(b))
}

// enqueued counts analytics tasks in every state.
func (s *stack) enqueued() int {
	s.t.Helper()
	info, err := s.insp.GetQueueInfo(tasks.QueueAnalytics)
	if err != nil {
		return 0 // the queue does not exist: nothing was ever enqueued
	}
	return info.Size + info.Completed + info.Archived
}

// projected counts request records in the projection.
func (s *stack) projected() int {
	s.t.Helper()
	keys, err := s.rdb.Keys(context.Background(), s.cfg.Redis.KeyPrefix+"proj:request:*").Result()
	if err != nil {
		s.t.Fatal(err)
	}
	return len(keys)
}

// botMessages returns what the bot sent the partner.
func (s *stack) botMessages() []tgemu.TranscriptMessage {
	s.t.Helper()
	tr, err := s.tg.Transcript(partnerID, 0)
	if err != nil {
		s.t.Fatal(err)
	}
	var out []tgemu.TranscriptMessage
	for _, m := range tr.Messages {
		if m.FromBot {
			out = append(out, m)
		}
	}
	return out
}

// metric returns a counter's value for the given label values (0 if absent).
func metric(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if want, ok := labels[l.GetName()]; ok && want != l.GetValue() {
					continue next
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}
