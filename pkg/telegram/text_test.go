package telegram_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf16"

	"github.com/mymmrac/telego"

	"marketingbot/pkg/telegram"
	"marketingbot/pkg/telegram/tghtml"
)

// fakeTelegram is the Bot API as the text path sees it: it keeps Telegram's
// limits (visible text in UTF-16 code units after entity parsing) and
// answers like the Sender classifies Telegram's errors.
type fakeTelegram struct {
	mu   sync.Mutex
	msgs []fakeMsg
	// units counts a visible text (nil: UTF-16 code units, as Telegram).
	units func(string) int
	// fail, when set, may refuse a call (n counts calls from 0).
	fail  func(n int, m fakeMsg) error
	calls int
}

type fakeMsg struct {
	method  string // sendMessage, sendPhoto, sendDocument, editMessageText
	text    string // the text or caption as sent
	mode    string
	replyTo int
	markup  telego.ReplyMarkup
	preview *telego.LinkPreviewOptions
	id      int
}

// visible is the text as the user sees it.
func (m fakeMsg) visible() string {
	if m.mode == telego.ModeHTML {
		return tghtml.Plain(m.text)
	}
	return m.text
}

var (
	_ telegram.MediaAPI = (*fakeTelegram)(nil)
	_ telegram.EditAPI  = (*fakeTelegram)(nil)
)

func u16(s string) int { return len(utf16.Encode([]rune(s))) }

func (f *fakeTelegram) take(m fakeMsg, limit int, tooLong string) (*telego.Message, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.calls
	f.calls++
	if f.fail != nil {
		if err := f.fail(n, m); err != nil {
			return nil, err
		}
	}
	if m.mode == telego.ModeHTML {
		if err := balanced(m.text); err != nil {
			return nil, fmt.Errorf("%w: %v", telegram.ErrBadEntities, err)
		}
	}
	count := u16
	if f.units != nil {
		count = f.units
	}
	if count(m.visible()) > limit {
		return nil, fmt.Errorf("%w: Bad Request: %s", telegram.ErrTooLong, tooLong)
	}
	if m.method == "sendMessage" && strings.TrimSpace(m.visible()) == "" {
		return nil, fmt.Errorf("%w: Bad Request: message text is empty", telegram.ErrRejected)
	}
	m.id = 100 + len(f.msgs)
	f.msgs = append(f.msgs, m)
	return &telego.Message{MessageID: m.id}, nil
}

func (f *fakeTelegram) SendMessage(_ context.Context, p *telego.SendMessageParams, _ telegram.Options) (*telego.Message, error) {
	m := fakeMsg{method: "sendMessage", text: p.Text, mode: p.ParseMode, markup: p.ReplyMarkup, preview: p.LinkPreviewOptions}
	if p.ReplyParameters != nil {
		m.replyTo = p.ReplyParameters.MessageID
	}
	return f.take(m, 4096, "message is too long")
}

func (f *fakeTelegram) SendPhoto(_ context.Context, p *telego.SendPhotoParams, _ telegram.Options) (*telego.Message, error) {
	return f.take(fakeMsg{method: "sendPhoto", text: p.Caption, mode: p.ParseMode, markup: p.ReplyMarkup}, 1024, "message caption is too long")
}

func (f *fakeTelegram) SendDocument(_ context.Context, p *telego.SendDocumentParams, _ telegram.Options) (*telego.Message, error) {
	return f.take(fakeMsg{method: "sendDocument", text: p.Caption, mode: p.ParseMode, markup: p.ReplyMarkup}, 1024, "message caption is too long")
}

func (f *fakeTelegram) EditMessageText(_ context.Context, p *telego.EditMessageTextParams) error {
	var markup telego.ReplyMarkup
	if p.ReplyMarkup != nil {
		markup = p.ReplyMarkup
	}
	_, err := f.take(fakeMsg{method: "editMessageText", text: p.Text, mode: p.ParseMode, markup: markup}, 4096, "message is too long")
	return err
}

func (f *fakeTelegram) sent() []fakeMsg {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeMsg(nil), f.msgs...)
}

var tagRe = regexp.MustCompile(`<(/?)([a-zA-Z][a-zA-Z0-9-]*)[^>]*>`)

// balanced is the fake's entity parser: tags balanced and properly nested,
// no '<' or '&' outside a tag or a supported entity.
func balanced(html string) error {
	var stack []string
	for _, m := range tagRe.FindAllStringSubmatch(html, -1) {
		if m[1] == "" {
			stack = append(stack, m[2])
			continue
		}
		if len(stack) == 0 || stack[len(stack)-1] != m[2] {
			return fmt.Errorf("unexpected end tag %q", m[2])
		}
		stack = stack[:len(stack)-1]
	}
	if len(stack) > 0 {
		return fmt.Errorf("unclosed %v", stack)
	}
	rest := tagRe.ReplaceAllString(html, "")
	rest = regexp.MustCompile(`&(lt|gt|amp|quot|#[0-9]+);`).ReplaceAllString(rest, "")
	if strings.ContainsAny(rest, "<&") {
		return fmt.Errorf("bare < or & in %q", rest)
	}
	return nil
}

