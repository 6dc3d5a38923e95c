package sandbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"marketingbot/sim/browser"
	"marketingbot/sim/sandbox"
	"marketingbot/sim/sandbox/ui"
	"marketingbot/sim/testutil"
)

// arrive bounds every wait for something asynchronous (a bot answer, a
// report). The machine may be busy with other tests: generous, never a speed
// assertion.
const arrive = 60 * time.Second

// testListings is the number of demo listings of the sandboxes of tests that
// do not look at the listings (the command's default is 5000). The Sheets
// emulator writes the whole workbook to its .xlsx file after changes and at
// every stop; with the race detector and four sandboxes at once, a 5000-row
// Listings sheet made each of those saves take 10-45 s.
const testListings = 1000

// startSandbox starts a sandbox for t and stops it in t.Cleanup (unless
// stop was called). Env is empty unless given, so MARKETINGBOT_* settings of
// the developer's shell (a real Gemini key, say) never leak into the test.
func startSandbox(t *testing.T, o sandbox.Options) (sb *sandbox.Sandbox, stop func()) {
	t.Helper()
	if o.Env == nil {
		o.Env = map[string]string{}
	}
	// The sandbox's log is kept and shown when it is slow to stop.
	logs := &testutil.SyncBuffer{}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	sb, err := sandbox.Start(ctx, o)
	if err != nil {
		t.Fatalf("sandbox.Start: %v", err)
	}
	t.Logf("sandbox ready in %v: %s", time.Since(start).Round(time.Millisecond), sb.Endpoints.UI)
	var once sync.Once
	stop = func() {
		once.Do(func() {
			sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			start, from := time.Now(), logs.Len()
			if err := sb.Stop(sctx); err != nil {
				t.Errorf("sandbox.Stop: %v", err)
			}
			t.Logf("sandbox stopped in %v", time.Since(start).Round(time.Millisecond))
			if d := time.Since(start); d > 10*time.Second {
				// Measured, not asserted (the machine may be busy); the log
				// of the stop says where the time went.
				t.Logf("slow stop; the sandbox's log meanwhile:\n%s", logs.TailFrom(from, 8000))
			}
		})
	}
	t.Cleanup(stop)
	return sb, stop
}

// ---------------------------------------------------------------------------
// The browser walk-through

// TestSandboxInBrowser plays the sandbox as a person would, only with clicks
// and typing on the sandbox page: a partner logs in by sharing the contact,
// gets an AI answer, sees a streamed answer grow as a draft, sends a voice
// note and gets an answer to what it says, calls an operator — the
// partner's topic appears in the operators' group (a forum), the operator
// answers in the topic and closes the appeal there with /resolve — and
// orders «Аналитика 360» in the Mini App; the PDF arrives in the chat.
// Screenshots of every step go to artifacts/sandbox/; the last one is also
// docs/sandbox.png (see writeDocsScreenshot).
func TestSandboxInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	// Chromium first: without it the test is skipped (or fails with
	// MARKETINGBOT_REQUIRE_TOOLS) before anything heavy starts.
	ctx := browser.New(t, browser.WithTimeout(4*time.Minute))
	browser.FailOnException(ctx, t)
	sb, _ := startSandbox(t, sandbox.Options{DataDir: t.TempDir(), Addr: "127.0.0.1:0"})
	if u, err := url.Parse(sb.Endpoints.UI); err != nil || strings.HasSuffix(u.Host, ":0") {
		t.Fatalf("Endpoints.UI = %q: the page's real address is expected with Addr 127.0.0.1:0", sb.Endpoints.UI)
	}
	p := newPage(t, ctx, sb)

	w := &walkthrough{ctx: ctx, sb: sb, p: p, objectCode: sb.DemoCodes()[0]}

	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"open the page", w.openPage},
		{"pick a partner who is not authorized", w.pickUnauthorizedPartner},
		{"the start button asks for the contact", w.startAsksForContact},
		{"sharing the contact authorizes", w.shareContact},
		{"a question gets an AI answer", w.askQuestion},
		{"a streamed answer grows as a draft", w.streamedAnswer},
		{"a voice note gets an answer", w.voiceNote},
		{"escalation opens the partner's topic", w.escalate},
		{"the operator writes in the topic", w.operatorWritesInTopic},
		{"/resolve in the topic closes the appeal", w.resolveInTopic},
		{"the partner rates the appeal", w.rate},
		{"the Mini App orders Analytics 360", w.orderAnalytics},
		{"the PDF arrives in the chat", w.pdfArrives},
	}
	for _, st := range steps {
		if !t.Run(st.name, st.run) {
			t.FailNow()
		}
	}
}

// walkthrough is the state TestSandboxInBrowser's steps hand on: each
// step needs what the previous ones did.
type walkthrough struct {
	ctx        context.Context
	sb         *sandbox.Sandbox
	p          *page
	uid        string // the partner's Telegram id
	code       string // the partner code
	question   int    // message id of the question
	cardID     string // the operators' card
	thread     string // the partner's topic in the operators' group
	objectCode string
}

// openPage: open the page.
func (w *walkthrough) openPage(t *testing.T) {
	if err := chromedp.Do(w.ctx, chromedp.EmulateViewport(1440, 900), chromedp.Navigate(w.sb.Endpoints.UI)); err != nil {
		t.Fatalf("open %s: %v", w.sb.Endpoints.UI, err)
	}
	w.p.wait(t, "the page started", `document.documentElement.dataset.ready === 'true'`, 30*time.Second)
	// No user chosen yet: the picker opens by itself with the Auth sheet's partners.
	w.p.wait(t, "the partner picker with the demo partners", `!document.querySelector('[data-testid="partner-list"]').hidden
		&& document.querySelectorAll('[data-testid="partner-option"]').length >= 5`, arrive)
	w.p.shot(t, "01-partners")
}

// pickUnauthorizedPartner: pick a partner who is not authorized.
func (w *walkthrough) pickUnauthorizedPartner(t *testing.T) {
	type option struct{ Code, UserID, Name string }
	opt := w.p.eval(t, `(() => {
		const o = [...document.querySelectorAll('[data-testid="partner-option"]')]
			.find((o) => o.querySelector('.status-badge') && !o.querySelector('.status-badge.ok'));
		return o ? {Code: o.dataset.code, UserID: o.dataset.userId, Name: o.querySelector('.partner-name').textContent} : {};
	})()`, &option{}).(*option)
	if opt.Code == "" {
		t.Fatal("no partner without «авторизован» in the picker")
	}
	w.code, w.uid = opt.Code, opt.UserID
	// The sheet keeps «Фамилия Имя Отчество»; the chat shows «Имя Фамилия».
	parts := strings.Fields(opt.Name)
	w.p.click(t, fmt.Sprintf(`[data-testid="partner-option"][data-code=%q]`, w.code))
	w.p.wait(t, "the chosen partner in the header", `document.querySelector('[data-testid="current-user"]').textContent === `+js(parts[1]+" "+parts[0]), 10*time.Second)
	w.p.wait(t, "an empty chat with the start button", `document.querySelector('[data-testid="chat-transcript"] [data-testid="start-button"]')
		&& !document.querySelector('[data-testid="message-input"]').disabled`, 10*time.Second)
	w.p.shot(t, "02-new-chat")
	t.Logf("partner %s (%s), Telegram id %s; object code %s", w.code, opt.Name, w.uid, w.objectCode)
}

