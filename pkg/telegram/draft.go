package telegram

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/mymmrac/telego"
	"github.com/prometheus/client_golang/prometheus"

	"marketingbot/pkg/obs"
	"marketingbot/pkg/telegram/tghtml"
)

// Drafts (Bot API 9.3, sendMessageDraft): a private chat shows the answer
// while it is written, as an ephemeral preview that the final message
// replaces. A draft is worth nothing once it is late, so it never waits and
// is never retried: it takes a token of the shared limiter only when there
// is spare room and nobody's message is waiting (PriorityDraft), or it is
// skipped; a 429, a network failure or a 5xx skips it too. The next draft
// (or the final message) carries the text anyway.

// ErrDraftSkipped: the shared limiter had no spare room for a draft; it was
// not sent. Not a failure: the caller simply goes on.
var ErrDraftSkipped = errors.New("telegram: draft skipped: no spare room in the flood limits")

type draftMetrics struct {
	skipped prometheus.Counter
	// behind counts messages that waited for the limiter while a draft
	// took a token of a bucket they were waiting for (should stay 0).
	behind *prometheus.CounterVec
}

func newDraftMetrics(reg prometheus.Registerer) draftMetrics {
	m := draftMetrics{
		skipped: prometheus.NewCounter(prometheus.CounterOpts{Namespace: obs.Namespace, Subsystem: "telegram", Name: "drafts_skipped_total",
			Help: "Drafts not sent because the shared limiter had no spare room for them (or a message was waiting)."}),
		behind: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: obs.Namespace, Subsystem: "telegram", Name: "limiter_waits_behind_draft_total",
			Help: "Messages that waited for the shared limiter while a draft took a token they were waiting for, by priority (expected 0)."}, []string{"priority"}),
	}
	reg.MustRegister(m.skipped, m.behind)
	return m
}

// admitDraft lets a draft through the shared limiter at once or not at all.
func (s *Sender) admitDraft(ctx context.Context, chatID int64) error {
	if chatID <= 0 {
		return fmt.Errorf("%w: drafts go to private chats only (chat %d)", ErrRejected, chatID)
	}
	d, err := s.Limiter.Reserve(ctx, chatID, PriorityDraft)
	if err != nil {
		return err
	}
	if d > 0 {
		s.drafts.skipped.Inc()
		return ErrDraftSkipped
	}
	return nil
}

// SendMessageDraft shows a draft in a private chat: at draft priority, one
// try. ErrDraftSkipped when the limiter had no room; a 429 comes back as a
// *FloodError without waiting; other errors classified as for messages.
func (s *Sender) SendMessageDraft(ctx context.Context, p *telego.SendMessageDraftParams) error {
	return s.do(ctx, "sendMessageDraft", p.ChatID, Options{Priority: PriorityDraft, Limited: true}, func(ctx context.Context) error {
		return s.Bot.SendMessageDraft(ctx, p)
	})
}

// DraftAPI is the Bot API call of drafts: *Sender, or a feature's fake.
type DraftAPI interface {
	SendMessageDraft(ctx context.Context, p *telego.SendMessageDraftParams) error
}

// Draft is one update of the draft of an answer.
type Draft struct {
	ChatID int64
	// DraftID names the draft (non-zero); updates with the same id animate.
	DraftID int
	// Body is Telegram HTML (tghtml.FromMarkdown of the answer so far).
	Body string
	// Shown is what the previous update of this draft showed (SendDraft's
	// result): an update that would show the same is not sent.
	Shown string
}

// SendDraft shows d as one message within Telegram's limits, the text path
// of drafts: a body longer than a message shows its first part (cut as
// SendText cuts it; the rest arrives with the final message); entities
// Telegram refuses go once more as plain text. It returns the text shown
// (HTML, or plain after a refusal), which the caller passes back as Shown;
// an update that would show Shown again is not sent. ErrEmptyText when
// nothing is visible (nothing is sent).
func SendDraft(ctx context.Context, api DraftAPI, d Draft) (string, error) {
	if d.DraftID == 0 {
		return "", fmt.Errorf("telegram: draft without an id: %w", ErrRejected)
	}
	body := strings.TrimSpace(d.Body)
	if parts := tghtml.Split(body, MaxTextLen); len(parts) > 0 {
		body = parts[0]
	}
	if strings.TrimSpace(tghtml.Plain(body)) == "" {
		return "", ErrEmptyText
	}
	if body == d.Shown || tghtml.Plain(body) == d.Shown {
		return d.Shown, nil
	}
	p := &telego.SendMessageDraftParams{ChatID: d.ChatID, DraftID: d.DraftID, Text: body, ParseMode: telego.ModeHTML}
	err := api.SendMessageDraft(ctx, p)
	if !errors.Is(err, ErrBadEntities) {
		return body, err
	}
	plain := tghtml.Plain(body)
	p = &telego.SendMessageDraftParams{ChatID: d.ChatID, DraftID: d.DraftID, Text: plain}
	return plain, api.SendMessageDraft(ctx, p)
}
