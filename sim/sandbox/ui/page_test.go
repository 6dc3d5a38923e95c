package ui_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/mymmrac/telego"
	tu "github.com/mymmrac/telego/telegoutil"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/telegram/webapp"
	"marketingbot/sim/browser"
)

// TestTelegramHTMLRenderer feeds the page's renderer hostile and ordinary
// Telegram HTML and compares the DOM it builds. The page is connected, so
// an image or script that slipped through would load and run.
func TestTelegramHTMLRenderer(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	s := startSandbox(t)
	ctx := s.openPage(t)
	const spoiler = `<span class="spoiler" title="Спойлер — нажмите, чтобы показать">`
	const link = `target="_blank" rel="noopener noreferrer"`
	tests := []struct {
		name, in, want string
	}{
		{"formatting", `<b>bold</b> and <i>it</i>`, `<b>bold</b> and <i>it</i>`},
		{"aliases", `<u>u</u><ins>i</ins><s>s</s><strike>k</strike><del>d</del><em>e</em><strong>g</strong>`,
			`<u>u</u><u>i</u><s>s</s><s>k</s><del>d</del><em>e</em><strong>g</strong>`},
		{"script tag stays text", `<script>window.__xss=1</script>`, `&lt;script&gt;window.__xss=1&lt;/script&gt;`},
		{"escaped tag stays text", `&lt;img src=x onerror="window.__xss=2"&gt;`, `&lt;img src=x onerror="window.__xss=2"&gt;`},
		{"img tag stays text", `<img src=x onerror="window.__xss=3">`, `&lt;img src=x onerror="window.__xss=3"&gt;`},
		{"iframe stays text", `<iframe src="https://example.com/"></iframe>`, `&lt;iframe src="https://example.com/"&gt;&lt;/iframe&gt;`},
		{"svg stays text", `<svg onload="window.__xss=4"><b>x</b></svg>`, `&lt;svg onload="window.__xss=4"&gt;<b>x</b>&lt;/svg&gt;`},
		{"https link", `<a href="https://example.com/a?b=1&amp;c=2">x</a>`, `<a href="https://example.com/a?b=1&amp;c=2" ` + link + `>x</a>`},
		{"uppercase tag, single quotes", `<A HREF='https://example.com'>X</A>`, `<a href="https://example.com/" ` + link + `>X</a>`},
		{"tg link", `<a href="tg://user?id=42">u</a>`, `<a href="tg://user?id=42" ` + link + `>u</a>`},
		{"javascript link", `<a href="javascript:window.__xss=5">x</a>`, `<span class="dead-link">x</span>`},
		{"obfuscated javascript link", `<a href="  JaVa&#x09;ScRiPt:window.__xss=6" onclick="window.__xss=7">y</a>`, `<span class="dead-link">y</span>`},
		{"data link", `<a href="data:text/html,<script>window.__xss=8</script>">z</a>`, `<span class="dead-link">z</span>`},
		{"relative link", `<a href="/admin">r</a>`, `<span class="dead-link">r</span>`},
		{"event attributes dropped", `<b onclick="window.__xss=9" style="color:red">b</b>`, `<b>b</b>`},
		{"spoilers", `<tg-spoiler>a</tg-spoiler><span class="tg-spoiler">b</span>`, spoiler + `a</span>` + spoiler + `b</span>`},
		{"other span stays text", `<span class="x">s</span>`, `&lt;span class="x"&gt;s&lt;/span&gt;`},
		{"code block", `<pre><code class="language-go">x := 1 &lt; 2</code></pre>`, `<pre><code data-language="go">x := 1 &lt; 2</code></pre>`},
		{"expandable quote", `<blockquote expandable>q</blockquote>`, `<blockquote class="expandable">q</blockquote>`},
		{"line break", `line<br>next<br/>end`, `line<br>next<br>end`},
		{"entities", `a &amp;lt; b &#60; &#x3C; &quot; &bogus; & &#0;`, `a &amp;lt; b &lt; &lt; " &amp;bogus; &amp; &amp;#0;`},
		{"unclosed tag closes at the end", `<b>x`, `<b>x</b>`},
		{"mismatched end tag stays text", `<b>x</i>y</b>`, `<b>x&lt;/i&gt;y</b>`},
		{"stray end tag stays text", `x</b>`, `x&lt;/b&gt;`},
		{"lone angle brackets", `1 < 2 > 0`, `1 &lt; 2 &gt; 0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expr := `import('./ui.js').then(async (m) => {
				const box = document.createElement('div');
				box.append(m.renderTelegramHTML(` + js(tt.in) + `));
				document.body.append(box);
				await new Promise((r) => setTimeout(r, 30));
				box.remove();
				return box.innerHTML;
			})`
			got, err := runAwait[string](ctx, expr)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("render(%q)\n got %s\nwant %s", tt.in, got, tt.want)
			}
		})
	}
	// Give a smuggled image time to fail loading and fire onerror.
	time.Sleep(300 * time.Millisecond)
	if v := eval[string](ctx, t, `typeof window.__xss`); v != "undefined" {
		t.Errorf("window.__xss is %s: markup from a message executed", v)
	}
}

// TestPartnerIdentity checks the page's phone rules against the Go ones
// the bot uses, so a partner picked in the page is the partner the bot
// finds in the sheet.
func TestPartnerIdentity(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	s := startSandbox(t)
	ctx := s.openPage(t)
	inputs := []string{
		"+7 (912) 345-67-89", "89123456780", "8 903 214-55-17", "8(921)555-12-34", "926 123-45-67",
		"7 915 765 43 21", "+44 20 7946 0958", "79123456789", "12345", "phone: 8912", "8 800 555 35 35 доб. 1", "",
	}
	for _, in := range inputs {
		t.Run(in, func(t *testing.T) {
			type result struct {
				Phone *string `json:"phone"`
				ID    int64   `json:"id"`
			}
			got, err := runAwait[result](ctx, `import('./ui.js').then((m) => {
				const phone = m.normalizePhone(`+js(in)+`);
				return {phone, id: phone ? m.userIdForPhone(phone) : 0};
			})`)
			if err != nil {
				t.Fatal(err)
			}
			want, ok := domain.NormalizePhone(in)
			switch {
			case !ok && got.Phone != nil:
				t.Errorf("page normalizes %q to %q; the bot rejects it", in, *got.Phone)
			case ok && (got.Phone == nil || *got.Phone != want):
				t.Errorf("page normalizes %q to %v; the bot to %q", in, got.Phone, want)
			}
			if ok {
				if wantID := 7000000000 + mustAtoi(t, want[len(want)-9:]); got.ID != wantID {
					t.Errorf("user id = %d, want %d", got.ID, wantID)
				}
			}
		})
	}
}

func mustAtoi(t *testing.T, s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPageEndToEnd plays a partner, the bot and an operator through the
// page, step by step; each step needs the previous ones.
func TestPageEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	s := startSandbox(t)
	botCtx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)

	// What the real bot does at start: the menu button opens the Mini App.
	if err := s.bot.SetChatMenuButton(botCtx, &telego.SetChatMenuButtonParams{MenuButton: &telego.MenuButtonWebApp{
		Type: "web_app", Text: "Аналитика", WebApp: telego.WebAppInfo{URL: s.ep.MiniApp},
	}}); err != nil {
		t.Fatal(err)
	}
	s.askGemini(t, "Как стать партнёром?")
	ctx := s.openPage(t)

	w := &pageWalk{s: s, ctx: ctx, botCtx: botCtx}

	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"operators group and operator exist", w.groupAndOperator},
		{"pick a partner", w.pickPartner},
		{"menu button opens the Mini App", w.menuButton},
		{"text reaches getUpdates", w.textReachesUpdates},
		{"typing indicator", w.typingIndicator},
		{"a draft grows until the message replaces it", w.draftThenMessage},
		{"bot reply rendered and sanitized", w.botReplyRendered},
		{"reply keyboard shares the contact", w.replyKeyboardContact},
		{"inline button sends a callback query", w.inlineCallback},
		{"document opens", w.documentOpens},
		{"web_app button opens the Mini App with signed initData", w.webAppInitData},
		{"operator answers in the group", w.operatorAnswers},
		{"attachments reach the bot", w.attachments},
		{"block and unblock the bot", w.blockAndUnblock},
		{"sheet shows live changes", w.sheetLiveChanges},
		{"system panel", w.systemPanel},
		{"emulator reset: the page starts the chat and the group again", w.emulatorReset},
	}
	for _, st := range steps {
		if !t.Run(st.name, st.run) {
			browser.Screenshot(ctx, t, "failed")
			t.FailNow()
		}
	}
}

// pageUID is the partner TestPageEndToEnd plays: P-0001, no Telegram ID in
// the sheet, so the page derives it from the phone.
const pageUID = int64(7123456789)

// pageWalk is what TestPageEndToEnd's steps share: the sandbox, the page's
// tab, the bot's context and the last message the partner sent.
type pageWalk struct {
	s           *sandbox
	ctx         context.Context // the page's tab
	botCtx      context.Context
	lastUserMsg int
}

// groupAndOperator: operators group and operator exist.
func (w *pageWalk) groupAndOperator(t *testing.T) {
	waitGo(t, "the operators' group", func() bool {
		for _, g := range w.s.tg.Groups() {
			if g.ID == groupID && g.Title == "Операторы" {
				return true
			}
		}
		return false
	})
	if u, ok := w.s.user(operatorID); !ok || u.FirstName != "Ольга" || u.Username != "olga_operator" {
		t.Errorf("operator user = %+v, %v", u, ok)
	}
	browser.Screenshot(w.ctx, t, "start")
}

// pickPartner: pick a partner.
func (w *pageWalk) pickPartner(t *testing.T) {
	for _, tc := range []struct {
		name, phone, firstName, lastName string
		wantID                           int64
	}{
		{"Telegram ID from column E", "79165550142", "Дмитрий", "Кузнецов", 587654321},
		{"id derived from the phone", "79123456789", "Мария", "Иванова", pageUID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if eval[bool](w.ctx, t, `document.querySelector('[data-testid="partner-list"]').hidden`) {
				click(w.ctx, t, tid("partner-picker"))
			}
			click(w.ctx, t, fmt.Sprintf(`[data-testid="partner-option"][data-phone=%q]`, tc.phone))
			waitJS(w.ctx, t, "the chosen user in the header", `document.querySelector('[data-testid="current-user"]').textContent === `+js(tc.firstName+" "+tc.lastName))
			waitGo(t, "the simulated user", func() bool {
				u, ok := w.s.user(tc.wantID)
				return ok && u.Phone == tc.phone && u.FirstName == tc.firstName && u.LastName == tc.lastName
			})
			var stored struct{ ID int64 }
			if err := json.Unmarshal([]byte(eval[string](w.ctx, t, `localStorage.getItem('mb-sandbox:user')`)), &stored); err != nil || stored.ID != tc.wantID {
				t.Errorf("localStorage user id = %d (%v), want %d", stored.ID, err, tc.wantID)
			}
		})
	}
}

// menuButton: menu button opens the Mini App.
func (w *pageWalk) menuButton(t *testing.T) {
	waitJS(w.ctx, t, "the menu button", `(() => { const b = document.querySelector('[data-testid="menu-button"]');
		return !b.hidden && b.dataset.kind === 'web_app' && b.textContent === 'Аналитика'; })()`)
}

// textReachesUpdates: text reaches getUpdates.
func (w *pageWalk) textReachesUpdates(t *testing.T) {
	typeInto(w.ctx, t, tid("message-input"), "Здравствуйте! Вопрос про комиссию"+kb.Enter)
	up := w.s.updates.next(t, "the text sent with Enter", func(u telego.Update) bool {
		return u.Message != nil && u.Message.Text == "Здравствуйте! Вопрос про комиссию"
	})
	if up.Message.From == nil || up.Message.From.ID != pageUID || up.Message.Chat.ID != pageUID || up.Message.From.FirstName != "Мария" {
		t.Errorf("message from %+v in chat %d, want user %d", up.Message.From, up.Message.Chat.ID, pageUID)
	}
	waitJS(w.ctx, t, "the sent message in the transcript", `document.querySelector(`+js(msgSel("chat-transcript", up.Message.MessageID)+`[data-from-bot="false"]`)+`)`)
	if v := eval[string](w.ctx, t, `document.querySelector('[data-testid="message-input"]').value`); v != "" {
		t.Errorf("input after sending = %q, want empty", v)
	}
	typeInto(w.ctx, t, tid("message-input"), "И про сроки выплат")
	click(w.ctx, t, tid("send-button"))
	up = w.s.updates.next(t, "the text sent with the button", func(u telego.Update) bool {
		return u.Message != nil && u.Message.Text == "И про сроки выплат"
	})
	w.lastUserMsg = up.Message.MessageID
}

// typingIndicator: typing indicator.
func (w *pageWalk) typingIndicator(t *testing.T) {
	if err := w.s.bot.SendChatAction(w.botCtx, tu.ChatAction(tu.ID(pageUID), telego.ChatActionTyping)); err != nil {
		t.Fatal(err)
	}
	waitJS(w.ctx, t, "печатает…", `!document.querySelector('[data-testid="typing"]').hidden`)
	browser.Screenshot(w.ctx, t, "typing")
}

// draftThenMessage: the bot's draft (sendMessageDraft) shows under the last
// message and grows, its HTML rendered like a message's; the message that
// replaces it takes its place, and the draft is not shown again.
func (w *pageWalk) draftThenMessage(t *testing.T) {
	const draftSel = `[data-testid="chat-transcript"] [data-testid="draft"]`
	for _, step := range []struct{ html, text string }{
		{"Комиссия партнёра", "Комиссия партнёра"},
		{"Комиссия партнёра — <b>40%</b>", "Комиссия партнёра — 40%"},
	} {
		if err := w.s.bot.SendMessageDraft(w.botCtx, &telego.SendMessageDraftParams{
			ChatID: pageUID, DraftID: 7, Text: step.html, ParseMode: telego.ModeHTML,
		}); err != nil {
			t.Fatal(err)
		}
		waitJS(w.ctx, t, "the draft «"+step.text+"»", `(() => { const d = document.querySelector(`+js(draftSel)+`);
			return d && d.querySelector('[data-testid="draft-text"]').textContent === `+js(step.text)+` && !d.nextElementSibling; })()`)
	}
	if b := eval[string](w.ctx, t, `document.querySelector(`+js(draftSel+` [data-testid="draft-text"] b`)+`)?.textContent ?? ''`); b != "40%" {
		t.Errorf("the draft's <b> rendered as %q, want 40%%", b)
	}
	browser.Screenshot(w.ctx, t, "draft")
	m, err := w.s.bot.SendMessage(w.botCtx, tu.Message(tu.ID(pageUID), "Комиссия партнёра — <b>40%</b> от комиссии агентства.").WithParseMode(telego.ModeHTML))
	if err != nil {
		t.Fatal(err)
	}
	waitJS(w.ctx, t, "the message in the draft's place", `document.querySelector(`+js(msgSel("chat-transcript", m.MessageID))+`)
		&& !document.querySelector(`+js(draftSel)+`)`)
}

// botReplyRendered: bot reply rendered and sanitized.
func (w *pageWalk) botReplyRendered(t *testing.T) {
	html := `<b>Здравствуйте</b>, <i>Мария</i>! Условия: <a href="https://example.com/terms">по ссылке</a>. ` +
		`Код: <code>P-0001</code>. &lt;img src=x onerror="window.__xss=1"&gt; ` +
		`<a href="javascript:window.__xss=2">ловушка</a> <tg-spoiler>секрет</tg-spoiler>`
	m, err := w.s.bot.SendMessage(w.botCtx, tu.Message(tu.ID(pageUID), html).WithParseMode(telego.ModeHTML).
		WithReplyParameters(&telego.ReplyParameters{MessageID: w.lastUserMsg}))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := w.s.bot.SendMessage(w.botCtx, tu.Message(tu.ID(pageUID), `<script>window.__xss=3</script><img src=x onerror="window.__xss=4">`))
	if err != nil {
		t.Fatal(err)
	}
	sel := msgSel("chat-transcript", m.MessageID) + `[data-from-bot="true"]`
	waitJS(w.ctx, t, "the bot's reply", `document.querySelector(`+js(sel)+`)`)
	waitJS(w.ctx, t, "the plain reply", `document.querySelector(`+js(msgSel("chat-transcript", plain.MessageID))+`)`)
	waitJS(w.ctx, t, "typing ended by the reply", `document.querySelector('[data-testid="typing"]').hidden`)
	type rendered struct {
		Bold, Link, Code, Spoiler, Quote, Text, PlainText, XSS string
		Dangerous                                              int
	}
	got := eval[rendered](w.ctx, t, `(() => {
		const m = document.querySelector(`+js(sel)+`);
		const t = m.querySelector('[data-testid="message-text"]');
		const p = document.querySelector(`+js(msgSel("chat-transcript", plain.MessageID))+`);
		return {
			Bold: t.querySelector('b')?.textContent, Link: t.querySelector('a[href="https://example.com/terms"]')?.textContent,
			Code: t.querySelector('code')?.textContent, Spoiler: t.querySelector('.spoiler')?.textContent,
			Quote: m.querySelector('[data-testid="reply-quote"]')?.dataset.replyTo, Text: t.textContent,
			PlainText: p.querySelector('[data-testid="message-text"]').textContent,
			Dangerous: document.querySelectorAll('[data-testid="chat-transcript"] :is(script, iframe, img:not([data-testid="photo"]), a[href^="javascript"], [onerror], [onclick])').length,
			XSS: typeof window.__xss,
		};
	})()`)
	want := rendered{
		Bold: "Здравствуйте", Link: "по ссылке", Code: "P-0001", Spoiler: "секрет", Quote: strconv.Itoa(w.lastUserMsg),
		Text:      `Здравствуйте, Мария! Условия: по ссылке. Код: P-0001. <img src=x onerror="window.__xss=1"> ловушка секрет`,
		PlainText: `<script>window.__xss=3</script><img src=x onerror="window.__xss=4">`, XSS: "undefined",
	}
	if got != want {
		t.Errorf("rendered\n got %+v\nwant %+v", got, want)
	}
	time.Sleep(300 * time.Millisecond) // an injected image would have failed to load by now
	if v := eval[string](w.ctx, t, `typeof window.__xss`); v != "undefined" {
		t.Errorf("window.__xss is %s: bot text executed", v)
	}
	browser.Screenshot(w.ctx, t, "reply")
}

// replyKeyboardContact: reply keyboard shares the contact.
func (w *pageWalk) replyKeyboardContact(t *testing.T) {
	keyboard := tu.Keyboard(
		tu.KeyboardRow(tu.KeyboardButton("Отправить номер").WithRequestContact()),
		tu.KeyboardRow(tu.KeyboardButton("Позвать оператора")),
	).WithResizeKeyboard().WithInputFieldPlaceholder("Нажмите кнопку ниже")
	if _, err := w.s.bot.SendMessage(w.botCtx, tu.Message(tu.ID(pageUID), "Поделитесь номером телефона").WithReplyMarkup(keyboard)); err != nil {
		t.Fatal(err)
	}
	waitJS(w.ctx, t, "the reply keyboard", `(() => { const k = document.querySelector('[data-testid="reply-keyboard"]');
		return !k.hidden && k.querySelectorAll('[data-testid="reply-button"]').length === 2
		&& document.querySelector('[data-testid="message-input"]').placeholder === 'Нажмите кнопку ниже'; })()`)
	browser.Screenshot(w.ctx, t, "reply-keyboard")
	click(w.ctx, t, `[data-testid="reply-button"][data-request-contact="true"]`)
	up := w.s.updates.next(t, "a contact", func(u telego.Update) bool { return u.Message != nil && u.Message.Contact != nil })
	if c := up.Message.Contact; c.PhoneNumber != "79123456789" || c.UserID != pageUID || up.Message.From.ID != pageUID {
		t.Errorf("contact %+v from %d, want the partner's own phone and id %d", c, up.Message.From.ID, pageUID)
	}
	click(w.ctx, t, `[data-testid="reply-button"]:not([data-request-contact])`)
	w.s.updates.next(t, "the button's text", func(u telego.Update) bool {
		return u.Message != nil && u.Message.Text == "Позвать оператора"
	})
	if _, err := w.s.bot.SendMessage(w.botCtx, tu.Message(tu.ID(pageUID), "Спасибо!").WithReplyMarkup(tu.ReplyKeyboardRemove())); err != nil {
		t.Fatal(err)
	}
	waitJS(w.ctx, t, "the keyboard removed", `document.querySelector('[data-testid="reply-keyboard"]').hidden`)
}

// inlineCallback: inline button sends a callback query.
func (w *pageWalk) inlineCallback(t *testing.T) {
	m, err := w.s.bot.SendMessage(w.botCtx, tu.Message(tu.ID(pageUID), "Подтвердите заявку").WithReplyMarkup(tu.InlineKeyboard(tu.InlineKeyboardRow(
		tu.InlineKeyboardButton("Да").WithCallbackData("confirm:yes"),
		tu.InlineKeyboardButton("Условия").WithURL("https://example.com/terms"),
	))))
	if err != nil {
		t.Fatal(err)
	}
	sel := msgSel("chat-transcript", m.MessageID)
	click(w.ctx, t, sel+` [data-testid="inline-button"][data-callback-data="confirm:yes"]`)
	up := w.s.updates.next(t, "a callback query", func(u telego.Update) bool { return u.CallbackQuery != nil })
	cq := up.CallbackQuery
	if cq.Data != "confirm:yes" || cq.From.ID != pageUID || cq.Message == nil || cq.Message.GetMessageID() != m.MessageID {
		t.Errorf("callback query %+v", cq)
	}
	if err := w.s.bot.AnswerCallbackQuery(w.botCtx, tu.CallbackQuery(cq.ID).WithText("Заявка принята")); err != nil {
		t.Fatal(err)
	}
	waitJS(w.ctx, t, "the answer as a toast", `[...document.querySelectorAll('[data-testid="toast"]')].some((x) => x.textContent === 'Заявка принята')`)
	if _, err := w.s.bot.EditMessageText(w.botCtx, &telego.EditMessageTextParams{ChatID: tu.ID(pageUID), MessageID: m.MessageID, Text: "Подтверждено ✅"}); err != nil {
		t.Fatal(err)
	}
	waitJS(w.ctx, t, "the edit without the keyboard", `(() => { const m = document.querySelector(`+js(sel)+`);
		return m.querySelector('[data-testid="message-text"]').textContent === 'Подтверждено ✅'
		&& !m.querySelector('[data-testid="inline-button"]') && m.textContent.includes('изменено'); })()`)
}

// documentOpens: document opens.
func (w *pageWalk) documentOpens(t *testing.T) {
	pdf := []byte("%PDF-1.4\n% Analytics 360 report for the sandbox test\n%%EOF\n")
	m, err := w.s.bot.SendDocument(w.botCtx, tu.Document(tu.ID(pageUID), tu.FileFromBytes(pdf, "analytics-360.pdf")).
		WithCaption("Отчёт <b>Analytics 360</b>").WithParseMode(telego.ModeHTML))
	if err != nil {
		t.Fatal(err)
	}
	sel := msgSel("chat-transcript", m.MessageID) + ` [data-testid="document"]`
	waitJS(w.ctx, t, "the document card", `document.querySelector(`+js(sel)+`)?.querySelector('[data-testid="document-name"]').textContent === 'analytics-360.pdf'`)
	type card struct{ Href, Target, Size, Caption string }
	got := eval[card](w.ctx, t, `(() => { const d = document.querySelector(`+js(sel)+`);
		return {Href: d.href, Target: d.target, Size: d.querySelector('[data-testid="document-size"]').textContent,
		Caption: d.closest('[data-testid="message"]').querySelector('[data-testid="message-text"] b')?.textContent}; })()`)
	if got.Target != "_blank" || !strings.Contains(got.Size, "application/pdf") || got.Caption != "Analytics 360" {
		t.Errorf("document card %+v", got)
	}
	resp, err := http.Get(got.Href)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(body, pdf) || resp.Header.Get("Content-Type") != "application/pdf" {
		t.Errorf("GET %s: %q (%s), want the PDF", got.Href, body, resp.Header.Get("Content-Type"))
	}
}

// webAppInitData: web_app button opens the Mini App with signed initData.
func (w *pageWalk) webAppInitData(t *testing.T) {
	m, err := w.s.bot.SendMessage(w.botCtx, tu.Message(tu.ID(pageUID), "Откройте Analytics 360").WithReplyMarkup(tu.InlineKeyboard(tu.InlineKeyboardRow(
		tu.InlineKeyboardButton("Открыть").WithWebApp(&telego.WebAppInfo{URL: w.s.ep.MiniApp}),
	))))
	if err != nil {
		t.Fatal(err)
	}
	click(w.ctx, t, msgSel("chat-transcript", m.MessageID)+` [data-testid="inline-button"][data-kind="web_app"]`)
	waitJS(w.ctx, t, "the Mini App overlay", `!document.querySelector('[data-testid="miniapp-overlay"]').hidden`)
	src := eval[string](w.ctx, t, `document.querySelector('[data-testid="miniapp-frame"]').src`)
	hash := receive(t, w.s.mini.seen, "its URL fragment")
	if src != w.s.ep.MiniApp+hash {
		t.Errorf("iframe src = %q, the Mini App saw fragment %q", src, hash)
	}
	w.s.checkInitData(t, hash, pageUID, "Мария")

	waitJS(w.ctx, t, "the Mini App's main button", `(() => { const b = document.querySelector('[data-testid="miniapp-main-button"]');
		return !b.hidden && b.textContent === 'Заказать отчёт'; })()`)
	browser.Screenshot(w.ctx, t, "mini-app")
	click(w.ctx, t, tid("miniapp-main-button"))
	for ev := ""; ev != "main_button_pressed"; {
		ev = receive(t, w.s.mini.events, "main_button_pressed")
	}
	click(w.ctx, t, tid("miniapp-close"))
	waitJS(w.ctx, t, "the overlay closed", `document.querySelector('[data-testid="miniapp-overlay"]').hidden`)

	click(w.ctx, t, tid("menu-button"))
	w.s.checkInitData(t, receive(t, w.s.mini.seen, "the menu button's fragment"), pageUID, "Мария")
	click(w.ctx, t, tid("miniapp-close"))
}

// operatorAnswers: operator answers in the group.
func (w *pageWalk) operatorAnswers(t *testing.T) {
	card, err := w.s.bot.SendMessage(w.botCtx, tu.Message(tu.ID(groupID), "🆘 Обращение: Иванова Мария (P-0001)\nПросит оператора").
		WithReplyMarkup(tu.InlineKeyboard(tu.InlineKeyboardRow(tu.InlineKeyboardButton("Взять в работу").WithCallbackData("take:7123456789")))))
	if err != nil {
		t.Fatal(err)
	}
	sel := msgSel("group-transcript", card.MessageID)
	waitJS(w.ctx, t, "the card in the group", `document.querySelector(`+js(sel+`[data-from-bot="true"]`)+`)`)
	waitJS(w.ctx, t, "the escalation badge", `(() => { const b = document.querySelector('[data-testid="group-badge"]'); return !b.hidden && b.textContent === '1'; })()`)
	browser.Screenshot(w.ctx, t, "escalation")

	click(w.ctx, t, sel+` [data-testid="inline-button"][data-callback-data="take:7123456789"]`)
	up := w.s.updates.next(t, "the operator's callback query", func(u telego.Update) bool { return u.CallbackQuery != nil })
	if cq := up.CallbackQuery; cq.From.ID != operatorID || cq.Message == nil || cq.Message.GetChat().ID != groupID || cq.Data != "take:7123456789" {
		t.Errorf("callback query %+v", cq)
	}
	waitJS(w.ctx, t, "the badge cleared once the operator acted", `document.querySelector('[data-testid="group-badge"]').hidden`)

	click(w.ctx, t, fmt.Sprintf(`[data-testid="group-reply-button"][data-message-id="%d"]`, card.MessageID))
	waitJS(w.ctx, t, "the reply target", fmt.Sprintf(`(() => { const r = document.querySelector('[data-testid="group-reply-target"]'); return !r.hidden && r.dataset.messageId === '%d'; })()`, card.MessageID))
	typeInto(w.ctx, t, tid("group-input"), "Здравствуйте, Мария! Это Ольга, помогу с комиссией.")
	click(w.ctx, t, tid("group-send-button"))
	up = w.s.updates.next(t, "the operator's reply", func(u telego.Update) bool { return u.Message != nil && u.Message.Chat.ID == groupID })
	m := up.Message
	if m.From == nil || m.From.ID != operatorID || m.Text != "Здравствуйте, Мария! Это Ольга, помогу с комиссией." ||
		m.ReplyToMessage == nil || m.ReplyToMessage.MessageID != card.MessageID {
		t.Errorf("group message %+v, reply to %+v", m, m.ReplyToMessage)
	}
	waitJS(w.ctx, t, "the operator's message with its quote", fmt.Sprintf(`(() => { const m = document.querySelector(%s);
		return m && m.classList.contains('out') && m.querySelector('[data-testid="reply-quote"]')?.dataset.replyTo === '%d'
		&& document.querySelector('[data-testid="group-reply-target"]').hidden; })()`, js(msgSel("group-transcript", m.MessageID)), card.MessageID))
	browser.Screenshot(w.ctx, t, "operator-reply")
}

// attachments: attachments reach the bot.
func (w *pageWalk) attachments(t *testing.T) {
	for _, tc := range []struct {
		testid, kind string
		match        func(*telego.Message) bool
	}{
		{"attach-photo", "photo", func(m *telego.Message) bool {
			return len(m.Photo) > 0 && m.Caption == "Как зафиксировать клиента на этот объект?"
		}},
		{"attach-sticker", "sticker", func(m *telego.Message) bool { return m.Sticker != nil && m.Sticker.Emoji == "🙂" }},
		{"attach-location", "location", func(m *telego.Message) bool {
			return m.Location != nil && math.Abs(m.Location.Latitude-55.751244) < 1e-6
		}},
		{"attach-voice", "voice", func(m *telego.Message) bool {
			return m.Voice != nil && m.Voice.Duration == 4 && m.Voice.MimeType == "audio/ogg"
		}},
		{"attach-document", "document", func(m *telego.Message) bool {
			return m.Document != nil && m.Document.FileName == "договор.pdf" && m.Caption == "Мой агентский договор"
		}},
		// Someone else's card (P-0002's): the bot must see it is not the sender's.
		{"attach-foreign-contact", "contact", func(m *telego.Message) bool {
			return m.Contact != nil && m.Contact.UserID == 7123456780 && m.Contact.PhoneNumber == "79123456780"
		}},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			click(w.ctx, t, tid("attach-button"))
			click(w.ctx, t, tid(tc.testid))
			up := w.s.updates.next(t, "a "+tc.kind, func(u telego.Update) bool {
				return u.Message != nil && u.Message.From != nil && u.Message.From.ID == pageUID
			})
			if !tc.match(up.Message) {
				t.Fatalf("message %+v is not the expected %s", up.Message, tc.kind)
			}
			waitJS(w.ctx, t, "the "+tc.kind+" in the transcript", `document.querySelector(`+js(msgSel("chat-transcript", up.Message.MessageID)+`[data-kind="`+tc.kind+`"]`)+`)`)
			if tc.kind == "photo" {
				f, err := w.s.bot.GetFile(w.botCtx, &telego.GetFileParams{FileID: up.Message.Photo[0].FileID})
				if err != nil || f.FileSize == 0 {
					t.Errorf("getFile of the photo: %+v, %v", f, err)
				}
				waitJS(w.ctx, t, "the photo shown", `document.querySelector(`+js(msgSel("chat-transcript", up.Message.MessageID)+` img[data-testid="photo"]`)+`)?.naturalWidth === 800`)
			}
		})
	}
	t.Run("own file", w.ownFile)
	browser.Screenshot(w.ctx, t, "attachments")
}

// ownFile: a file chosen on the computer goes with its bytes (an Ogg file
// as a voice note), and what the person typed as its content is
// registered with the Gemini emulator under the bytes' SHA-256.
func (w *pageWalk) ownFile(t *testing.T) {
	const content = "Голосовое с компьютера: какая комиссия партнёра?"
	path, err := filepath.Abs("demo/voice.ogg")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	eval[bool](w.ctx, t, `(() => { document.querySelector('[data-testid="attach-content"]').value = `+js(content)+`; return true; })()`)
	if err := chromedp.Do(w.ctx, chromedp.SetUploadFiles(chromedp.CSS(tid("attach-file-input")), []string{path})); err != nil {
		t.Fatal(err)
	}
	up := w.s.updates.next(t, "the chosen file", func(u telego.Update) bool {
		return u.Message != nil && u.Message.From != nil && u.Message.From.ID == pageUID && u.Message.Voice != nil
	})
	f, err := w.s.bot.GetFile(w.botCtx, &telego.GetFileParams{FileID: up.Message.Voice.FileID})
	if err != nil || f.FileSize != int64(len(data)) {
		t.Errorf("getFile of the chosen file: %+v, %v; want %d bytes", f, err, len(data))
	}
	sum := sha256.Sum256(data)
	waitGo(t, "the content registered with the Gemini emulator", func() bool {
		var reg map[string]string
		resp, err := http.Get(w.s.geminiURL + "/_emulator/media")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return json.NewDecoder(resp.Body).Decode(&reg) == nil && reg[hex.EncodeToString(sum[:])] == content
	})
	waitJS(w.ctx, t, "the chosen file in the transcript with a player", `document.querySelector(`+js(msgSel("chat-transcript", up.Message.MessageID)+`[data-kind="voice"] [data-testid="voice-player"]`)+`)`)
}

// blockAndUnblock: block and unblock the bot.
func (w *pageWalk) blockAndUnblock(t *testing.T) {
	for _, tc := range []struct {
		status  string
		blocked bool
	}{{"kicked", true}, {"member", false}} {
		click(w.ctx, t, tid("block-toggle"))
		up := w.s.updates.next(t, "my_chat_member "+tc.status, func(u telego.Update) bool { return u.MyChatMember != nil })
		if got := up.MyChatMember.NewChatMember.MemberStatus(); got != tc.status || up.MyChatMember.From.ID != pageUID {
			t.Errorf("my_chat_member status %q from %d, want %q from %d", got, up.MyChatMember.From.ID, tc.status, pageUID)
		}
		waitJS(w.ctx, t, "the banner", fmt.Sprintf(`document.querySelector('[data-testid="blocked-banner"]').hidden === %v`, !tc.blocked))
		if u, _ := w.s.user(pageUID); u.Blocked != tc.blocked {
			t.Errorf("emulator user blocked = %v, want %v", u.Blocked, tc.blocked)
		}
	}
}

// sheetLiveChanges: sheet shows live changes.
func (w *pageWalk) sheetLiveChanges(t *testing.T) {
	cell := func(ref string) string {
		return `document.querySelector('[data-testid="sheet-table"] td[data-cell="` + ref + `"]')`
	}
	waitJS(w.ctx, t, "the Auth sheet", `document.querySelector('[data-testid="sheet-tab"][data-sheet="Auth"]').classList.contains('active')
		&& `+cell("A2")+`?.textContent === 'P-0001' && `+cell("B2")+`.textContent === '+7 (912) 345-67-89'
		&& `+cell("E4")+`.textContent === '587654321'`)
	w.s.putCells(t, "Auth!D2:E2", [][]any{{"authorized", itoa(pageUID)}})
	waitJS(w.ctx, t, "D2 changed and highlighted", cell("D2")+`.textContent === 'authorized' && `+cell("D2")+`.classList.contains('changed')`)
	browser.Screenshot(w.ctx, t, "sheet-change")

	history := "[01.02.2026 10:00:00] user#1: Здравствуйте! Вопрос про комиссию\n[01.02.2026 10:00:05] ai#2: " + strings.Repeat("Комиссия зависит от объекта. ", 6)
	w.s.appendRow(t, "Обращения", []any{"01.02.2026 10:00:00", "Мария", "P-0001", itoa(pageUID), history, "Ответ ИИ"})
	waitJS(w.ctx, t, "the Обращения tab marked", `document.querySelector('[data-testid="sheet-tab"][data-sheet="Обращения"]').classList.contains('dirty')`)
	click(w.ctx, t, `[data-testid="sheet-tab"][data-sheet="Обращения"]`)
	waitJS(w.ctx, t, "the appended history cell", cell("E2")+`?.textContent === `+js(history)+` && `+cell("E2")+`.classList.contains('long')`)
	click(w.ctx, t, `[data-testid="sheet-table"] td[data-cell="E2"]`)
	waitJS(w.ctx, t, "the long cell expanded", cell("E2")+`.classList.contains('expanded')`)
	browser.Screenshot(w.ctx, t, "sheet-history")

	href := eval[string](w.ctx, t, `document.querySelector('[data-testid="xlsx-link"]').href`)
	if href != w.s.ep.SheetsControl+"/spreadsheets/"+spreadsheetID+"/xlsx" {
		t.Errorf("xlsx link = %q", href)
	}
	req, _ := http.NewRequest(http.MethodGet, href, nil)
	if body := doOK(t, req); !bytes.HasPrefix(body, []byte("PK")) {
		t.Errorf("the .xlsx download is not a zip: %q…", body[:min(len(body), 8)])
	}
}

// systemPanel: system panel.
func (w *pageWalk) systemPanel(t *testing.T) {
	click(w.ctx, t, tid("system-tab"))
	waitJS(w.ctx, t, "the Sheets counters", `Number(document.querySelector('[data-testid="sheets-writes"]')?.textContent) >= 2`)
	waitJS(w.ctx, t, "the Gemini log", `[...document.querySelectorAll('[data-testid="gemini-entry"] [data-testid="gemini-prompt"]')].some((p) => p.textContent === 'Как стать партнёром?')
		&& document.querySelector('[data-testid="gemini-answer"]').textContent.length > 0`)
	waitJS(w.ctx, t, "the Telegram counters", `Number(document.querySelector('[data-testid="telegram-sends"]')?.textContent) > 0`)
	for testid, want := range map[string]string{
		"link-admin-queues": w.s.ep.AdminQueues, "link-metrics-bot": w.s.ep.Metrics.Bot,
		"link-metrics-worker": w.s.ep.Metrics.Worker, "link-metrics-poller": w.s.ep.Metrics.Poller,
	} {
		if got := eval[string](w.ctx, t, `document.querySelector('[data-testid="`+testid+`"]').href`); got != want {
			t.Errorf("%s href = %q, want %q", testid, got, want)
		}
	}
	browser.Screenshot(w.ctx, t, "system")
}

// emulatorReset: emulator reset: the page starts the chat and the group again.
func (w *pageWalk) emulatorReset(t *testing.T) {
	w.s.tg.Reset()
	waitGo(t, "the partner re-created", func() bool { u, ok := w.s.user(pageUID); return ok && u.Phone == "79123456789" })
	waitGo(t, "the group re-created", func() bool { return len(w.s.tg.Groups()) == 1 && w.s.tg.Groups()[0].ID == groupID })
	// Wait until the page shows the empty, new chat before typing.
	waitJS(w.ctx, t, "the old transcript cleared", `document.querySelectorAll('[data-testid="chat-transcript"] [data-testid="message"]').length === 0`)
	typeInto(w.ctx, t, tid("message-input"), "После перезапуска"+kb.Enter)
	up := w.s.updates.next(t, "the first text after the reset", func(u telego.Update) bool {
		return u.Message != nil && u.Message.Text == "После перезапуска"
	})
	waitJS(w.ctx, t, "only the new message", fmt.Sprintf(`(() => { const ms = document.querySelectorAll('[data-testid="chat-transcript"] [data-testid="message"]');
		return ms.length === 1 && ms[0].dataset.messageId === '%d'; })()`, up.Message.MessageID))
}

// checkInitData validates what the Mini App received the way the bot's
// server will.
func (s *sandbox) checkInitData(t *testing.T, hash string, uid int64, firstName string) {
	t.Helper()
	q, err := url.ParseQuery(strings.TrimPrefix(hash, "#"))
	if err != nil {
		t.Fatalf("fragment %q: %v", hash, err)
	}
	data, err := webapp.Validate(q.Get("tgWebAppData"), s.tg.Token(), time.Hour, time.Now())
	if err != nil {
		t.Fatalf("initData does not validate: %v (fragment %q)", err, hash)
	}
	if data.User.ID != uid || data.User.FirstName != firstName {
		t.Errorf("initData user = %+v, want id %d (%s)", data.User, uid, firstName)
	}
	if v := q.Get("tgWebAppVersion"); v != "7.0" {
		t.Errorf("tgWebAppVersion = %q", v)
	}
	var theme map[string]string
	if err := json.Unmarshal([]byte(q.Get("tgWebAppThemeParams")), &theme); err != nil || theme["bg_color"] == "" || theme["button_color"] == "" {
		t.Errorf("tgWebAppThemeParams = %q (%v)", q.Get("tgWebAppThemeParams"), err)
	}
}

// TestPartnersFoundByHeader: the page lists the partners of an Auth sheet
// laid out like a team's own by its headers, as the bot reads it.
func TestPartnersFoundByHeader(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	s := startSandbox(t)
	ctx := s.openPage(t)
	type partner struct {
		Code       string `json:"code"`
		Phone      string `json:"phone"`
		FirstName  string `json:"first_name"`
		ID         int64  `json:"id"`
		Authorized bool   `json:"authorized"`
	}
	got, err := runAwait[[]partner](ctx, `import('./ui.js').then((m) => m.partnersFromSnapshot({sheets: [{title: 'Auth', rows: [
		['Регион', ' telegram id ', 'Код партнера', 'STATUS', 'ФИО', 'Телефон'],
		['Москва', 4242, 'P-7', 'authorized', 'Иванова Мария', '+7 (912) 345-67-89'],
		['Казань', '', 'P-8', '', 'Петров', '8 913 000 11 22'],
		['=SUM(1)', '', '', '', '', ''],
	]}]}))`)
	if err != nil {
		t.Fatal(err)
	}
	want := []partner{{Code: "P-7", Phone: "79123456789", FirstName: "Мария", ID: 4242, Authorized: true},
		{Code: "P-8", Phone: "79130001122", FirstName: "Петров", ID: 7000000000 + 130001122}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("partners %+v, want %+v", got, want)
	}
}