// startAsksForContact: the start button asks for the contact.
func (w *walkthrough) startAsksForContact(t *testing.T) {
	w.p.click(t, tid("start-button"))
	w.p.waitOwnText(t, "/start")
	w.p.waitBotText(t, "the greeting", "подтвердите, что вы наш партнёр", 0)
	w.p.wait(t, "the reply keyboard with the contact button", `(() => { const k = document.querySelector('[data-testid="reply-keyboard"]');
		return !k.hidden && k.querySelector('[data-testid="reply-button"][data-request-contact="true"]'); })()`, 10*time.Second)
	w.p.shot(t, "03-start")
}

// shareContact: sharing the contact authorizes.
func (w *walkthrough) shareContact(t *testing.T) {
	w.p.click(t, `[data-testid="reply-button"][data-request-contact="true"]`)
	w.p.wait(t, "the contact card in the chat", `document.querySelector('[data-testid="chat-transcript"] [data-testid="message"][data-from-bot="false"] [data-testid="contact-card"]')`, 10*time.Second)
	w.p.waitBotText(t, "«авторизованы»", "Вы авторизованы как партнёр "+w.code, 0)
	w.p.wait(t, "the keyboard removed and the menu under the help text", `document.querySelector('[data-testid="reply-keyboard"]').hidden
		&& [...document.querySelectorAll('[data-testid="chat-transcript"] [data-testid="inline-button"][data-kind="web_app"]')].length > 0`, arrive)
	// The spreadsheet on the right shows what the worker wrote.
	w.p.click(t, `[data-testid="sheet-tab"][data-sheet="Auth"]`)
	w.p.wait(t, "the Auth row marked authorized", `[...document.querySelectorAll('[data-testid="sheet-table"][data-sheet="Auth"] tr')]
		.some((tr) => tr.children[1]?.textContent === `+js(w.code)+` && tr.children[4]?.textContent === 'authorized' && tr.children[5]?.textContent === `+js(w.uid)+`)`, arrive)
	w.p.shot(t, "04-authorized")
}

// askQuestion: a question gets an AI answer.
func (w *walkthrough) askQuestion(t *testing.T) {
	const q = "Какая комиссия партнёра за сделку?"
	w.p.typeInto(t, tid("message-input"), q+kb.Enter)
	w.question = w.p.waitOwnText(t, q)
	// The answer quotes the question, as the bot replies to it.
	answer := w.p.waitBotReply(t, "the AI answer", w.question)
	if !isAnswer(answer) {
		t.Fatalf("the bot did not answer the question: %q", answer)
	}
	w.p.checkGeminiSaw(t, q)
	w.p.shot(t, "05-ai-answer")
}

// streamedAnswer: a streamed answer grows as a draft. The emulated Gemini
// is slowed for this step so that the stream's chunks, and the drafts
// the bot makes of them, stay on screen for seconds.
func (w *walkthrough) streamedAnswer(t *testing.T) {
	w.setGeminiLatency(t, 12*time.Second)
	defer w.setGeminiLatency(t, 0)
	const q = "Когда выплачивают вознаграждение?"
	w.p.typeInto(t, tid("message-input"), q+kb.Enter)
	asked := w.p.waitOwnText(t, q)
	draft := w.p.waitFor(t, "a draft of the answer", `(() => {
		const d = document.querySelector('[data-testid="chat-transcript"] [data-testid="draft"] [data-testid="draft-text"]');
		return d ? d.textContent.trim() : '';
	})()`, arrive)
	w.p.shot(t, "06-draft")
	answer := w.p.waitBotReply(t, "the streamed answer", asked)
	w.p.wait(t, "the draft replaced by the answer", `!document.querySelector('[data-testid="chat-transcript"] [data-testid="draft"]')`, 10*time.Second)
	if start := []rune(draft)[:min(12, len([]rune(draft)))]; !strings.Contains(answer, string(start)) {
		t.Errorf("the answer %q does not begin like its draft %q", answer, draft)
	}
	if !strings.Contains(answer, "10 рабочих дней") {
		t.Errorf("the streamed answer is not the payout rule: %q", answer)
	}
	w.p.shot(t, "07-streamed-answer")
}

// setGeminiLatency sets the Gemini emulator's latency (its control API).
func (w *walkthrough) setGeminiLatency(t *testing.T, d time.Duration) {
	t.Helper()
	control{t: t, ep: w.sb.Endpoints}.post(w.sb.Endpoints.GeminiControl+"/latency", map[string]int64{"ms": d.Milliseconds()}, nil)
}

// voiceNote: a voice note gets an answer. The demo voice note's words are
// registered with the Gemini emulator by the sandbox (ui.DemoMedia).
func (w *walkthrough) voiceNote(t *testing.T) {
	w.p.click(t, tid("attach-button"))
	w.p.click(t, tid("attach-voice"))
	id := w.p.waitFor(t, "the voice note in the chat", `(() => {
		const m = [...document.querySelectorAll('[data-testid="chat-transcript"] [data-testid="message"][data-from-bot="false"][data-kind="voice"]')].pop();
		return m && m.querySelector('[data-testid="voice-player"]') ? m.dataset.messageId : '';
	})()`, 15*time.Second)
	n, _ := strconv.Atoi(id)
	answer := w.p.waitBotReply(t, "the answer to the voice note", n)
	if !strings.Contains(answer, "10 рабочих дней") {
		t.Errorf("the answer to «когда выплачивают вознаграждение» (the voice note) is not the payout rule: %q", answer)
	}
	// The history keeps the transcript, never the file.
	w.p.click(t, `[data-testid="sheet-tab"][data-sheet="Обращения"]`)
	w.p.wait(t, "the transcript in the appeal's history", `[...document.querySelectorAll('[data-testid="sheet-table"][data-sheet="Обращения"] td')]
		.some((td) => td.textContent.includes('[голосовое 0:04] Здравствуйте! Подскажите, когда выплачивают'))`, arrive)
	w.p.scrollChatToEnd(t)
	w.p.shot(t, "08-voice-note")
}

