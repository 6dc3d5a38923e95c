package world

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mymmrac/telego"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/app"
	"marketingbot/pkg/config"
	"marketingbot/pkg/domain"
	"marketingbot/pkg/scan"
	"marketingbot/pkg/sheets/a1"
	"marketingbot/pkg/store"
	"marketingbot/pkg/telegram"
	sheetsemu "marketingbot/sim/emulator/sheets"
	tgemu "marketingbot/sim/emulator/telegram"
	"marketingbot/sim/fixtures"
	"marketingbot/sim/testutil"
)

// PromoMiniAppURL is the Mini App URL of a promotions world; the
// promotion's button opens PromoMiniAppURL + "?screen=promotions".
const PromoMiniAppURL = "https://mini.example/app/"

// promoFirstUserID is the Telegram id of the first generated partner.
const promoFirstUserID = int64(100001)

// PromoOptions shape a promotions world.
type PromoOptions struct {
	Partners   int                // generated partners, authorized, each with a Telegram account
	Code       func(i int) string // partner code of the i-th partner (P-0001… by default)
	NoUser     func(i int) bool   // partners whose Telegram account does not exist in the emulator
	Promotions []domain.Promotion
	Now        func() time.Time // the clock of the test's own service (nil: time.Now)
}

// Promo is a world for the promotions' whole-system tests: Redis, the
// emulators (Telegram's flood limits on, Sheets at Google's quota), the
// partners on the Auth sheet and in Telegram, and the promotions service
// wired as the roles wire it, with which the test plays the poller's
// scanner and the operators' handler. StartWorker adds the worker role.
type Promo struct {
	*Env
	Svc      *app.Promo
	Partners []domain.Partner
	Logs     *testutil.SyncBuffer // warnings and errors of the service and the worker role
	rdb      *redis.Client
	editor   *store.Spreadsheet // the operator editing the sheet by hand
	regs     []*prometheus.Registry
	offset   int
}

// NewPromo starts a promotions world.
func NewPromo(t testing.TB, o PromoOptions) *Promo {
	t.Helper()
	partners := promoPartners(o)
	quota := sheetsemu.DefaultQuota()
	e := New(t, Options{SheetsQuota: &quota, Data: &fixtures.Data{Partners: partners, Promotions: o.Promotions},
		Settings: map[string]string{
			config.EnvName("telegram.mini_app_url"):    PromoMiniAppURL,
			config.EnvName("telegram.request_timeout"): "10s",
			config.EnvName("promo.progress_every"):     "50",
		}})
	p := &Promo{Env: e, Partners: partners, Logs: &testutil.SyncBuffer{}, rdb: e.Redis.Client()}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("service log (warnings and errors, tail):\n%s", p.Logs.Tail(8000))
		}
	})
	users := []tgemu.User{}
	for i, pt := range partners {
		if o.NoUser == nil || !o.NoUser(i) {
			users = append(users, tgemu.User{ID: pt.TelegramID, FirstName: pt.FullName})
		}
	}
	if _, err := e.Telegram.PutUsers(users...); err != nil {
		t.Fatal(err)
	}
	p.Svc = p.NewService(o.Now)
	cfg := e.Config(config.RoleWorker)
	eo := fixtures.EmulatorStoreOptions(e.Sheets.URL, e.SpreadsheetID, p.rdb)
	// The operator's edits share the roles' Sheets quota, as one Google user.
	eo.Location, eo.KeyPrefix = cfg.Location(), cfg.Redis.KeyPrefix
	p.editor = fixtures.NewStore(t, eo)
	return p
}

func promoPartners(o PromoOptions) []domain.Partner {
	var out []domain.Partner
	for i := range o.Partners {
		code := fmt.Sprintf("P-%04d", i+1)
		if o.Code != nil {
			code = o.Code(i)
		}
		out = append(out, domain.Partner{
			Code: code, Phone: fmt.Sprintf("7900%07d", i+1), FullName: "Партнёр " + strconv.Itoa(i+1),
			Status: domain.PartnerStatusAuthorized, TelegramID: promoFirstUserID + int64(i),
			AuthorizedAt: time.Now().Add(-24 * time.Hour),
		})
	}
	return out
}

