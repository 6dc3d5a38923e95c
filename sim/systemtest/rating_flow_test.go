package systemtest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tgemu "marketingbot/sim/emulator/telegram"
	"marketingbot/sim/world"
)

// The partner's rating after a resolution (issue 18, item 4), end to end
// through the real clients: the question after Решено, a press, the
// rating in its own column of the appeal row, a low rating to the
// operators, the comment in its own column.

// ratingCell is the header's cell of uid's first appeal row.
func ratingCell(t *testing.T, e *world.Env, uid int64, header string) string {
	t.Helper()
	rows := e.Sheet("Обращения")
	col := -1
	for i, h := range rows[0] {
		if strings.TrimSpace(fmt.Sprint(h)) == header {
			col = i
		}
	}
	if col < 0 {
		t.Fatalf("Обращения has no %q header: %v", header, rows[0])
	}
	r := chatAppealRows(e, uid)
	if len(r) == 0 {
		return ""
	}
	return world.Cell(r, 0, col)
}

func waitRatingCell(t *testing.T, e *world.Env, uid int64, header, want string) {
	t.Helper()
	chatEventually(t, func() error {
		if got := ratingCell(t, e, uid, header); got != want {
			return fmt.Errorf("%s = %q, want %q", header, got, want)
		}
		return nil
	})
}

// ratingQuestion waits for the rating question in the partner's chat and
// returns it.
func ratingQuestion(t *testing.T, e *world.Env, uid int64) tgemu.TranscriptMessage {
	t.Helper()
	e.WaitBotText(uid, 0, "Оцените, пожалуйста", topicsWait)
	var qs []tgemu.TranscriptMessage
	for _, m := range e.BotMessages(uid) {
		if strings.Contains(m.Text, "Оцените, пожалуйста") || strings.Contains(m.Text, "Ваша оценка") {
			qs = append(qs, m)
		}
	}
	if len(qs) != 1 {
		t.Fatalf("%d rating questions", len(qs))
	}
	return qs[0]
}

// pressRating presses the button whose data starts with "rate:" and ends
// with suffix under message m.
func pressRating(t *testing.T, e *world.Env, uid int64, m tgemu.TranscriptMessage, suffix string) {
	t.Helper()
	var data string
	chatEventually(t, func() error {
		for _, msg := range e.BotMessages(uid) {
			if msg.MessageID == m.MessageID && strings.Contains(string(msg.ReplyMarkup), suffix+`"`) {
				data = chatCallbackData(t, msg.ReplyMarkup, "rate:")
				data = data[:strings.LastIndex(data, ":")+1] + suffix
				return nil
			}
		}
		return fmt.Errorf("no button %q under the rating question", suffix)
	})
	if _, err := e.Telegram.Press(uid, 0, m.MessageID, data); err != nil {
		t.Fatal(err)
	}
}

// A forum group: escalate → topic → the operator writes there → the
// partner gets it → /resolve → Решено, topic closed → the question → a 2
// → Оценка 2, a notice in the topic (closed again) → "add a comment" →
// the partner's text in Комментарий к оценке, and to the topic.
func TestRatingForumEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	const uid = 9311
	e := topicsWorld(t, uid)
	e.Send(uid, "Позовите оператора, пожалуйста")
	thread := e.WaitTopic(topicsPartner, topicsWait).MessageThreadID
	e.WaitTopicText(thread, "Новое обращение", topicsWait)
	e.WriteInTopic(thread, "Добрый день! Смотрю ваш вопрос.")
	e.WaitBotText(uid, 0, "Смотрю ваш вопрос.", topicsWait)
	e.WriteInTopic(thread, "/resolve")
	e.WaitBotText(uid, 0, "Обращение закрыто", topicsWait)
	topicsStatus(t, e, uid, "Решено")
	q := ratingQuestion(t, e, uid) // asked after resolved_at is stamped
	for _, h := range []string{"escalated_at", "first_response_at", "resolved_at"} {
		if ratingCell(t, e, uid, h) == "" {
			t.Fatalf("%s not stamped", h)
		}
	}
	chatEventually(t, func() error {
		if !e.Topic(thread).Closed {
			return fmt.Errorf("topic %d is open after /resolve", thread)
		}
		return nil
	})

	pressRating(t, e, uid, q, "2")
	waitRatingCell(t, e, uid, "Оценка", "2")
	e.WaitTopicText(thread, "Низкая оценка: 2 из 5", topicsWait)
	chatEventually(t, func() error {
		if !e.Topic(thread).Closed {
			return fmt.Errorf("topic %d left open after the low-rating notice", thread)
		}
		return nil
	})
	pressRating(t, e, uid, q, "c")
	e.WaitBotText(uid, 0, "Напишите комментарий", topicsWait)
	e.Send(uid, "Ответили не сразу")
	e.WaitBotText(uid, 0, "комментарий записан", topicsWait)
	waitRatingCell(t, e, uid, "Комментарий к оценке", "Ответили не сразу")
	e.WaitTopicText(thread, "Ответили не сразу", topicsWait)
	if got := ratingCell(t, e, uid, "Оценка"); got != "2" {
		t.Fatalf("Оценка %q after the comment", got)
	}
	if n := len(chatAppealRows(e, uid)); n != 1 {
		t.Fatalf("%d appeal rows: the comment opened an appeal", n)
	}
}

// A flat group: Решено on the card → the question → a 1 → Оценка 1 and a
// notice replying to the card.
func TestRatingFlatGroupEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	const uid = 9312
	e := world.New(t, world.Options{Data: chatAuthorizedData(uid)})
	e.StartAll()
	e.AddUser(uid, "Партнёр1", "")
	e.Send(uid, "/operator")
	card := chatWaitGroup(t, e, 1)[0]
	resolve := chatCallbackData(t, card.ReplyMarkup, "op:res:")
	if _, err := e.Telegram.Press(e.Operator.ID, e.OperatorsChat, card.MessageID, resolve); err != nil {
		t.Fatal(err)
	}
	e.WaitBotText(uid, 0, "Обращение закрыто", chatWait)
	q := ratingQuestion(t, e, uid)
	pressRating(t, e, uid, q, "1")
	waitRatingCell(t, e, uid, "Оценка", "1")
	var notice tgemu.TranscriptMessage
	chatEventually(t, func() error {
		for _, m := range chatGroupMessages(t, e) {
			if strings.Contains(m.Text, "Низкая оценка: 1 из 5") {
				notice = m
				return nil
			}
		}
		return fmt.Errorf("no low-rating notice in the group")
	})
	if notice.ReplyToMessageID != card.MessageID {
		t.Fatalf("the notice replies to %d, want the card %d", notice.ReplyToMessageID, card.MessageID)
	}
	e.WaitBotText(uid, 0, "Ваша оценка: 1 из 5", time.Second*5)
}
