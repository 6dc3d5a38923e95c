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

// operatorReply records an operator's reply in the history, then relays it
// to the user (in parts when long). A relay Telegram refuses for good, or a
// user who blocked the bot, is answered in the group — a reply to the
// operator's message — and noted in the history; the user is never told
// that their own message failed. /t is a template (templates.go).
func (s *Service) operatorReply(ctx context.Context, uid int64, p domain.Partner, u unit) error {
	m := u.upd[0].Message
	op := operatorName(m.From)
	if command(m.Text) == "t" {
		return s.templateCommand(ctx, uid, p, u, op)
	}
	if inTopic(m) {
		switch command(m.Text) {
		case "resolve":
			return s.resolve(ctx, resolution{uid: uid, p: p, u: u, operator: op})
		case "ai":
			return s.backToAI(ctx, resolution{uid: uid, p: p, u: u, operator: op})
		}
	}
	text := m.Text
	if text == "" {
		text = s.tx.Media(mediaKind(m))
		if m.Caption != "" {
			text += " " + m.Caption
		}
	}
	return s.operatorSays(ctx, uid, p, u, said{operator: op, text: text, id: "o" + strconv.Itoa(m.MessageID), at: msgTime(m),
		inTopic: inTopic(m), replyTo: m.MessageID, relay: func() error {
			if m.Text == "" {
				return s.copyToUser(ctx, uid, u.lastID(), m)
			}
			_, err := s.post(ctx, outgoing{step: stepRef{uid, u.lastID(), "relay"},
				body: s.tx.Render(s.tx.OperatorReply, map[string]any{"Operator": tghtml.Escape(op), "Text": tghtml.Escape(m.Text)})})
			return err
		}})
}

// said is what an operator says to the partner: a reply, or a template.
type said struct {
	operator string
	text     string // the history line
	id       string // the history line's id (a re-run does not add it twice)
	at       time.Time
	inTopic  bool         // said in the partner's topic
	replyTo  int          // the group message a notice of failure replies to
	relay    func() error // sends it to the partner, as a recorded step
}

// operatorSays records what an operator said in the history (the appeal
// goes, or stays, with the operators), then relays it; see operatorReply.
func (s *Service) operatorSays(ctx context.Context, uid int64, p domain.Partner, u unit, w said) error {
	s.metrics.escalation.WithLabelValues("operator_reply").Inc()
	s.metrics.turns.WithLabelValues("operator_reply").Inc()
	ap, err := s.loadAppeal(ctx, opening{uid: uid, partner: p, first: w.at})
	if err != nil {
		return err
	}
	status := ap.a.Status
	if !ap.exists || status != domain.AppealStatusEscalated {
		// An operator talking opens (or keeps) the conversation on the human side.
		status = domain.AppealStatusEscalated
	}
	turn := history.Turn{ID: w.id, Role: history.RoleOperator, Author: w.operator, Time: w.at, Text: w.text}
	// The first operator line since the escalation stamps first_response_at (rating.go).
	first := s.stampFirstResponse(&ap, w.at)
	if err := s.saveAppeal(ctx, appealWrite{uid: uid, u: u, ap: ap, turns: []history.Turn{turn}, status: status, operator: &w.operator, set: first}); err != nil {
		return err
	}
	if len(first) > 0 {
		s.supportM.firstResponse.Observe(ap.a.FirstResponseAt.Sub(ap.a.EscalatedAt).Seconds())
	}
	if err := s.stopWaiting(ctx, uid); err != nil { // an operator answered: nobody waits (hours.go)
		return err
	}
	if w.inTopic && ap.a.Status != domain.AppealStatusEscalated {
		// An operator talking in a closed topic takes the partner back:
		// the topic is open again for the scanner and the others.
		if err := s.openTopic(ctx, uid, p); err != nil {
			return err
		}
	}
	relay := w.relay()
	switch {
	case errors.Is(relay, errUserBlocked):
		return s.undelivered(ctx, uid, p, u, w.replyTo, s.tx.OperatorBlockedReason)
	case undeliverable(relay):
		s.log.Error("operator's reply not delivered: Telegram refused it for good", "telegram_id", uid, "message_id", w.replyTo, "err", relay)
		return s.undelivered(ctx, uid, p, u, w.replyTo, s.reason(relay))
	}
	return relay // nil, or transient: the unit is retried; the history line is written already
}