// NewService builds another promotions service on this world (a second
// poller); now is its clock (nil: time.Now).
func (p *Promo) NewService(now func() time.Time) *app.Promo {
	p.T.Helper()
	reg := prometheus.NewRegistry()
	svc, err := app.NewPromo(p.Config(config.RoleWorker), p.Logger(), p.rdb, app.PromoOptions{Registry: reg, Now: now})
	if err != nil {
		p.T.Fatal(err)
	}
	p.T.Cleanup(svc.Close)
	p.regs = append(p.regs, reg)
	return svc
}

// Logger writes warnings and errors to Logs.
func (p *Promo) Logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(p.Logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// StartWorker runs the worker role in-process, as cmd/worker wires it; its
// metrics count in PromoCounter.
func (p *Promo) StartWorker() {
	p.T.Helper()
	reg := prometheus.NewRegistry()
	w, err := app.NewWorker(p.Config(config.RoleWorker), p.Logger(), app.WorkerOptions{Registry: reg})
	if err != nil {
		p.T.Fatal(err)
	}
	if err := w.Start(context.Background()); err != nil {
		p.T.Fatal(err)
	}
	p.T.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = w.Stop(ctx)
	})
	p.regs = append(p.regs, reg)
}

// promoHelperEnv marks a test binary that StartWorkerProcess started as a
// worker process; promoHelperConfigEnv carries the configuration file.
const (
	promoHelperEnv       = "MARKETINGBOT_WORLD_HELPER_WORKER"
	promoHelperConfigEnv = "MARKETINGBOT_WORLD_HELPER_CONFIG"
)

// StartWorkerProcess runs the worker role as its own OS process: the test
// binary again, running only helperTest, whose body is RunHelperWorker. It
// enters the role through app.Execute exactly as cmd/worker does, without
// the go build of cmd/ that StartProcess needs (tens of seconds under
// -race on a busy machine, before the test can even begin). Killed at
// cleanup.
func (p *Promo) StartWorkerProcess(helperTest string) *Proc {
	p.T.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+helperTest+"$", "-test.timeout=5m")
	cmd.Env = append(append(os.Environ(), p.Env.Env()...), promoHelperEnv+"=1", promoHelperConfigEnv+"="+p.ConfigPath)
	pr := &Proc{Role: "worker", cmd: cmd, out: &testutil.SyncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = pr.out, pr.out
	if err := cmd.Start(); err != nil {
		p.T.Fatalf("start the worker process: %v", err)
	}
	go func() { pr.err = cmd.Wait(); close(pr.done) }()
	p.T.Cleanup(func() {
		pr.Kill()
		if p.T.Failed() {
			p.T.Logf("worker process output:\n%s", tail(pr.out.String(), 4000))
		}
	})
	return pr
}

// RunHelperWorker is the body of the helper test StartWorkerProcess names:
// in a process it started, it runs the worker role until the process is
// signalled or killed; anywhere else it skips.
func RunHelperWorker(t *testing.T) {
	if os.Getenv(promoHelperEnv) != "1" {
		t.Skip("the worker process of world.StartWorkerProcess")
	}
	os.Exit(app.Execute(config.RoleWorker, []string{"--config", os.Getenv(promoHelperConfigEnv)}))
}

// HoldBroadcastSends keeps the shared limiter's global bucket below the
// reserve broadcasts must leave to chat replies, by taking its tokens at
// chat priority, until release: every broadcast send then waits for the
// limiter, before it takes its claim. A test that kills a worker in this
// state kills it outside the window the design accepts a loss in (between
// the claim and the request leaving the process; see pkg/promo's doc),
// which CPU starvation under -race widens from microseconds to tens of
// milliseconds.
func (p *Promo) HoldBroadcastSends() (release func()) {
	lim := p.Svc.Sender.Limiter
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			d, err := lim.Reserve(ctx, 0, telegram.PriorityChat)
			if err != nil || d > 0 {
				t := time.NewTimer(min(max(d, time.Millisecond), 5*time.Millisecond))
				select {
				case <-ctx.Done():
				case <-t.C:
				}
				t.Stop()
			}
		}
	}()
	stop := func() { cancel(); <-done }
	p.T.Cleanup(stop)
	return sync.OnceFunc(stop)
}