// units builds text of exactly n UTF-16 code units: Cyrillic sentences with
// emoji (two units each) and paragraph breaks.
func units(n int) string {
	var b strings.Builder
	words := []string{"Партнёр", "получает", "комиссию", "😀", "за", "каждую", "сделку", "👍🏽", "в", "срок."}
	for i := 0; ; i++ {
		w := words[i%len(words)]
		sep := " "
		if i%40 == 39 {
			sep = "\n\n"
		}
		if u16(b.String())+u16(w)+u16(sep) > n {
			break
		}
		b.WriteString(w)
		b.WriteString(sep)
	}
	for u16(b.String()) < n {
		b.WriteString("я")
	}
	return b.String()
}

// richHTML is Telegram HTML of at least n visible units with bold, links
// and code every few hundred units, so that cuts land inside them.
func richHTML(n int) string {
	var b strings.Builder
	for i := 0; tghtml.VisibleLen(b.String()) < n; i++ {
		fmt.Fprintf(&b, "Абзац %d: <b>жирный текст, который тянется через границу частей 😀 и дальше</b> ", i)
		fmt.Fprintf(&b, `<a href="https://example.com/?a=%d&amp;b=2">ссылка с &lt;угловыми&gt; скобками</a> `, i)
		b.WriteString("<code>x := a &amp;&amp; b &lt; c</code>. Ещё одно предложение о сделке.\n\n")
	}
	return b.String()
}

func withoutSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

// checkDelivered asserts that the messages carry want's visible text, in
// order, each within limit and valid.
func checkDelivered(t *testing.T, msgs []fakeMsg, want string, limit int) {
	t.Helper()
	var got strings.Builder
	for i, m := range msgs {
		if n := u16(m.visible()); n > limit {
			t.Errorf("message %d: %d units > %d", i, n, limit)
		}
		if m.mode == telego.ModeHTML {
			if err := balanced(m.text); err != nil {
				t.Errorf("message %d is not valid HTML: %v", i, err)
			}
		}
		got.WriteString(m.visible())
	}
	if a, b := withoutSpace(want), withoutSpace(got.String()); a != b {
		t.Fatalf("delivered text differs from the input (%d vs %d runes)", len([]rune(b)), len([]rune(a)))
	}
}

var menu = &telego.InlineKeyboardMarkup{InlineKeyboard: [][]telego.InlineKeyboardButton{{{Text: "ок", CallbackData: "x"}}}}

func TestSendTextAtAndOverTheLimit(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		body  string
		plain bool
		parts int
	}{
		{"exactly 4096 units with Cyrillic and emoji", tghtml.Escape(units(4096)), false, 1},
		{"4097 units", tghtml.Escape(units(4097)), false, 2},
		{"10,000 units", tghtml.Escape(units(10000)), false, 3},
		{"10,000 units with bold, links and code at the cuts", richHTML(10000), false, 3},
		{"plain text with markup characters", "<b>не тег</b> & " + units(5000), true, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeTelegram{}
			sent, err := telegram.SendText(context.Background(), f, telegram.Text{ChatID: 7, Body: tc.body, Plain: tc.plain, ReplyTo: 55, Markup: menu}, telegram.Options{})
			if err != nil {
				t.Fatal(err)
			}
			msgs := f.sent()
			if len(msgs) != tc.parts || len(sent.IDs) != tc.parts {
				t.Fatalf("%d messages (%d ids), want %d", len(msgs), len(sent.IDs), tc.parts)
			}
			want := tghtml.Plain(tc.body)
			if tc.plain {
				want = tc.body
				for _, m := range msgs {
					if m.mode != "" {
						t.Fatalf("plain text sent with parse_mode %q", m.mode)
					}
				}
			}
			checkDelivered(t, msgs, want, 4096)
			for i, m := range msgs {
				if (m.replyTo == 55) != (i == 0) {
					t.Errorf("message %d: reply_to %d (only the first quotes the message)", i, m.replyTo)
				}
				if (m.markup != nil) != (i == len(msgs)-1) {
					t.Errorf("message %d: markup %v (only the last carries the buttons)", i, m.markup)
				}
			}
		})
	}
}

