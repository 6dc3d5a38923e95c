package chat

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mymmrac/telego"

	"marketingbot/pkg/ai"
	"marketingbot/pkg/telegram"
	"marketingbot/pkg/telegram/tghtml"
)

// Streaming answers. With Options.Stream a private chat sees the answer
// while the model writes it: the model is asked through streamGenerateContent
// and the text so far is shown with sendMessageDraft, an ephemeral preview
// that the final message replaces. Nothing else changes: the "gen" step
// records the finished answer, and the final message — the one text path,
// in parts, the first quoting the user — is sent exactly as without
// streaming, so a re-run after a crash finds the step and neither streams
// nor sends again. Drafts are best effort by design:
//
//   - paced: the first text shows at once; after that a draft goes when the
//     answer changed and DraftInterval has passed since the previous one,
//     or half of it when a paragraph has ended since; never more often;
//   - safe: the partial Markdown is closed where it is open (closeMarkdown)
//     and rendered by tghtml like the final answer, so a draft is always
//     valid HTML; an answer that outgrows one message shows its first part
//     until the final message brings all of them; refused entities go as
//     plain text;
//   - last in line: a draft takes only spare room of the shared Telegram
//     limiter and never waits (telegram.PriorityDraft); one that cannot go
//     now is skipped, not queued, and the next one carries the text;
//   - stopped cleanly: no draft leaves after the stream ended, so the final
//     message (the answer, the fallback when the model failed mid-way, or
//     the defined reply of an empty or blocked answer) is the last word. A
//     stream that breaks off is asked again within the AI's retry budget
//     (ai.GenerateStream); the drafts of the new attempt replace the old.

// StreamGenerator is a Generator that can also stream the answer
// (*ai.Client): onText gets the text so far.
type StreamGenerator interface {
	GenerateStream(ctx context.Context, req ai.Request, onText func(ai.Partial)) (ai.Answer, error)
}

// DraftSender shows drafts of an answer (*telegram.Sender, Bot API 9.3).
type DraftSender interface {
	SendMessageDraft(ctx context.Context, p *telego.SendMessageDraftParams) error
}

// ask gets the model's answer to the unit: streamed, with drafts, when
// Options.Stream is on and the adapters can (Deps.AI a StreamGenerator,
// Deps.Sender a DraftSender); in one call otherwise. Drafts go to private
// chats only (uid is one).
func (s *Service) ask(ctx context.Context, uid int64, u unit, req ai.Request) (ai.Answer, error) {
	sg, canStream := s.d.AI.(StreamGenerator)
	ds, canDraft := s.d.Sender.(DraftSender)
	if !s.o.Stream || !canStream || !canDraft || uid <= 0 {
		return s.d.AI.Generate(ctx, req)
	}
	d := s.newDrafter(ctx, uid, u.lastID(), ds)
	ans, err := sg.GenerateStream(ctx, req, d.update)
	d.stop()
	return ans, err
}

const (
	// minDraftInterval bounds the pacing from below whatever the options say.
	minDraftInterval = 100 * time.Millisecond
	// draftTimeout bounds one draft's request: a late draft is worth
	// nothing, and the stream (and then the final message) waits for it.
	draftTimeout = 3 * time.Second
)

// drafter shows the drafts of one answer.
type drafter struct {
	s     *Service
	ctx   context.Context
	api   DraftSender
	chat  int64
	base  int // draft ids of this answer: base | attempt
	start time.Time
	now   func() time.Time
	after func(time.Duration, func()) (stop func() bool)

	mu      sync.Mutex // guards the fields below; held while a draft is sent
	pace    draftPacer
	text    string
	attempt int
	shown   string
	timer   func() bool
	stopped bool
	failed  bool // Telegram refused drafts for good: none for the rest of this answer
	first   bool // a draft has been shown
}

func (s *Service) newDrafter(ctx context.Context, uid, updateID int64, api DraftSender) *drafter {
	return &drafter{s: s, ctx: ctx, api: api, chat: uid, base: int(updateID&0x0fffffff) << 3, start: time.Now(),
		now: s.now, after: realAfterFunc, pace: draftPacer{interval: max(s.o.DraftInterval, minDraftInterval)}}
}

// realAfterFunc runs f after d: the drafts' timer (tests use their clock's).
func realAfterFunc(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }

// update takes the answer so far (ai.GenerateStream's onText).
func (d *drafter) update(p ai.Partial) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped || d.failed {
		return
	}
	if p.Attempt != d.attempt {
		d.attempt = p.Attempt
		d.pace.text = "" // a new attempt starts from nothing
		d.shown = ""
	}
	d.text = p.Text
	d.tryLocked()
}

// tick is the pacer's timer: text waited for its turn.
func (d *drafter) tick() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.timer = nil
	if !d.stopped && !d.failed {
		d.tryLocked()
	}
}

func (d *drafter) tryLocked() {
	now := d.now()
	due, at := d.pace.due(now, d.text)
	if !due {
		if !at.IsZero() && d.timer == nil {
			d.timer = d.after(at.Sub(now), d.tick)
		}
		return
	}
	if d.timer != nil {
		d.timer()
		d.timer = nil
	}
	d.pace.sent(now, d.text)
	d.sendLocked()
}

