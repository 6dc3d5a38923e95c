package chat

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mymmrac/telego"

	"marketingbot/pkg/ai"
	"marketingbot/pkg/telegram"
	"marketingbot/pkg/telegram/tghtml"
)

var (
	_ StreamGenerator = (*fakeStreamGen)(nil)
	_ DraftSender     = (*draftSender)(nil)
	_ Sender          = (*draftSender)(nil)
)

// events is what the user's chat showed, in order: "draft:<html>" and
// "msg:<html>".
type events struct {
	mu  sync.Mutex
	got []string
}

func (e *events) add(s string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.got = append(e.got, s)
}

func (e *events) list() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.got...)
}

func (e *events) count(prefix string) int {
	n := 0
	for _, s := range e.list() {
		if strings.HasPrefix(s, prefix) {
			n++
		}
	}
	return n
}

// draftSender is the fake Telegram with drafts: messages through the
// harness's fakeSender, both logged in order.
type draftSender struct {
	*fakeSender
	ev *events
	// DraftFn, when set, decides a draft's outcome instead of showing it.
	DraftFn func(p *telego.SendMessageDraftParams) error
	ids     []int
}

func (f *draftSender) SendMessage(ctx context.Context, p *telego.SendMessageParams, o telegram.Options) (*telego.Message, error) {
	m, err := f.fakeSender.SendMessage(ctx, p, o)
	if err == nil {
		f.ev.add("msg:" + p.Text)
	}
	return m, err
}

func (f *draftSender) SendMessageDraft(ctx context.Context, p *telego.SendMessageDraftParams) error {
	if err := fence(ctx); err != nil {
		return err
	}
	if f.DraftFn != nil {
		if err := f.DraftFn(p); err != nil {
			return err
		}
	}
	if err := telegramLimits(p.Text, p.ParseMode, telegram.MaxTextLen); err != nil {
		return err
	}
	if err := checkHTML(p.Text); p.ParseMode == telego.ModeHTML && err != nil {
		return fmt.Errorf("%w: %v", telegram.ErrBadEntities, err)
	}
	f.mu.Lock()
	f.ids = append(f.ids, p.DraftID)
	f.mu.Unlock()
	f.ev.add("draft:" + p.Text)
	return nil
}

// fakeStreamGen streams the answer of fakeGen in chunks of the script, one
// bench second apart, then ends as end says.
type fakeStreamGen struct {
	*fakeGen
	b      *bench
	chunks []string
	// end, when set, replaces the answer: what GenerateStream returns
	// after the chunks (an error mid-stream, a finish reason).
	end     func() (ai.Answer, error)
	streams int
}

func (f *fakeStreamGen) GenerateStream(ctx context.Context, req ai.Request, onText func(ai.Partial)) (ai.Answer, error) {
	f.mu.Lock()
	f.streams++
	f.reqs = append(f.reqs, req)
	f.mu.Unlock()
	var text string
	for _, c := range f.chunks {
		f.b.advance(time.Second)
		text += c
		onText(ai.Partial{Text: text, Attempt: 1})
	}
	if f.end != nil {
		return f.end()
	}
	return ai.Answer{Text: strings.TrimSpace(text), FinishReason: "STOP"}, nil
}

// streamBench is an authorized bench whose model streams chunks and whose
// Telegram shows drafts, with streaming on (or off: the same fakes answer
// through Generate then).
func streamBench(t *testing.T, stream bool, chunks ...string) (*bench, *fakeStreamGen, *draftSender) {
	t.Helper()
	b := authorizedBench(t, func(o *Options) { o.Stream, o.DraftInterval = stream, 700*time.Millisecond })
	gen := &fakeStreamGen{fakeGen: b.gen, b: b, chunks: chunks}
	b.gen.GenerateFn = func(ai.Request) (string, error) { return strings.TrimSpace(strings.Join(chunks, "")), nil }
	ds := &draftSender{fakeSender: b.sender, ev: &events{}}
	b.s.d.AI, b.s.d.Sender = gen, ds // each chunk moves the bench's clock a second: every one is due, no timer waits
	return b, gen, ds
}

var answerChunks = []string{"Комиссия партнёра — **3 %", " от суммы** сделки.\n\n", "Выплата: `после регистрации", "` договора; см. [регламент](https://example.com/r", "egl).\n\n* пункт один\n* пункт два"}

