package telegram_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/mymmrac/telego"
	tu "github.com/mymmrac/telego/telegoutil"

	"marketingbot/sim/emulator/telegram"
)

const forumID = -1001500000001

// forum starts an emulator with a forum supergroup, a flat group and a
// person (an operator) in them.
func forum(t *testing.T) *emulator {
	t.Helper()
	e := start(t, telegram.Options{})
	if _, err := e.srv.PutGroup(telegram.Group{ID: forumID, Title: "Операторы", IsForum: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.srv.PutGroup(telegram.Group{ID: -4001, Title: "Flat"}); err != nil {
		t.Fatal(err)
	}
	e.addUser(t, 7001, "Olga")
	return e
}

// wantAPIError requires err to be Telegram's 400 with that description.
func wantAPIError(t *testing.T, err error, description string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), `"Bad Request: `+description+`"`) {
		t.Fatalf("err = %v, want 400 %q", err, description)
	}
}

func TestForumGetChat(t *testing.T) {
	e := forum(t)
	ctx := ctxT(t)
	info, err := e.bot.GetChat(ctx, &telego.GetChatParams{ChatID: tu.ID(forumID)})
	if err != nil || !info.IsForum || info.Type != "supergroup" || info.Title != "Операторы" {
		t.Fatalf("getChat(forum) = %+v, %v", info, err)
	}
	info, err = e.bot.GetChat(ctx, &telego.GetChatParams{ChatID: tu.ID(-4001)})
	if err != nil || info.IsForum || info.Type != "group" {
		t.Fatalf("getChat(flat) = %+v, %v", info, err)
	}
	_, err = e.bot.GetChat(ctx, &telego.GetChatParams{ChatID: tu.ID(-999)})
	wantAPIError(t, err, "chat not found")
}

func TestForumCreateTopic(t *testing.T) {
	e := forum(t)
	ctx := ctxT(t)
	_, err := e.bot.CreateForumTopic(ctx, &telego.CreateForumTopicParams{ChatID: tu.ID(-4001), Name: "x"})
	wantAPIError(t, err, "the chat is not a forum")
	_, err = e.bot.CreateForumTopic(ctx, &telego.CreateForumTopicParams{ChatID: tu.ID(forumID), Name: " "})
	wantAPIError(t, err, "TOPIC_TITLE_EMPTY")
	_, err = e.bot.CreateForumTopic(ctx, &telego.CreateForumTopicParams{ChatID: tu.ID(forumID), Name: strings.Repeat("я", 129)})
	wantAPIError(t, err, "TOPIC_TITLE_TOO_LONG")

	topic, err := e.bot.CreateForumTopic(ctx, &telego.CreateForumTopicParams{ChatID: tu.ID(forumID), Name: strings.Repeat("я", 128)})
	if err != nil {
		t.Fatal(err)
	}
	if topic.MessageThreadID <= 1 || topic.IconColor == 0 {
		t.Fatalf("topic = %+v: want a thread id past General (1) and an icon colour", topic)
	}
	tr, err := e.srv.TopicTranscript(forumID, int64(topic.MessageThreadID), 0)
	if err != nil || len(tr.Messages) != 1 {
		t.Fatalf("topic transcript = %+v, %v", tr, err)
	}
	if m := tr.Messages[0]; m.Kind != "forum_topic_created" || m.MessageID != int64(topic.MessageThreadID) || !m.FromBot {
		t.Fatalf("service message = %+v: want forum_topic_created with the thread's id, from the bot", m)
	}
	topics, err := e.srv.Topics(forumID)
	if err != nil || len(topics) != 1 || topics[0].Name != topic.Name || topics[0].Closed {
		t.Fatalf("Topics = %+v, %v", topics, err)
	}
}

