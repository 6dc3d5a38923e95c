package ui_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/mymmrac/telego"

	"marketingbot/sim/browser"
	"marketingbot/sim/emulator/gemini"
	sheetsemu "marketingbot/sim/emulator/sheets"
	"marketingbot/sim/emulator/telegram"
	"marketingbot/sim/sandbox/ui"
)

const (
	spreadsheetID = "sandbox"
	groupID       = -1001234567890
	operatorID    = 900001
	waitFor       = 10 * time.Second
)

// authRows is the Auth sheet as an operator types it: a header, phones in
// mixed formats, one partner who already has a Telegram ID.
var authRows = [][]any{
	{"Код партнера", "Телефон", "ФИО", "STATUS", "Telegram ID", "authorized_at", "bot_blocked_at"},
	{"P-0001", "+7 (912) 345-67-89", "Иванова Мария Сергеевна"},
	{"P-0002", "89123456780", "Петров Алексей Викторович"},
	{"P-0004", "+79165550142", "Кузнецов Дмитрий Игоревич", "authorized", 587654321.0, "15.01.2026 10:30:00"},
	{"AGN-014", "8(921)555-12-34", "Соколова Ольга Павловна"},
}

// sandbox is the page under test with everything it talks to: the real
// Telegram, Sheets and Gemini emulators, a stand-in Mini App, and the test
// playing the bot through telego.
type sandbox struct {
	tg        *telegram.Server
	tgURL     string
	sheetsURL string
	geminiURL string
	mini      *miniApp
	pageURL   string
	ep        ui.Endpoints
	bot       *telego.Bot
	updates   *updateStream
}

func startSandbox(t *testing.T) *sandbox {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := &sandbox{}

	s.tg = telegram.New(telegram.Options{
		BotName: "Маркетинг-бот", BotUsername: "marketing_sandbox_bot",
		FloodLimits: &telegram.FloodLimits{}, // the test bot answers faster than 1/s per chat
	})
	tgHTTP := httptest.NewServer(s.tg)
	// LIFO: the emulator ends the page's long polls before the server waits
	// for its connections.
	t.Cleanup(tgHTTP.Close)
	t.Cleanup(s.tg.Close)
	s.tgURL = tgHTTP.URL

	sh, err := sheetsemu.New(sheetsemu.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := sh.Load(spreadsheetID, sheetsemu.Spreadsheet{Title: "MarketingBot", Sheets: []sheetsemu.Sheet{
		{Title: "Auth", Rows: authRows},
		{Title: "Обращения", Rows: [][]any{{"created_at", "Пользователь", "Код партнера", "Telegram ID", "текст_обращений", "Статус", "updated_at", "Оператор"}}},
	}}); err != nil {
		t.Fatal(err)
	}
	sheetsHTTP := httptest.NewServer(sh)
	t.Cleanup(func() { sheetsHTTP.Close(); _ = sh.Close() })
	s.sheetsURL = sheetsHTTP.URL

	gem := gemini.New(gemini.Options{Logger: quiet})
	gemHTTP := httptest.NewServer(gem)
	t.Cleanup(gemHTTP.Close)
	t.Cleanup(gem.Close)
	s.geminiURL = gemHTTP.URL

	s.mini = startMiniApp(t)

	s.ep = ui.Endpoints{
		TelegramAPI: s.tgURL, TelegramControl: s.tgURL + "/_emulator",
		SheetsAPI: s.sheetsURL, SheetsControl: s.sheetsURL + "/_emulator",
		GeminiAPI: s.geminiURL, GeminiControl: s.geminiURL + "/_emulator",
		BotHTTP: s.mini.url, MiniApp: s.mini.url + "/app/", AdminQueues: s.mini.url + "/admin/queues",
		Metrics: ui.Metrics{Bot: s.mini.url + "/metrics", Worker: s.mini.url + "/metrics?role=worker", Poller: s.mini.url + "/metrics?role=poller"},
		Token:   s.tg.Token(), SpreadsheetID: spreadsheetID, OperatorsChatID: groupID,
		Operator: ui.Operator{ID: operatorID, FirstName: "Ольга", LastName: "Оператор", Username: "olga_operator"},
		SheetTitles: ui.SheetTitles{Auth: "Auth", Appeals: "Обращения", Queue: "Очередь", Listings: "Объекты",
			Promotions: "Акции", Knowledge: "База знаний"},
	}
	// The page's own origin differs from every emulator's, as in the
	// sandbox when the roles run on their own ports: CORS is exercised.
	pageHTTP := httptest.NewUnstartedServer(nil)
	s.pageURL = "http://" + pageHTTP.Listener.Addr().String() + "/"
	s.ep.UI = s.pageURL
	if pageHTTP.Config.Handler, err = ui.NewHandler(s.ep); err != nil {
		t.Fatal(err)
	}
	pageHTTP.Start()
	t.Cleanup(pageHTTP.Close)

	s.bot, err = telego.NewBot(s.tg.Token(), telego.WithAPIServer(s.tgURL), telego.WithDiscardLogger())
	if err != nil {
		t.Fatal(err)
	}
	s.updates = pollUpdates(t, s.bot)
	return s
}

// updateStream is the bot's side of getUpdates: every update, in order.
type updateStream struct {
	ch chan telego.Update
}

func pollUpdates(t *testing.T, bot *telego.Bot) *updateStream {
	ctx, cancel := context.WithCancel(context.Background())
	u := &updateStream{ch: make(chan telego.Update, 256)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		offset := 0
		for ctx.Err() == nil {
			batch, err := bot.GetUpdates(ctx, &telego.GetUpdatesParams{Offset: offset, Timeout: 1})
			if err != nil {
				select {
				case <-ctx.Done():
				case <-time.After(100 * time.Millisecond):
				}
				continue
			}
			for _, up := range batch {
				offset = up.UpdateID + 1
				select {
				case u.ch <- up:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return u
}

// next returns the first update that matches, dropping the others (updates
// of earlier steps the test did not wait for).
func (u *updateStream) next(t *testing.T, what string, match func(telego.Update) bool) telego.Update {
	t.Helper()
	timeout := time.After(waitFor)
	for {
		select {
		case up := <-u.ch:
			if match(up) {
				return up
			}
			t.Logf("update %d is not %s; skipped", up.UpdateID, what)
		case <-timeout:
			t.Fatalf("no update with %s within %v", what, waitFor)
		}
	}
}

// miniApp stands in for the bot's Mini App: it reports the fragment it was
// opened with and the events the sandbox's bridge sends it.
type miniApp struct {
	url    string
	seen   chan string
	events chan string
}

const miniAppPage = `<!doctype html><meta charset="utf-8"><title>Mini App</title>
<body><h1>Аналитика 360</h1><p id="hash"></p>
<script>
const post = (path, body) => fetch(path, {method: 'POST', body});
document.getElementById('hash').textContent = location.hash.slice(0, 80) + '…';
post('/app/seen', location.hash);
window.parent.postMessage(JSON.stringify({eventType: 'web_app_setup_main_button',
  eventData: {is_visible: true, is_active: true, text: 'Заказать отчёт', color: '#2481cc', text_color: '#ffffff'}}), '*');
window.addEventListener('message', (e) => {
  let d;
  try { d = JSON.parse(e.data); } catch { return; }
  post('/app/event', d.eventType);
});
</script>`

func startMiniApp(t *testing.T) *miniApp {
	m := &miniApp{seen: make(chan string, 16), events: make(chan string, 16)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /app/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, miniAppPage)
	})
	report := func(ch chan string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			select {
			case ch <- string(body):
			default:
			}
		}
	}
	mux.HandleFunc("POST /app/seen", report(m.seen))
	mux.HandleFunc("POST /app/event", report(m.events))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	m.url = srv.URL
	return m
}

func receive(t *testing.T, ch chan string, what string) string {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitFor):
		t.Fatalf("the Mini App did not report %s within %v", what, waitFor)
		return ""
	}
}

