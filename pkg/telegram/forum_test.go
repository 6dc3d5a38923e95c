package telegram_test

import (
	"context"
	"errors"
	"testing"

	"github.com/mymmrac/telego"

	"marketingbot/pkg/telegram"
)

// Telegram's answers about forum topics are classified, permanent and never
// retried: a caller reopens a closed topic or recreates a deleted one
// instead of sending the same request again.
func TestSenderTopicErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, answer string
		want         error
		result       string
	}{
		{"thread not found", `{"ok":false,"error_code":400,"description":"Bad Request: message thread not found"}`, telegram.ErrTopicGone, "topic_gone"},
		{"topic id invalid", `{"ok":false,"error_code":400,"description":"Bad Request: TOPIC_ID_INVALID"}`, telegram.ErrTopicGone, "topic_gone"},
		{"topic deleted", `{"ok":false,"error_code":400,"description":"Bad Request: TOPIC_DELETED"}`, telegram.ErrTopicGone, "topic_gone"},
		{"topic closed", `{"ok":false,"error_code":400,"description":"Bad Request: TOPIC_CLOSED"}`, telegram.ErrTopicClosed, "topic_closed"},
		{"not modified", `{"ok":false,"error_code":400,"description":"Bad Request: TOPIC_NOT_MODIFIED"}`, telegram.ErrTopicNotModified, "topic_not_modified"},
		{"not a forum", `{"ok":false,"error_code":400,"description":"Bad Request: the chat is not a forum"}`, telegram.ErrNotForum, "not_forum"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newSender(t, tc.answer, okMessage)
			err := send(context.Background(), f.sender, telegram.Options{})
			if !errors.Is(err, tc.want) || !telegram.Permanent(err) {
				t.Fatalf("err = %v, want %v (permanent)", err, tc.want)
			}
			if errors.Is(err, telegram.ErrRejected) || errors.Is(err, telegram.ErrChatNotFound) {
				t.Fatalf("err = %v also matches a generic class", err)
			}
			if n := len(f.api.requests()); n != 1 {
				t.Fatalf("%d requests, want 1 (no retry)", n)
			}
			if got := callsTotal(t, f.reg, "sendMessage", tc.result); got != 1 {
				t.Fatalf("calls_total{result=%q} = %v, want 1", tc.result, got)
			}
		})
	}
}

func TestSenderForumCalls(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newSender(t,
		`{"ok":true,"result":{"id":-100,"type":"supergroup","title":"Ops","is_forum":true,"accent_color_id":0,"max_reaction_count":11}}`,
		`{"ok":true,"result":{"message_thread_id":42,"name":"Анна · P-1","icon_color":7322096}}`,
		`{"ok":true,"result":true}`,
		`{"ok":false,"error_code":400,"description":"Bad Request: TOPIC_NOT_MODIFIED"}`,
	)
	info, err := f.sender.GetChat(ctx, -100)
	if err != nil || !info.IsForum {
		t.Fatalf("getChat: %+v, %v", info, err)
	}
	topic, err := f.sender.CreateForumTopic(ctx, &telego.CreateForumTopicParams{ChatID: telego.ChatID{ID: -100}, Name: "Анна · P-1"}, telegram.Options{})
	if err != nil || topic.MessageThreadID != 42 {
		t.Fatalf("createForumTopic: %+v, %v", topic, err)
	}
	if err := f.sender.CloseForumTopic(ctx, &telego.CloseForumTopicParams{ChatID: telego.ChatID{ID: -100}, MessageThreadID: 42}); err != nil {
		t.Fatal(err)
	}
	err = f.sender.ReopenForumTopic(ctx, &telego.ReopenForumTopicParams{ChatID: telego.ChatID{ID: -100}, MessageThreadID: 42})
	if !errors.Is(err, telegram.ErrTopicNotModified) {
		t.Fatalf("reopen an open topic: %v", err)
	}
	for method, want := range map[string]string{"getChat": "ok", "createForumTopic": "ok", "closeForumTopic": "ok", "reopenForumTopic": "topic_not_modified"} {
		if got := callsTotal(t, f.reg, method, want); got != 1 {
			t.Errorf("calls_total{%s,%s} = %v, want 1", method, want, got)
		}
	}
}
