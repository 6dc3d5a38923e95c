package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/mymmrac/telego"

	"marketingbot/pkg/tasks"
)

// The task handlers: each puts its update into the inbox of the user it
// concerns and drains that inbox (see doc.go); member changes and promotion
// buttons need no order and are handled at once.

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
// an operator in the operators' group.
func (s *Service) HandleCallback(ctx context.Context, t *asynq.Task) error {
	p, err := tasks.ParseUpdate(t)
	if err != nil {
		return err
	}
	var u telego.Update
	if err := json.Unmarshal(p.Update, &u); err != nil || u.CallbackQuery == nil {
		return fmt.Errorf("chat: callback update %d unreadable: %w", p.UpdateID, asynq.SkipRetry)
	}
	q := u.CallbackQuery
	if strings.HasPrefix(q.Data, "promo:") && s.d.Operators != nil {
		if _, err := s.d.Operators.HandleOperatorCallback(ctx, q); err != nil {
			return err
		}
		return nil
	}
	target := q.From.ID
	if _, uid, ok := parseOperatorAction(q.Data); ok {
		if !s.fromOperatorsChat(q) {
			s.answer(ctx, q.ID, "")
			return nil // operator buttons only count in the operators' group
		}
		target = uid
	}
	// Stop the button's spinner now; the work itself is ordered through the inbox.
	s.answer(ctx, q.ID, "")
	return s.enqueueAndDrain(ctx, target, item{Type: t.Type(), Payload: p})
}

// HandleOperatorMessage is tasks.TypeOperatorMessage: a message in the
// operators' group. Replies to a card or a forwarded message go to that user.
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
	if m.From != nil && m.From.IsBot {
		return nil
	}
	if strings.HasPrefix(m.Text, "/") && s.d.Operators != nil {
		if handled, err := s.d.Operators.HandleOperatorCommand(ctx, m); handled || err != nil {
			return err
		}
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

// HandleMember is tasks.TypeChatMember: the user blocked or unblocked the bot.
func (s *Service) HandleMember(ctx context.Context, t *asynq.Task) error {
	p, err := tasks.ParseUpdate(t)
	if err != nil {
		return err
	}
	var u telego.Update
	if err := json.Unmarshal(p.Update, &u); err != nil || u.MyChatMember == nil {
		return fmt.Errorf("chat: member update %d unreadable: %w", p.UpdateID, asynq.SkipRetry)
	}
	status := u.MyChatMember.NewChatMember.MemberStatus()
	uid := u.MyChatMember.Chat.ID
	switch status {
	case telego.MemberStatusBanned, telego.MemberStatusLeft:
		if err := s.d.Store.SetBotBlocked(ctx, uid, time.Unix(u.MyChatMember.Date, 0)); err != nil {
			return err
		}
		return s.d.Projection.RemovePartner(ctx, uid)
	case telego.MemberStatusMember:
		return s.d.Store.SetBotBlocked(ctx, uid, time.Time{})
	}
	return nil
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
