// Package sandbox runs the whole system on one machine: an embedded Redis
// (unless a URL is given), the Telegram, Sheets and Gemini emulators, and the
// bot, worker and poller roles wired exactly as in production (pkg/app; only
// the endpoints differ), plus the web page a person uses to play a partner
// and an operator. The spreadsheet persists as DIR/spreadsheet.xlsx, the
// Telegram emulator's state as DIR/telegram.json and Redis as DIR/redis.json,
// so a second run continues where the first stopped.
package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"marketingbot/pkg/app"
	"marketingbot/pkg/config"
	"marketingbot/pkg/domain"
	"marketingbot/pkg/obs"
	"marketingbot/pkg/store"
	"marketingbot/sim/demo"
	gememu "marketingbot/sim/emulator/gemini"
	sheetsemu "marketingbot/sim/emulator/sheets"
	tgemu "marketingbot/sim/emulator/telegram"
	"marketingbot/sim/fixtures"
	"marketingbot/sim/listinggen"
	"marketingbot/sim/sandbox/ui"
)

// Options of a sandbox run.
type Options struct {
	Addr        string // the web page; default 127.0.0.1:8080; port 0 picks a free one (see Endpoints.UI)
	DataDir     string // default ./sandbox-data
	Reset       bool   // start from a fresh demo spreadsheet
	RedisURL    string // use this Redis instead of the embedded one
	Spreadsheet string // load this .xlsx export instead of the demo data (first run or --reset)
	Listings    int    // demo listings to generate (default 5000)
	Logger      *slog.Logger
	Env         map[string]string // process environment (nil: os.Environ); MARKETINGBOT_* settings apply
	// FlatGroup makes the operators' group a plain group: cards and
	// replies, no topics. By default it is a forum supergroup, a topic
	// per partner.
	FlatGroup bool
}

// Sandbox is a running system.
type Sandbox struct {
	o         Options
	log       *slog.Logger
	redis     *embeddedRedis
	tg        *tgemu.Server
	sheets    *sheetsemu.Server
	gemini    *gememu.Server
	servers   []*http.Server
	uiLn      net.Listener // the page's listener until it is served
	roles     []app.Role
	Endpoints ui.Endpoints
}

const spreadsheetID = "sandbox"

// Operator is the simulated operator in the operators' group.
var Operator = tgemu.User{ID: 900001, FirstName: "Ольга", LastName: "Оператор", Username: "olga_operator"}

// BotName and BotUsername are what the simulated Telegram calls the bot.
const (
	BotName     = "MarketingBot"
	BotUsername = "marketingbot_sandbox_bot"
)

// OperatorsChatID is the operators' group.
const OperatorsChatID = -1001234567890

// Start brings everything up and returns when the system is ready.
func Start(ctx context.Context, o Options) (*Sandbox, error) {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:8080"
	}
	if o.DataDir == "" {
		o.DataDir = "sandbox-data"
	}
	if o.Listings == 0 {
		o.Listings = 5000
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Env == nil {
		o.Env = environ()
	}
	s := &Sandbox{o: o, log: o.Logger}
	if err := s.start(ctx); err != nil {
		_ = s.Stop(context.Background())
		return nil, err
	}
	return s, nil
}

// wiring is where the parts of a sandbox listen, as the roles and the page
// are told.
type wiring struct {
	redisURL, sheetsURL, tgURL          string
	geminiKey, geminiURL, geminiControl string
	botAddr, workerAddr, pollerAddr     string
	adminPassword                       string
}