// escalate: escalation opens the partner's topic in the operators' group
// (a forum), with the card in it.
func (w *walkthrough) escalate(t *testing.T) {
	w.p.typeInto(t, tid("message-input"), "позовите оператора, пожалуйста"+kb.Enter)
	asked := w.p.waitOwnText(t, "позовите оператора, пожалуйста")
	w.p.waitBotText(t, "the handoff notice", "Передаю ваш вопрос оператору", asked)
	w.thread = w.p.waitFor(t, "the partner's topic in the operators' column", `(() => {
		const b = [...document.querySelectorAll('[data-testid="topic-item"]')]
			.find((b) => b.querySelector('[data-testid="topic-name"]').textContent.includes(' · '+`+js(w.code)+`));
		return b ? b.dataset.threadId : '';
	})()`, arrive)
	topic := fmt.Sprintf(`[data-testid="topic-item"][data-thread-id=%q]`, w.thread)
	w.p.click(t, topic)
	w.p.wait(t, "the topic chosen", `document.querySelector(`+js(topic)+`)?.getAttribute('aria-selected') === 'true'`, 10*time.Second)
	w.cardID = w.p.waitFor(t, "the card in the topic", `(() => {
		const m = [...document.querySelectorAll('[data-testid="group-transcript"] [data-testid="message"][data-from-bot="true"]')]
			.find((m) => !m.hidden && m.dataset.threadId === `+js(w.thread)+` && m.textContent.includes('Новое обращение') && m.textContent.includes(`+js(w.code)+`));
		return m ? m.dataset.messageId : '';
	})()`, arrive)
	card := w.p.text(t, msgSel("group-transcript", w.cardID))
	for _, want := range []string{"[голосовое 0:04] Здравствуйте!", "позовите оператора", "/resolve"} {
		if !strings.Contains(card, want) {
			t.Errorf("the card does not show %q:\n%s", want, card)
		}
	}
	// Only the topic's messages are shown.
	var others int
	w.p.eval(t, `[...document.querySelectorAll('[data-testid="group-transcript"] [data-testid="message"]')]
		.filter((m) => !m.hidden && m.dataset.threadId !== `+js(w.thread)+`).length`, &others)
	if others != 0 {
		t.Errorf("%d messages of other topics shown in the partner's topic", others)
	}
	w.p.shot(t, "09-topic")
}

// operatorWritesInTopic: the operator writes in the topic (no reply
// needed) and the partner receives it.
func (w *walkthrough) operatorWritesInTopic(t *testing.T) {
	const reply = "Здравствуйте! Это Ольга. Комиссия по вторичке — 2%, выплата в течение 5 рабочих дней."
	w.p.typeInto(t, tid("group-input"), reply)
	w.p.click(t, tid("group-send-button"))
	w.p.wait(t, "the operator's message in the topic", `[...document.querySelectorAll('[data-testid="group-transcript"] [data-testid="message"][data-from-bot="false"]')]
		.some((m) => !m.hidden && m.dataset.threadId === `+js(w.thread)+` && m.textContent.includes(`+js(reply)+`))`, 10*time.Second)
	got := w.p.waitBotText(t, "the operator's answer in the partner's chat", reply, w.question)
	if !strings.Contains(got, "Ольга") {
		t.Errorf("the relayed answer does not name the operator: %q", got)
	}
	w.p.shot(t, "10-topic-reply")
}

// resolveInTopic: /resolve in the topic closes the appeal and the topic.
func (w *walkthrough) resolveInTopic(t *testing.T) {
	w.p.typeInto(t, tid("group-input"), "/resolve"+kb.Enter)
	w.p.waitBotText(t, "the closing notice", "Обращение закрыто", w.question)
	w.p.wait(t, "«Решено» in the topic", `[...document.querySelectorAll('[data-testid="group-transcript"] [data-testid="message"][data-from-bot="true"]')]
		.some((m) => !m.hidden && m.dataset.threadId === `+js(w.thread)+` && m.textContent.includes('Решено: Ольга Оператор'))`, arrive)
	w.p.wait(t, "the topic marked closed", `document.querySelector('[data-testid="topic-item"][data-thread-id=`+js(w.thread)+`]')?.dataset.closed === 'true'`, arrive)
	w.p.click(t, `[data-testid="sheet-tab"][data-sheet="Обращения"]`)
	w.p.wait(t, "the appeal row «Решено»", `[...document.querySelectorAll('[data-testid="sheet-table"][data-sheet="Обращения"] tr')]
		.some((tr) => tr.children[4]?.textContent === `+js(w.uid)+` && tr.children[6]?.textContent === 'Решено')`, arrive)
	w.p.shot(t, "11-resolved")
}

// rate: after the resolution the partner is asked for a 1-5 rating, presses
// 5, is thanked, and the rating is in the appeal row's «Оценка» column.
func (w *walkthrough) rate(t *testing.T) {
	id := w.p.waitFor(t, "the rating question", `(() => {
		const m = [...document.querySelectorAll('[data-testid="chat-transcript"] [data-testid="message"][data-from-bot="true"]')]
			.find((m) => Number(m.dataset.messageId) > `+strconv.Itoa(w.question)+` && m.textContent.includes('Оцените, пожалуйста')
				&& [...m.querySelectorAll('[data-testid="inline-button"]')].length === 5);
		return m ? m.dataset.messageId : '';
	})()`, arrive)
	w.p.scrollChatToEnd(t)
	w.p.shot(t, "12-rating-question")
	var pressed bool
	w.p.eval(t, `(() => {
		const b = [...document.querySelectorAll('`+msgSel("chat-transcript", id)+` [data-testid="inline-button"]')].find((b) => b.textContent.trim() === '5');
		b?.click();
		return !!b;
	})()`, &pressed)
	if !pressed {
		t.Fatal("no button «5» under the rating question")
	}
	w.p.waitBotText(t, "the thanks for the rating", "Ваша оценка: 5 из 5", w.question)
	w.p.click(t, `[data-testid="sheet-tab"][data-sheet="Обращения"]`)
	w.p.wait(t, "5 in the appeal row's «Оценка»", `(() => {
		const rows = [...document.querySelectorAll('[data-testid="sheet-table"][data-sheet="Обращения"] tr')];
		const head = [...(rows.find((tr) => [...tr.children].some((td) => td.textContent === 'Оценка'))?.children ?? [])];
		const col = head.findIndex((td) => td.textContent === 'Оценка');
		return col > 0 && rows.some((tr) => tr.children[4]?.textContent === `+js(w.uid)+` && tr.children[col]?.textContent === '5');
	})()`, arrive)
	var shown bool
	w.p.eval(t, `(() => {
		const c = [...document.querySelectorAll('[data-testid="sheet-table"][data-sheet="Обращения"] td')].find((td) => td.textContent === 'Оценка');
		c?.scrollIntoView({block: 'nearest', inline: 'center'});
		return !!c;
	})()`, &shown)
	w.p.shot(t, "13-rated")
}