// WaitSendsQuiet waits until the Telegram emulator has seen no send for
// quiet (at most timeout).
func (p *Promo) WaitSendsQuiet(quiet, timeout time.Duration) {
	p.T.Helper()
	last, since := p.Telegram.Stats().Sends, time.Now()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if n := p.Telegram.Stats().Sends; n != last {
			last, since = n, time.Now()
		} else if time.Since(since) >= quiet {
			return
		}
	}
	p.T.Fatalf("the sends did not stop for %s within %s", quiet, timeout)
}

// Ctx is a context that ends after d or with the test.
func (p *Promo) Ctx(d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	p.T.Cleanup(cancel)
	return ctx
}

// Scan runs the promotions scanner once, as the poller does.
func (p *Promo) Scan() {
	p.T.Helper()
	if err := p.Svc.Scanner().Scan(p.Ctx(30 * time.Second)); err != nil {
		p.T.Fatalf("scan: %v", err)
	}
}

// RunScheduler runs the scanner every interval until the test ends.
func (p *Promo) RunScheduler(interval time.Duration) {
	s := scan.NewScheduler(prometheus.NewRegistry(), p.Logger())
	s.Add(interval, p.Svc.Scanner())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	p.T.Cleanup(func() { cancel(); <-done })
}

// Block makes users block the bot.
func (p *Promo) Block(ids ...int64) {
	p.T.Helper()
	for _, id := range ids {
		if _, err := p.Telegram.SetBlocked(id, true); err != nil {
			p.T.Fatal(err)
		}
	}
}

// Row returns a promotion's row as the emulator holds it.
func (p *Promo) Row(id string) []any {
	p.T.Helper()
	for _, r := range p.Sheet(fixtures.DefaultTitles().Promotions) {
		if len(r) > 0 && fmt.Sprint(r[0]) == id {
			return r
		}
	}
	p.T.Fatalf("no promotion row %s", id)
	return nil
}

// SetStatus edits a promotion's status cell, as an operator does by hand.
func (p *Promo) SetStatus(id string, status domain.PromotionStatus) {
	p.T.Helper()
	p.SetCell(id, 6, string(status))
}

// SetCell edits a cell of a promotion's row (col 0 = A) through the Sheets API.
func (p *Promo) SetCell(id string, col int, value string) {
	p.T.Helper()
	title := fixtures.DefaultTitles().Promotions
	for i, r := range p.Sheet(title) {
		if len(r) > 0 && fmt.Sprint(r[0]) == id {
			if err := p.editor.Write(p.Ctx(30*time.Second), a1.Cell(title, col, i+1), [][]any{{value}}); err != nil {
				p.T.Fatal(err)
			}
			return
		}
	}
	p.T.Fatalf("no promotion row %s", id)
}

// PromoCellStr is cell i of a row as text ("" when absent).
func PromoCellStr(r []any, i int) string {
	if i < len(r) && r[i] != nil {
		return fmt.Sprint(r[i])
	}
	return ""
}

// PromoCellNum is cell i of a row as a number (0 when absent).
func PromoCellNum(r []any, i int) int {
	n, _ := strconv.Atoi(PromoCellStr(r, i))
	return n
}

// WaitStatus waits until the promotion's row has the status and returns it.
func (p *Promo) WaitStatus(id string, want domain.PromotionStatus, timeout time.Duration) []any {
	p.T.Helper()
	var r []any
	testutil.Eventually(p.T, timeout, fmt.Sprintf("promotion %s to become %s", id, want), func() bool {
		r = p.Row(id)
		return PromoCellStr(r, 6) == string(want)
	})
	return r
}