// openPage starts Chromium on the page; uncaught exceptions fail t.
func (s *sandbox) openPage(t *testing.T) context.Context {
	t.Helper()
	ctx := browser.New(t, browser.WithTimeout(3*time.Minute))
	browser.FailOnException(ctx, t)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1440, 900), chromedp.Navigate(s.pageURL)); err != nil {
		t.Fatal(err)
	}
	waitJS(ctx, t, "page started", `document.documentElement.dataset.ready === 'true'`)
	return ctx
}

// waitJS polls a JavaScript condition until it holds.
func waitJS(ctx context.Context, t *testing.T, what, expr string) {
	t.Helper()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](`!!(`+expr+`)`,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(waitFor)))
	if err != nil {
		t.Fatalf("waiting for %s (%s): %v", what, expr, err)
	}
}

// runAwait evaluates an expression that yields a promise.
func runAwait[T any](ctx context.Context, expr string) (T, error) {
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

func eval[T any](ctx context.Context, t *testing.T, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

func click(ctx context.Context, t *testing.T, sel string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible)); err != nil {
		t.Fatalf("click %s: %v", sel, err)
	}
}

func typeInto(ctx context.Context, t *testing.T, sel, text string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(sel), text, chromedp.NodeVisible)); err != nil {
		t.Fatalf("type into %s: %v", sel, err)
	}
}

// js quotes a Go string as a JavaScript string literal.
func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func tid(id string) string { return fmt.Sprintf(`[data-testid=%q]`, id) }

// msgSel selects a message by id inside a transcript.
func msgSel(transcript string, id int) string {
	return fmt.Sprintf(`%s [data-testid="message"][data-message-id="%d"]`, tid(transcript), id)
}

// putCells writes cells through the Sheets API (values.update, RAW), as the
// workers do.
func (s *sandbox) putCells(t *testing.T, rng string, values [][]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"values": values})
	u := fmt.Sprintf("%s/v4/spreadsheets/%s/values/%s?valueInputOption=RAW", s.sheetsURL, spreadsheetID, url.PathEscape(rng))
	req, _ := http.NewRequest(http.MethodPut, u, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	doOK(t, req)
}

func (s *sandbox) appendRow(t *testing.T, sheet string, row []any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"values": [][]any{row}})
	u := fmt.Sprintf("%s/v4/spreadsheets/%s/values/%s:append?valueInputOption=RAW&insertDataOption=INSERT_ROWS", s.sheetsURL, spreadsheetID, url.PathEscape(sheet+"!A1"))
	req, _ := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	doOK(t, req)
}

// askGemini makes one generateContent call, as the worker's AI client would.
func (s *sandbox) askGemini(t *testing.T, prompt string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"contents": []any{map[string]any{"role": "user", "parts": []any{map[string]string{"text": prompt}}}}})
	req, _ := http.NewRequest(http.MethodPost, s.geminiURL+"/v1beta/models/gemini-3-flash-preview:generateContent", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-goog-api-key", "sandbox-key")
	doOK(t, req)
}

func doOK(t *testing.T, req *http.Request) []byte {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %d %s", req.Method, req.URL, resp.StatusCode, body)
	}
	return body
}

// waitGo polls a Go condition (emulator state) until it holds.
func waitGo(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: timed out after %v", what, waitFor)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *sandbox) user(id int64) (telegram.User, bool) {
	for _, u := range s.tg.Users() {
		if u.ID == id {
			return u, true
		}
	}
	return telegram.User{}, false
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
