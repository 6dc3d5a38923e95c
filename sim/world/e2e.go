// Package e2e runs the whole system for end-to-end and fault tests: a
// private redis-server, the Telegram, Sheets and Gemini emulators on
// httptest servers, a config file pointing at them, and the roles — either
// in-process (pkg/app, exactly as the binaries wire them) or as separate OS
// processes built from cmd/ (for kill -9, SIGTERM and restart tests).
package world

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"marketingbot/pkg/app"
	"marketingbot/pkg/config"
	"marketingbot/sim/demo"
	gememu "marketingbot/sim/emulator/gemini"
	sheetsemu "marketingbot/sim/emulator/sheets"
	tgemu "marketingbot/sim/emulator/telegram"
	"marketingbot/sim/fixtures"
	"marketingbot/sim/testutil"
)

// Options shape an environment.
type Options struct {
	Data        *fixtures.Data     // nil: demo partners + demo knowledge
	SheetsQuota *sheetsemu.Quota   // nil: unlimited (tests that measure quota set it)
	FloodLimits *tgemu.FloodLimits // nil: Telegram's defaults (on)
	// Settings overrides config keys as environment variables would
	// ("MARKETINGBOT_POLLER_INTERVAL": "1s").
	Settings map[string]string
}

// Env is a running environment.
type Env struct {
	T             testing.TB
	Dir           string
	Redis         *testutil.Redis
	Telegram      *tgemu.Server
	TelegramURL   string
	Sheets        *fixtures.Sheets
	Gemini        *gememu.Server
	GeminiURL     string
	ConfigPath    string
	SpreadsheetID string
	OperatorsChat int64
	Operator      tgemu.User
	settings      map[string]string
}

const spreadsheetID = "e2e"