// The final message of a streamed answer is the message the same answer
// gets without streaming; the drafts came before it, grew, and the
// history has the answer once.
func TestStreamFinalEqualsNonStreaming(t *testing.T) {
	plain, _, plainTG := streamBench(t, false, answerChunks...)
	plain.handle(plain.text(partnerUID, "Какая комиссия?"))
	b, gen, ds := streamBench(t, true, answerChunks...)
	b.handle(b.text(partnerUID, "Какая комиссия?"))

	want, got := plainTG.ev.list(), ds.ev.list()
	if len(want) != 1 || !strings.HasPrefix(want[0], "msg:") {
		t.Fatalf("without streaming: %q", want)
	}
	if last := got[len(got)-1]; last != want[0] {
		t.Fatalf("final message\n%q\nwant the non-streaming one\n%q", last, want[0])
	}
	if n := ds.ev.count("draft:"); n != len(answerChunks) || ds.ev.count("msg:") != 1 {
		t.Fatalf("events %q: want a draft per chunk (a second apart) and one message", got)
	}
	if gen.streams != 1 || len(plain.gen.calls()) != 1 {
		t.Fatalf("model calls: %d streams; %d without streaming", gen.streams, len(plain.gen.calls()))
	}
	for _, d := range got[:len(got)-1] {
		if strings.Contains(tghtml.Plain(strings.TrimPrefix(d, "draft:")), "**") {
			t.Fatalf("a draft shows raw Markdown: %q", d)
		}
	}
	_, turns := rowOf(t, b, partnerUID)
	_, plainTurns := rowOf(t, plain, partnerUID)
	if ids(turns) != "user:u101 ai:a101" || turns[1].Text != plainTurns[1].Text {
		t.Fatalf("history %s: %q, want the answer once as without streaming", ids(turns), turns[1].Text)
	}
}

// A stream that fails for good (the AI's budget spent on broken streams)
// ends with the fallback message after the drafts: never a draft alone.
func TestStreamFailureMidwayEndsWithTheFallback(t *testing.T) {
	b, _, ds := streamBench(t, true, answerChunks[:2]...)
	b.s.d.AI.(*fakeStreamGen).end = func() (ai.Answer, error) {
		return ai.Answer{}, fmt.Errorf("%w: stream broke off", ai.ErrUnavailable)
	}
	b.handle(b.text(partnerUID, "Какая комиссия?"))
	got := ds.ev.list()
	if len(got) < 2 || got[len(got)-1] != "msg:"+b.tx.AIFallback || ds.ev.count("msg:") != 1 {
		t.Fatalf("events %q: want drafts, then the fallback as the last word", got)
	}
	_, turns := rowOf(t, b, partnerUID)
	if ids(turns) != "user:u101 system:s-ai-101" {
		t.Fatalf("history %s", ids(turns))
	}
}

// Empty, blocked and truncated answers end as without streaming: the
// defined reply, or the cut answer with its note, replaces the drafts.
func TestStreamOutcomesAsWithoutStreaming(t *testing.T) {
	cases := map[string]ai.Answer{
		"blocked":   {Text: "Начало", FinishReason: "SAFETY"},
		"empty":     {FinishReason: "STOP"},
		"truncated": {Text: "Первое предложение. Второе обрыва", FinishReason: "MAX_TOKENS"},
	}
	for name, ans := range cases {
		t.Run(name, func(t *testing.T) {
			plain, _, plainTG := streamBench(t, false)
			plain.gen.AnswerFn = func(ai.Request) (ai.Answer, error) { return ans, nil }
			plain.handle(plain.text(partnerUID, "Вопрос"))
			b, gen, ds := streamBench(t, true, "Начало ", "ответа")
			gen.end = func() (ai.Answer, error) { return ans, nil }
			b.handle(b.text(partnerUID, "Вопрос"))
			got := ds.ev.list()
			if last := got[len(got)-1]; last != plainTG.ev.list()[0] || ds.ev.count("draft:") != 2 {
				t.Fatalf("events %q, want the drafts then %q", got, plainTG.ev.list()[0])
			}
			_, turns := rowOf(t, b, partnerUID)
			_, plainTurns := rowOf(t, plain, partnerUID)
			if ids(turns) != ids(plainTurns) {
				t.Fatalf("history %s, want %s", ids(turns), ids(plainTurns))
			}
		})
	}
}

