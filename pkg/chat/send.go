package chat

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/mymmrac/telego"
	ta "github.com/mymmrac/telego/telegoapi"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/telegram"
	"marketingbot/pkg/telegram/tghtml"
)

// Sending. Every text leaves through telegram.SendText, the one outgoing
// path that keeps Telegram's limits (a long text goes in parts, a card is
// trimmed with a marker, refused entities fall back to plain text). Every
// message that must leave once is a recorded step (stepRef): part 0 under
// the step's name, part i under "name.i", so a re-run of the unit after a
// crash sends only the parts that did not leave.

var errUserBlocked = errors.New("chat: user blocked the bot")

// chatSend is how the chat's messages queue at the shared limiter.
var chatSend = telegram.Options{Priority: telegram.PriorityChat}

func replyTo(u unit) int {
	m := u.message(len(u.items) - 1)
	if m == nil {
		return 0
	}
	return m.MessageID
}

// outgoing is one text of the chat: where it goes, what it says and the
// step that records it.
type outgoing struct {
	step    stepRef
	chat    int64 // 0: the step's user
	thread  int   // the forum topic in chat (0: none)
	body    string
	markup  telego.ReplyMarkup
	replyTo int
	// trim keeps the text one message (a card: its buttons and the later
	// edits belong to it); otherwise a long text goes in parts.
	trim bool
	// partName names the step of part i (nil: name, name.1, name.2 …).
	partName func(i int) string
}

// partSteps records the parts of an outgoing text as steps of the unit. In
// the operators' group every part is also mapped to the user, so an
// operator's reply to any part reaches them.
type partSteps struct {
	s     *Service
	o     outgoing
	group bool
}

func (p partSteps) ref(i int) stepRef {
	r := p.o.step
	switch {
	case p.o.partName != nil:
		r.name = p.o.partName(i)
	case i > 0:
		r.name += "." + strconv.Itoa(i)
	}
	return r
}

func (p partSteps) PartSent(ctx context.Context, i int) (int, bool, error) {
	v, done, err := p.s.ib.claimPart(ctx, p.ref(i))
	id, _ := strconv.Atoi(v)
	return id, done, err
}

func (p partSteps) PartDone(ctx context.Context, i, id int) error {
	if p.group {
		if err := p.s.rememberGroupMessage(ctx, id, p.o.step.uid); err != nil {
			return err
		}
	}
	return p.s.ib.markStep(ctx, p.ref(i), strconv.Itoa(id))
}

// failed clears the intent of the part a send failed on: the one after
// those that left (inbox.go, claimPart).
func (p partSteps) failed(ctx context.Context, sent telegram.Sent) {
	p.s.ib.unclaimPart(ctx, p.ref(len(sent.IDs)))
}

// post sends o through the text path. A user who blocked the bot is
// recorded as such and errUserBlocked returned; every other error is the
// path's, classified (telegram.Permanent tells whether a retry can help).
func (s *Service) post(ctx context.Context, o outgoing) (telegram.Sent, error) {
	chat := o.chat
	if chat == 0 {
		chat = o.step.uid
	}
	group := chat == s.o.OperatorsChatID && chat != 0
	steps := partSteps{s: s, o: o, group: group}
	ctx = withPendingPart(ctx)
	t := telegram.Text{ChatID: chat, ThreadID: o.thread, Body: o.body, Markup: o.markup, ReplyTo: o.replyTo, Trim: o.trim, Marker: s.tx.TrimmedMarker,
		Steps: steps}
	sent, err := telegram.SendText(ctx, s.d.Sender, t, chatSend)
	if err != nil {
		steps.failed(ctx, sent)
	}
	if sent.Trimmed {
		s.log.Warn("text trimmed to Telegram's limit", "chat_id", chat, "step", o.step.name, "telegram_id", o.step.uid)
	}
	if errors.Is(err, telegram.ErrBlocked) && chat > 0 {
		if berr := s.blocked(ctx, chat); berr != nil {
			return sent, berr
		}
		return sent, errUserBlocked
	}
	return sent, err
}

// undeliverable: Telegram refused the text for good, after the text path's
// own reactions (parts, plain text). Retrying the unit cannot help; the
// caller records it and says so instead.
func undeliverable(err error) bool {
	return err != nil && !errors.Is(err, errUserBlocked) && telegram.Permanent(err)
}

// sendReply sends the model's Markdown as Telegram HTML, in parts under the
// limit; the first part quotes the last message it answers.
func (s *Service) sendReply(ctx context.Context, uid int64, u unit, markdown string) error {
	_, err := s.post(ctx, outgoing{step: stepRef{uid, u.lastID(), "part"}, body: tghtml.FromMarkdown(markdown), replyTo: replyTo(u),
		partName: func(i int) string { return "part" + strconv.Itoa(i) }})
	if errors.Is(err, errUserBlocked) {
		return nil
	}
	return err
}

// blocked records that the user blocked the bot; the unit ends there.
func (s *Service) blocked(ctx context.Context, uid int64) error {
	s.metrics.turns.WithLabelValues("blocked").Inc()
	if err := s.d.Store.SetBotBlocked(ctx, uid, s.now()); err != nil {
		return err
	}
	_ = s.d.Projection.RemovePartner(ctx, uid)
	return nil
}

// sendOnce sends a text of ours to the step's user as a recorded step: a
// re-run does not repeat it. It returns the first part's message id (0 when
// the user blocked the bot, or when Telegram refused the text for good —
// that is logged, and the unit goes on: a retry would be refused again).
func (s *Service) sendOnce(ctx context.Context, step stepRef, text string, markup telego.ReplyMarkup) (int, error) {
	sent, err := s.post(ctx, outgoing{step: step, body: text, markup: markup})
	switch {
	case errors.Is(err, errUserBlocked):
		return 0, nil
	case undeliverable(err):
		s.log.Error("telegram refused a message for good; not retried", "telegram_id", step.uid, "step", step.name, "err", err)
		s.metrics.turns.WithLabelValues("undeliverable").Inc()
		return 0, nil
	case err != nil:
		return 0, err
	}
	return sent.First(), nil
}

// reason says in words why Telegram refused a message (for the operators'
// notice and the history).
func (s *Service) reason(err error) string {
	switch {
	case errors.Is(err, telegram.ErrChatNotFound):
		return s.tx.DeliveryReasonChatNotFound
	case errors.Is(err, telegram.ErrBlocked):
		return s.tx.OperatorBlockedReason
	}
	desc := err.Error()
	var apiErr *ta.Error
	if errors.As(err, &apiErr) {
		desc = apiErr.Description
	}
	return s.tx.Render(s.tx.DeliveryReasonRejected, map[string]any{"Error": desc})
}

func firstName(p domain.Partner) string {
	f := strings.Fields(p.FullName)
	switch len(f) {
	case 0:
		return "коллега"
	case 1:
		return f[0]
	default:
		// "Фамилия Имя Отчество" is how Russian sheets list people; "Имя Фамилия" also happens.
		if len(f) == 3 {
			return f[1]
		}
		return f[0]
	}
}

func displayName(p domain.Partner, u *telego.User) string {
	if u != nil && u.Username != "" {
		return "@" + u.Username
	}
	if p.FullName != "" {
		return p.FullName
	}
	if u != nil {
		return strings.TrimSpace(u.FirstName + " " + u.LastName)
	}
	return ""
}