// Telegram counts more than we do (here: every emoji as four units): the
// part is cut again, smaller — at most twice, never in a loop.
func TestSendTextTooLongFromTelegram(t *testing.T) {
	t.Parallel()
	t.Run("cut again", func(t *testing.T) {
		f := &fakeTelegram{units: func(s string) int { return u16(s) + 2*strings.Count(s, "😀") }}
		body := tghtml.Escape(units(4096))
		if _, err := telegram.SendText(context.Background(), f, telegram.Text{ChatID: 7, Body: body}, telegram.Options{}); err != nil {
			t.Fatal(err)
		}
		msgs := f.sent()
		if len(msgs) < 2 {
			t.Fatalf("%d messages", len(msgs))
		}
		checkDelivered(t, msgs, tghtml.Plain(body), 4096)
	})
	t.Run("bounded", func(t *testing.T) {
		f := &fakeTelegram{fail: func(int, fakeMsg) error {
			return fmt.Errorf("%w: Bad Request: message is too long", telegram.ErrTooLong)
		}}
		_, err := telegram.SendText(context.Background(), f, telegram.Text{ChatID: 7, Body: "короткий текст"}, telegram.Options{})
		if !errors.Is(err, telegram.ErrTooLong) {
			t.Fatalf("err = %v, want ErrTooLong", err)
		}
		if f.calls != 3 {
			t.Fatalf("%d calls, want 3 (the text and two smaller cuts)", f.calls)
		}
	})
}

// A part whose entities Telegram refuses goes again as plain text; the
// other parts keep their formatting. Other permanent errors come back
// once, classified.
func TestSendTextPermanentAnswers(t *testing.T) {
	t.Parallel()
	t.Run("bad entities", func(t *testing.T) {
		f := &fakeTelegram{fail: func(n int, m fakeMsg) error {
			if n == 1 && m.mode == telego.ModeHTML {
				return fmt.Errorf("%w: can't parse entities", telegram.ErrBadEntities)
			}
			return nil
		}}
		body := richHTML(6000)
		sent, err := telegram.SendText(context.Background(), f, telegram.Text{ChatID: 7, Body: body}, telegram.Options{})
		if err != nil {
			t.Fatal(err)
		}
		msgs := f.sent()
		if len(msgs) != 2 || msgs[0].mode != telego.ModeHTML || msgs[1].mode != "" || !sent.Plain {
			t.Fatalf("modes %q/%q plain=%v: want HTML then plain", msgs[0].mode, msgs[1].mode, sent.Plain)
		}
		checkDelivered(t, msgs, tghtml.Plain(body), 4096)
	})
	t.Run("rejected", func(t *testing.T) {
		f := &fakeTelegram{fail: func(int, fakeMsg) error {
			return fmt.Errorf("%w: Bad Request: message thread not found", telegram.ErrRejected)
		}}
		_, err := telegram.SendText(context.Background(), f, telegram.Text{ChatID: 7, Body: units(5000)}, telegram.Options{})
		if !errors.Is(err, telegram.ErrRejected) || !telegram.Permanent(err) {
			t.Fatalf("err = %v, want a permanent ErrRejected", err)
		}
		if f.calls != 1 {
			t.Fatalf("%d calls, want 1", f.calls)
		}
	})
	t.Run("empty", func(t *testing.T) {
		f := &fakeTelegram{}
		_, err := telegram.SendText(context.Background(), f, telegram.Text{ChatID: 7, Body: "<b> </b>\n"}, telegram.Options{})
		if !errors.Is(err, telegram.ErrEmptyText) || f.calls != 0 {
			t.Fatalf("err = %v after %d calls, want ErrEmptyText and no call", err, f.calls)
		}
	})
}

// memSteps records parts like a caller's step markers.
type memSteps struct{ done map[int]int }

func (m *memSteps) PartSent(_ context.Context, part int) (int, bool, error) {
	id, ok := m.done[part]
	return id, ok, nil
}

func (m *memSteps) PartDone(_ context.Context, part, id int) error {
	if m.done == nil {
		m.done = map[int]int{}
	}
	m.done[part] = id
	return nil
}

// A re-run sends only the parts an interrupted run did not.
func TestSendTextSteps(t *testing.T) {
	t.Parallel()
	steps := &memSteps{}
	body := tghtml.Escape(units(10000))
	cut := &fakeTelegram{fail: func(n int, _ fakeMsg) error {
		if n == 1 {
			return errors.New("connection reset")
		}
		return nil
	}}
	if _, err := telegram.SendText(context.Background(), cut, telegram.Text{ChatID: 7, Body: body, Steps: steps}, telegram.Options{}); err == nil {
		t.Fatal("no error from the interrupted run")
	}
	rerun := &fakeTelegram{}
	sent, err := telegram.SendText(context.Background(), rerun, telegram.Text{ChatID: 7, Body: body, Steps: steps}, telegram.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sent.IDs) != 3 || len(rerun.sent()) != 2 {
		t.Fatalf("%d ids, re-run sent %d messages; want 3 and 2", len(sent.IDs), len(rerun.sent()))
	}
	checkDelivered(t, append(cut.sent(), rerun.sent()...), tghtml.Plain(body), 4096)
}

