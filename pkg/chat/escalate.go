package chat

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mymmrac/telego"
	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/history"
	"marketingbot/pkg/telegram"
	"marketingbot/pkg/telegram/tghtml"
)

// Escalation: the appeal goes to a human in the operators' group (a card
// with buttons), the AI stays off, and the user's messages are forwarded
// there until an operator resolves it (operators.go). In a forum group all
// of it goes into the partner's topic (topics.go: toGroup).

func (s *Service) groupMapKey(messageID int) string {
	return s.keys.Key("chat", "group_msg", strconv.Itoa(messageID))
}

func (s *Service) cardKey(uid int64) string { return s.keys.Key("chat", "card", uidStr(uid)) }

// rememberGroupMessage maps a message in the operators' group to the user it
// is about, so that an operator's reply to it reaches that user.
func (s *Service) rememberGroupMessage(ctx context.Context, messageID int, uid int64) error {
	return s.d.Redis.Set(ctx, s.groupMapKey(messageID), uid, 90*24*time.Hour).Err()
}

func (s *Service) userOfGroupMessage(ctx context.Context, messageID int) (int64, bool, error) {
	v, err := s.d.Redis.Get(ctx, s.groupMapKey(messageID)).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("chat: group message map: %w", err)
	}
	return v, true, nil
}