func (s *Sandbox) start(ctx context.Context) error {
	if err := s.prepareDataDir(); err != nil {
		return err
	}
	var w wiring
	var err error
	if w.redisURL, err = s.startRedis(); err != nil {
		return err
	}
	if w.sheetsURL, err = s.startSheets(ctx); err != nil {
		return err
	}
	if w.tgURL, err = s.startTelegram(); err != nil {
		return err
	}
	if err := s.startGemini(&w); err != nil {
		return err
	}
	// The page's listener first: with --addr 127.0.0.1:0 the port is known
	// only now, and endpoints.json must carry the address the browser uses.
	uiLn, err := net.Listen("tcp", s.o.Addr)
	if err != nil {
		return fmt.Errorf("sandbox: listen %s: %w (another sandbox running? use --addr)", s.o.Addr, err)
	}
	s.uiLn = uiLn
	if w.adminPassword, err = s.adminPassword(); err != nil {
		return err
	}
	// The roles' listeners are bound now and handed to them: the Mini App
	// URL must be known to the bot's buttons, and a port merely chosen now
	// and bound later could be taken in between by any other process.
	lns, err := listenRoles()
	if err != nil {
		return err
	}
	w.botAddr, w.workerAddr, w.pollerAddr = lns[config.RoleBot].Addr().String(),
		lns[config.RoleWorker].Addr().String(), lns[config.RolePoller].Addr().String()
	sheetsCfg, err := s.startRoles(ctx, s.roleEnv(w), lns)
	if err != nil {
		return err
	}
	return s.serveUI(ctx, w, sheetsCfg)
}

