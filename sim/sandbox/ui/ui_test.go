package ui_test

import (
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"marketingbot/sim/sandbox/ui"
)

// validEndpoints is the example of the task description, on fixed ports.
func validEndpoints() ui.Endpoints {
	return ui.Endpoints{
		UI: "http://127.0.0.1:8080/", TelegramAPI: "http://127.0.0.1:8080/telegram",
		TelegramControl: "http://127.0.0.1:8080/telegram/_emulator", SheetsAPI: "http://127.0.0.1:8080/sheets",
		SheetsControl: "http://127.0.0.1:8080/sheets/_emulator", GeminiAPI: "http://127.0.0.1:8080/gemini",
		GeminiControl: "http://127.0.0.1:8080/gemini/_emulator", BotHTTP: "http://127.0.0.1:8081",
		MiniApp: "http://127.0.0.1:8081/app/", AdminQueues: "http://127.0.0.1:8081/admin/queues",
		Metrics: ui.Metrics{Bot: "http://127.0.0.1:8081/metrics", Worker: "http://127.0.0.1:9101/metrics", Poller: "http://127.0.0.1:9102/metrics"},
		Token:   "123456789:AAEmulatorTokenNotForProduction0000", SpreadsheetID: "sandbox",
		OperatorsChatID: -1001234567890,
		Operator:        ui.Operator{ID: 900001, FirstName: "Ольга", LastName: "Оператор", Username: "olga_operator"},
		SheetTitles: ui.SheetTitles{Auth: "Auth", Appeals: "Обращения", Queue: "Очередь", Listings: "Объекты",
			Promotions: "Акции", Knowledge: "База знаний"},
	}
}

func TestEndpointsJSONShape(t *testing.T) {
	// The page reads these names; the sandbox's endpoints.json must keep them.
	want := `{"ui":"http://127.0.0.1:8080/","telegram_api":"http://127.0.0.1:8080/telegram","telegram_control":"http://127.0.0.1:8080/telegram/_emulator","sheets_api":"http://127.0.0.1:8080/sheets","sheets_control":"http://127.0.0.1:8080/sheets/_emulator","gemini_api":"http://127.0.0.1:8080/gemini","gemini_control":"http://127.0.0.1:8080/gemini/_emulator","bot_http":"http://127.0.0.1:8081","mini_app":"http://127.0.0.1:8081/app/","admin_queues":"http://127.0.0.1:8081/admin/queues","metrics":{"bot":"http://127.0.0.1:8081/metrics","worker":"http://127.0.0.1:9101/metrics","poller":"http://127.0.0.1:9102/metrics"},"token":"123456789:AAEmulatorTokenNotForProduction0000","spreadsheet_id":"sandbox","operators_chat_id":-1001234567890,"operator":{"id":900001,"first_name":"Ольга","last_name":"Оператор","username":"olga_operator"},"sheet_titles":{"auth":"Auth","appeals":"Обращения","queue":"Очередь","listings":"Объекты","promotions":"Акции","knowledge":"База знаний"},"auth_headers":{"partner_code":"","phone":"","full_name":"","status":"","telegram_id":""}}`
	got, err := json.Marshal(validEndpoints())
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("endpoints.json =\n%s\nwant\n%s", got, want)
	}
}

