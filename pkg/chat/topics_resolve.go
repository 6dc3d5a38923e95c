package chat

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/mymmrac/telego"
	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/history"
	"marketingbot/pkg/telegram"
	"marketingbot/pkg/telegram/tghtml"
)

// The end of an operator's conversation. resolve is the one place an
// operator closes an appeal — the card's "Решено" or /resolve in the
// partner's topic — and backToAI the one place /ai hands the partner back
// to the AI; both end in the partner's topic being closed. afterResolve is
// what follows every resolution, the operators' and the sheet's alike
// (topics_scan.go).
//
// "Back to the AI" sets the appeal to Ответ ИИ: the AI answers again, in
// the same row (the conversation goes on; it is not Решено, which would
// start a new row and count as resolved), and the operator's name stays in
// Оператор.

// resolution is an operator's closing act on a partner's appeal.
type resolution struct {
	uid      int64
	p        domain.Partner
	u        unit
	operator string
	// q is the card's button press (nil for a command in the topic) and
	// cardID the card it was pressed under.
	q      *telego.CallbackQuery
	cardID int
}

// resolve closes the appeal: the history line and Решено first (the sheet
// is the record), then the partner is told, the card says so, and
// afterResolve runs.
func (s *Service) resolve(ctx context.Context, r resolution) error {
	s.metrics.escalation.WithLabelValues("resolved").Inc()
	ap, err := s.loadAppeal(ctx, opening{uid: r.uid, partner: r.p, first: s.now()})
	if err != nil {
		return err
	}
	if ap.exists {
		turn := history.Turn{ID: "s-res-" + strconv.FormatInt(r.u.lastID(), 10), Role: history.RoleSystem, Time: s.now().Truncate(time.Second),
			Text: s.tx.Render(s.tx.HistoryResolved, map[string]any{"Operator": r.operator})}
		if err := s.saveAppeal(ctx, appealWrite{uid: r.uid, u: r.u, ap: ap, turns: []history.Turn{turn}, status: domain.AppealStatusResolved, operator: &r.operator}); err != nil {
			return err
		}
		if _, err := s.sendOnce(ctx, stepRef{r.uid, r.u.lastID(), "reply"}, s.tx.Resolved, nil); err != nil {
			return err
		}
	}
	if r.q != nil {
		s.d.Redis.Del(ctx, s.cardKey(r.uid))
		if err := s.updateCard(ctx, r.q, r.cardID, s.tx.Render(s.tx.OperatorCardResolved, map[string]any{"Operator": tghtml.Escape(r.operator)}), nil); err != nil {
			return err
		}
	} else if err := s.endInTopic(ctx, r, s.tx.Render(s.tx.TopicResolved, map[string]any{"Operator": tghtml.Escape(r.operator)})); err != nil {
		return err
	}
	return s.afterResolve(ctx, r.uid, r.p, r.cardID)
}

// afterResolve follows every resolution of a partner's appeal — by an
// operator (resolve, cardID the card pressed) or by hand in the sheet (the
// topic scanner): resolved_at is stamped and the rating question asked
// (rating.go), after the partner was told, then the partner's topic is
// closed.
func (s *Service) afterResolve(ctx context.Context, uid int64, _ domain.Partner, cardID int) error {
	if err := s.rateAfterResolve(ctx, uid, cardID); err != nil {
		return err
	}
	return s.closeTopic(ctx, uid)
}

// backToAI hands the partner back to the AI (/ai in the topic): Ответ ИИ
// and a history line, the partner told, the topic closed.
func (s *Service) backToAI(ctx context.Context, r resolution) error {
	s.metrics.escalation.WithLabelValues("back_to_ai").Inc()
	ap, err := s.loadAppeal(ctx, opening{uid: r.uid, partner: r.p, first: s.now()})
	if err != nil {
		return err
	}
	if ap.exists && ap.a.Status == domain.AppealStatusEscalated {
		turn := history.Turn{ID: "s-ai-back-" + strconv.FormatInt(r.u.lastID(), 10), Role: history.RoleSystem, Time: s.now().Truncate(time.Second),
			Text: s.tx.Render(s.tx.HistoryBackToAI, map[string]any{"Operator": r.operator})}
		if err := s.saveAppeal(ctx, appealWrite{uid: r.uid, u: r.u, ap: ap, turns: []history.Turn{turn}, status: domain.AppealStatusAIAnswered, operator: &r.operator}); err != nil {
			return err
		}
		if _, err := s.sendOnce(ctx, stepRef{r.uid, r.u.lastID(), "reply"}, s.tx.BackToAI, nil); err != nil {
			return err
		}
	}
	if err := s.endInTopic(ctx, r, s.tx.Render(s.tx.TopicBackToAI, map[string]any{"Operator": tghtml.Escape(r.operator)})); err != nil {
		return err
	}
	return s.closeTopic(ctx, r.uid)
}

// endInTopic ends a conversation in the partner's topic before it closes:
// the card loses its buttons and a line says who ended it and how.
func (s *Service) endInTopic(ctx context.Context, r resolution, note string) error {
	if err := s.retireCard(ctx, r.uid); err != nil {
		return err
	}
	_, err := s.sendGroup(ctx, stepRef{r.uid, r.u.lastID(), "topic-end"}, note, nil)
	if undeliverable(err) {
		s.log.Warn("closing line not posted in the partner's topic", "telegram_id", r.uid, "err", err)
		return nil
	}
	return err
}

// retireCard takes the buttons off the partner's card (a card Telegram no
// longer has is fine) and forgets it: the next escalation posts a new one.
func (s *Service) retireCard(ctx context.Context, uid int64) error {
	cardID, err := s.d.Redis.Get(ctx, s.cardKey(uid)).Int()
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("chat: card of %d: %w", uid, err)
	}
	if cardID != 0 && s.d.Forum != nil {
		err := s.d.Forum.EditMessageReplyMarkup(ctx, &telego.EditMessageReplyMarkupParams{ChatID: telego.ChatID{ID: s.o.OperatorsChatID}, MessageID: cardID})
		if err != nil && !telegram.Permanent(err) {
			return err
		}
	}
	return s.d.Redis.Del(ctx, s.cardKey(uid)).Err()
}