// prepareDataDir creates DIR, emptied of the saved state with --reset.
func (s *Sandbox) prepareDataDir() error {
	if s.o.Reset {
		for _, f := range []string{"spreadsheet.xlsx", "telegram.json", "redis.json", "endpoints.json"} {
			if err := os.Remove(filepath.Join(s.o.DataDir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("sandbox: reset: %w", err)
			}
		}
	}
	if err := os.MkdirAll(s.o.DataDir, 0o755); err != nil {
		return fmt.Errorf("sandbox: data dir: %w", err)
	}
	return nil
}

// startRedis starts the embedded Redis unless a URL is given.
func (s *Sandbox) startRedis() (string, error) {
	if s.o.RedisURL != "" {
		return s.o.RedisURL, nil
	}
	r, err := startRedis(filepath.Join(s.o.DataDir, "redis.json"), s.log)
	if err != nil {
		return "", err
	}
	s.redis = r
	return r.URL(), nil
}

// startSheets serves the spreadsheet: the saved one, a given export, or
// the demo.
func (s *Sandbox) startSheets(ctx context.Context) (string, error) {
	xlsx := filepath.Join(s.o.DataDir, "spreadsheet.xlsx")
	fresh := !exists(xlsx)
	var err error
	if s.sheets, err = sheetsemu.New(sheetsemu.Options{XLSXPath: xlsx, SpreadsheetID: spreadsheetID, Logger: s.log}); err != nil {
		return "", fmt.Errorf("sandbox: sheets emulator: %w", err)
	}
	if fresh {
		if err := s.seed(ctx); err != nil {
			return "", err
		}
	}
	return s.serve(s.sheets, "127.0.0.1:0")
}

// startTelegram serves the Telegram emulator with the operators' group.
func (s *Sandbox) startTelegram() (string, error) {
	// The emulator saves its state about a second after each change, so a
	// sandbox that is killed rather than stopped keeps its chats too.
	tgState := filepath.Join(s.o.DataDir, "telegram.json")
	var err error
	if s.tg, err = tgemu.NewWithState(tgemu.Options{
		BotName: BotName, BotUsername: BotUsername, Logger: s.log, StatePath: tgState,
	}); err != nil {
		return "", fmt.Errorf("sandbox: %s: %w (delete it or use --reset)", tgState, err)
	}
	if _, err := s.tg.PutGroup(tgemu.Group{ID: OperatorsChatID, Title: "Операторы", IsForum: !s.o.FlatGroup}); err != nil {
		return "", err
	}
	if _, err := s.tg.PutUsers(Operator); err != nil {
		return "", err
	}
	return s.serve(s.tg, "127.0.0.1:0")
}

// startGemini uses Google's Gemini when a key is configured, else serves
// the emulator.
func (s *Sandbox) startGemini(w *wiring) error {
	w.geminiKey = firstNonEmpty(s.o.Env["MARKETINGBOT_GEMINI_API_KEY"], s.o.Env["GEMINI_API_KEY"])
	if w.geminiKey != "" {
		return nil
	}
	w.geminiKey = "sandbox-gemini-key"
	s.gemini = gememu.New(gememu.Options{APIKey: w.geminiKey, Logger: s.log})
	var err error
	if w.geminiURL, err = s.serve(s.gemini, "127.0.0.1:0"); err != nil {
		return err
	}
	w.geminiControl = w.geminiURL + "/_emulator"
	return s.registerDemoMedia()
}

// registerDemoMedia tells the Gemini emulator what the page's demo files
// hold (ui.DemoMedia), so a demo voice note, photo or document gets an
// answer about something.
func (s *Sandbox) registerDemoMedia() error {
	for _, f := range ui.DemoMedia {
		b, err := ui.DemoFileBytes(f)
		if err != nil {
			return fmt.Errorf("sandbox: demo media: %w", err)
		}
		s.gemini.RegisterMedia(b, f.Content)
	}
	return nil
}

// roleEnv is the roles' environment: the sandbox's wiring over the
// process environment over the sandbox's defaults.
func (s *Sandbox) roleEnv(w wiring) map[string]string {
	// A demo should answer in seconds: the poller scans the Queue sheet every
	// 3 s instead of production's 15 s (one read per scan, 20 of the 60 reads
	// a minute Google allows), so a finished report reaches the chat within
	// seconds. The environment still wins.
	// Answers are streamed (the default, said here so the page's drafts do
	// not depend on it).
	env := map[string]string{"MARKETINGBOT_POLLER_INTERVAL": "3s", "MARKETINGBOT_GEMINI_STREAM": "true"}
	for k, v := range s.o.Env {
		env[k] = v
	}
	for k, v := range map[string]string{
		"MARKETINGBOT_TELEGRAM_TOKEN":             s.tg.Token(),
		"MARKETINGBOT_TELEGRAM_API_URL":           w.tgURL,
		"MARKETINGBOT_TELEGRAM_WEBHOOK_URL":       "",
		"MARKETINGBOT_TELEGRAM_POLL_TIMEOUT":      "10s",
		"MARKETINGBOT_TELEGRAM_OPERATORS_CHAT_ID": strconv.FormatInt(OperatorsChatID, 10),
		"MARKETINGBOT_TELEGRAM_MINI_APP_URL":      "",
		"MARKETINGBOT_REDIS_URL":                  w.redisURL,
		"MARKETINGBOT_REDIS_SENTINEL_MASTER":      "",
		"MARKETINGBOT_SHEETS_SPREADSHEET_ID":      spreadsheetID,
		"MARKETINGBOT_SHEETS_ENDPOINT":            w.sheetsURL,
		"MARKETINGBOT_SHEETS_CREDENTIALS_FILE":    "", // with the endpoint it would authenticate (at Google's token endpoint)
		"MARKETINGBOT_GEMINI_API_KEY":             w.geminiKey,
		"MARKETINGBOT_GEMINI_BASE_URL":            w.geminiURL,
		"MARKETINGBOT_HTTP_BOT_ADDR":              w.botAddr,
		"MARKETINGBOT_HTTP_WORKER_ADDR":           w.workerAddr,
		"MARKETINGBOT_HTTP_POLLER_ADDR":           w.pollerAddr,
		"MARKETINGBOT_HTTP_PUBLIC_URL":            "http://" + w.botAddr,
		"MARKETINGBOT_ADMIN_USERNAME":             "admin",
		"MARKETINGBOT_ADMIN_PASSWORD":             w.adminPassword,
		"MARKETINGBOT_ANALYTICS_ENGINE":           "builtin",
	} {
		env[k] = v
	}
	// Use the repository's editable texts and prompt when run from a checkout.
	if _, ok := env["MARKETINGBOT_APP_MESSAGES_FILE"]; !ok && exists("configs/messages.ru.yaml") {
		env["MARKETINGBOT_APP_MESSAGES_FILE"], _ = filepath.Abs("configs/messages.ru.yaml")
	}
	if _, ok := env["MARKETINGBOT_GEMINI_SYSTEM_PROMPT_FILE"]; !ok && exists("configs/system_prompt.txt") {
		env["MARKETINGBOT_GEMINI_SYSTEM_PROMPT_FILE"], _ = filepath.Abs("configs/system_prompt.txt")
	}
	return env
}

// startRoles starts worker, poller and bot in-process, configured from env
// as in production, and returns the spreadsheet settings they use (sheet
// titles and headers).
func (s *Sandbox) startRoles(ctx context.Context, env map[string]string, lns map[config.Role]net.Listener) (config.Sheets, error) {
	var sc config.Sheets
	defer closeAll(lns) // those not handed over when a start fails
	for _, role := range []config.Role{config.RoleWorker, config.RolePoller, config.RoleBot} {
		cfg, err := config.LoadFor(role, config.Options{Env: env})
		if err != nil {
			return sc, err
		}
		sc = cfg.Sheets
		if role == config.RoleWorker {
			// Before any role runs: the demo promotion goes to every
			// authorized partner, and each must have a chat to receive it.
			if err := s.putPartnerUsers(sc); err != nil {
				return sc, err
			}
		}
		r, err := app.NewRole(role, cfg, s.log.With("role", string(role)))
		if err != nil {
			return sc, err
		}
		srv := httpServer(r)
		srv.UseListener(lns[role])
		delete(lns, role) // the role's now: its Stop closes it
		if err := r.Start(ctx); err != nil {
			_ = srv.Shutdown(ctx)
			return sc, err
		}
		s.roles = append(s.roles, r)
	}
	return sc, nil
}

// listenRoles binds a listener on a free local port for each role's HTTP
// server.
func listenRoles() (map[config.Role]net.Listener, error) {
	lns := map[config.Role]net.Listener{}
	for _, role := range []config.Role{config.RoleBot, config.RoleWorker, config.RolePoller} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			closeAll(lns)
			return nil, fmt.Errorf("sandbox: listen for the %s: %w", role, err)
		}
		lns[role] = ln
	}
	return lns, nil
}

