package world

import (
	"fmt"
	"strings"
	"time"

	tgemu "marketingbot/sim/emulator/telegram"
)

// The operators' group as a forum supergroup (a topic per partner): turning
// topics on, reading topics and their transcripts, an operator writing in a
// topic, a person closing or deleting one by hand, and the Bot API calls
// that made them.

// UseForum makes the operators' group a forum supergroup (topics on).
// Call it before the roles start (they trust getChat for
// chat.forum_check_interval).
func (e *Env) UseForum() {
	e.T.Helper()
	if _, err := e.Telegram.PutGroup(tgemu.Group{ID: e.OperatorsChat, Title: "Операторы", IsForum: true}); err != nil {
		e.T.Fatal(err)
	}
}

// Topics lists the operators' group's topics (deleted ones too).
func (e *Env) Topics() []tgemu.ForumTopic {
	e.T.Helper()
	ts, err := e.Telegram.Topics(e.OperatorsChat)
	if err != nil {
		e.T.Fatal(err)
	}
	return ts
}

// Topic returns the topic thread, failing the test if there is none.
func (e *Env) Topic(thread int64) tgemu.ForumTopic {
	e.T.Helper()
	for _, t := range e.Topics() {
		if t.MessageThreadID == thread {
			return t
		}
	}
	e.T.Fatalf("no topic %d in the operators' group: %+v", thread, e.Topics())
	return tgemu.ForumTopic{}
}

// WaitTopic waits for a live topic whose name contains name, and returns
// the newest such.
func (e *Env) WaitTopic(name string, timeout time.Duration) tgemu.ForumTopic {
	e.T.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var found *tgemu.ForumTopic
		for _, t := range e.Topics() {
			if !t.Deleted && strings.Contains(t.Name, name) {
				found = &t
			}
		}
		if found != nil {
			return *found
		}
		if time.Now().After(deadline) {
			e.T.Fatalf("no topic named like %q after %s: %+v", name, timeout, e.Topics())
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// TopicMessages is a topic's transcript (its creation message first).
func (e *Env) TopicMessages(thread int64) []tgemu.TranscriptMessage {
	e.T.Helper()
	tr, err := e.Telegram.TopicTranscript(e.OperatorsChat, thread, 0)
	if err != nil {
		e.T.Fatal(err)
	}
	return tr.Messages
}

// WaitTopicText waits until a bot message in the topic contains want, and
// returns it.
func (e *Env) WaitTopicText(thread int64, want string, timeout time.Duration) tgemu.TranscriptMessage {
	e.T.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, m := range e.TopicMessages(thread) {
			if m.FromBot && strings.Contains(m.Text, want) {
				return m
			}
		}
		if time.Now().After(deadline) {
			e.T.Fatalf("topic %d has no bot message with %q after %s:%s", thread, want, timeout, texts(e.TopicMessages(thread)))
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// WriteInTopic is the operator writing in a topic: no reply, as a person
// types into it.
func (e *Env) WriteInTopic(thread int64, text string) tgemu.Sent {
	e.T.Helper()
	s, err := e.Telegram.GroupSend(tgemu.GroupMessage{ChatID: e.OperatorsChat, UserID: e.Operator.ID, Text: text, MessageThreadID: thread})
	if err != nil {
		e.T.Fatal(err)
	}
	return s
}

// ActOnTopic is the operator closing, reopening or deleting a topic by hand.
func (e *Env) ActOnTopic(thread int64, action string) {
	e.T.Helper()
	if _, err := e.Telegram.ActOnTopic(tgemu.TopicAction{ChatID: e.OperatorsChat, MessageThreadID: thread, UserID: e.Operator.ID, Action: action}); err != nil {
		e.T.Fatal(err)
	}
}

// TopicsCreated counts the bot's successful createForumTopic calls.
func (e *Env) TopicsCreated() int {
	n := 0
	for _, c := range e.Telegram.Calls("createForumTopic") {
		if c.Status == 200 {
			n++
		}
	}
	return n
}

// AuthCell returns a cell of uid's Auth row by its header.
func (e *Env) AuthCell(uid int64, header string) string {
	e.T.Helper()
	rows := e.Sheet(e.Titles().Auth)
	idCol, col := -1, -1
	for i, h := range rows[0] {
		switch strings.TrimSpace(fmt.Sprint(h)) {
		case "Telegram ID":
			idCol = i
		case header:
			col = i
		}
	}
	if idCol < 0 || col < 0 {
		e.T.Fatalf("Auth: no Telegram ID or %q header in %v", header, rows[0])
	}
	for _, r := range rows[1:] {
		if Cell([][]any{r}, 0, idCol) == fmt.Sprint(uid) {
			return Cell([][]any{r}, 0, col)
		}
	}
	return ""
}