// sendLocked shows the text so far. Whatever goes wrong costs this draft
// only, unless Telegram refuses drafts for good.
func (d *drafter) sendLocked() {
	ctx, cancel := context.WithTimeout(d.ctx, draftTimeout)
	defer cancel()
	shown, err := telegram.SendDraft(ctx, d.api, telegram.Draft{ChatID: d.chat, DraftID: d.base | (d.attempt & 7),
		Body: tghtml.FromMarkdown(closeMarkdown(d.text)), Shown: d.shown})
	switch {
	case err == nil:
		d.shown = shown
		if !d.first {
			d.first = true
			d.s.metrics.stage.WithLabelValues("first_draft").Observe(time.Since(d.start).Seconds())
		}
	case telegram.Permanent(err) && !errors.Is(err, telegram.ErrEmptyText):
		d.failed = true
		d.s.log.Warn("telegram refused a draft; no more drafts for this answer", "telegram_id", d.chat, "err", err)
	}
	// ErrDraftSkipped (no spare room), a 429, a network failure, an empty
	// draft: the next draft, or the final message, carries the text.
}

// stop ends the drafts: it waits for a draft in flight and lets no other
// leave, so the final message is the last thing the chat shows.
func (d *drafter) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stopped = true
	if d.timer != nil {
		d.timer()
		d.timer = nil
	}
}

// draftPacer decides when a draft goes.
type draftPacer struct {
	interval time.Duration
	last     time.Time // the previous draft (zero: none yet)
	text     string    // what it showed
}

// due says whether text should be shown now; when not, at is when to look
// again (zero: only when the text changes).
func (p *draftPacer) due(now time.Time, text string) (ok bool, at time.Time) {
	if text == p.text || strings.TrimSpace(text) == "" {
		return false, time.Time{}
	}
	if p.last.IsZero() {
		return true, time.Time{} // the first text shows at once
	}
	wait := p.interval
	if strings.Count(text, "\n\n") > strings.Count(p.text, "\n\n") {
		wait = p.interval / 2 // a paragraph ended
	}
	if next := p.last.Add(wait); now.Before(next) {
		return false, next
	}
	return true, time.Time{}
}

func (p *draftPacer) sent(now time.Time, text string) { p.last, p.text = now, text }

// closeMarkdown readies the Markdown of an answer cut mid-way for
// rendering: what its last paragraph leaves open is closed the way it will
// probably close — bold, italic or strike runs, an inline code span — and
// markup that opens nothing yet is left out: a marker at the very end, a
// link whose label or address is still being written (its label shows as
// text). Inside an open code fence nothing changes (goldmark renders an
// open fence as code to the end). The result only ever goes through
// tghtml.FromMarkdown, which escapes everything, so a wrong guess costs a
// stray character, never an invalid message.
func closeMarkdown(md string) string {
	if openFence(md) {
		return md
	}
	start := 0
	if i := strings.LastIndex(md, "\n\n"); i >= 0 {
		start = i + 2
	}
	return md[:start] + closeParagraph(md[start:])
}

// openFence: md ends inside a fenced code block.
func openFence(md string) bool {
	open := false
	for _, line := range strings.Split(md, "\n") {
		if t := strings.TrimLeft(line, " "); strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~") {
			open = !open
		}
	}
	return open
}

// partialLink is a link at the end of a paragraph that is still being
// written: "[label", "[label]" or "[label](address".
var partialLink = regexp.MustCompile(`\[([^\[\]\n]*)(?:\]\([^)\n]*|\])?$`)

// marker is an emphasis or code marker open at a byte offset.
type marker struct {
	m   string
	pos int
}

func closeParagraph(p string) string {
	if m := partialLink.FindStringSubmatchIndex(p); m != nil {
		p = p[:m[0]] + p[m[2]:m[3]]
	}
	var open []marker
	for i := 0; i < len(p); {
		if n := len(open); n > 0 && open[n-1].m == "`" { // inside a code span only its end counts
			if p[i] == '`' {
				open = open[:n-1]
			}
			i++
			continue
		}
		m := markerAt(p, i)
		switch {
		case p[i] == '\\':
			i += 2
			continue
		case m == "":
			i++
			continue
		}
		if j := lastOpen(open, m); j >= 0 {
			open = open[:j] // closes it (and whatever was opened inside)
		} else {
			open = append(open, marker{m, i})
		}
		i += len(m)
	}
	for len(open) > 0 && strings.TrimSpace(p[open[len(open)-1].pos+len(open[len(open)-1].m):]) == "" {
		p = p[:open[len(open)-1].pos] // a marker with nothing after it opens nothing yet
		open = open[:len(open)-1]
	}
	p = strings.TrimRightFunc(p, unicode.IsSpace)
	for i := len(open) - 1; i >= 0; i-- {
		p += open[i].m
	}
	return p
}

// markerAt is the emphasis or code marker at p[i] ("**", "__", "~~", "*",
// "_", "`"), or "" — a list bullet, a lone star between spaces or an
// underscore inside a word is none.
func markerAt(p string, i int) string {
	for _, m := range []string{"**", "__", "~~", "`"} {
		if strings.HasPrefix(p[i:], m) {
			return m
		}
	}
	if p[i] != '*' && p[i] != '_' {
		return ""
	}
	prev, _ := utf8.DecodeLastRuneInString(p[:i])
	next, _ := utf8.DecodeRuneInString(p[i+1:])
	lineStart := i == 0 || p[i-1] == '\n'
	switch {
	case next == ' ' && (lineStart || prev == ' '): // "* item", "a * b"
		return ""
	case p[i] == '_' && (unicode.IsLetter(prev) || unicode.IsDigit(prev)) && (unicode.IsLetter(next) || unicode.IsDigit(next)):
		return "" // snake_case
	}
	return p[i : i+1]
}

func lastOpen(open []marker, m string) int {
	for j := len(open) - 1; j >= 0; j-- {
		if open[j].m == m {
			return j
		}
	}
	return -1
}
