package telegram

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/mymmrac/telego"

	"marketingbot/pkg/telegram/tghtml"
)

// The outgoing-text path. Every text a worker sends — chat answers, relays,
// cards, notices, promotions, deliveries, command answers — goes through
// SendText (SendMedia for a caption, EditText for an edit), which keeps
// Telegram's limits (Bot API: 1–4096 characters of text and 0–1024 of a
// caption after entities parsing, counted in UTF-16 code units; 0–200 for a
// callback notification) and reacts to every permanent 400 instead of
// sending the same request again:
//
//   - too long: the text is split (tghtml.Split: paragraph, line, sentence,
//     word; never inside a tag, an entity or a character; every part valid
//     HTML on its own) or, where one message is the point (a card with
//     buttons that is edited later), trimmed at a boundary and ended with a
//     visible marker. Should Telegram still say "too long" (it counts
//     differently from us), the part is cut again, smaller, at most twice;
//   - entities Telegram cannot parse: that part goes again as plain text;
//   - anything else permanent comes back classified (see Permanent), once.

// Telegram's limits, in UTF-16 code units of the visible text.
const (
	MaxTextLen         = tghtml.MaxMessageLen // sendMessage, editMessageText
	MaxCaptionLen      = tghtml.MaxCaptionLen // sendPhoto, sendDocument
	MaxCallbackTextLen = 200                  // answerCallbackQuery
)

// DefaultTrimMarker ends a trimmed text whose caller names no marker.
const DefaultTrimMarker = "…"

// ErrEmptyText: there is nothing visible to send (Telegram would answer
// "message text is empty"). A caller's bug, never retried.
var ErrEmptyText = errors.New("telegram: text has nothing visible to send")

// MessageAPI is the Bot API call the text path makes: *Sender, or a
// feature's fake.
type MessageAPI interface {
	SendMessage(ctx context.Context, p *telego.SendMessageParams, o Options) (*telego.Message, error)
}

// Steps records which parts of a text have left, so that a re-run of the
// caller's work (a retried task) sends only the rest. Parts are numbered
// from 0 in the order they are sent; the plan is deterministic, so a re-run
// numbers them the same way.
type Steps interface {
	// PartSent reports whether part left in an earlier run, and its message id.
	PartSent(ctx context.Context, part int) (id int, sent bool, err error)
	// PartDone records that part left as message id.
	PartDone(ctx context.Context, part int, id int) error
}

// Text is one outgoing text.
type Text struct {
	ChatID   int64
	ThreadID int
	// Body is Telegram HTML (tghtml.FromMarkdown, our templates with their
	// values escaped) unless Plain is set.
	Body string
	// Plain: Body is plain text, sent without parse_mode.
	Plain bool
	// ReplyTo is quoted by the first part (0: none); a missing message
	// does not stop the send.
	ReplyTo int
	// Markup goes with the last part: buttons belong under the whole text.
	Markup telego.ReplyMarkup
	// Preview is the first part's link preview. Without it link previews
	// are disabled, unless LinkPreviews leaves them to Telegram's default
	// (a promotion as authored).
	Preview      *telego.LinkPreviewOptions
	LinkPreviews bool
	// Trim keeps the text one message, cut at a boundary and ended with
	// Marker, where splitting makes no sense (an operators' card: its
	// buttons and later edits belong to one message).
	Trim bool
	// Marker ends a trimmed text ("" = DefaultTrimMarker); plain text.
	Marker string
	// Steps records the parts that left (nil: nothing is recorded).
	Steps Steps
}

// Sent is what a text became.
type Sent struct {
	// IDs are the message ids of the parts, in order (for a part an earlier
	// run sent, the id it recorded).
	IDs []int
	// Trimmed: the text was cut to one message (Text.Trim).
	Trimmed bool
	// Plain: at least one part went as plain text after Telegram refused
	// its entities.
	Plain bool
}

// First is the id of the first part (0 when nothing was sent).
func (s Sent) First() int {
	if len(s.IDs) == 0 {
		return 0
	}
	return s.IDs[0]
}

// PlanText returns the parts t is sent as (HTML, even for plain text) and
// whether it was trimmed. A text that fits one message goes as it is (its
// markup as written, for Telegram to judge); a longer one is cut by
// tghtml, which re-spells each part as valid HTML. The plan depends on the
// text alone, so a re-run plans the same parts.
func PlanText(t Text) (parts []string, trimmed bool) {
	body := t.body()
	if isBlank(body) {
		return nil, false
	}
	if tghtml.VisibleLen(body) <= MaxTextLen {
		return []string{body}, false
	}
	if t.Trim {
		out, cut := tghtml.Trim(body, MaxTextLen, t.marker())
		if tghtml.VisibleLen(out) == 0 || isBlank(out) {
			return nil, false
		}
		return []string{out}, cut
	}
	return tghtml.Split(body, MaxTextLen), false
}

func (t Text) body() string {
	if t.Plain {
		return tghtml.Escape(t.Body)
	}
	return t.Body
}

