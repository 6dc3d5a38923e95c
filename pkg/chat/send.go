package chat

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/mymmrac/telego"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/telegram"
	"marketingbot/pkg/telegram/tghtml"
)

// Sending. Every message that must leave once is a recorded step (stepRef):
// a re-run of the unit after a crash finds the step done and skips it.

var errUserBlocked = errors.New("chat: user blocked the bot")

func replyTo(u unit) *telego.ReplyParameters {
	m := u.message(len(u.items) - 1)
	if m == nil {
		return nil
	}
	return &telego.ReplyParameters{MessageID: m.MessageID, AllowSendingWithoutReply: true}
}

// sendReply converts the model's Markdown to Telegram HTML, splits it under
// 4096 characters and sends the parts not sent yet; the first part quotes the
// last message it answers.
func (s *Service) sendReply(ctx context.Context, uid int64, u unit, markdown string) error {
	parts := tghtml.Split(tghtml.FromMarkdown(markdown), tghtml.MaxMessageLen)
	for i, part := range parts {
		var rp *telego.ReplyParameters
		if i == 0 {
			rp = replyTo(u)
		}
		step := stepRef{uid, u.lastID(), "part" + strconv.Itoa(i)}
		if _, done, err := s.ib.stepDone(ctx, step); err != nil {
			return err
		} else if done {
			continue
		}
		params := &telego.SendMessageParams{ChatID: telego.ChatID{ID: uid}, Text: part, ParseMode: telego.ModeHTML, ReplyParameters: rp,
			LinkPreviewOptions: &telego.LinkPreviewOptions{IsDisabled: true}}
		_, err := s.d.Sender.SendMessage(ctx, params, telegram.Options{Priority: telegram.PriorityChat})
		if errors.Is(err, telegram.ErrBadEntities) {
			params.Text, params.ParseMode = tghtml.Plain(part), ""
			_, err = s.d.Sender.SendMessage(ctx, params, telegram.Options{Priority: telegram.PriorityChat})
		}
		if errors.Is(err, telegram.ErrBlocked) {
			return s.blocked(ctx, uid)
		}
		if err != nil {
			return err
		}
		if err := s.ib.markStep(ctx, step, "1"); err != nil {
			return err
		}
	}
	return nil
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

// sendText sends an HTML text (already escaped/rendered) to a chat.
func (s *Service) sendText(ctx context.Context, chatID int64, text string, markup telego.ReplyMarkup) (*telego.Message, error) {
	params := &telego.SendMessageParams{ChatID: telego.ChatID{ID: chatID}, Text: text, ParseMode: telego.ModeHTML, ReplyMarkup: markup,
		LinkPreviewOptions: &telego.LinkPreviewOptions{IsDisabled: true}}
	msg, err := s.d.Sender.SendMessage(ctx, params, telegram.Options{Priority: telegram.PriorityChat})
	if errors.Is(err, telegram.ErrBadEntities) {
		params.Text, params.ParseMode = tghtml.Plain(text), ""
		msg, err = s.d.Sender.SendMessage(ctx, params, telegram.Options{Priority: telegram.PriorityChat})
	}
	if errors.Is(err, telegram.ErrBlocked) && chatID > 0 {
		if berr := s.blocked(ctx, chatID); berr != nil {
			return nil, berr
		}
		return nil, errUserBlocked
	}
	return msg, err
}

// sendOnce sends a text to the step's user as a recorded step: a re-run
// does not repeat it. It returns the message id (0 when the user blocked
// the bot).
func (s *Service) sendOnce(ctx context.Context, step stepRef, text string, markup telego.ReplyMarkup) (int, error) {
	if v, done, err := s.ib.stepDone(ctx, step); err != nil {
		return 0, err
	} else if done {
		id, _ := strconv.Atoi(v)
		return id, nil
	}
	msg, err := s.sendText(ctx, step.uid, text, markup)
	if errors.Is(err, errUserBlocked) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return msg.MessageID, s.ib.markStep(ctx, step, strconv.Itoa(msg.MessageID))
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