// A re-run after the sheet write failed (the reply went out) streams
// nothing and sends nothing again: the "gen" and "part" steps hold.
func TestStreamRerunDoesNotRestreamOrResend(t *testing.T) {
	b, gen, ds := streamBench(t, true, answerChunks...)
	failWrites(b, 1)
	it := b.text(partnerUID, "Какая комиссия?")
	if err := b.handleErr(it); !errors.Is(err, errSheetsDown) {
		t.Fatalf("first run: %v", err)
	}
	drafts := ds.ev.count("draft:")
	b.handle(it)
	if gen.streams != 1 || ds.ev.count("draft:") != drafts || ds.ev.count("msg:") != 1 {
		t.Fatalf("re-run: %d streams, drafts %d → %d, %d messages", gen.streams, drafts, ds.ev.count("draft:"), ds.ev.count("msg:"))
	}
	if _, turns := rowOf(t, b, partnerUID); ids(turns) != "user:u101 ai:a101" {
		t.Fatalf("history %s", ids(turns))
	}
}

// Drafts Telegram refuses for good stop for the answer; skipped ones
// (no spare room) do not; neither touches the final message.
func TestStreamDraftRefusals(t *testing.T) {
	b, _, ds := streamBench(t, true, answerChunks...)
	calls := 0
	ds.DraftFn = func(*telego.SendMessageDraftParams) error {
		calls++
		return fmt.Errorf("%w: Bad Request: TEXTDRAFT_PEER_INVALID", telegram.ErrRejected)
	}
	b.handle(b.text(partnerUID, "Какая комиссия?"))
	if calls != 1 || ds.ev.count("msg:") != 1 {
		t.Fatalf("%d draft calls after a permanent refusal, %d messages", calls, ds.ev.count("msg:"))
	}

	b, _, ds = streamBench(t, true, answerChunks...)
	calls = 0
	ds.DraftFn = func(*telego.SendMessageDraftParams) error { calls++; return telegram.ErrDraftSkipped }
	b.handle(b.text(partnerUID, "Какая комиссия?"))
	if calls != len(answerChunks) || ds.ev.count("msg:") != 1 {
		t.Fatalf("%d draft calls while skipped (want one per chunk), %d messages", calls, ds.ev.count("msg:"))
	}
}

// fakeClock drives the drafter's pacing: now, and timers that fire when
// the clock passes them.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at      time.Time
	f       func()
	stopped bool
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		was := !t.stopped
		t.stopped = true
		return was
	}
}

// Advance moves the clock and fires the timers it passes.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*fakeTimer
	for _, t := range c.timers {
		if !t.stopped && !t.at.After(c.now) {
			t.stopped = true
			due = append(due, t)
		}
	}
	c.mu.Unlock()
	for _, t := range due {
		t.f()
	}
}

// The pacing: the first text at once; then at most one draft per
// interval, half of it after a finished paragraph; text that waits is shown
// by the timer; nothing after stop.
func TestDrafterPacing(t *testing.T) {
	b := authorizedBench(t, func(o *Options) { o.Stream, o.DraftInterval = true, 700*time.Millisecond })
	clock := &fakeClock{now: time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)}
	ds := &draftSender{fakeSender: b.sender, ev: &events{}}
	d := b.s.newDrafter(context.Background(), partnerUID, 101, ds)
	d.now, d.after = clock.Now, clock.AfterFunc
	var at []time.Duration
	start := clock.Now()
	ds.DraftFn = func(*telego.SendMessageDraftParams) error { at = append(at, clock.Now().Sub(start)); return nil }
	text := ""
	feed := func(gap time.Duration, chunk string) {
		clock.Advance(gap)
		text += chunk
		d.update(ai.Partial{Text: text, Attempt: 1})
	}
	feed(0, "Первое")                         // 0: at once
	feed(100*time.Millisecond, " слово")      // 100 ms: waits for the interval (timer at 700)
	feed(100*time.Millisecond, " и ещё")      // 200
	clock.Advance(500 * time.Millisecond)     // 700: the timer shows it
	feed(100*time.Millisecond, " абзац.\n\n") // 800: a paragraph ended, but only 100 ms after
	clock.Advance(250 * time.Millisecond)     // 1050: 350 ms = half the interval → shown
	feed(50*time.Millisecond, "Второй")       // 1100: waits until 1750
	feed(600*time.Millisecond, " абзац")      // 1700: still waits
	clock.Advance(50 * time.Millisecond)      // 1750: shown
	feed(10*time.Millisecond, " и конец")     // 1760: waits until 2450
	d.stop()
	clock.Advance(2 * time.Second) // the timer would have fired: nothing after stop
	want := []time.Duration{0, 700 * time.Millisecond, 1050 * time.Millisecond, 1750 * time.Millisecond}
	if fmt.Sprint(at) != fmt.Sprint(want) {
		t.Fatalf("drafts at %v, want %v", at, want)
	}
	drafts := ds.ev.list()
	if last := drafts[len(drafts)-1]; last != "draft:Второй абзац" && !strings.HasSuffix(last, "Второй абзац") {
		t.Fatalf("last draft %q", last)
	}
}