// Sends into a topic, and Telegram's answers for a closed, deleted or
// unknown one.
func TestForumSendsAndTopicErrors(t *testing.T) {
	e := forum(t)
	ctx := ctxT(t)
	topic, err := e.bot.CreateForumTopic(ctx, &telego.CreateForumTopicParams{ChatID: tu.ID(forumID), Name: "Анна · P-1"})
	if err != nil {
		t.Fatal(err)
	}
	thread := topic.MessageThreadID
	m, err := e.bot.SendMessage(ctx, tu.Message(tu.ID(forumID), "карточка").WithMessageThreadID(thread))
	if err != nil {
		t.Fatal(err)
	}
	if !m.IsTopicMessage || m.MessageThreadID != thread || m.ReplyToMessage == nil || m.ReplyToMessage.ForumTopicCreated == nil {
		t.Fatalf("message in topic = %+v: want is_topic_message, the thread, and the creation message as reply_to_message", m)
	}
	// A reply without message_thread_id lands in the replied-to message's topic.
	r, err := e.bot.SendMessage(ctx, tu.Message(tu.ID(forumID), "ответ").WithReplyParameters(&telego.ReplyParameters{MessageID: m.MessageID}))
	if err != nil || r.MessageThreadID != thread || r.ReplyToMessage == nil || r.ReplyToMessage.MessageID != m.MessageID {
		t.Fatalf("reply = %+v, %v", r, err)
	}
	// General: no thread; thread 1 is no topic a bot may name.
	if g, err := e.bot.SendMessage(ctx, tu.Message(tu.ID(forumID), "general")); err != nil || g.IsTopicMessage || g.MessageThreadID != 0 {
		t.Fatalf("General = %+v, %v", g, err)
	}
	_, err = e.bot.SendMessage(ctx, tu.Message(tu.ID(forumID), "x").WithMessageThreadID(1))
	wantAPIError(t, err, "message thread not found")
	e.addUser(t, 1001, "Anna")
	src, err := e.srv.SendText(1001, "вопрос партнёра")
	if err != nil {
		t.Fatal(err)
	}
	copied, err := e.bot.CopyMessage(ctx, &telego.CopyMessageParams{ChatID: tu.ID(forumID), FromChatID: tu.ID(1001), MessageID: int(src.MessageID), MessageThreadID: thread})
	if err != nil {
		t.Fatal(err)
	}

	close := &telego.CloseForumTopicParams{ChatID: tu.ID(forumID), MessageThreadID: thread}
	if err := e.bot.CloseForumTopic(ctx, close); err != nil {
		t.Fatal(err)
	}
	wantAPIError(t, e.bot.CloseForumTopic(ctx, close), "TOPIC_NOT_MODIFIED")
	_, err = e.bot.SendMessage(ctx, tu.Message(tu.ID(forumID), "x").WithMessageThreadID(thread))
	wantAPIError(t, err, "TOPIC_CLOSED")
	_, err = e.bot.SendDocument(ctx, tu.Document(tu.ID(forumID), tu.FileFromBytes([]byte("%PDF"), "a.pdf")).WithMessageThreadID(thread))
	wantAPIError(t, err, "TOPIC_CLOSED")
	reopen := &telego.ReopenForumTopicParams{ChatID: tu.ID(forumID), MessageThreadID: thread}
	if err := e.bot.ReopenForumTopic(ctx, reopen); err != nil {
		t.Fatal(err)
	}
	wantAPIError(t, e.bot.ReopenForumTopic(ctx, reopen), "TOPIC_NOT_MODIFIED")
	if err := e.bot.EditForumTopic(ctx, &telego.EditForumTopicParams{ChatID: tu.ID(forumID), MessageThreadID: thread, Name: "Анна Петрова · P-1"}); err != nil {
		t.Fatal(err)
	}
	wantAPIError(t, e.bot.EditForumTopic(ctx, &telego.EditForumTopicParams{ChatID: tu.ID(forumID), MessageThreadID: thread, Name: "Анна Петрова · P-1"}), "TOPIC_NOT_MODIFIED")

	if err := e.bot.DeleteForumTopic(ctx, &telego.DeleteForumTopicParams{ChatID: tu.ID(forumID), MessageThreadID: thread}); err != nil {
		t.Fatal(err)
	}
	_, err = e.bot.SendMessage(ctx, tu.Message(tu.ID(forumID), "x").WithMessageThreadID(thread))
	wantAPIError(t, err, "message thread not found")
	_, err = e.bot.CopyMessage(ctx, &telego.CopyMessageParams{ChatID: tu.ID(forumID), FromChatID: tu.ID(1001), MessageID: int(src.MessageID), MessageThreadID: thread})
	wantAPIError(t, err, "message thread not found")
	wantAPIError(t, e.bot.ReopenForumTopic(ctx, reopen), "TOPIC_ID_INVALID")
	wantAPIError(t, e.bot.CloseForumTopic(ctx, close), "TOPIC_ID_INVALID")

	tr, err := e.srv.TopicTranscript(forumID, int64(thread), 0)
	if err != nil {
		t.Fatal(err)
	}
	kinds := []string{}
	for _, m := range tr.Messages {
		if !m.Deleted {
			t.Errorf("message %d of a deleted topic is not deleted", m.MessageID)
		}
		kinds = append(kinds, m.Kind)
	}
	want := "forum_topic_created text text text forum_topic_closed forum_topic_reopened forum_topic_edited"
	if got := strings.Join(kinds, " "); got != want || tr.Messages[3].MessageID != int64(copied.MessageID) {
		t.Fatalf("topic transcript kinds %q, want %q (the copy fourth)", got, want)
	}
}