func closeAll(lns map[config.Role]net.Listener) {
	for _, ln := range lns {
		_ = ln.Close()
	}
}

// httpServer is a role's HTTP server.
func httpServer(r app.Role) *obs.Server {
	switch r := r.(type) {
	case *app.Bot:
		return r.HTTP
	case *app.Worker:
		return r.HTTP
	case *app.Poller:
		return r.HTTP
	}
	panic(fmt.Sprintf("sandbox: role %T has no HTTP server", r))
}

// serveUI serves the page on its listener, waits for the bot and writes
// DIR/endpoints.json.
func (s *Sandbox) serveUI(ctx context.Context, w wiring, sc config.Sheets) error {
	bot := "http://" + w.botAddr
	s.Endpoints = ui.Endpoints{
		UI: "http://" + s.uiLn.Addr().String() + "/", TelegramAPI: w.tgURL, TelegramControl: w.tgURL + "/_emulator",
		SheetsAPI: w.sheetsURL, SheetsControl: w.sheetsURL + "/_emulator", GeminiAPI: w.geminiURL, GeminiControl: w.geminiControl,
		BotHTTP: bot, MiniApp: bot + "/app/", AdminQueues: bot + app.AdminPath + "/",
		Metrics: ui.Metrics{Bot: bot + "/metrics", Worker: "http://" + w.workerAddr + "/metrics", Poller: "http://" + w.pollerAddr + "/metrics"},
		Token:   s.tg.Token(), SpreadsheetID: spreadsheetID, OperatorsChatID: OperatorsChatID,
		Operator:    ui.Operator{ID: Operator.ID, FirstName: Operator.FirstName, LastName: Operator.LastName, Username: Operator.Username},
		SheetTitles: uiTitles(sc.Titles), OperatorsForum: !s.o.FlatGroup,
		AuthHeaders: ui.AuthHeaders{PartnerCode: sc.Headers.Auth.PartnerCode, Phone: sc.Headers.Auth.Phone,
			FullName: sc.Headers.Auth.FullName, Status: sc.Headers.Auth.Status, TelegramID: sc.Headers.Auth.TelegramID},
	}
	h, err := ui.NewHandler(s.Endpoints)
	if err != nil {
		return err
	}
	s.serveOn(s.uiLn, h)
	s.uiLn = nil
	if err := s.waitReady(ctx, bot); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(s.endpointsFile(), "", "  ")
	return writeAtomic(filepath.Join(s.o.DataDir, "endpoints.json"), b)
}