// A new attempt (the stream was asked again) gets a new draft id: its
// shorter text replaces the old draft instead of animating from it.
func TestDrafterNewAttemptNewDraft(t *testing.T) {
	b := authorizedBench(t, nil)
	clock := &fakeClock{now: time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)}
	ds := &draftSender{fakeSender: b.sender, ev: &events{}}
	d := b.s.newDrafter(context.Background(), partnerUID, 101, ds)
	d.now, d.after = clock.Now, clock.AfterFunc
	d.update(ai.Partial{Text: "Первая попытка, длинная", Attempt: 1})
	clock.Advance(time.Second)
	d.update(ai.Partial{Text: "Вторая", Attempt: 2})
	d.stop()
	if len(ds.ids) != 2 || ds.ids[0] == ds.ids[1] || ds.ids[0] == 0 || ds.ids[1] == 0 {
		t.Fatalf("draft ids %v", ds.ids)
	}
}

func TestCloseMarkdown(t *testing.T) {
	cases := []struct{ md, html string }{
		{"Комиссия **3 %", "Комиссия <b>3 %</b>"},
		{"Комиссия **", "Комиссия"},
		{"Комиссия *", "Комиссия"},
		{"**Жирный** и *курс", "<b>Жирный</b> и <i>курс</i>"},
		{"**Жирный и *вложен", "<b>Жирный и <i>вложен</i></b>"},
		{"Смотрите `config.y", "Смотрите <code>config.y</code>"},
		{"Ссылка [сайт](https://exa", "Ссылка сайт"},
		{"Ссылка [са", "Ссылка са"},
		{"Готово [сайт](https://example.com) и ещё", `Готово <a href="https://example.com">сайт</a> и ещё`},
		{"* пункт один\n* пункт", "• пункт один\n• пункт"},
		{"5 * 3 = 15 и snake_case_name", "5 * 3 = 15 и snake_case_name"},
		{"~~зачёрк", "<s>зачёрк</s>"},
		{"Абзац **один**.\n\nАбзац **два", "Абзац <b>один</b>.\n\nАбзац <b>два</b>"},
		{"```go\nfunc main() {", `<pre><code class="language-go">func main() {</code></pre>`},
	}
	for _, tc := range cases {
		got := tghtml.FromMarkdown(closeMarkdown(tc.md))
		if got != tc.html {
			t.Errorf("%q → %q, want %q", tc.md, got, tc.html)
		}
	}
}

// Every prefix of a Markdown answer renders as valid Telegram HTML that
// never shows a Markdown marker the whole answer does not show.
func TestPartialAnswersRenderSafely(t *testing.T) {
	md := strings.Join(answerChunks, "") + "\n\n## Итог\n\n1. **Первое** — _важно_ и ~~старое~~\n2. `код <b>` & [ссылка](https://example.com/a_b?x=1&y=2)\n\n```\nкод *не* жирный\n```\n\nКонец **жирным** 😀."
	full := tghtml.Plain(tghtml.FromMarkdown(md))
	for i := range md {
		if !utf8Boundary(md, i) {
			continue
		}
		html := tghtml.FromMarkdown(closeMarkdown(md[:i]))
		if err := checkHTML(html); err != nil {
			t.Fatalf("prefix %d %q → invalid %q: %v", i, md[:i], html, err)
		}
		if vis := tghtml.Plain(html); strings.Contains(vis, "**") && !strings.Contains(full, "**") {
			t.Fatalf("prefix %d %q shows %q", i, md[:i], vis)
		}
	}
}

func utf8Boundary(s string, i int) bool { return i == len(s) || (s[i]&0xC0) != 0x80 }

var tagRe = regexp.MustCompile(`<(/?)([a-z-]+)[^>]*>`)

// checkHTML: only Telegram's tags, properly nested.
func checkHTML(html string) error {
	allowed := map[string]bool{"b": true, "i": true, "u": true, "s": true, "a": true, "code": true, "pre": true, "blockquote": true, "tg-spoiler": true}
	var stack []string
	for _, m := range tagRe.FindAllStringSubmatch(html, -1) {
		name := m[2]
		if !allowed[name] {
			return fmt.Errorf("tag %q", name)
		}
		if m[1] == "" {
			stack = append(stack, name)
			continue
		}
		if len(stack) == 0 || stack[len(stack)-1] != name {
			return fmt.Errorf("unbalanced </%s> in %v", name, stack)
		}
		stack = stack[:len(stack)-1]
	}
	if len(stack) > 0 {
		return fmt.Errorf("unclosed %v", stack)
	}
	return nil
}