// orderAnalytics: the Mini App orders Analytics 360.
func (w *walkthrough) orderAnalytics(t *testing.T) {
	btn := w.p.waitFor(t, "the Analytics 360 button", `(() => {
		const bs = [...document.querySelectorAll('[data-testid="chat-transcript"] [data-testid="inline-button"][data-kind="web_app"]')]
			.filter((b) => b.textContent.includes('Аналитика 360'));
		return bs.length ? bs[bs.length - 1].dataset.messageId : '';
	})()`, 10*time.Second)
	w.p.click(t, msgSel("chat-transcript", btn)+` [data-testid="inline-button"][data-kind="web_app"]`)
	w.p.wait(t, "the Mini App overlay", `!document.querySelector('[data-testid="miniapp-overlay"]').hidden`, 10*time.Second)
	// A phone-sized frame, opened with Telegram's signed launch data.
	type frame struct {
		Src           string
		Width, Height float64
	}
	f := w.p.eval(t, `(() => { const f = document.querySelector('[data-testid="miniapp-frame"]'); const r = f.getBoundingClientRect();
		return {Src: f.src, Width: r.width, Height: r.height}; })()`, &frame{}).(*frame)
	if !strings.HasPrefix(f.Src, w.sb.Endpoints.MiniApp) || !strings.Contains(f.Src, "#tgWebAppData=") || !strings.Contains(f.Src, "hash%3D") {
		t.Errorf("the Mini App frame opened %q, want %s…#tgWebAppData=<signed initData>", f.Src, w.sb.Endpoints.MiniApp)
	}
	if f.Width < 320 || f.Width > 430 || f.Height < 500 {
		t.Errorf("the Mini App frame is %.0f×%.0f, want a phone-sized one", f.Width, f.Height)
	}
	in := w.p.miniApp()
	in.waitVisible(t, "#code")
	in.typeInto(t, "#code", w.objectCode)
	in.waitEnabled(t, "#submit")
	w.p.shot(t, "14-mini-app")
	in.click(t, "#submit")
	in.waitText(t, "#req-list", w.objectCode)
	w.p.shot(t, "15-mini-app-ordered")
	w.p.click(t, tid("miniapp-close"))
	w.p.wait(t, "the overlay closed", `document.querySelector('[data-testid="miniapp-overlay"]').hidden`, 10*time.Second)
}

// pdfArrives: the PDF arrives in the chat.
func (w *walkthrough) pdfArrives(t *testing.T) {
	// The worker computes the report, the poller (every 3 s in the
	// sandbox) sees DONE and has it delivered.
	sel := `[data-testid="chat-transcript"] [data-testid="message"][data-from-bot="true"] [data-testid="document"][data-file-name$=".pdf"]`
	w.p.wait(t, "the report's PDF", `document.querySelector(`+js(sel)+`)`, 90*time.Second)
	w.p.waitBotText(t, "the report's text", "Аналитика 360 — объект "+w.objectCode, w.question)
	href := w.p.eval(t, `document.querySelector(`+js(sel)+`).href`, new(string)).(*string)
	body, ctype := get(t, *href)
	if !bytes.HasPrefix(body, []byte("%PDF-")) {
		t.Errorf("GET %s: %s, %d bytes starting %q: not a PDF", *href, ctype, len(body), body[:min(len(body), 16)])
	}
	// The Queue sheet on the right: the request is DONE and delivered.
	w.p.click(t, `[data-testid="sheet-tab"][data-sheet="Очередь"]`)
	w.p.wait(t, "the Queue row DONE with delivered_at", `[...document.querySelectorAll('[data-testid="sheet-table"][data-sheet="Очередь"] tr')]
		.some((tr) => tr.children[3]?.textContent === `+js(w.objectCode)+` && tr.children[6]?.textContent === 'DONE' && tr.children[10]?.textContent !== '')`, arrive)
	w.p.scrollChatToEnd(t)
	path := w.p.shot(t, "16-report")
	writeDocsScreenshot(t, path)
}

// page drives the sandbox page in one Chromium tab.
type page struct {
	ctx context.Context
	sb  *sandbox.Sandbox
	dir string // artifacts/sandbox
}

func newPage(t *testing.T, ctx context.Context, sb *sandbox.Sandbox) *page {
	dir, err := browser.ArtifactsDir()
	if err != nil {
		t.Fatal(err)
	}
	dir = filepath.Join(dir, "sandbox")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := &page{ctx: ctx, sb: sb, dir: dir}
	// Registered after the sandbox's cleanup, so it runs first, while the
	// page still has everything to show.
	t.Cleanup(func() {
		if t.Failed() {
			p.dump(t)
		}
		// Leave the page before the sandbox stops, or its polls fill the
		// log with refused connections until the browser is gone.
		ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
		defer cancel()
		_ = chromedp.Do(ctx, chromedp.Navigate("about:blank"))
	})
	return p
}

