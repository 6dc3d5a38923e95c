package systemtest

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

	"github.com/go-redis/redis_rate/v10"
	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/app"
	"marketingbot/pkg/config"
	"marketingbot/pkg/domain"
	"marketingbot/pkg/miniapp"
	"marketingbot/pkg/projection"
	"marketingbot/pkg/scan"
	"marketingbot/pkg/store"
	"marketingbot/pkg/tasks"
	"marketingbot/pkg/texts"
	"marketingbot/pkg/worker"
	tgemu "marketingbot/sim/emulator/telegram"
	"marketingbot/sim/fixtures"
	"marketingbot/sim/listinggen"
	"marketingbot/sim/testutil"
	"marketingbot/sim/world"
)

// The Mini App tests run the bot's HTTP side (the API on httptest) over a
// world (sim/world: a private redis-server and the emulators); with a
// backend they add a worker running the three analytics handlers and
// pollers running the Queue scanner, wired in-process.

const (
	miniappPartnerID   = int64(810001) // an authorized partner
	miniappStrangerID  = int64(810002) // a Telegram user who is not a partner
	miniappPartnerCode = "P-0042"
	miniappBotUsername = "emulator_bot"
)

// miniappMarketData is the demo market of the Mini App tests.
type miniappMarketData struct {
	now      time.Time
	listings []domain.Listing
	codes    []string
}

// miniappMarket is generated once, and only when a Mini App test runs.
var miniappMarket = sync.OnceValue(func() miniappMarketData {
	now := time.Now().UTC().Truncate(24 * time.Hour)
	ls := listinggen.Generate(listinggen.Config{Seed: 11, N: 2000, Now: now})
	return miniappMarketData{now: now, listings: ls, codes: listinggen.Codes(ls, 2)}
})

func miniappCode(i int) string { return miniappMarket().codes[i] }