// New starts Redis and the emulators and writes the configuration.
func New(t testing.TB, o Options) *Env {
	t.Helper()
	e := &Env{T: t, Dir: t.TempDir(), SpreadsheetID: spreadsheetID, OperatorsChat: -1001000000001,
		Operator: tgemu.User{ID: 900001, FirstName: "Ольга", LastName: "Оператор", Username: "olga_operator"}}
	e.Redis = testutil.StartRedis(t)

	e.Telegram = tgemu.New(tgemu.Options{FloodLimits: o.FloodLimits, Logger: quiet(),
		WebhookBackoffMin: 50 * time.Millisecond, WebhookBackoffMax: time.Second})
	ts := httptest.NewServer(e.Telegram)
	t.Cleanup(func() { ts.Close(); e.Telegram.Close() })
	e.TelegramURL = ts.URL
	if _, err := e.Telegram.PutGroup(tgemu.Group{ID: e.OperatorsChat, Title: "Операторы"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Telegram.PutUsers(e.Operator); err != nil {
		t.Fatal(err)
	}

	quota := o.SheetsQuota
	if quota == nil {
		quota = &sheetsemu.Quota{}
	}
	e.Sheets = fixtures.StartSheets(t, quota)
	data := fixtures.Data{Partners: demo.Partners(), Knowledge: demo.Knowledge()}
	if o.Data != nil {
		data = *o.Data
	}
	if err := e.Sheets.Load(spreadsheetID, fixtures.Spreadsheet(spreadsheetID, fixtures.DefaultTitles(), data, mustLoc())); err != nil {
		t.Fatal(err)
	}

	e.Gemini = gememu.New(gememu.Options{APIKey: "test-gemini-key", Logger: quiet()})
	gs := httptest.NewServer(e.Gemini)
	t.Cleanup(func() { gs.Close(); e.Gemini.Close() })
	e.GeminiURL = gs.URL

	e.settings = map[string]string{
		"MARKETINGBOT_TELEGRAM_TOKEN":             e.Telegram.Token(),
		"MARKETINGBOT_TELEGRAM_API_URL":           e.TelegramURL,
		"MARKETINGBOT_TELEGRAM_POLL_TIMEOUT":      "2s",
		"MARKETINGBOT_TELEGRAM_OPERATORS_CHAT_ID": fmt.Sprint(e.OperatorsChat),
		"MARKETINGBOT_REDIS_URL":                  e.Redis.URL(),
		"MARKETINGBOT_SHEETS_SPREADSHEET_ID":      spreadsheetID,
		"MARKETINGBOT_SHEETS_ENDPOINT":            e.Sheets.URL,
		"MARKETINGBOT_SHEETS_CREDENTIALS_FILE":    "", // unauthenticated unless GoogleAuth (google.go) sets it
		"MARKETINGBOT_SHEETS_FLUSH_INTERVAL":      "20ms",
		"MARKETINGBOT_GEMINI_API_KEY":             "test-gemini-key",
		"MARKETINGBOT_GEMINI_BASE_URL":            e.GeminiURL,
		"MARKETINGBOT_GEMINI_RETRY_BUDGET":        "3s",
		"MARKETINGBOT_GEMINI_STREAM":              "false", // on in production; StreamSettings (stream.go) turns it on
		"MARKETINGBOT_HTTP_BOT_ADDR":              "127.0.0.1:0",
		"MARKETINGBOT_HTTP_WORKER_ADDR":           "127.0.0.1:0",
		"MARKETINGBOT_HTTP_POLLER_ADDR":           "127.0.0.1:0",
		"MARKETINGBOT_POLLER_INTERVAL":            "1s",
		"MARKETINGBOT_POLLER_AUTH_INTERVAL":       "1s",
		"MARKETINGBOT_POLLER_PROMOTIONS_INTERVAL": "1s",
		"MARKETINGBOT_WORKER_SHUTDOWN_TIMEOUT":    "5s",
		"MARKETINGBOT_LOG_LEVEL":                  "warn",
	}
	for k, v := range o.Settings {
		e.settings[k] = v
	}
	e.ConfigPath = filepath.Join(e.Dir, "config.yaml")
	if err := os.WriteFile(e.ConfigPath, []byte("# e2e: everything comes from the environment\napp:\n  timezone: Europe/Moscow\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

func mustLoc() *time.Location {
	loc, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		return time.UTC
	}
	return loc
}

// quiet is the log of the parts a world builds outside the roles (the
// reports rig's services and senders): nothing, or everything on stderr with
// MARKETINGBOT_E2E_LOG set.
func quiet() *slog.Logger {
	if l := verbose(); l != nil {
		return l
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// verbose is everything on stderr when MARKETINGBOT_E2E_LOG is set, else nil.
func verbose() *slog.Logger {
	if os.Getenv("MARKETINGBOT_E2E_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// Env returns the environment variables of the configuration (sorted KEY=VALUE).
func (e *Env) Env() []string {
	var out []string
	for k, v := range e.settings {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// Set changes a setting for roles started afterwards.
func (e *Env) Set(key, value string) { e.settings[key] = value }

// Config loads the configuration as role would.
func (e *Env) Config(role config.Role) *config.Config {
	e.T.Helper()
	cfg, err := config.LoadFor(role, config.Options{File: e.ConfigPath, Env: e.settings})
	if err != nil {
		e.T.Fatal(err)
	}
	return cfg
}

// Role is an in-process role.
type Role struct {
	app.Role
	Addr func() string
}

// Start runs a role in-process, stopped at cleanup.
func (e *Env) Start(role config.Role) *Role {
	e.T.Helper()
	r, err := app.NewRole(role, e.Config(role), e.roleLogger(role))
	return e.started(r, err)
}

// roleLogger is a role's log: everything on stderr with MARKETINGBOT_E2E_LOG
// set; otherwise its warnings and errors are kept and printed (the last
// lines) only when the test fails, so a failure says what the roles saw.
func (e *Env) roleLogger(role config.Role) *slog.Logger {
	if l := verbose(); l != nil {
		return l.With("role", string(role))
	}
	buf := &testutil.SyncBuffer{}
	e.T.Cleanup(func() {
		if e.T.Failed() && buf.String() != "" {
			e.T.Logf("%s log (warnings and errors):\n%s", role, tail(buf.String(), 6000))
		}
	})
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelWarn})).With("role", string(role))
}

// started starts a role just built, stopped at cleanup.
func (e *Env) started(r app.Role, err error) *Role {
	e.T.Helper()
	if err != nil {
		e.T.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		e.T.Fatal(err)
	}
	e.T.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = r.Stop(ctx)
	})
	out := &Role{Role: r}
	if a, ok := r.(interface{ Addr() string }); ok {
		out.Addr = a.Addr
	}
	return out
}

// StartAll runs bot, worker and poller in-process.
func (e *Env) StartAll() {
	e.Start(config.RoleWorker)
	e.Start(config.RolePoller)
	e.Start(config.RoleBot)
}

// AddUser creates a simulated Telegram user.
func (e *Env) AddUser(id int64, firstName, phone string) tgemu.User {
	e.T.Helper()
	u := tgemu.User{ID: id, FirstName: firstName, Username: strings.ToLower(fmt.Sprintf("u%d", id)), Phone: phone, LanguageCode: "ru"}
	if _, err := e.Telegram.PutUsers(u); err != nil {
		e.T.Fatal(err)
	}
	return u
}

// Send makes a user write to the bot.
func (e *Env) Send(uid int64, text string) tgemu.Sent {
	e.T.Helper()
	s, err := e.Telegram.SendText(uid, text)
	if err != nil {
		e.T.Fatal(err)
	}
	return s
}

// BotMessages returns the bot's messages in a chat.
func (e *Env) BotMessages(chatID int64) []tgemu.TranscriptMessage {
	e.T.Helper()
	tr, err := e.Telegram.Transcript(chatID, 0)
	if err != nil {
		e.T.Fatal(err)
	}
	var out []tgemu.TranscriptMessage
	for _, m := range tr.Messages {
		if m.FromBot {
			out = append(out, m)
		}
	}
	return out
}

// WaitBotMessages waits until the bot has sent at least n messages to chatID.
func (e *Env) WaitBotMessages(chatID int64, n int, timeout time.Duration) []tgemu.TranscriptMessage {
	e.T.Helper()
	var msgs []tgemu.TranscriptMessage
	deadline := time.Now().Add(timeout)
	for {
		msgs = e.BotMessages(chatID)
		if len(msgs) >= n {
			return msgs
		}
		if time.Now().After(deadline) {
			e.T.Fatalf("chat %d: %d bot messages after %s, want %d: %s", chatID, len(msgs), timeout, n, texts(msgs))
		}
		time.Sleep(30 * time.Millisecond)
	}
}

func texts(ms []tgemu.TranscriptMessage) string {
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "\n  [%d] %q", m.MessageID, m.Text)
	}
	return b.String()
}

// Sheet returns a sheet's rows (header first).
func (e *Env) Sheet(title string) [][]any {
	e.T.Helper()
	snap, err := e.Sheets.Snapshot(e.SpreadsheetID)
	if err != nil {
		e.T.Fatal(err)
	}
	for _, s := range snap.Sheets {
		if s.Title == title {
			return s.Rows
		}
	}
	e.T.Fatalf("no sheet %q", title)
	return nil
}

// Cell returns a cell as text ("" when out of range).
func Cell(rows [][]any, row, col int) string {
	if row >= len(rows) || col >= len(rows[row]) || rows[row][col] == nil {
		return ""
	}
	return fmt.Sprint(rows[row][col])
}

// Ready reports the role's readiness (nil = ready), as /readyz would.
func (r *Role) Ready() error {
	if rd, ok := r.Role.(interface {
		Ready(ctx context.Context) error
	}); ok {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		return rd.Ready(ctx)
	}
	return nil
}