// sendGroup posts to the operators' group (the group limit applies), in
// parts when long, into the step's user's topic in a forum; every part is
// mapped to the step's user.
func (s *Service) sendGroup(ctx context.Context, step stepRef, text string, markup telego.ReplyMarkup) (int, error) {
	var sent telegram.Sent
	err := s.toGroup(ctx, step.uid, func(thread int) error {
		var err error
		sent, err = s.post(ctx, outgoing{step: step, chat: s.o.OperatorsChatID, thread: thread, body: text, markup: markup})
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("chat: post to the operators' group: %w", err)
	}
	return sent.First(), nil
}

// sendCard posts the escalation card: one message (its buttons and the
// status lines edited in later belong to it), trimmed with a marker should
// it still be too long after cardText fitted it.
func (s *Service) sendCard(ctx context.Context, step stepRef, text string, markup telego.ReplyMarkup) (int, error) {
	var sent telegram.Sent
	err := s.toGroup(ctx, step.uid, func(thread int) error {
		var err error
		sent, err = s.post(ctx, outgoing{step: step, chat: s.o.OperatorsChatID, thread: thread, body: text, markup: markup, trim: true})
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("chat: post the card to the operators' group: %w", err)
	}
	return sent.First(), nil
}

func (s *Service) cardButtons(uid int64, taken bool) *telego.InlineKeyboardMarkup {
	row := []telego.InlineKeyboardButton{}
	if !taken {
		row = append(row, telego.InlineKeyboardButton{Text: s.tx.OperatorTakeButton, CallbackData: fmt.Sprintf("op:%s:%d", actionTake, uid)})
	}
	row = append(row, telego.InlineKeyboardButton{Text: s.tx.OperatorResolveButton, CallbackData: fmt.Sprintf("op:%s:%d", actionResolve, uid)})
	return &telego.InlineKeyboardMarkup{InlineKeyboard: [][]telego.InlineKeyboardButton{row}}
}

// cardExcerpt is how many characters of each recent turn the card shows
// (the partner's own long messages follow the card in full).
const cardExcerpt = 300

// cardRoom is what the card may take of a message: the status lines the
// buttons append later ("В работе: …", "Решено: …") must still fit.
const cardRoom = telegram.MaxTextLen - 300

// cardText renders the escalation card: who, how to reach, recent turns —
// as many of the most recent as fit one message. In a topic (topic) it
// says to write there rather than to reply.
func (s *Service) cardText(p domain.Partner, user *telego.User, cell string, topic bool) string {
	var lines []string
	for _, t := range history.Recent(history.Parse(cell, s.loc), 1500) {
		who := map[history.Role]string{history.RoleUser: "Партнёр", history.RoleAI: "ИИ", history.RoleOperator: "Оператор", history.RoleSystem: "Система"}[t.Role]
		if who == "" {
			who = "—"
		}
		text := t.Text
		if t.Role == history.RoleAI {
			// The model writes Markdown; the card shows what the partner saw.
			text = strings.TrimSpace(tghtml.Plain(tghtml.FromMarkdown(text)))
		}
		if len([]rune(text)) > cardExcerpt {
			text = string([]rune(text)[:cardExcerpt]) + "…"
		}
		lines = append(lines, fmt.Sprintf("<i>%s:</i> %s", who, tghtml.Escape(text)))
	}
	username := ""
	if user != nil {
		username = user.Username
	}
	phone := p.Phone
	if phone != "" {
		phone = "+" + phone
	}
	data := map[string]any{
		"Name": tghtml.Escape(p.FullName), "Username": tghtml.Escape(username), "Code": tghtml.Escape(p.Code),
		"Phone": tghtml.Escape(phone), "UserID": p.TelegramID, "Topic": topic,
	}
	for {
		data["History"] = strings.Join(lines, "\n")
		card := s.tx.Render(s.tx.OperatorCard, data)
		if len(lines) == 0 || tghtml.VisibleLen(card) <= cardRoom {
			return card
		}
		lines = lines[1:] // the oldest turn goes first
	}
}

// escalate hands the appeal to a human: status В работе, AI off, the user is
// told, and a card with buttons goes to the operators' group.
func (s *Service) escalate(ctx context.Context, uid int64, p domain.Partner, u unit) error {
	return s.escalateTurns(ctx, uid, p, u, nil)
}

// escalateTurns is escalate with the partner's lines given (a voice note's
// transcript, media_relay.go); nil: the unit's texts.
func (s *Service) escalateTurns(ctx context.Context, uid int64, p domain.Partner, u unit, userTurns []history.Turn) error {
	var user *telego.User
	first := time.Now()
	if m := u.message(0); m != nil {
		user = m.From
		first = msgTime(m)
		if userTurns == nil {
			userTurns, _ = s.userTurns(u)
		}
	} else if q := u.upd[0].CallbackQuery; q != nil {
		user = &q.From
		first = s.now()
	}
	ap, err := s.loadAppeal(ctx, opening{uid: uid, partner: p, user: user, first: first})
	if err != nil {
		return err
	}
	turns := append(userTurns, history.Turn{ID: "s-esc-" + strconv.FormatInt(u.lastID(), 10), Role: history.RoleSystem, Time: s.now().Truncate(time.Second), Text: s.tx.HistoryEscalated})
	// A re-run of a unit whose escalation was saved goes on with what is
	// left (the answer, the card): those are steps of their own.
	saved := stepRef{uid, u.lastID(), "saved"}
	if _, done, _ := s.ib.stepDone(ctx, saved); !done {
		if ap.a.Status == domain.AppealStatusEscalated {
			if len(userTurns) > 0 {
				return s.forwardToOperators(ctx, forward{uid: uid, p: p, ap: ap, u: u, turns: userTurns})
			}
			_, err := s.sendOnce(ctx, stepRef{uid, u.lastID(), "reply"}, s.tx.EscalatedAlready, nil)
			return err
		}
		s.metrics.escalation.WithLabelValues("escalated").Inc()
		s.metrics.turns.WithLabelValues("escalate").Inc()
		if err := s.saveAppeal(ctx, appealWrite{uid: uid, u: u, ap: ap, turns: turns, status: domain.AppealStatusEscalated, set: s.stampEscalated(&ap.a)}); err != nil {
			return err
		}
		if err := s.ib.markStep(ctx, saved, "1"); err != nil {
			return err
		}
	}
	// Out of hours the partner is told when a person answers (hours.go).
	opens, err := s.outOfHours(ctx, uid, u)
	if err != nil {
		return err
	}
	if _, err := s.sendOnce(ctx, stepRef{uid, u.lastID(), "reply"}, s.escalatedText(opens), &telego.ReplyKeyboardRemove{RemoveKeyboard: true}); err != nil {
		return err
	}
	// The partner's topic in a forum: created, or reopened and renamed.
	if err := s.openTopic(ctx, uid, p); err != nil {
		return err
	}
	forum, err := s.isForum(ctx)
	if err != nil {
		return err
	}
	cell, _ := history.Append(ap.a.History, turns, s.loc)
	cardID, err := s.sendCard(ctx, stepRef{uid, u.lastID(), "card"}, s.cardText(p, user, cell, forum)+s.cardMark(opens), s.cardButtons(uid, false))
	if err != nil {
		return err
	}
	if err := s.d.Redis.Set(ctx, s.cardKey(uid), cardID, 90*24*time.Hour).Err(); err != nil {
		return err
	}
	// The card shows excerpts: a long message that asked for a human
	// follows it in full.
	for i, t := range userTurns {
		if len([]rune(t.Text)) <= cardExcerpt {
			continue
		}
		if err := s.forwardText(ctx, stepRef{uid, u.lastID(), "full" + strconv.Itoa(i)}, p, t.Text); err != nil {
			return err
		}
	}
	return nil
}

// forward is a unit of a user whose appeal an operator has: the messages
// go to the operators' group and turns into the history.
type forward struct {
	uid   int64
	p     domain.Partner
	ap    appealState
	u     unit
	turns []history.Turn // the user's lines for the history
}

// forwardToOperators: while an operator has the appeal, the user's messages
// go to the group (as replies can be answered) and into the history. The
// history is written first: a relay that fails for good loses nothing of
// what the partner wrote (and leaves a line saying so).
func (s *Service) forwardToOperators(ctx context.Context, f forward) error {
	s.metrics.turns.WithLabelValues("forwarded").Inc()
	uid, p, u := f.uid, f.p, f.u
	if err := s.saveAppeal(ctx, appealWrite{uid: uid, u: u, ap: f.ap, turns: f.turns, status: f.ap.a.Status}); err != nil {
		return err
	}
	var failed []history.Turn
	for i := range u.items {
		err := s.forwardItem(ctx, f, i)
		if !undeliverable(err) {
			if err != nil {
				return err
			}
			continue
		}
		s.log.Error("partner's message not forwarded to the operators' group: Telegram refused it for good", "telegram_id", uid,
			"update_id", u.items[i].Payload.UpdateID, "err", err)
		s.metrics.turns.WithLabelValues("forward_failed").Inc()
		failed = append(failed, history.Turn{ID: "s-nf-" + strconv.FormatInt(u.items[i].Payload.UpdateID, 10), Role: history.RoleSystem,
			Time: s.now().Truncate(time.Second), Text: s.tx.Render(s.tx.HistoryNotForwarded, map[string]any{"Reason": s.reason(err)})})
	}
	if _, err := s.d.Redis.Get(ctx, s.cardKey(uid)).Result(); errors.Is(err, redis.Nil) {
		// Escalated by hand in the sheet: there is no card (nor an open topic) yet.
		if err := s.openTopic(ctx, uid, p); err != nil {
			return err
		}
		forum, err := s.isForum(ctx)
		if err != nil {
			return err
		}
		cell, _ := history.Append(f.ap.a.History, f.turns, s.loc)
		id, err := s.sendCard(ctx, stepRef{uid, u.lastID(), "card"}, s.cardText(p, u.message(0).From, cell, forum), s.cardButtons(uid, false))
		if err != nil {
			return err
		}
		s.d.Redis.Set(ctx, s.cardKey(uid), id, 90*24*time.Hour)
	}
	if len(failed) == 0 {
		return nil
	}
	ap, err := s.loadAppeal(ctx, opening{uid: uid, partner: p, first: f.turns[0].Time})
	if err != nil {
		return err
	}
	return s.saveAppeal(ctx, appealWrite{uid: uid, u: u, ap: ap, turns: failed, status: ap.a.Status})
}

// forwardItem relays the i-th message of a forward to the group: a text
// with the partner's name before it (in parts when long), anything else as
// a line saying what came and a copy of it.
func (s *Service) forwardItem(ctx context.Context, f forward, i int) error {
	uid, p, u := f.uid, f.p, f.u
	m := u.message(i)
	step := stepRef{uid, u.lastID(), "fwd" + strconv.Itoa(i)}
	if m.Text != "" {
		text := m.Text
		if u.upd[i].EditedMessage != nil {
			text = s.tx.EditedPrefix + text
		}
		return s.forwardText(ctx, step, p, text)
	}
	if _, err := s.sendGroup(ctx, step, s.relayNote(f, i), nil); err != nil { // media_relay.go
		return err
	}
	copyStep := step
	copyStep.name += "copy"
	return s.copyToGroup(ctx, copyStep, m)
}

// forwardText relays a partner's text to the group under their name.
func (s *Service) forwardText(ctx context.Context, step stepRef, p domain.Partner, text string) error {
	_, err := s.sendGroup(ctx, step, s.tx.Render(s.tx.OperatorUserMessage, map[string]any{"Name": tghtml.Escape(p.FullName), "Code": tghtml.Escape(p.Code), "Text": tghtml.Escape(text)}), nil)
	return err
}

// copyToGroup copies a user's non-text message to the operators' group
// (into the user's topic in a forum).
func (s *Service) copyToGroup(ctx context.Context, step stepRef, m *telego.Message) error {
	if _, done, err := s.ib.stepDone(ctx, step); err != nil || done {
		return err
	}
	var id *telego.MessageID
	err := s.toGroup(ctx, step.uid, func(thread int) error {
		var err error
		id, err = s.d.Sender.CopyMessage(ctx, &telego.CopyMessageParams{ChatID: telego.ChatID{ID: s.o.OperatorsChatID}, MessageThreadID: thread,
			FromChatID: telego.ChatID{ID: m.Chat.ID}, MessageID: m.MessageID}, telegram.Options{Priority: telegram.PriorityChat})
		return err
	})
	if err != nil {
		if errors.Is(err, telegram.ErrMessageGone) {
			return s.ib.markStep(ctx, step, "gone")
		}
		return err
	}
	if err := s.rememberGroupMessage(ctx, id.MessageID, step.uid); err != nil {
		return err
	}
	return s.ib.markStep(ctx, step, strconv.Itoa(id.MessageID))
}
