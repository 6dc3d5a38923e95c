package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hibiken/asynq"
	"github.com/mymmrac/telego"

	"marketingbot/pkg/tasks"
)

// The task handlers: each puts its update into the inbox of the user it
// concerns and drains that inbox (see doc.go); only the operators' promotion
// buttons and presses outside any user's chain are handled at once.

// HandleMessage is tasks.TypeChatMessage: a private message or edit.
func (s *Service) HandleMessage(ctx context.Context, t *asynq.Task) error {
	p, err := tasks.ParseUpdate(t)
	if err != nil {
		return err
	}
	return s.enqueueAndDrain(ctx, p.UserID, item{Type: t.Type(), Payload: p})
}

// HandleDrain is tasks.TypeChatDrain (from the sweeper).
func (s *Service) HandleDrain(ctx context.Context, t *asynq.Task) error {
	p, err := tasks.ParseDrain(t)
	if err != nil {
		return err
	}
	return s.drainUser(ctx, p.UserID)
}

// HandleCallback is tasks.TypeChatCallback: a button press by a user, or by
// an operator in the operators' group. Every press is answered at once
// (answerCallbackQuery stops the button's spinner); one whose data we never
// issued, of a wrong shape or pressed in the wrong chat gets a short notice
// and does nothing. A press in the user's private chat is in the user's
// chain, so it goes through the inbox whatever it is: the user's next
// update waits for it there (see ready).
func (s *Service) HandleCallback(ctx context.Context, t *asynq.Task) error {
	p, err := tasks.ParseUpdate(t)
	if err != nil {
		return err
	}
	it := item{Type: t.Type(), Payload: p}
	chained := tasks.Chained(t.Type(), p)
	var u telego.Update
	if err := json.Unmarshal(p.Update, &u); err != nil || u.CallbackQuery == nil {
		if chained { // the drain drops it, and the chain goes on
			return s.enqueueAndDrain(ctx, p.UserID, it)
		}
		return fmt.Errorf("chat: callback update %d unreadable: %w", p.UpdateID, asynq.SkipRetry)
	}
	q := u.CallbackQuery
	kind, target := s.button(q)
	if kind == buttonRate && !s.rateIssued(ctx, q) {
		kind = buttonUnknown // a rating of an appeal the partner was never asked about
	}
	switch kind {
	case buttonPromo:
		_, err := s.d.Operators.HandleOperatorCallback(ctx, q)
		return err
	case buttonUnknown:
		s.metrics.turns.WithLabelValues("unknown_button").Inc()
		s.log.Info("button press with data we did not issue", "telegram_id", q.From.ID, "update_id", p.UpdateID, "data_len", len(q.Data))
		s.answer(ctx, q.ID, s.tx.ButtonUnknown)
		if !chained {
			return nil
		}
		return s.enqueueAndDrain(ctx, p.UserID, it)
	}
	// Stop the button's spinner now; the work itself is ordered through the inbox.
	s.answer(ctx, q.ID, "")
	return s.enqueueAndDrain(ctx, target, it)
}

// HandleOperatorMessage is tasks.TypeOperatorMessage: a message in the
// operators' group. A message in a partner's topic (a forum group) goes to
// that partner, reply or not; elsewhere replies to a card or a forwarded
// message go to that user. Telegram's service messages (a topic closed by
// hand…) and the bot's own are nobody's.
func (s *Service) HandleOperatorMessage(ctx context.Context, t *asynq.Task) error {
	p, err := tasks.ParseUpdate(t)
	if err != nil {
		return err
	}
	var u telego.Update
	if err := json.Unmarshal(p.Update, &u); err != nil || u.Message == nil {
		return fmt.Errorf("chat: operator update %d unreadable: %w", p.UpdateID, asynq.SkipRetry)
	}
	m := u.Message
	if m.From != nil && m.From.IsBot || serviceMessage(m) {
		return nil
	}
	if strings.HasPrefix(m.Text, "/") && s.d.Operators != nil {
		if handled, err := s.d.Operators.HandleOperatorCommand(ctx, m); handled || err != nil {
			return err
		}
	}
	if command(m.Text) == "stats" {
		return s.statsCommand(ctx, m, p.UpdateID)
	}
	if inTopic(m) {
		return s.topicMessage(ctx, m, item{Type: t.Type(), Payload: p})
	}
	if m.ReplyToMessage == nil {
		return nil // operators talking among themselves
	}
	uid, ok, err := s.userOfGroupMessage(ctx, m.ReplyToMessage.MessageID)
	if err != nil {
		return err
	}
	if !ok {
		return nil
	}
	return s.enqueueAndDrain(ctx, uid, item{Type: t.Type(), Payload: p})
}

// topicMessage routes what an operator wrote in a forum topic to the
// topic's partner. A command other than /resolve, /ai and /t is never relayed;
// a topic that is no partner's is the operators' own.
func (s *Service) topicMessage(ctx context.Context, m *telego.Message, it item) error {
	if c := command(m.Text); c != "" && c != "resolve" && c != "ai" && c != "t" {
		return nil
	}
	uid, ok, err := s.userOfTopic(ctx, m.MessageThreadID)
	if err != nil || !ok {
		return err
	}
	return s.enqueueAndDrain(ctx, uid, it)
}

// HandleMember is tasks.TypeChatMember: the user blocked or unblocked the
// bot. It is in the user's chain like their messages, so a quick block →
// unblock is applied in that order (see member).
func (s *Service) HandleMember(ctx context.Context, t *asynq.Task) error {
	p, err := tasks.ParseUpdate(t)
	if err != nil {
		return err
	}
	return s.enqueueAndDrain(ctx, p.UserID, item{Type: t.Type(), Payload: p})
}

func (s *Service) fromOperatorsChat(q *telego.CallbackQuery) bool {
	return q.Message != nil && q.Message.GetChat().ID == s.o.OperatorsChatID
}

func (s *Service) answer(ctx context.Context, id, text string) {
	if err := s.d.Sender.AnswerCallbackQuery(ctx, &telego.AnswerCallbackQueryParams{CallbackQueryID: id, Text: text}); err != nil {
		s.log.Debug("answerCallbackQuery failed", "err", err)
	}
}

// enqueueAndDrain puts the update into the user's inbox and drains it if no
// other worker holds the user.
func (s *Service) enqueueAndDrain(ctx context.Context, uid int64, it item) error {
	if uid == 0 {
		return fmt.Errorf("chat: update %d without a user: %w", it.Payload.UpdateID, asynq.SkipRetry)
	}
	if _, err := s.ib.push(ctx, uid, it); err != nil {
		return err
	}
	return s.drainUser(ctx, uid)
}