func miniappQuiet() *slog.Logger {
	if os.Getenv("MARKETINGBOT_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// miniappStack is the bot's HTTP side over a world; withBackend adds a
// worker and pollers.
type miniappStack struct {
	t     *testing.T
	env   *world.Env
	rig   *world.ReportsRig
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

	gw           *store.Spreadsheet
	workerReg    *prometheus.Registry
	seenAtStart  sync.Map // request id → status the process handler found
	pollInterval time.Duration
}

type miniappStackOptions struct {
	now     func() time.Time
	config  func(*config.Config)
	backend bool // worker and pollers
	pollers int
}

func newMiniappStack(t *testing.T, o miniappStackOptions) *miniappStack {
	t.Helper()
	if testing.Short() {
		t.Skip("whole-system test")
	}
	s := &miniappStack{t: t, reg: prometheus.NewRegistry(), pollInterval: 100 * time.Millisecond}
	data := &fixtures.Data{Partners: []domain.Partner{{Code: miniappPartnerCode, Phone: "79990000042", FullName: "Ольга Смирнова",
		Status: domain.PartnerStatusAuthorized, TelegramID: miniappPartnerID, AuthorizedAt: time.Now().UTC().Truncate(24 * time.Hour)}}}
	if o.backend {
		data.Listings = miniappMarket().listings // only the engine reads them
	}
	s.env = world.New(t, world.Options{Data: data})
	s.redis, s.tg, s.tgURL = s.env.Redis, s.env.Telegram, s.env.TelegramURL
	if _, err := s.tg.PutUsers(
		tgemu.User{ID: miniappPartnerID, FirstName: "Ольга", Username: "olga_realty"},
		tgemu.User{ID: miniappStrangerID, FirstName: "Пётр"},
	); err != nil {
		t.Fatal(err)
	}

	mux := http.NewServeMux()
	s.api = httptest.NewServer(mux)
	t.Cleanup(s.api.Close)
	s.rig = s.env.Reports(func(c *config.Config) {
		c.Redis.KeyPrefix = "mt:"
		c.HTTP.PublicURL = s.api.URL
		c.Poller.Interval = s.pollInterval
		if o.config != nil {
			o.config(c)
		}
	})
	s.cfg, s.rdb, s.proj, s.insp, s.tx, s.gw = s.rig.Config, s.rig.Redis, s.rig.Projection, s.rig.Inspector, s.rig.Texts, s.rig.Store
	s.putPartner()

	now := o.now
	if now == nil {
		now = time.Now
	}
	api := miniapp.New(miniapp.Deps{Projection: s.proj, Tasks: s.rig.Tasks, Limiter: redis_rate.NewLimiter(s.rdb), Texts: s.tx,
		Log: miniappQuiet(), Registry: s.reg, Now: now}, app.MiniAppOptions(s.cfg, miniappBotUsername))
	api.Mount(mux)

	if o.backend {
		s.startBackend(max(1, o.pollers))
	}
	return s
}

// putPartner is what the poller's Auth scan leaves in the projection for
// an authorized partner.
func (s *miniappStack) putPartner() {
	s.t.Helper()
	p := projection.Partner{TelegramID: miniappPartnerID, Code: miniappPartnerCode, Name: "Ольга Смирнова", Phone: "79990000042"}
	if err := s.proj.PutPartner(context.Background(), p, time.Hour); err != nil {
		s.t.Fatal(err)
	}
}

// startBackend starts a worker and n pollers, each with its own gateway and
// service as separate processes would have.
func (s *miniappStack) startBackend(pollers int) {
	t := s.t
	s.workerReg = prometheus.NewRegistry()
	svc := s.rig.Service(world.ReportsService{Registry: s.workerReg, Send: true})
	w := worker.New(s.rdb, worker.Options{Concurrency: 8, ShutdownTimeout: 2 * time.Second, Logger: miniappQuiet(),
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
		psvc := s.rig.Service(world.ReportsService{})
		sched := scan.NewScheduler(prometheus.NewRegistry(), miniappQuiet())
		sched.Add(s.cfg.Poller.Interval, psvc.Scanner())
		wg.Add(1)
		go func() { defer wg.Done(); sched.Run(ctx) }()
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// initData asks the Telegram emulator for signed launch data, as the
// Telegram client would hand it to the Mini App.
func (s *miniappStack) initData(userID int64, authDate time.Time) string {
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

func (s *miniappStack) getJSON(u string, v any) {
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

// miniappResponse is one API answer.
type miniappResponse struct {
	status int
	header http.Header
	body   []byte
}

func (r miniappResponse) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("answer %d is not JSON: %q", r.status, r.body)
	}
	return m
}

// call sends one API request; auth is the whole Authorization header.
func (s *miniappStack) call(method, path, auth, contentType, body string) miniappResponse {
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
	return miniappResponse{status: resp.StatusCode, header: resp.Header, body: b}
}

func (s *miniappStack) order(initData, code string) miniappResponse {
	b, _ := json.Marshal(map[string]string{"object_code": code})
	return s.call(http.MethodPost, "/api/v1/analytics", "tma "+initData, "application/json", string(b))
}

// enqueued counts analytics tasks in every state.
func (s *miniappStack) enqueued() int {
	s.t.Helper()
	info, err := s.insp.GetQueueInfo(tasks.QueueAnalytics)
	if err != nil {
		return 0 // the queue does not exist: nothing was ever enqueued
	}
	return info.Size + info.Completed + info.Archived
}

// projected counts request records in the projection.
func (s *miniappStack) projected() int {
	s.t.Helper()
	keys, err := s.rdb.Keys(context.Background(), s.cfg.Redis.KeyPrefix+"proj:request:*").Result()
	if err != nil {
		s.t.Fatal(err)
	}
	return len(keys)
}

// botMessages returns what the bot sent the partner.
func (s *miniappStack) botMessages() []tgemu.TranscriptMessage {
	return s.env.BotMessages(miniappPartnerID)
}

// miniappMetric returns a counter's value for the given label values (0 if absent).
func miniappMetric(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
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