// endpointsFile is DIR/endpoints.json as the issue defines it (plus extras).
func (s *Sandbox) endpointsFile() map[string]any {
	e := s.Endpoints
	return map[string]any{
		"ui": e.UI, "telegram_api": e.TelegramAPI, "telegram_control": e.TelegramControl, "sheets_api": e.SheetsAPI,
		"sheets_control": e.SheetsControl, "gemini_api": e.GeminiAPI, "gemini_control": e.GeminiControl,
		"bot_http": e.BotHTTP, "mini_app": e.MiniApp, "admin_queues": e.AdminQueues, "metrics": e.Metrics,
		"token": e.Token, "spreadsheet_id": e.SpreadsheetID, "operators_chat_id": e.OperatorsChatID,
		"admin_user": "admin", "admin_password_file": filepath.Join(s.o.DataDir, "admin-password"),
	}
}

// seed loads the export given with --spreadsheet, or the demo data.
func (s *Sandbox) seed(ctx context.Context) error {
	if s.o.Spreadsheet != "" {
		f, err := os.Open(s.o.Spreadsheet)
		if err != nil {
			return fmt.Errorf("sandbox: --spreadsheet: %w", err)
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return err
		}
		if err := s.sheets.LoadXLSX(ctx, spreadsheetID, f, st.Size()); err != nil {
			return fmt.Errorf("sandbox: --spreadsheet %s: %w", s.o.Spreadsheet, err)
		}
		return nil
	}
	now := time.Now()
	loc, _ := time.LoadLocation("Europe/Moscow")
	data := fixtures.Data{
		Partners:   demo.Partners(),
		Listings:   listinggen.Generate(listinggen.Config{Seed: 360, N: s.o.Listings, Now: now}),
		Promotions: []domain.Promotion{demo.Promotion(now)},
		Knowledge:  demo.Knowledge(),
		Templates:  demo.Templates(),
	}
	return s.sheets.Load(spreadsheetID, fixtures.Spreadsheet(spreadsheetID, config.Defaults().Sheets.Titles, data, loc))
}

// putPartnerUsers gives every partner who already has a Telegram ID in the
// Auth sheet a simulated Telegram account with the sheet's name and phone,
// as the page would create it on choosing the partner. Without it a
// broadcast to authorized partners, like the demo promotion, fails with
// "chat not found" for each of them. Accounts the emulator already knows
// are left as they are. The columns are found by their headers, as the
// bot finds them.
func (s *Sandbox) putPartnerUsers(sc config.Sheets) error {
	snap, err := s.sheets.Snapshot(spreadsheetID)
	if err != nil {
		return fmt.Errorf("sandbox: read the spreadsheet: %w", err)
	}
	known := map[int64]bool{}
	for _, u := range s.tg.Users() {
		known[u.ID] = true
	}
	headers := store.Headers{}
	for sheet, fields := range sc.Headers.Map() {
		headers[store.SheetKey(sheet)] = fields
	}
	var add []tgemu.User
	for _, sh := range snap.Sheets {
		if sh.Title != sc.Titles.Auth || len(sh.Rows) == 0 {
			continue
		}
		cols, _, err := store.Columns(store.SheetAuth, sh.Title, headers, sh.Rows[0])
		if err != nil {
			return fmt.Errorf("sandbox: %w", err)
		}
		at := func(row []any, field string) string {
			if c, ok := cols[field]; ok {
				return cellText(row, c)
			}
			return ""
		}
		for _, row := range sh.Rows[1:] {
			phone, ok := domain.NormalizePhone(at(row, "phone"))
			id, err := strconv.ParseInt(strings.TrimSuffix(at(row, "telegram_id"), ".0"), 10, 64)
			if !ok || err != nil || id <= 0 || known[id] {
				continue
			}
			known[id] = true
			// The sheet has «Фамилия Имя Отчество»; the page reads it the same way.
			u := tgemu.User{ID: id, Phone: phone, LanguageCode: "ru"}
			switch parts := strings.Fields(at(row, "full_name")); {
			case len(parts) >= 2:
				u.FirstName, u.LastName = parts[1], parts[0]
			case len(parts) == 1:
				u.FirstName = parts[0]
			default:
				u.FirstName = "Партнёр " + at(row, "partner_code")
			}
			add = append(add, u)
		}
	}
	if len(add) == 0 {
		return nil
	}
	if _, err := s.tg.PutUsers(add...); err != nil {
		return fmt.Errorf("sandbox: partners' Telegram accounts: %w", err)
	}
	return nil
}

