package systemtest

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"marketingbot/sim/world"
)

// The operators' group as a forum supergroup: a topic per partner, end to
// end through the real clients (telego on the Telegram emulator, the
// Sheets API client on the Sheets emulator), the roles wired as the
// binaries wire them.

const topicsWait = 20 * time.Second

// topicsPartner is the partner name chatAuthorizedData gives the first id.
const topicsPartner = "Партнёров Партнёр1 Иванович · P-0001"

func topicsWorld(t *testing.T, uid int64) *world.Env {
	t.Helper()
	e := world.New(t, world.Options{Data: chatAuthorizedData(uid)})
	e.UseForum()
	e.StartAll()
	e.AddUser(uid, "Партнёр1", "")
	return e
}

// topicsStatus waits until the partner's appeal rows have these statuses.
func topicsStatus(t *testing.T, e *world.Env, uid int64, want ...string) {
	t.Helper()
	chatEventually(t, func() error {
		if got := chatAppealStatus(e, uid); strings.Join(got, ",") != strings.Join(want, ",") {
			return fmt.Errorf("appeal statuses %v, want %v", got, want)
		}
		return nil
	})
}

// escalate → the topic is created (kept in Auth) → the partner's next
// messages appear in it → an operator writes in it (no reply) → the
// partner gets it → /resolve → Решено and the topic closed → escalating
// again reuses and reopens the topic → a topic deleted by hand is made
// again at the next message, once (no loop of creations).
func TestTopicsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	const uid = 9301
	e := topicsWorld(t, uid)

	e.Send(uid, "Позовите оператора, пожалуйста")
	e.WaitBotText(uid, 0, "Передаю ваш вопрос оператору", topicsWait)
	topic := e.WaitTopic(topicsPartner, topicsWait)
	thread := topic.MessageThreadID
	card := e.WaitTopicText(thread, "Новое обращение", topicsWait)
	if !strings.Contains(card.Text, "Позовите оператора") || !strings.Contains(card.Text, "/resolve") {
		t.Fatalf("card in the topic: %q", card.Text)
	}
	topicsStatus(t, e, uid, "В работе")
	chatEventually(t, func() error {
		if got := e.AuthCell(uid, "operators_topic_id"); got != strconv.FormatInt(thread, 10) {
			return fmt.Errorf("Auth operators_topic_id %q, want %d", got, thread)
		}
		return nil
	})

	e.Send(uid, "Уточню: объект в Казани")
	e.WaitTopicText(thread, "Уточню: объект в Казани", topicsWait)

	e.WriteInTopic(thread, "Добрый день! Комиссия в Казани — 2,5 %.")
	e.WaitBotText(uid, 0, "Комиссия в Казани — 2,5 %.", topicsWait)
	e.WaitHistory(uid, topicsWait, func(h string) bool { return strings.Contains(h, "Оператор Ольга Оператор #o") })

	e.WriteInTopic(thread, "/resolve")
	e.WaitBotText(uid, 0, "Обращение закрыто", topicsWait)
	topicsStatus(t, e, uid, "Решено")
	chatEventually(t, func() error {
		if !e.Topic(thread).Closed {
			return fmt.Errorf("topic %d is open after /resolve", thread)
		}
		return nil
	})
	for _, m := range e.TopicMessages(thread) {
		if m.MessageID == card.MessageID && len(m.ReplyMarkup) > 0 {
			t.Fatalf("the card keeps its buttons after /resolve: %s", m.ReplyMarkup)
		}
	}
	e.WaitTopicText(thread, "Решено: Ольга Оператор", topicsWait)
	ratingQuestion(t, e, uid) // issue 18, item 4: rating_flow_test.go goes on from here

	e.Send(uid, "Снова нужен живой человек")
	e.WaitBotText(uid, 0, "Передаю ваш вопрос оператору", topicsWait)
	topicsStatus(t, e, uid, "Решено", "В работе")
	e.WaitTopicText(thread, "Снова нужен живой человек", topicsWait)
	if got := e.Topic(thread); got.Closed || e.TopicsCreated() != 1 {
		t.Fatalf("the second escalation: topic %+v, %d topics created (want the same topic, reopened)", got, e.TopicsCreated())
	}
	topicsDeletedByHand(t, e, uid, thread)
}

// topicsDeletedByHand is the last part of TestTopicsEndToEnd: the topic
// deleted by hand while the partner waits is made again at the partner's
// next message, its id stored, and later messages go there without more
// creations.
func topicsDeletedByHand(t *testing.T, e *world.Env, uid int64, old int64) {
	t.Helper()
	e.ActOnTopic(old, "delete")
	e.Send(uid, "Есть кто-нибудь?")
	var thread int64
	chatEventually(t, func() error {
		for _, tp := range e.Topics() {
			if !tp.Deleted && tp.MessageThreadID != old && tp.Name == topicsPartner {
				thread = tp.MessageThreadID
				return nil
			}
		}
		return fmt.Errorf("no new topic after the old one was deleted: %+v", e.Topics())
	})
	e.WaitTopicText(thread, "Есть кто-нибудь?", topicsWait)
	chatEventually(t, func() error {
		if got := e.AuthCell(uid, "operators_topic_id"); got != strconv.FormatInt(thread, 10) {
			return fmt.Errorf("Auth operators_topic_id %q, want the new topic %d", got, thread)
		}
		return nil
	})
	e.Send(uid, "Жду ответа")
	e.WaitTopicText(thread, "Жду ответа", topicsWait)
	e.WriteInTopic(thread, "Я здесь, отвечаю в новой теме.")
	e.WaitBotText(uid, 0, "Я здесь, отвечаю в новой теме.", topicsWait)
	if n := e.TopicsCreated(); n != 2 {
		t.Fatalf("%d topics created, want 2 (the first and the one made again)", n)
	}
	for _, c := range e.Telegram.Calls("sendMessage") {
		if c.Status != 200 && c.Description != "Bad Request: message thread not found" {
			t.Errorf("unexpected refusal: %s %d %s", c.Method, c.Status, c.Description)
		}
	}
}

// "Решено" typed into the sheet by hand closes the partner's topic at the
// poller's next scan, with a line saying so; the AI answers again.
func TestTopicsResolvedInSheetClosesTopic(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	const uid = 9302
	e := topicsWorld(t, uid)
	e.Send(uid, "/operator")
	e.WaitBotText(uid, 0, "Передаю ваш вопрос оператору", topicsWait)
	thread := e.WaitTopic(topicsPartner, topicsWait).MessageThreadID
	topicsStatus(t, e, uid, "В работе")

	e.WriteCell("Обращения", 5, 2, "Решено") // Статус of the partner's row, as a person types it
	e.WaitTopicText(thread, "закрыто в таблице", topicsWait)
	chatEventually(t, func() error {
		if !e.Topic(thread).Closed {
			return fmt.Errorf("topic %d is open after Решено in the sheet", thread)
		}
		return nil
	})
	ratingQuestion(t, e, uid) // Решено by hand is a resolution too
	e.Send(uid, "Какая комиссия?")
	msgs := e.WaitBotMessages(uid, 3, topicsWait)
	if !strings.Contains(strings.ToLower(msgs[len(msgs)-1].Text), "комисс") {
		t.Fatalf("the AI did not answer: %q", msgs[len(msgs)-1].Text)
	}
}
