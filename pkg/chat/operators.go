package chat

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/mymmrac/telego"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/history"
	"marketingbot/pkg/telegram"
	"marketingbot/pkg/telegram/tghtml"
)

// Operator buttons carry the user they are about: "op:take:<id>", "op:res:<id>".
const (
	actionTake    = "take"
	actionResolve = "res"
)

func parseOperatorAction(data string) (action string, uid int64, ok bool) {
	parts := strings.Split(data, ":")
	if len(parts) != 3 || parts[0] != "op" || (parts[1] != actionTake && parts[1] != actionResolve) {
		return "", 0, false
	}
	id, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || id <= 0 {
		return "", 0, false
	}
	return parts[1], id, true
}

func operatorName(u *telego.User) string {
	if u == nil {
		return "Оператор"
	}
	n := strings.TrimSpace(u.FirstName + " " + u.LastName)
	if n == "" {
		n = u.Username
	}
	return n
}

// operatorReply relays an operator's reply to the user and records it.
func (s *Service) operatorReply(ctx context.Context, uid int64, p domain.Partner, u unit) error {
	m := u.upd[0].Message
	op := operatorName(m.From)
	s.metrics.escalation.WithLabelValues("operator_reply").Inc()
	s.metrics.turns.WithLabelValues("operator_reply").Inc()
	var text string
	var delivered error
	if m.Text != "" {
		text = m.Text
		_, delivered = s.sendOnce(ctx, stepRef{uid, u.lastID(), "relay"}, s.tx.Render(s.tx.OperatorReply, map[string]any{"Operator": tghtml.Escape(op), "Text": tghtml.Escape(m.Text)}), nil)
	} else {
		text = s.tx.Media(mediaKind(m))
		if m.Caption != "" {
			text += " " + m.Caption
		}
		delivered = s.copyToUser(ctx, uid, u.lastID(), m)
	}
	if delivered != nil {
		return delivered
	}
	if blocked, _ := s.isBlocked(ctx, uid); blocked {
		_, _ = s.sendGroup(ctx, stepRef{uid, u.lastID(), "undelivered"}, s.tx.Render(s.tx.OperatorDeliveryFailed,
			map[string]any{"Name": tghtml.Escape(p.FullName), "Reason": s.tx.OperatorBlockedReason}), nil)
	}
	ap, err := s.loadAppeal(ctx, opening{uid: uid, partner: p, first: msgTime(m)})
	if err != nil {
		return err
	}
	status := ap.a.Status
	if !ap.exists || status != domain.AppealStatusEscalated {
		// An operator talking opens (or keeps) the conversation on the human side.
		status = domain.AppealStatusEscalated
	}
	turn := history.Turn{ID: "o" + strconv.Itoa(m.MessageID), Role: history.RoleOperator, Author: op, Time: msgTime(m), Text: text}
	return s.saveAppeal(ctx, appealWrite{uid: uid, u: u, ap: ap, turns: []history.Turn{turn}, status: status, operator: &op})
}

func (s *Service) isBlocked(ctx context.Context, uid int64) (bool, error) {
	p, found, err := s.d.Store.PartnerByTelegramID(ctx, uid)
	return found && p.Blocked(), err
}

func (s *Service) copyToUser(ctx context.Context, uid, updateID int64, m *telego.Message) error {
	step := stepRef{uid, updateID, "relay"}
	if _, done, err := s.ib.stepDone(ctx, step); err != nil || done {
		return err
	}
	_, err := s.d.Sender.CopyMessage(ctx, &telego.CopyMessageParams{ChatID: telego.ChatID{ID: uid},
		FromChatID: telego.ChatID{ID: m.Chat.ID}, MessageID: m.MessageID}, telegram.Options{Priority: telegram.PriorityChat})
	if errors.Is(err, telegram.ErrBlocked) {
		return s.blocked(ctx, uid)
	}
	if err != nil {
		return err
	}
	return s.ib.markStep(ctx, step, "1")
}