// cellText is a cell of a spreadsheet snapshot as text; whole numbers (a
// Telegram ID typed into the sheet) without a fraction.
func cellText(row []any, i int) string {
	if i >= len(row) || row[i] == nil {
		return ""
	}
	switch v := row[i].(type) {
	case string:
		return strings.TrimSpace(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return strings.TrimSpace(fmt.Sprint(v))
	}
}

// DemoCodes are object codes worth trying in the Mini App.
func (s *Sandbox) DemoCodes() []string {
	return listinggen.Codes(listinggen.Generate(listinggen.Config{Seed: 360, N: s.o.Listings, Now: time.Now()}), 3)
}

func (s *Sandbox) adminPassword() (string, error) {
	p := filepath.Join(s.o.DataDir, "admin-password")
	if b, err := os.ReadFile(p); err == nil && len(strings.TrimSpace(string(b))) >= 12 {
		return strings.TrimSpace(string(b)), nil
	}
	var r [12]byte
	_, _ = rand.Read(r[:])
	pass := hex.EncodeToString(r[:])
	return pass, os.WriteFile(p, []byte(pass+"\n"), 0o600)
}

// AdminPassword is the asynq UI password (user "admin").
func (s *Sandbox) AdminPassword() string {
	b, _ := os.ReadFile(filepath.Join(s.o.DataDir, "admin-password"))
	return strings.TrimSpace(string(b))
}

func (s *Sandbox) waitReady(ctx context.Context, bot string) error {
	deadline := time.Now().Add(30 * time.Second)
	client := &http.Client{Timeout: 5 * time.Second}
	for {
		resp, err := client.Get(bot + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sandbox: the bot did not become ready: %v", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (s *Sandbox) serve(h http.Handler, addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	s.serveOn(ln, h)
	return "http://" + ln.Addr().String(), nil
}

func (s *Sandbox) serveOn(ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.servers = append(s.servers, srv)
	go func() { _ = srv.Serve(ln) }()
}

// Stop stops the roles, then the emulators, saving every state file. How
// long each part took is logged (debug), to see what a slow stop waited for.
func (s *Sandbox) Stop(ctx context.Context) error {
	var errs []error
	step := func(name string, stop func() error) {
		start := time.Now()
		errs = append(errs, stop())
		s.log.Debug("sandbox: stopped", "what", name, "took", time.Since(start).Round(time.Millisecond))
	}
	for i := len(s.roles) - 1; i >= 0; i-- {
		r := s.roles[i]
		step(fmt.Sprintf("%T", r), func() error { return r.Stop(ctx) })
	}
	// The Telegram emulator first: closing it ends the long polls of open
	// sandbox pages (up to 25 s each), which Shutdown would otherwise wait for.
	if s.tg != nil {
		step("telegram emulator", func() error {
			defer s.tg.Close()
			return s.tg.Flush()
		})
	}
	step("http servers", func() error {
		for _, srv := range s.servers {
			_ = srv.Shutdown(ctx)
		}
		if s.uiLn != nil { // start failed before the page was served
			_ = s.uiLn.Close()
		}
		return nil
	})
	if s.gemini != nil {
		s.gemini.Close()
	}
	if s.sheets != nil {
		step("sheets emulator (xlsx saved)", s.sheets.Close)
	}
	if s.redis != nil {
		step("redis (saved)", s.redis.close)
	}
	return errors.Join(errs...)
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func environ() map[string]string {
	m := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

// uiTitles are the titles of the sheets the page shows (the operators'
// desk sheets, templates and holidays, are not among them).
func uiTitles(t config.SheetTitles) ui.SheetTitles {
	return ui.SheetTitles{Auth: t.Auth, Appeals: t.Appeals, Queue: t.Queue, Listings: t.Listings, Promotions: t.Promotions,
		Knowledge: t.Knowledge, Stats: t.Stats}
}