// A card keeps its buttons in one message: trimmed with the marker.
func TestSendTextTrim(t *testing.T) {
	t.Parallel()
	for _, n := range []int{4096, 4097, 10000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			f := &fakeTelegram{}
			body := richHTML(n)
			for tghtml.VisibleLen(body) > n { // exactly n
				body = body[:len(body)-1]
				for !utf8Valid(body) || balanced(body) != nil {
					body = body[:len(body)-1]
				}
			}
			sent, err := telegram.SendText(context.Background(), f, telegram.Text{ChatID: -5, Body: body, Trim: true, Marker: "… (сокращено)", Markup: menu}, telegram.Options{})
			if err != nil {
				t.Fatal(err)
			}
			msgs := f.sent()
			if len(msgs) != 1 || msgs[0].markup == nil {
				t.Fatalf("%d messages, markup %v: want one with the buttons", len(msgs), msgs[0].markup)
			}
			fits := tghtml.VisibleLen(body) <= 4096
			if sent.Trimmed == fits || strings.HasSuffix(msgs[0].visible(), "… (сокращено)") == fits {
				t.Fatalf("trimmed=%v, text ends %q; the input fits: %v", sent.Trimmed, tail(msgs[0].visible()), fits)
			}
			if !strings.HasPrefix(withoutSpace(tghtml.Plain(body)), withoutSpace(strings.TrimSuffix(msgs[0].visible(), "… (сокращено)"))) {
				t.Fatal("the trimmed text is not the beginning of the input")
			}
			checkDelivered(t, msgs, msgs[0].visible(), 4096)
		})
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

func tail(s string) string {
	r := []rune(s)
	return string(r[max(0, len(r)-20):])
}

func TestSendMediaCaption(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		caption string
		msgs    int
	}{
		{"exactly 1024", tghtml.Escape(units(1024)), 1},
		{"1025", tghtml.Escape(units(1025)), 2},
		{"10,000 with entities at the cuts", richHTML(10000), 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeTelegram{}
			_, err := telegram.SendMedia(context.Background(), f, telegram.Media{ChatID: 7, Kind: telegram.MediaDocument,
				File: telego.InputFile{URL: "https://example.com/r.pdf"}, Caption: tc.caption, Markup: menu}, telegram.Options{})
			if err != nil {
				t.Fatal(err)
			}
			msgs := f.sent()
			if len(msgs) != tc.msgs || msgs[0].method != "sendDocument" {
				t.Fatalf("%d messages, first %s; want %d, the document first", len(msgs), msgs[0].method, tc.msgs)
			}
			if n := u16(msgs[0].visible()); n > 1024 {
				t.Fatalf("caption of %d units", n)
			}
			checkDelivered(t, msgs, tghtml.Plain(tc.caption), 4096)
			for i, m := range msgs {
				if (m.markup != nil) != (i == len(msgs)-1) {
					t.Errorf("message %d: markup %v (only the last carries the buttons)", i, m.markup)
				}
			}
		})
	}
	t.Run("Telegram counts the caption longer", func(t *testing.T) {
		f := &fakeTelegram{units: func(s string) int { return 2 * u16(s) }}
		caption := tghtml.Escape(units(1000))
		if _, err := telegram.SendMedia(context.Background(), f, telegram.Media{ChatID: 7, Kind: telegram.MediaPhoto,
			File: telego.InputFile{URL: "https://example.com/p.png"}, Caption: caption}, telegram.Options{}); err != nil {
			t.Fatal(err)
		}
		msgs := f.sent()
		if len(msgs) != 2 || msgs[0].method != "sendPhoto" || msgs[0].text != "" {
			t.Fatalf("got %d messages, first %s %q; want the photo without a caption, then the text", len(msgs), msgs[0].method, msgs[0].text)
		}
		checkDelivered(t, msgs, tghtml.Plain(caption), 4096)
	})
}

func TestEditTextTrims(t *testing.T) {
	t.Parallel()
	f := &fakeTelegram{fail: func(n int, m fakeMsg) error {
		if n == 0 {
			return fmt.Errorf("%w: can't parse entities", telegram.ErrBadEntities)
		}
		return nil
	}}
	body := richHTML(5000)
	if err := telegram.EditText(context.Background(), f, telegram.Edit{ChatID: -5, MessageID: 3, Body: body, Markup: menu}); err != nil {
		t.Fatal(err)
	}
	msgs := f.sent()
	if len(msgs) != 1 || msgs[0].mode != "" || !strings.HasSuffix(msgs[0].visible(), "…") || u16(msgs[0].visible()) > 4096 {
		t.Fatalf("edit: %d messages, mode %q, ends %q", len(msgs), msgs[0].mode, tail(msgs[0].visible()))
	}
}