// operatorAction: "Взять в работу" records the operator; "Решено" closes the
// appeal (the AI answers again; the next message opens a new row).
func (s *Service) operatorAction(ctx context.Context, uid int64, p domain.Partner, u unit) error {
	q := u.upd[0].CallbackQuery
	action, _, _ := parseOperatorAction(q.Data)
	op := operatorName(&q.From)
	ap, err := s.loadAppeal(ctx, opening{uid: uid, partner: p, first: s.now()})
	if err != nil {
		return err
	}
	cardID := 0
	if q.Message != nil {
		cardID = q.Message.GetMessageID()
	}
	stamp := s.now().Truncate(time.Second)
	switch action {
	case actionTake:
		s.metrics.escalation.WithLabelValues("taken").Inc()
		if ap.exists && ap.a.Status == domain.AppealStatusEscalated {
			turn := history.Turn{ID: "s-take-" + strconv.FormatInt(u.lastID(), 10), Role: history.RoleSystem, Time: stamp,
				Text: s.tx.Render(s.tx.HistoryTaken, map[string]any{"Operator": op})}
			if err := s.saveAppeal(ctx, appealWrite{uid: uid, u: u, ap: ap, turns: []history.Turn{turn}, status: ap.a.Status, operator: &op}); err != nil {
				return err
			}
			if _, err := s.sendOnce(ctx, stepRef{uid, u.lastID(), "reply"}, s.tx.Render(s.tx.OperatorJoined, map[string]any{"Operator": tghtml.Escape(op)}), nil); err != nil {
				return err
			}
		}
		return s.updateCard(ctx, q, cardID, s.tx.Render(s.tx.OperatorCardTaken, map[string]any{"Operator": tghtml.Escape(op)}), s.cardButtons(uid, true))
	case actionResolve:
		s.metrics.escalation.WithLabelValues("resolved").Inc()
		if ap.exists {
			turn := history.Turn{ID: "s-res-" + strconv.FormatInt(u.lastID(), 10), Role: history.RoleSystem, Time: stamp,
				Text: s.tx.Render(s.tx.HistoryResolved, map[string]any{"Operator": op})}
			if err := s.saveAppeal(ctx, appealWrite{uid: uid, u: u, ap: ap, turns: []history.Turn{turn}, status: domain.AppealStatusResolved, operator: &op}); err != nil {
				return err
			}
			if _, err := s.sendOnce(ctx, stepRef{uid, u.lastID(), "reply"}, s.tx.Resolved, nil); err != nil {
				return err
			}
		}
		s.d.Redis.Del(ctx, s.cardKey(uid))
		return s.updateCard(ctx, q, cardID, s.tx.Render(s.tx.OperatorCardResolved, map[string]any{"Operator": tghtml.Escape(op)}), nil)
	}
	return nil
}

// updateCard appends a status line to the card and swaps its buttons.
func (s *Service) updateCard(ctx context.Context, q *telego.CallbackQuery, cardID int, suffix string, kb *telego.InlineKeyboardMarkup) error {
	m := q.Message.Message()
	if m == nil || cardID == 0 {
		return nil
	}
	text := messageHTML(m) + suffix
	params := &telego.EditMessageTextParams{ChatID: telego.ChatID{ID: s.o.OperatorsChatID}, MessageID: cardID, Text: text, ParseMode: telego.ModeHTML}
	if kb != nil {
		params.ReplyMarkup = kb
	}
	err := s.d.Sender.EditMessageText(ctx, params)
	if errors.Is(err, telegram.ErrNotModified) || errors.Is(err, telegram.ErrMessageGone) || errors.Is(err, telegram.ErrBadEntities) {
		return nil
	}
	return err
}

// messageHTML rebuilds a received message's HTML from its entities (bold,
// italic, code) so that an edit keeps the card's formatting.
func messageHTML(m *telego.Message) string {
	if len(m.Entities) == 0 {
		return tghtml.Escape(m.Text)
	}
	u16 := utf16Units(m.Text)
	open := map[int][]string{}
	closeAt := map[int][]string{}
	for _, e := range m.Entities {
		tag := map[string]string{"bold": "b", "italic": "i", "code": "code", "underline": "u", "strikethrough": "s"}[e.Type]
		if tag == "" {
			continue
		}
		open[e.Offset] = append(open[e.Offset], "<"+tag+">")
		closeAt[e.Offset+e.Length] = append([]string{"</" + tag + ">"}, closeAt[e.Offset+e.Length]...)
	}
	var b strings.Builder
	for i := 0; i <= len(u16); i++ {
		for _, t := range closeAt[i] {
			b.WriteString(t)
		}
		for _, t := range open[i] {
			b.WriteString(t)
		}
		if i < len(u16) {
			b.WriteString(tghtml.Escape(u16[i]))
		}
	}
	return b.String()
}

// utf16Units splits s into strings each covering one UTF-16 code unit
// position (a surrogate pair's second unit is an empty string).
func utf16Units(s string) []string {
	var out []string
	for _, r := range s {
		out = append(out, string(r))
		if r >= 0x10000 {
			out = append(out, "")
		}
	}
	return out
}