func (t Text) marker() string {
	if t.Marker == "" {
		return DefaultTrimMarker
	}
	return t.Marker
}

func isBlank(html string) bool {
	for _, r := range tghtml.Plain(html) {
		if r != ' ' && r != '\n' && r != '\t' && r != '\r' {
			return false
		}
	}
	return true
}

// SendText sends t within Telegram's limits (see the top of this file): the
// parts in order, the first quoting t.ReplyTo, the last carrying t.Markup;
// parts recorded in t.Steps are skipped. An error names the part that
// failed and wraps the classified Bot API error; the parts before it are in
// Sent.
func SendText(ctx context.Context, api MessageAPI, t Text, o Options) (Sent, error) {
	parts, trimmed := PlanText(t)
	out := Sent{Trimmed: trimmed}
	if len(parts) == 0 {
		return out, ErrEmptyText
	}
	for i, part := range parts {
		if t.Steps != nil {
			id, sent, err := t.Steps.PartSent(ctx, i)
			if err != nil {
				return out, fmt.Errorf("telegram: send text part %d: %w", i, err)
			}
			if sent {
				out.IDs = append(out.IDs, id)
				continue
			}
		}
		pos := position{first: i == 0, last: i == len(parts)-1}
		ids, plain, err := sendFitted(ctx, api, t, part, pos, o, 0)
		out.Plain = out.Plain || plain
		if err != nil {
			return out, fmt.Errorf("telegram: send text part %d of %d: %w", i+1, len(parts), err)
		}
		out.IDs = append(out.IDs, ids[0])
		if t.Steps != nil {
			if err := t.Steps.PartDone(ctx, i, ids[0]); err != nil {
				return out, fmt.Errorf("telegram: record text part %d: %w", i, err)
			}
		}
	}
	return out, nil
}

// position says what a part carries: the reply and the preview go with the
// first, the buttons with the last.
type position struct{ first, last bool }

// maxRefits bounds how often a part Telegram called too long is cut again.
const maxRefits = 2

// sendFitted sends one planned part. Telegram refusing its entities sends it
// again as plain text; Telegram calling it too long (it counted more than
// we did) cuts it again at three quarters of its length — split into
// smaller parts, or trimmed harder for a Trim text — at most maxRefits
// times. It returns the ids of the messages it became.
func sendFitted(ctx context.Context, api MessageAPI, t Text, part string, pos position, o Options, depth int) ([]int, bool, error) {
	plain := t.Plain
	msg, err := api.SendMessage(ctx, messageParams(t, part, pos, plain), o)
	if errors.Is(err, ErrBadEntities) && !plain {
		plain = true
		msg, err = api.SendMessage(ctx, messageParams(t, part, pos, plain), o)
	}
	if err == nil {
		return []int{msg.MessageID}, plain && !t.Plain, nil
	}
	if !errors.Is(err, ErrTooLong) || depth >= maxRefits {
		return nil, plain && !t.Plain, err
	}
	limit := tghtml.VisibleLen(part) * 3 / 4
	if t.Trim {
		cut, _ := tghtml.Trim(part, limit, t.marker())
		return sendFitted(ctx, api, t, cut, pos, o, depth+1)
	}
	var ids []int
	subs := tghtml.Split(part, limit)
	for j, sub := range subs {
		p := position{first: pos.first && j == 0, last: pos.last && j == len(subs)-1}
		got, pl, err := sendFitted(ctx, api, t, sub, p, o, depth+1)
		plain = plain || pl
		if err != nil {
			return ids, plain, err
		}
		ids = append(ids, got...)
	}
	return ids, plain && !t.Plain, nil
}

func messageParams(t Text, part string, pos position, plain bool) *telego.SendMessageParams {
	p := &telego.SendMessageParams{ChatID: telego.ChatID{ID: t.ChatID}, MessageThreadID: t.ThreadID, Text: part, ParseMode: telego.ModeHTML}
	if !t.LinkPreviews {
		p.LinkPreviewOptions = &telego.LinkPreviewOptions{IsDisabled: true}
	}
	if plain {
		p.Text, p.ParseMode = tghtml.Plain(part), ""
	}
	if pos.first {
		if t.ReplyTo != 0 {
			p.ReplyParameters = &telego.ReplyParameters{MessageID: t.ReplyTo, AllowSendingWithoutReply: true}
		}
		if t.Preview != nil {
			p.LinkPreviewOptions = t.Preview
		}
	}
	if pos.last && !nilMarkup(t.Markup) {
		p.ReplyMarkup = t.Markup
	}
	return p
}

// nilMarkup: no markup, including a nil pointer in the interface (which
// would go out as "null").
func nilMarkup(m telego.ReplyMarkup) bool {
	if m == nil {
		return true
	}
	v := reflect.ValueOf(m)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// FitCallbackText fits a callback notification into Telegram's 200
// characters (cut at a word, ended with "…").
func FitCallbackText(s string) string {
	return tghtml.TrimPlain(s, MaxCallbackTextLen, DefaultTrimMarker)
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r >= 0x10000 {
			n++
		}
	}
	return n
}
