package ui

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
)

//go:embed index.html ui.css ui.js demo
var files embed.FS

// FS holds the page: index.html, ui.css and ui.js at its root, and the
// demo files of the attach menu under demo/ (DemoMedia). Serve it
// with http.FileServerFS next to an endpoints.json (see NewHandler).
var FS fs.FS = files

// EndpointsPath is where the page looks for its configuration, relative to
// the page itself.
const EndpointsPath = "endpoints.json"

// Endpoints is the content of endpoints.json: where the emulators' control
// APIs and the bot's HTTP server answer, as the browser reaches them.
type Endpoints struct {
	UI              string      `json:"ui"`
	TelegramAPI     string      `json:"telegram_api"`
	TelegramControl string      `json:"telegram_control"`
	SheetsAPI       string      `json:"sheets_api"`
	SheetsControl   string      `json:"sheets_control"`
	GeminiAPI       string      `json:"gemini_api"`
	GeminiControl   string      `json:"gemini_control"`
	BotHTTP         string      `json:"bot_http"`
	MiniApp         string      `json:"mini_app"`
	AdminQueues     string      `json:"admin_queues"`
	Metrics         Metrics     `json:"metrics"`
	Token           string      `json:"token"`
	SpreadsheetID   string      `json:"spreadsheet_id"`
	OperatorsChatID int64       `json:"operators_chat_id"`
	Operator        Operator    `json:"operator"`
	SheetTitles     SheetTitles `json:"sheet_titles"`
	// AuthHeaders are the headers the page finds the Auth columns by
	// (config sheets.headers.auth); empty ones take the defaults.
	AuthHeaders AuthHeaders `json:"auth_headers"`
	// OperatorsForum: the operators' group is a forum supergroup (a topic
	// per partner); the page creates it so and shows its topics.
	OperatorsForum bool `json:"operators_forum,omitempty"`
}

// AuthHeaders name the Auth sheet's columns the page reads to list the
// partners.
type AuthHeaders struct {
	PartnerCode string `json:"partner_code"`
	Phone       string `json:"phone"`
	FullName    string `json:"full_name"`
	Status      string `json:"status"`
	TelegramID  string `json:"telegram_id"`
}

// Metrics are the Prometheus endpoints of the three roles.
type Metrics struct {
	Bot    string `json:"bot"`
	Worker string `json:"worker"`
	Poller string `json:"poller"`
}

// Operator is the simulated Telegram user who answers in the operators'
// group.
type Operator struct {
	ID        int64  `json:"id"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Username  string `json:"username"`
}

// SheetTitles name the sheets of the spreadsheet (config sheets.titles).
type SheetTitles struct {
	Auth       string `json:"auth"`
	Appeals    string `json:"appeals"`
	Queue      string `json:"queue"`
	Listings   string `json:"listings"`
	Promotions string `json:"promotions"`
	Knowledge  string `json:"knowledge"`
	Stats      string `json:"stats,omitempty"` // the support numbers, one row per day (issue 18)
}

// Validate reports the first field the page cannot work without. The
// Gemini, queue and metrics links are optional: the page hides what is
// missing.
func (e Endpoints) Validate() error {
	for _, f := range []struct{ name, value string }{
		{"telegram_control", e.TelegramControl},
		{"telegram_api", e.TelegramAPI},
		{"sheets_control", e.SheetsControl},
	} {
		if err := checkURL(f.value); err != nil {
			return fmt.Errorf("sandbox ui: endpoints: %s: %w", f.name, err)
		}
	}
	for _, f := range []struct{ name, value string }{
		{"gemini_control", e.GeminiControl}, {"mini_app", e.MiniApp}, {"admin_queues", e.AdminQueues},
		{"metrics.bot", e.Metrics.Bot}, {"metrics.worker", e.Metrics.Worker}, {"metrics.poller", e.Metrics.Poller},
	} {
		if f.value == "" {
			continue
		}
		if err := checkURL(f.value); err != nil {
			return fmt.Errorf("sandbox ui: endpoints: %s: %w", f.name, err)
		}
	}
	switch {
	case e.SpreadsheetID == "":
		return errors.New("sandbox ui: endpoints: spreadsheet_id is empty")
	case e.SheetTitles.Auth == "":
		return errors.New("sandbox ui: endpoints: sheet_titles.auth is empty")
	case e.OperatorsChatID >= 0:
		return fmt.Errorf("sandbox ui: endpoints: operators_chat_id must be negative (a Telegram group), got %d", e.OperatorsChatID)
	case e.Operator.ID <= 0:
		return fmt.Errorf("sandbox ui: endpoints: operator.id must be positive, got %d", e.Operator.ID)
	}
	return nil
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	return nil
}

// contentSecurityPolicy lets the page run only its own script and style, so
// that a bot message slipping past the sanitizer still cannot execute.
// Connections, frames and images stay open to any http(s) origin: the
// emulators, the Mini App and documents sent by URL live on other ports or
// hosts.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data: blob: http: https:; connect-src 'self' http: https:; " +
	"frame-src http: https:; media-src 'self' blob: http: https:; object-src 'none'; base-uri 'none'; form-action 'none'"

// NewHandler serves FS and endpoints.json for e. The sandbox mounts it at
// "/" (or under a prefix with http.StripPrefix: the page uses relative
// URLs only).
func NewHandler(e Endpoints) (http.Handler, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	body, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("sandbox ui: encode endpoints: %w", err)
	}
	demo, err := demoMediaJSON()
	if err != nil {
		return nil, err
	}
	static := http.FileServerFS(FS)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		// The page changes with the binary; a stale ui.js against a newer
		// emulator is confusing, and everything is local anyway.
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		switch r.URL.Path {
		case "/" + EndpointsPath:
			h.Set("Content-Type", "application/json")
			_, _ = w.Write(body)
			return
		case "/" + DemoMediaPath:
			h.Set("Content-Type", "application/json")
			_, _ = w.Write(demo)
			return
		}
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		static.ServeHTTP(w, r)
	}), nil
}