func TestEndpointsValidate(t *testing.T) {
	tests := []struct {
		name    string
		change  func(*ui.Endpoints)
		wantErr string
	}{
		{name: "complete", change: func(*ui.Endpoints) {}},
		{name: "optional links empty", change: func(e *ui.Endpoints) {
			e.GeminiControl, e.MiniApp, e.AdminQueues, e.Metrics = "", "", "", ui.Metrics{}
		}},
		{name: "no telegram control", change: func(e *ui.Endpoints) { e.TelegramControl = "" }, wantErr: "telegram_control"},
		{name: "relative telegram control", change: func(e *ui.Endpoints) { e.TelegramControl = "/telegram/_emulator" }, wantErr: "telegram_control"},
		{name: "no telegram api", change: func(e *ui.Endpoints) { e.TelegramAPI = "" }, wantErr: "telegram_api"},
		{name: "sheets control not http", change: func(e *ui.Endpoints) { e.SheetsControl = "ftp://host/x" }, wantErr: "sheets_control"},
		{name: "bad optional link", change: func(e *ui.Endpoints) { e.Metrics.Worker = "javascript:alert(1)" }, wantErr: "metrics.worker"},
		{name: "no spreadsheet", change: func(e *ui.Endpoints) { e.SpreadsheetID = "" }, wantErr: "spreadsheet_id"},
		{name: "no auth sheet", change: func(e *ui.Endpoints) { e.SheetTitles.Auth = "" }, wantErr: "sheet_titles.auth"},
		{name: "group id positive", change: func(e *ui.Endpoints) { e.OperatorsChatID = 42 }, wantErr: "operators_chat_id"},
		{name: "no operator", change: func(e *ui.Endpoints) { e.Operator.ID = 0 }, wantErr: "operator.id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := validEndpoints()
			tt.change(&e)
			err := e.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Validate() = %v, want an error naming %q", err, tt.wantErr)
			}
			if _, herr := ui.NewHandler(e); (herr == nil) != (err == nil) {
				t.Errorf("NewHandler error = %v, Validate error = %v; they must agree", herr, err)
			}
		})
	}
}

func TestHandler(t *testing.T) {
	e := validEndpoints()
	h, err := ui.NewHandler(e)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	endpoints, _ := json.Marshal(e)

	tests := []struct {
		path        string
		status      int
		contentType string
		csp         bool
		body        string // a substring the body must contain
	}{
		{path: "/", status: 200, contentType: "text/html", csp: true, body: `<script type="module" src="ui.js"></script>`},
		{path: "/index.html", status: 301}, // FileServer's canonical "/"
		{path: "/ui.js", status: 200, contentType: "javascript", csp: true, body: "renderTelegramHTML"},
		{path: "/ui.css", status: 200, contentType: "text/css", csp: true, body: ".bubble"},
		{path: "/endpoints.json", status: 200, contentType: "application/json", body: string(endpoints)},
		{path: "/missing.js", status: 404},
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, err := client.Get(srv.URL + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.status != 200 {
				return
			}
			if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, tt.contentType) {
				t.Errorf("Content-Type = %q, want %q", ct, tt.contentType)
			}
			csp := resp.Header.Get("Content-Security-Policy")
			if tt.csp && !strings.Contains(csp, "script-src 'self'") {
				t.Errorf("Content-Security-Policy = %q, want script-src 'self'", csp)
			}
			if !strings.Contains(string(body), tt.body) {
				t.Errorf("body does not contain %q", tt.body)
			}
		})
	}
}

// TestFSSelfContained guards "works offline": the page loads nothing from
// another origin and every local file it names is embedded.
func TestFSSelfContained(t *testing.T) {
	names, err := fs.Glob(ui.FS, "*")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(names, ",") != "demo,index.html,ui.css,ui.js" {
		t.Errorf("FS holds %v, want demo, index.html, ui.css, ui.js", names)
	}
	html, err := fs.ReadFile(ui.FS, "index.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`(?:src|href)="([^"]*)"`).FindAllStringSubmatch(string(html), -1) {
		ref := m[1]
		if ref == "data:," {
			continue
		}
		if strings.Contains(ref, ":") || strings.HasPrefix(ref, "//") {
			t.Errorf("index.html loads %q from elsewhere", ref)
			continue
		}
		if _, err := fs.Stat(ui.FS, ref); err != nil {
			t.Errorf("index.html names %q, which is not embedded: %v", ref, err)
		}
	}
	css, _ := fs.ReadFile(ui.FS, "ui.css")
	js, _ := fs.ReadFile(ui.FS, "ui.js")
	for name, body := range map[string]string{"ui.css": string(css), "ui.js": string(js)} {
		for _, bad := range []string{"@import", "url(http", "import ", "importScripts", ".innerHTML =", ".outerHTML =", "insertAdjacentHTML", "document.write", "eval("} {
			if strings.Contains(body, bad) {
				t.Errorf("%s contains %q", name, bad)
			}
		}
	}
}