// A person writes in a topic (no reply needed), closes and deletes topics
// by hand; the bot gets the updates Telegram sends.
func TestForumControlAPI(t *testing.T) {
	e := forum(t)
	ctx := ctxT(t)
	topic, err := e.bot.CreateForumTopic(ctx, &telego.CreateForumTopicParams{ChatID: tu.ID(forumID), Name: "Анна · P-1"})
	if err != nil {
		t.Fatal(err)
	}
	thread := int64(topic.MessageThreadID)
	var sent telegram.Sent
	e.mustDo(t, http.MethodPost, "/_emulator/group_send", map[string]any{"chat_id": forumID, "user_id": 7001, "text": "Добрый день!", "message_thread_id": thread}, &sent)
	ups := e.updates(t)
	if len(ups) != 1 || ups[0].Message == nil {
		t.Fatalf("updates = %+v", ups)
	}
	m := ups[0].Message
	if !m.IsTopicMessage || int64(m.MessageThreadID) != thread || m.ReplyToMessage == nil || int64(m.ReplyToMessage.MessageID) != thread || m.Text != "Добрый день!" {
		t.Fatalf("operator's message in the topic = %+v", m)
	}
	if status := e.do(t, http.MethodPost, "/_emulator/group_send", map[string]any{"chat_id": forumID, "user_id": 7001, "text": "x", "message_thread_id": 999}, nil); status != http.StatusNotFound {
		t.Fatalf("group_send to a missing topic: status %d, want 404", status)
	}

	e.mustDo(t, http.MethodPost, "/_emulator/topics", telegram.TopicAction{ChatID: forumID, MessageThreadID: thread, UserID: 7001, Action: "close"}, &sent)
	ups = e.updates(t)
	if len(ups) != 1 || ups[0].Message == nil || ups[0].Message.ForumTopicClosed == nil || ups[0].Message.From.ID != 7001 {
		t.Fatalf("close by hand: updates %+v", ups)
	}
	if status := e.do(t, http.MethodPost, "/_emulator/topics", telegram.TopicAction{ChatID: forumID, MessageThreadID: thread, UserID: 7001, Action: "close"}, nil); status != http.StatusBadRequest {
		t.Fatalf("closing a closed topic: status %d, want 400", status)
	}
	// An admin writes in a closed topic; the bot may not.
	e.mustDo(t, http.MethodPost, "/_emulator/group_send", map[string]any{"chat_id": forumID, "user_id": 7001, "text": "всё ещё здесь", "message_thread_id": thread}, nil)
	_, err = e.bot.SendMessage(ctx, tu.Message(tu.ID(forumID), "x").WithMessageThreadID(int(thread)))
	wantAPIError(t, err, "TOPIC_CLOSED")

	e.mustDo(t, http.MethodPost, "/_emulator/topics", telegram.TopicAction{ChatID: forumID, MessageThreadID: thread, Action: "delete"}, nil)
	var topics []telegram.ForumTopic
	e.mustDo(t, http.MethodGet, "/_emulator/chats/"+strconv.FormatInt(forumID, 10)+"/topics", nil, &topics)
	if len(topics) != 1 || !topics[0].Deleted {
		t.Fatalf("topics = %+v: want the one topic, deleted", topics)
	}
	var tr telegram.Transcript
	e.mustDo(t, http.MethodGet, "/_emulator/chats/"+strconv.FormatInt(forumID, 10)+"?thread="+strconv.FormatInt(thread, 10), nil, &tr)
	if len(tr.Messages) != 4 {
		t.Fatalf("topic transcript has %d messages, want 4: %+v", len(tr.Messages), tr.Messages)
	}
	_, err = e.bot.SendMessage(ctx, tu.Message(tu.ID(forumID), "x").WithMessageThreadID(int(thread)))
	wantAPIError(t, err, "message thread not found")
}

// Topics survive a restart: closed stays closed, deleted stays deleted.
func TestForumTopicsSurviveRestart(t *testing.T) {
	e := forum(t)
	ctx := ctxT(t)
	var threads []int
	for _, name := range []string{"open", "closed", "deleted"} {
		topic, err := e.bot.CreateForumTopic(ctx, &telego.CreateForumTopicParams{ChatID: tu.ID(forumID), Name: name})
		if err != nil {
			t.Fatal(err)
		}
		threads = append(threads, topic.MessageThreadID)
	}
	if err := e.bot.CloseForumTopic(ctx, &telego.CloseForumTopicParams{ChatID: tu.ID(forumID), MessageThreadID: threads[1]}); err != nil {
		t.Fatal(err)
	}
	if err := e.bot.DeleteForumTopic(ctx, &telego.DeleteForumTopicParams{ChatID: tu.ID(forumID), MessageThreadID: threads[2]}); err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(e.srv.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	var st telegram.State
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatal(err)
	}
	b := start(t, telegram.Options{})
	if err := b.srv.Restore(st); err != nil {
		t.Fatal(err)
	}
	if _, err := b.bot.SendMessage(ctx, tu.Message(tu.ID(forumID), "ok").WithMessageThreadID(threads[0])); err != nil {
		t.Fatal(err)
	}
	_, err = b.bot.SendMessage(ctx, tu.Message(tu.ID(forumID), "x").WithMessageThreadID(threads[1]))
	wantAPIError(t, err, "TOPIC_CLOSED")
	_, err = b.bot.SendMessage(ctx, tu.Message(tu.ID(forumID), "x").WithMessageThreadID(threads[2]))
	wantAPIError(t, err, "message thread not found")
	next, err := b.bot.CreateForumTopic(ctx, &telego.CreateForumTopicParams{ChatID: tu.ID(forumID), Name: "next"})
	if err != nil || next.MessageThreadID <= threads[2] {
		t.Fatalf("a topic created after the restart: %+v, %v (want an id past %d)", next, err, threads[2])
	}
}