// undelivered tells the operator, in a reply to their message replyTo,
// that it did not reach the user and why, and notes it in the history.
func (s *Service) undelivered(ctx context.Context, uid int64, p domain.Partner, u unit, replyTo int, reason string) error {
	s.metrics.escalation.WithLabelValues("undelivered").Inc()
	if err := s.noticeOperator(ctx, stepRef{uid, u.lastID(), "undelivered"}, replyTo, p, reason); err != nil {
		return err
	}
	ap, err := s.loadAppeal(ctx, opening{uid: uid, partner: p, first: s.now()})
	if err != nil {
		return err
	}
	turn := history.Turn{ID: "s-nd-" + strconv.Itoa(replyTo), Role: history.RoleSystem, Time: s.now().Truncate(time.Second),
		Text: s.tx.Render(s.tx.HistoryUndelivered, map[string]any{"Reason": reason})}
	return s.saveAppeal(ctx, appealWrite{uid: uid, u: u, ap: ap, turns: []history.Turn{turn}, status: ap.a.Status})
}

// noticeOperator replies in the group to the operator's message replyTo:
// it did not reach the partner, and why. A notice the group itself refuses
// is only logged.
func (s *Service) noticeOperator(ctx context.Context, step stepRef, replyTo int, p domain.Partner, reason string) error {
	return s.toOperator(ctx, step, replyTo, s.tx.Render(s.tx.OperatorDeliveryFailed, map[string]any{"Name": tghtml.Escape(p.FullName), "Reason": tghtml.Escape(reason)}), nil)
}

// givenUp tells whom it concerns that a unit was given up after repeated
// failures: the operator whose reply it was (in the group), or the user
// whose message it was — never the user for an operator's failure.
func (s *Service) givenUp(ctx context.Context, uid int64, u unit) {
	switch u.kind {
	case unitOperatorReply:
		p, _, _ := s.d.Store.PartnerByTelegramID(ctx, uid)
		if err := s.noticeOperator(ctx, stepRef{uid, u.lastID(), "given-up"}, u.upd[0].Message.MessageID, p, s.tx.DeliveryReasonRepeatedFails); err != nil {
			s.log.Error("notice to the operators' group failed", "telegram_id", uid, "err", err)
		}
	case unitOperatorAction:
		// An operator's button: the card simply keeps its state.
	default:
		if _, err := s.post(ctx, outgoing{step: stepRef{uid, u.lastID(), "given-up"}, body: s.tx.ProcessingFailed}); err != nil {
			s.log.Warn("apology not sent", "telegram_id", uid, "err", err)
		}
	}
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
		FromChatID: telego.ChatID{ID: m.Chat.ID}, MessageID: m.MessageID}, chatSend)
	if errors.Is(err, telegram.ErrBlocked) {
		if err := s.blocked(ctx, uid); err != nil {
			return err
		}
		return errUserBlocked
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
	op := operatorName(&q.From)
	if key, ok := parseTemplateButton(q.Data); ok {
		return s.templateButton(ctx, uid, p, u, op, key) // templates.go
	}
	action, _, _ := parseOperatorAction(q.Data)
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
		if err := s.stopWaiting(ctx, uid); err != nil { // hours.go
			return err
		}
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
		return s.resolve(ctx, resolution{uid: uid, p: p, u: u, operator: op, q: q, cardID: cardID})
	}
	return nil
}

// updateCard appends a status line to the card and swaps its buttons. The
// card's text is trimmed (with the marker) so that the status line fits.
func (s *Service) updateCard(ctx context.Context, q *telego.CallbackQuery, cardID int, suffix string, kb *telego.InlineKeyboardMarkup) error {
	m := q.Message.Message()
	if m == nil || cardID == 0 {
		return nil
	}
	body, _ := tghtml.Trim(messageHTML(m), telegram.MaxTextLen-tghtml.VisibleLen(suffix), s.tx.TrimmedMarker)
	err := telegram.EditText(ctx, s.d.Sender, telegram.Edit{ChatID: s.o.OperatorsChatID, MessageID: cardID, Body: body + suffix,
		Markup: kb, Marker: s.tx.TrimmedMarker})
	switch {
	case errors.Is(err, telegram.ErrNotModified) || errors.Is(err, telegram.ErrMessageGone):
		return nil
	case undeliverable(err):
		s.log.Error("card not updated: Telegram refused the edit for good", "telegram_id", q.From.ID, "card_id", cardID, "err", err)
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