// dump logs what a person would see: the page's visible text, the chat and
// the group, and saves a screenshot.
func (p *page) dump(t *testing.T) {
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const part = (id) => document.querySelector('[data-testid="' + id + '"]')?.innerText ?? '(none)';
		return '--- chat ---\n' + part('chat-transcript') + '\n--- operators group ---\n' + part('group-transcript') +
			'\n--- toasts ---\n' + part('toasts') + '\n--- connection ---\n' + part('connection-status') +
			'\n--- whole page ---\n' + document.body.innerText.slice(0, 6000);
	})()`))
	if err != nil {
		t.Logf("page text: %v", err)
	} else {
		t.Logf("what the page showed at the failure:\n%s", text)
	}
	p.shotCtx(ctx, t, "failed")
}

// shot saves a screenshot of the step and checks what it shows: every
// message bubble inside its transcript, none cut off at the side.
func (p *page) shot(t *testing.T, name string) string {
	t.Helper()
	path := p.shotCtx(p.ctx, t, name)
	var outside []string
	p.eval(t, `[...document.querySelectorAll('[data-testid="chat-transcript"], [data-testid="group-transcript"]')].flatMap((c) => {
		const box = c.getBoundingClientRect();
		// Bubbles not rendered (another topic's, while one is chosen) have no box.
		return [...c.querySelectorAll('[data-testid="message"] .bubble')].filter((b) => b.getClientRects().length > 0).filter((b) => {
			const r = b.getBoundingClientRect();
			return r.left < box.left - 1 || r.right > box.right + 1;
		}).map((b) => c.dataset.testid + ' #' + b.closest('[data-testid="message"]').dataset.messageId + ': ' + b.innerText.slice(0, 60));
	})`, &outside)
	if len(outside) > 0 {
		t.Errorf("%s: message bubbles stick out of their transcript:\n%s", name, strings.Join(outside, "\n"))
	}
	return path
}

func (p *page) shotCtx(ctx context.Context, t *testing.T, name string) string {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return ""
	}
	path := filepath.Join(p.dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return ""
	}
	t.Logf("screenshot: %s", path)
	return path
}

// wait polls a JavaScript condition until it holds or d passes.
func (p *page) wait(t *testing.T, what, expr string, d time.Duration) {
	t.Helper()
	_, err := chromedp.Run(p.ctx, chromedp.Poll[bool](`!!(`+expr+`)`,
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(d)))
	if err != nil {
		t.Fatalf("waiting %v for %s: %v", d, what, err)
	}
}

// waitFor polls a JavaScript expression until it yields a non-empty string.
func (p *page) waitFor(t *testing.T, what, expr string, d time.Duration) string {
	t.Helper()
	p.wait(t, what, expr, d)
	return *p.eval(t, expr, new(string)).(*string)
}

func (p *page) eval(t *testing.T, expr string, out any) any {
	t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[json.RawMessage](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	if err := json.Unmarshal(v, out); err != nil {
		t.Fatalf("evaluate %s: %s: %v", expr, v, err)
	}
	return out
}

func (p *page) text(t *testing.T, sel string) string {
	t.Helper()
	return *p.eval(t, `document.querySelector(`+js(sel)+`)?.innerText ?? ''`, new(string)).(*string)
}

func (p *page) click(t *testing.T, sel string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible)); err != nil {
		t.Fatalf("click %s: %v", sel, err)
	}
}

func (p *page) typeInto(t *testing.T, sel, text string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(sel), text, chromedp.NodeVisible)); err != nil {
		t.Fatalf("type into %s: %v", sel, err)
	}
}

// waitOwnText waits for the partner's own message with text and returns
// its id.
func (p *page) waitOwnText(t *testing.T, text string) int {
	t.Helper()
	id := p.waitFor(t, "the sent message «"+text+"»", `(() => {
		const m = [...document.querySelectorAll('[data-testid="chat-transcript"] [data-testid="message"][data-from-bot="false"]')]
			.find((m) => m.querySelector('[data-testid="message-text"]')?.textContent === `+js(text)+`);
		return m ? m.dataset.messageId : '';
	})()`, 15*time.Second)
	n, err := strconv.Atoi(id)
	if err != nil {
		t.Fatalf("message id %q: %v", id, err)
	}
	return n
}

// waitBotText waits for a bot message after message id after whose text
// contains want (any text when want is empty) and returns its text.
func (p *page) waitBotText(t *testing.T, what, want string, after int) string {
	t.Helper()
	return p.waitFor(t, what, `(() => {
		const m = [...document.querySelectorAll('[data-testid="chat-transcript"] [data-testid="message"][data-from-bot="true"]')]
			.find((m) => Number(m.dataset.messageId) > `+strconv.Itoa(after)+` && (m.querySelector('[data-testid="message-text"]')?.textContent ?? '').includes(`+js(want)+`)
				&& (m.querySelector('[data-testid="message-text"]')?.textContent ?? '').trim() !== '');
		return m ? m.querySelector('[data-testid="message-text"]').textContent : '';
	})()`, arrive)
}

// waitBotReply waits for the bot's text message that replies to message id
// to and returns its text.
func (p *page) waitBotReply(t *testing.T, what string, to int) string {
	t.Helper()
	return p.waitFor(t, what, `(() => {
		const m = [...document.querySelectorAll('[data-testid="chat-transcript"] [data-testid="message"][data-from-bot="true"]')]
			.find((m) => m.querySelector('[data-testid="reply-quote"]')?.dataset.replyTo === '`+strconv.Itoa(to)+`'
				&& (m.querySelector('[data-testid="message-text"]')?.textContent ?? '').trim() !== '');
		return m ? m.querySelector('[data-testid="message-text"]').textContent : '';
	})()`, arrive)
}

func (p *page) scrollChatToEnd(t *testing.T) {
	t.Helper()
	p.eval(t, `(() => { const c = document.querySelector('[data-testid="chat-transcript"]'); c.scrollTop = c.scrollHeight; return true; })()`, new(bool))
	time.Sleep(200 * time.Millisecond) // let the scroll paint before the screenshot
}

// checkGeminiSaw confirms the answer came from the model: the Gemini
// emulator's request log (what the page's «Система» tab shows) holds the
// question.
func (p *page) checkGeminiSaw(t *testing.T, question string) {
	t.Helper()
	if p.sb.Endpoints.GeminiControl == "" {
		t.Fatal("no Gemini emulator: a MARKETINGBOT_GEMINI_API_KEY leaked into the test?")
	}
	body, _ := get(t, p.sb.Endpoints.GeminiControl+"/requests?limit=20")
	if !strings.Contains(string(body), question) {
		t.Errorf("the Gemini emulator saw no request with %q:\n%.2000s", question, body)
	}
}

// frame is the Mini App's iframe: chromedp queries from its document (the
// Mini App runs on the bot's port, the same site as the page, so it is in
// the page's process).
type frame struct {
	p *page
}

func (p *page) miniApp() *frame { return &frame{p: p} }

// inFrame runs an action on a selector inside the iframe, retrying while
// the frame is still loading (a node taken before its navigation is stale).
func inFrame[T any](t *testing.T, f *frame, what string, act func(opt chromedp.QueryOption) chromedp.Action[T]) T {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		nodes, err := chromedp.Run(f.p.ctx, chromedp.Nodes(chromedp.CSS(`[data-testid="miniapp-frame"]`), chromedp.Populate(-1, true)))
		if err == nil && len(nodes) == 1 {
			ctx, cancel := context.WithTimeout(f.p.ctx, 5*time.Second)
			var v T
			v, err = chromedp.Run(ctx, act(chromedp.FromNode(nodes[0])))
			cancel()
			if err == nil {
				return v
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("Mini App: %s: %v", what, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (f *frame) waitVisible(t *testing.T, sel string) {
	t.Helper()
	inFrame(t, f, "wait for "+sel, func(opt chromedp.QueryOption) chromedp.Action[chromedp.Void] {
		return chromedp.WaitVisible(chromedp.CSS(sel), opt)
	})
}

func (f *frame) click(t *testing.T, sel string) {
	t.Helper()
	inFrame(t, f, "click "+sel, func(opt chromedp.QueryOption) chromedp.Action[chromedp.Void] {
		return chromedp.Click(chromedp.CSS(sel), opt, chromedp.NodeVisible)
	})
}

func (f *frame) typeInto(t *testing.T, sel, text string) {
	t.Helper()
	inFrame(t, f, "type into "+sel, func(opt chromedp.QueryOption) chromedp.Action[chromedp.Void] {
		return chromedp.SendKeys(chromedp.CSS(sel), text, opt, chromedp.NodeVisible)
	})
}

func (f *frame) waitEnabled(t *testing.T, sel string) {
	t.Helper()
	inFrame(t, f, "wait until "+sel+" is enabled", func(opt chromedp.QueryOption) chromedp.Action[chromedp.Void] {
		return chromedp.WaitEnabled(chromedp.CSS(sel), opt)
	})
}

// waitText waits until the visible text of sel contains want. The page
// cannot look into the frame itself (another origin), so this goes through
// the DevTools protocol like every other frame query.
func (f *frame) waitText(t *testing.T, sel, want string) {
	t.Helper()
	deadline := time.Now().Add(arrive)
	var text string
	for {
		text = inFrame(t, f, "read "+sel, func(opt chromedp.QueryOption) chromedp.Action[string] {
			return chromedp.Text(chromedp.CSS(sel), opt, chromedp.NodeVisible)
		})
		if strings.Contains(text, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Mini App: waiting %v for %q in %s; it shows %q", arrive, want, sel, text)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// writeDocsScreenshot copies the final screenshot to docs/sandbox.png, the
// picture in the README. It is committed, so it is only rewritten when
// missing or when MARKETINGBOT_UPDATE_DOCS is set: an ordinary test run
// must not leave a changed file in the working tree.
func writeDocsScreenshot(t *testing.T, src string) {
	t.Helper()
	if src == "" {
		return
	}
	root, err := testutil.ModuleRoot()
	if err != nil {
		t.Errorf("docs/sandbox.png: %v", err)
		return
	}
	dst := filepath.Join(root, "docs", "sandbox.png")
	if _, err := os.Stat(dst); err == nil && os.Getenv("MARKETINGBOT_UPDATE_DOCS") == "" {
		t.Logf("%s exists; set MARKETINGBOT_UPDATE_DOCS=1 to refresh it", dst)
		return
	}
	b, err := os.ReadFile(src)
	if err == nil {
		err = os.MkdirAll(filepath.Dir(dst), 0o755)
	}
	if err == nil {
		err = os.WriteFile(dst, b, 0o644)
	}
	if err != nil {
		t.Errorf("docs/sandbox.png: %v", err)
		return
	}
	t.Logf("screenshot for the README: %s", dst)
}

// ---------------------------------------------------------------------------
// Restart

// TestRestartKeepsState authorizes a partner, has a chat and an Analytics 360
// report through the emulators' control APIs and the Mini App API, stops the
// sandbox and starts it again on the same folder: the partner is still
// authorized (the bot answers instead of asking to log in), the chat, the
// appeal and the Queue row are all there, and the report is not delivered a
// second time. Reset then brings back the bare demo.
func TestRestartKeepsState(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	dir := t.TempDir()
	sb, stop := startSandbox(t, sandbox.Options{DataDir: dir, Addr: "127.0.0.1:0", Listings: testListings})
	rec := restartFirstRun(t, sb)
	stop()

	// Second run on the same folder.
	sb, stop = startSandbox(t, sandbox.Options{DataDir: dir, Addr: "127.0.0.1:0", Listings: testListings})
	restartCheckKept(t, sb, rec)
	stop()

	// Reset: the demo again, nothing of the run before.
	sb, _ = startSandbox(t, sandbox.Options{DataDir: dir, Addr: "127.0.0.1:0", Listings: testListings, Reset: true})
	restartCheckReset(t, sb)
}

// The partner TestRestartKeepsState plays: P-0002 from the demo Auth
// sheet, not authorized, no Telegram ID.
const (
	restartPartner  = "P-0002"
	restartPhone    = "79123456780"
	restartUID      = int64(7123456780) // 7000000000 + the phone's last nine digits, as the page does
	restartQuestion = "Когда придут деньги за сделку?"
	restartPendingQ = "А какие сейчас акции?"
)

// restartRecord is what the first run left, to be found after the restart.
type restartRecord struct {
	answer, report tmsg
	before         transcript
	appeal, queue  []string
	orderID        string
	pending        int // the question whose reply Telegram refused when the sandbox stopped
}

// restartFirstRun authorizes the partner, has a question answered and a
// report delivered, and leaves a reply waiting in Redis.
func restartFirstRun(t *testing.T, sb *sandbox.Sandbox) restartRecord {
	c := control{t: t, ep: sb.Endpoints}
	objectCode := sb.DemoCodes()[1]
	var rec restartRecord
	if row := c.row(sb.Endpoints.SheetTitles.Auth, 0, restartPartner); row == nil || cell(row, 3) == "authorized" {
		t.Fatalf("demo Auth row of %s = %q, want an unauthorized partner", restartPartner, row)
	}
	c.authorizeRestartPartner()
	asked := c.send(restartUID, restartQuestion)
	rec.answer = c.waitReply(restartUID, asked, "the AI answer")
	if !isAnswer(rec.answer.Text) {
		t.Fatalf("the bot did not answer the question: %q", rec.answer.Text)
	}
	t.Logf("AI answer: %.200s", rec.answer.Text)

	// Analytics 360 through the Mini App's API, signed like Telegram does.
	var init struct {
		InitData string `json:"init_data"`
	}
	c.get(sb.Endpoints.TelegramControl+"/initdata?user_id="+strconv.FormatInt(restartUID, 10), &init)
	var order struct {
		Request struct {
			ID string `json:"id"`
		} `json:"request"`
	}
	c.do(http.MethodPost, sb.Endpoints.BotHTTP+"/api/v1/analytics", map[string]string{"object_code": objectCode},
		map[string]string{"Authorization": "tma " + init.InitData}, &order)
	if order.Request.ID == "" {
		t.Fatal("the Mini App API returned no request id")
	}
	rec.orderID = order.Request.ID
	rec.report = c.waitDocument(restartUID, asked)
	rec.queue = c.waitRow(sb.Endpoints.SheetTitles.Queue, 0, rec.orderID, "the Queue row delivered", func(r []string) bool {
		return cell(r, 5) == "DONE" && cell(r, 9) != ""
	})
	rec.before = c.transcript(restartUID)
	rec.appeal = c.waitRow(sb.Endpoints.SheetTitles.Appeals, 3, strconv.FormatInt(restartUID, 10), "the appeal with the question", func(r []string) bool {
		return strings.Contains(cell(r, 4), restartQuestion)
	})
	// A reply that Telegram keeps refusing when the sandbox stops waits as a
	// task in the embedded Redis, which is saved with everything else: it
	// must come after the restart. (The emulator's faults are not saved.)
	c.post(sb.Endpoints.TelegramControl+"/faults", map[string]any{"method": "sendMessage", "status": 500, "count": -1}, nil)
	rec.pending = c.send(restartUID, restartPendingQ)
	c.waitFailedSend(restartUID)
	return rec
}

// restartCheckKept checks the second run on the same folder.
func restartCheckKept(t *testing.T, sb *sandbox.Sandbox, rec restartRecord) {
	c := control{t: t, ep: sb.Endpoints}
	if row := c.row(sb.Endpoints.SheetTitles.Auth, 0, restartPartner); cell(row, 3) != "authorized" || cell(row, 4) != strconv.FormatInt(restartUID, 10) {
		t.Errorf("after the restart the Auth row of %s is %q, want authorized with Telegram ID %d", restartPartner, row, restartUID)
	}
	after := c.transcript(restartUID)
	if len(after.Messages) < len(rec.before.Messages)+1 {
		t.Errorf("after the restart the chat has %d messages, want the %d of before and the pending question", len(after.Messages), len(rec.before.Messages))
	}
	if !after.has(func(m tmsg) bool { return !m.FromBot && m.Text == restartQuestion }) ||
		!after.has(func(m tmsg) bool {
			return m.FromBot && m.MessageID == rec.answer.MessageID && m.Text == rec.answer.Text
		}) ||
		!after.has(func(m tmsg) bool { return m.Document != nil && m.MessageID == rec.report.MessageID }) {
		t.Errorf("after the restart the chat lost the question, the answer or the report:\n%s", after)
	}
	if row := c.row(sb.Endpoints.SheetTitles.Appeals, 3, strconv.FormatInt(restartUID, 10)); cell(row, 4) != cell(rec.appeal, 4) {
		t.Errorf("after the restart the appeal's history is\n%q\nwant\n%q", cell(row, 4), cell(rec.appeal, 4))
	}
	if row := c.row(sb.Endpoints.SheetTitles.Queue, 0, rec.orderID); strings.Join(row, "|") != strings.Join(rec.queue, "|") {
		t.Errorf("after the restart the Queue row is\n%q\nwant\n%q", row, rec.queue)
	}
	// The held-up reply arrives, once; the partner is still authorized, so
	// it is an answer, not a request to log in.
	reply := c.waitReply(restartUID, rec.pending, "the reply held up when the sandbox stopped")
	if !isAnswer(reply.Text) {
		t.Errorf("after the restart the bot did not answer: %q", reply.Text)
	}
	// Message ids go on from where they were, and the bot keeps answering.
	again := c.send(restartUID, "Спасибо!")
	if again <= reply.MessageID {
		t.Errorf("after the restart the new message got id %d, not above the old ones (%d)", again, reply.MessageID)
	}
	c.waitReply(restartUID, again, "an answer after the restart")
	if n := c.transcript(restartUID).count(func(m tmsg) bool { return !m.FromBot && m.Text == restartPendingQ }); n != 1 {
		t.Errorf("the pending question is %d times in the chat, want once", n)
	}
	// The Mini App still knows the partner and the request (Redis kept).
	var mine struct {
		Requests []struct {
			ID, Status string
			Delivered  bool
		} `json:"requests"`
	}
	var init struct {
		InitData string `json:"init_data"`
	}
	c.get(sb.Endpoints.TelegramControl+"/initdata?user_id="+strconv.FormatInt(restartUID, 10), &init)
	c.do(http.MethodGet, sb.Endpoints.BotHTTP+"/api/v1/analytics", nil, map[string]string{"Authorization": "tma " + init.InitData}, &mine)
	if len(mine.Requests) != 1 || mine.Requests[0].ID != rec.orderID || mine.Requests[0].Status != "DONE" {
		t.Errorf("after the restart the Mini App lists %+v, want the one DONE request %s", mine.Requests, rec.orderID)
	}
	// A few poller rounds (3 s each) must not deliver the report again.
	time.Sleep(7 * time.Second)
	if n := c.transcript(restartUID).count(func(m tmsg) bool { return m.Document != nil }); n != 1 {
		t.Errorf("after the restart the chat has %d reports, want the one delivered before", n)
	}
}

// restartCheckReset checks that Reset brought back the bare demo.
func restartCheckReset(t *testing.T, sb *sandbox.Sandbox) {
	c := control{t: t, ep: sb.Endpoints}
	if row := c.row(sb.Endpoints.SheetTitles.Auth, 0, restartPartner); row == nil || cell(row, 3) != "" || cell(row, 4) != "" {
		t.Errorf("after the reset the Auth row of %s is %q, want the demo's", restartPartner, row)
	}
	for _, title := range []string{sb.Endpoints.SheetTitles.Appeals, sb.Endpoints.SheetTitles.Queue} {
		if rows := c.sheet(title); len(rows) > 1 {
			t.Errorf("after the reset %s has %d rows, want the header only: %q", title, len(rows), rows)
		}
	}
	if n := len(c.sheet(sb.Endpoints.SheetTitles.Listings)); n != testListings+1 {
		t.Errorf("after the reset the Listings sheet has %d rows, want the header and the %d demo listings", n, testListings)
	}
	var users []struct {
		ID int64 `json:"id"`
	}
	c.get(sb.Endpoints.TelegramControl+"/users", &users)
	for _, u := range users {
		if u.ID == restartUID {
			t.Errorf("after the reset the Telegram emulator still knows user %d", restartUID)
		}
	}
	if status, _ := c.try(http.MethodGet, sb.Endpoints.TelegramControl+"/chats/"+strconv.FormatInt(restartUID, 10), nil, nil); status != http.StatusNotFound {
		t.Errorf("after the reset GET chats/%d = %d, want 404", restartUID, status)
	}
	// The same person opening the Mini App again is no partner any more.
	c.post(sb.Endpoints.TelegramControl+"/users", map[string]any{"id": restartUID, "first_name": "Алексей", "phone": restartPhone}, nil)
	var init struct {
		InitData string `json:"init_data"`
	}
	c.get(sb.Endpoints.TelegramControl+"/initdata?user_id="+strconv.FormatInt(restartUID, 10), &init)
	if status, _ := c.try(http.MethodGet, sb.Endpoints.BotHTTP+"/api/v1/analytics", map[string]string{"Authorization": "tma " + init.InitData}, nil); status != http.StatusForbidden {
		t.Errorf("after the reset the Mini App answers %d to the old partner, want 403 (not a partner)", status)
	}
}

// control talks to the sandbox's control APIs and the bot's HTTP API.
type control struct {
	t  *testing.T
	ep ui.Endpoints
}

type tmsg struct {
	MessageID int    `json:"message_id"`
	Kind      string `json:"kind"`
	FromBot   bool   `json:"from_bot"`
	Text      string `json:"text"`
	Caption   string `json:"caption"`
	ReplyTo   int    `json:"reply_to_message_id"`
	Thread    int    `json:"message_thread_id"`
	Document  *struct {
		FileName string `json:"file_name"`
		MimeType string `json:"mime_type"`
		URL      string `json:"url"`
	} `json:"document"`
}

type transcript struct {
	Messages []tmsg `json:"messages"`
}

func (tr transcript) has(f func(tmsg) bool) bool { return tr.count(f) > 0 }

func (tr transcript) count(f func(tmsg) bool) int {
	n := 0
	for _, m := range tr.Messages {
		if f(m) {
			n++
		}
	}
	return n
}

func (tr transcript) String() string {
	var b strings.Builder
	for _, m := range tr.Messages {
		who := "user"
		if m.FromBot {
			who = "bot"
		}
		text := m.Text + m.Caption
		if m.Document != nil {
			text = "[" + m.Document.FileName + "] " + text
		}
		fmt.Fprintf(&b, "#%d %s: %.160s\n", m.MessageID, who, text)
	}
	return b.String()
}

func (c control) try(method, u string, header map[string]string, body any) (int, []byte) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u, r)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := &http.Client{Timeout: 70 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (c control) do(method, u string, body any, header map[string]string, out any) {
	c.t.Helper()
	status, b := c.try(method, u, header, body)
	if status/100 != 2 {
		c.t.Fatalf("%s %s: %d %s", method, u, status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: %v in %s", method, u, err, b)
		}
	}
}

func (c control) get(u string, out any) { c.t.Helper(); c.do(http.MethodGet, u, nil, nil, out) }
func (c control) post(u string, body any, out any) {
	c.t.Helper()
	c.do(http.MethodPost, u, body, nil, out)
}

// authorizeRestartPartner makes the demo partner restartPartner's
// Telegram account and logs it in as a person would: /start, then the
// contact.
func (c control) authorizeRestartPartner() {
	c.t.Helper()
	c.post(c.ep.TelegramControl+"/users", map[string]any{"id": restartUID, "first_name": "Алексей", "last_name": "Петров", "phone": restartPhone, "language_code": "ru"}, nil)
	c.send(restartUID, "/start")
	c.waitBot(restartUID, 0, "the greeting", "подтвердите, что вы наш партнёр")
	c.post(c.ep.TelegramControl+"/contact", map[string]any{"user_id": restartUID}, nil)
	c.waitBot(restartUID, 0, "authorization", "Вы авторизованы как партнёр "+restartPartner)
}

// send writes as the user and returns the message id.
func (c control) send(uid int64, text string) int {
	c.t.Helper()
	var r struct {
		MessageID int `json:"message_id"`
	}
	c.post(c.ep.TelegramControl+"/send", map[string]any{"user_id": uid, "text": text}, &r)
	return r.MessageID
}

func (c control) transcript(chatID int64) transcript {
	c.t.Helper()
	var tr transcript
	c.get(fmt.Sprintf("%s/chats/%d", c.ep.TelegramControl, chatID), &tr)
	return tr
}

// waitBot waits for a bot text message after message id after containing
// want (any text when empty).
func (c control) waitBot(chatID int64, after int, what, want string) tmsg {
	c.t.Helper()
	return c.waitMessage(chatID, what, func(m tmsg) bool {
		return m.FromBot && m.MessageID > after && m.Text != "" && strings.Contains(m.Text, want)
	})
}

// waitFailedSend waits until the bot tried to write to the chat and was
// refused by an injected fault.
func (c control) waitFailedSend(chatID int64) {
	c.t.Helper()
	deadline := time.Now().Add(arrive)
	for {
		var calls []struct {
			Params map[string]any `json:"params"`
			Status int            `json:"status"`
		}
		c.get(c.ep.TelegramControl+"/calls?method=sendMessage", &calls)
		for _, call := range calls {
			if call.Status >= 500 && fmt.Sprint(call.Params["chat_id"]) == strconv.FormatInt(chatID, 10) {
				return
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("waiting %v for a refused sendMessage to chat %d; the calls: %+v", arrive, chatID, calls)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitReply waits for the bot's text message replying to message id to.
// (The demo promotion may arrive in between: it goes to every authorized
// partner a minute after the first start.)
func (c control) waitReply(chatID int64, to int, what string) tmsg {
	c.t.Helper()
	return c.waitMessage(chatID, what, func(m tmsg) bool {
		return m.FromBot && m.ReplyTo == to && m.Text != ""
	})
}

func (c control) waitDocument(chatID int64, after int) tmsg {
	c.t.Helper()
	return c.waitMessage(chatID, "the report's PDF", func(m tmsg) bool {
		return m.FromBot && m.MessageID > after && m.Document != nil && strings.HasSuffix(m.Document.FileName, ".pdf")
	})
}

func (c control) waitMessage(chatID int64, what string, match func(tmsg) bool) tmsg {
	c.t.Helper()
	deadline := time.Now().Add(arrive)
	for {
		tr := c.transcript(chatID)
		for _, m := range tr.Messages {
			if match(m) {
				return m
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("waiting %v for %s in chat %d; the chat:\n%s", arrive, what, chatID, tr)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// sheet reads a sheet through the Sheets emulator's control API, cells as
// the sheet shows them.
func (c control) sheet(title string) [][]string {
	c.t.Helper()
	var ss struct {
		Sheets []struct {
			Title string  `json:"title"`
			Rows  [][]any `json:"rows"`
		} `json:"sheets"`
	}
	c.get(c.ep.SheetsControl+"/spreadsheets/"+url.PathEscape(c.ep.SpreadsheetID), &ss)
	for _, s := range ss.Sheets {
		if s.Title != title {
			continue
		}
		out := make([][]string, len(s.Rows))
		for i, r := range s.Rows {
			for _, v := range r {
				if v == nil {
					out[i] = append(out[i], "")
					continue
				}
				out[i] = append(out[i], fmt.Sprint(v))
			}
		}
		return out
	}
	c.t.Fatalf("no sheet %q in the spreadsheet", title)
	return nil
}

// row is the first row whose column col equals key, or nil.
func (c control) row(title string, col int, key string) []string {
	c.t.Helper()
	for _, r := range c.sheet(title) {
		if cell(r, col) == key {
			return r
		}
	}
	return nil
}

func (c control) waitRow(title string, col int, key, what string, ok func([]string) bool) []string {
	c.t.Helper()
	deadline := time.Now().Add(arrive)
	for {
		r := c.row(title, col, key)
		if r != nil && ok(r) {
			return r
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("waiting %v for %s in %s; the row: %q", arrive, what, title, r)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// isAnswer tells an answer to a question from the texts the bot sends
// instead: a request to log in (configs/messages.ru.yaml auth_prompt) or the
// notice that the AI is unavailable (ai_fallback).
func isAnswer(text string) bool {
	return strings.TrimSpace(text) != "" && !strings.Contains(text, "Поделиться номером") &&
		!strings.Contains(text, "подтвердить, что вы партнёр") && !strings.Contains(text, "не могу ответить")
}

func cell(row []string, i int) string {
	if i < len(row) {
		return row[i]
	}
	return ""
}

func get(t *testing.T, u string) ([]byte, string) {
	t.Helper()
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	return b, resp.Header.Get("Content-Type")
}

func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func tid(id string) string { return fmt.Sprintf(`[data-testid=%q]`, id) }

func msgSel(transcript, id string) string {
	return fmt.Sprintf(`[data-testid=%q] [data-testid="message"][data-message-id=%q]`, transcript, id)
}