// WatchStatus watches a promotion's row in the background and closes done
// when the row has the status; at tells when that was first seen. A test
// that lets a broadcast run on while it waits for its turn among the
// parallel tests takes its timings from here, not from when it looks.
func (p *Promo) WatchStatus(id string, want domain.PromotionStatus) (done <-chan struct{}, at func() time.Time) {
	ch := make(chan struct{})
	var (
		mu   sync.Mutex
		seen time.Time
	)
	ctx, cancel := context.WithCancel(context.Background())
	p.T.Cleanup(cancel)
	title := fixtures.DefaultTitles().Promotions
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if promoRowStatus(p.Sheets, p.SpreadsheetID, title, id) == string(want) {
				mu.Lock()
				seen = time.Now()
				mu.Unlock()
				close(ch)
				return
			}
		}
	}()
	return ch, func() time.Time { mu.Lock(); defer mu.Unlock(); return seen }
}

// promoRowStatus reads a promotion's status cell ("" when it cannot).
func promoRowStatus(sh *fixtures.Sheets, spreadsheetID, title, id string) string {
	snap, err := sh.Snapshot(spreadsheetID)
	if err != nil {
		return ""
	}
	for _, s := range snap.Sheets {
		if s.Title != title {
			continue
		}
		for _, r := range s.Rows {
			if len(r) > 0 && fmt.Sprint(r[0]) == id {
				return PromoCellStr(r, 6)
			}
		}
	}
	return ""
}

// LiveBotMessages returns the bot's messages in a chat that were not deleted.
func (p *Promo) LiveBotMessages(chatID int64) []tgemu.TranscriptMessage {
	p.T.Helper()
	var out []tgemu.TranscriptMessage
	for _, m := range p.BotMessages(chatID) {
		if !m.Deleted {
			out = append(out, m)
		}
	}
	return out
}

// PromoCount is how many of the bot's messages in a chat carry marker.
func (p *Promo) PromoCount(chatID int64, marker string) int {
	n := 0
	for _, m := range p.LiveBotMessages(chatID) {
		if strings.Contains(m.Text, marker) || strings.Contains(m.Caption, marker) {
			n++
		}
	}
	return n
}

// GroupText waits for a bot message in the operators' group containing s.
func (p *Promo) GroupText(s string, timeout time.Duration) tgemu.TranscriptMessage {
	p.T.Helper()
	var found tgemu.TranscriptMessage
	testutil.Eventually(p.T, timeout, "operators' group message containing "+strconv.Quote(s), func() bool {
		for _, m := range p.LiveBotMessages(p.OperatorsChat) {
			if strings.Contains(m.Text, s) {
				found = m
				return true
			}
		}
		return false
	})
	return found
}

// NextUpdate reads the next update the bot would receive (the test plays
// cmd/bot's intake).
func (p *Promo) NextUpdate() telego.Update {
	p.T.Helper()
	ctx := p.Ctx(15 * time.Second)
	for ctx.Err() == nil {
		ups, err := p.Svc.Sender.Bot.GetUpdates(ctx, &telego.GetUpdatesParams{Offset: p.offset, Timeout: 1})
		if err != nil {
			p.T.Fatalf("getUpdates: %v", err)
		}
		if len(ups) > 0 {
			p.offset = ups[0].UpdateID + 1
			return ups[0]
		}
	}
	p.T.Fatal("no update")
	return telego.Update{}
}

// Counter sums a counter with the label outcome over the registries of
// every service and worker of this world.
func (p *Promo) Counter(name, outcome string) float64 {
	p.T.Helper()
	total := 0.0
	for _, reg := range p.regs {
		mfs, err := reg.Gather()
		if err != nil {
			p.T.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "outcome" && l.GetValue() == outcome {
						total += m.GetCounter().GetValue()
					}
				}
			}
		}
	}
	return total
}

// RedisClient is a client of the world's Redis.
func (p *Promo) RedisClient() *redis.Client { return p.rdb }
