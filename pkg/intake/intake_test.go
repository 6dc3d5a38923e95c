package intake_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/intake"
	"marketingbot/pkg/tasks"
	"marketingbot/sim/testutil"
)

const operators = -100500

func TestClassify(t *testing.T) {
	cases := []struct {
		name, update string
		typ          string
		kind         tasks.UpdateKind
		user         int64
	}{
		{"text", `{"update_id":1,"message":{"message_id":1,"from":{"id":7},"chat":{"id":7,"type":"private"},"text":"привет"}}`, tasks.TypeChatMessage, tasks.KindText, 7},
		{"command", `{"update_id":2,"message":{"message_id":1,"from":{"id":7},"chat":{"id":7,"type":"private"},"text":"/start","entities":[{"type":"bot_command","offset":0,"length":6}]}}`, tasks.TypeChatMessage, tasks.KindCommand, 7},
		{"slash without entity is text", `{"update_id":3,"message":{"message_id":1,"from":{"id":7},"chat":{"id":7,"type":"private"},"text":"/ not a command"}}`, tasks.TypeChatMessage, tasks.KindText, 7},
		{"contact", `{"update_id":4,"message":{"message_id":1,"from":{"id":7},"chat":{"id":7,"type":"private"},"contact":{"phone_number":"79991234567","first_name":"A","user_id":7}}}`, tasks.TypeChatMessage, tasks.KindContact, 7},
		{"photo", `{"update_id":5,"message":{"message_id":1,"from":{"id":7},"chat":{"id":7,"type":"private"},"photo":[{"file_id":"x","file_unique_id":"y","width":1,"height":1}]}}`, tasks.TypeChatMessage, tasks.KindMedia, 7},
		{"sticker", `{"update_id":6,"message":{"message_id":1,"from":{"id":7},"chat":{"id":7,"type":"private"},"sticker":{"file_id":"x"}}}`, tasks.TypeChatMessage, tasks.KindMedia, 7},
		{"location", `{"update_id":7,"message":{"message_id":1,"from":{"id":7},"chat":{"id":7,"type":"private"},"location":{"latitude":55.7,"longitude":37.6}}}`, tasks.TypeChatMessage, tasks.KindLocation, 7},
		{"empty message", `{"update_id":8,"message":{"message_id":1,"from":{"id":7},"chat":{"id":7,"type":"private"}}}`, tasks.TypeChatMessage, tasks.KindOther, 7},
		{"edited", `{"update_id":9,"edited_message":{"message_id":1,"from":{"id":7},"chat":{"id":7,"type":"private"},"text":"x","edit_date":5}}`, tasks.TypeChatMessage, tasks.KindEdited, 7},
		{"callback", `{"update_id":10,"callback_query":{"id":"q","from":{"id":7},"message":{"message_id":3,"chat":{"id":7,"type":"private"}},"data":"escalate"}}`, tasks.TypeChatCallback, tasks.KindCallback, 7},
		{"blocked", `{"update_id":11,"my_chat_member":{"chat":{"id":7,"type":"private"},"from":{"id":7},"date":1,"old_chat_member":{"status":"member","user":{"id":1}},"new_chat_member":{"status":"kicked","user":{"id":1},"until_date":0}}}`, tasks.TypeChatMember, tasks.KindMember, 7},
		{"operator group", `{"update_id":12,"message":{"message_id":1,"from":{"id":9},"chat":{"id":-100500,"type":"supergroup"},"text":"ответ"}}`, tasks.TypeOperatorMessage, tasks.KindOperator, 9},
		{"other group", `{"update_id":13,"message":{"message_id":1,"from":{"id":9},"chat":{"id":-5,"type":"group"},"text":"hi"}}`, "", tasks.KindText, 9},
		{"channel post", `{"update_id":14,"channel_post":{"message_id":1,"chat":{"id":-7,"type":"channel"},"text":"x"}}`, "", tasks.KindIgnored, 0},
		{"malformed", `{"update_id":"x"}`, "", tasks.KindMalformed, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			typ, p, _ := intake.Classify([]byte(tc.update), operators)
			if typ != tc.typ || p.Kind != tc.kind || p.UserID != tc.user {
				t.Fatalf("got (%q, %q, user %d), want (%q, %q, user %d)", typ, p.Kind, p.UserID, tc.typ, tc.kind, tc.user)
			}
		})
	}
}

func newIntake(t *testing.T, url string) (*intake.Intake, *asynq.Inspector, *intake.Metrics) {
	t.Helper()
	opt, err := asynq.ParseRedisURI(url)
	if err != nil {
		t.Fatal(err)
	}
	client := asynq.NewClient(opt)
	t.Cleanup(func() { client.Close() })
	insp := asynq.NewInspector(opt)
	t.Cleanup(func() { insp.Close() })
	m := intake.NewMetrics(prometheus.NewRegistry())
	return intake.New(client, nil, operators, time.Hour, m, slog.New(slog.NewTextHandler(io.Discard, nil))), insp, m
}

// pending counts the queue's pending tasks straight from Redis: after a Redis
// restart asynq's client does not re-register the queue name, so the
// Inspector would not see the queue although its tasks are there.
func pending(t *testing.T, rdb *redis.Client, queue string) int {
	t.Helper()
	n, err := rdb.LLen(context.Background(), "asynq:{"+queue+"}:pending").Result()
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

func TestWebhook(t *testing.T) {
	srv0 := testutil.StartRedis(t)
	in, _, _ := newIntake(t, srv0.URL())
	rdb := srv0.Client()
	srv := httptest.NewServer(in.Webhook("s3cret_value"))
	defer srv.Close()

	post := func(secret, body string) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
		if secret != "" {
			req.Header.Set(intake.SecretHeader, secret)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	upd := `{"update_id":100,"message":{"message_id":1,"from":{"id":7},"chat":{"id":7,"type":"private"},"text":"hi"}}`

	t.Run("missing secret", func(t *testing.T) {
		if code := post("", upd); code != http.StatusUnauthorized {
			t.Fatalf("status %d", code)
		}
	})
	t.Run("wrong secret", func(t *testing.T) {
		if code := post("s3cret_valuf", upd); code != http.StatusUnauthorized {
			t.Fatalf("status %d", code)
		}
		if n := pending(t, rdb, tasks.QueueChat); n != 0 {
			t.Fatalf("%d tasks enqueued after refused calls", n)
		}
	})
	t.Run("accepted once", func(t *testing.T) {
		for i := 0; i < 3; i++ { // Telegram may deliver the same update more than once
			if code := post("s3cret_value", upd); code != http.StatusOK {
				t.Fatalf("status %d", code)
			}
		}
		if n := pending(t, rdb, tasks.QueueChat); n != 1 {
			t.Fatalf("%d tasks, want 1", n)
		}
	})
	t.Run("redis down answers 500", func(t *testing.T) {
		srv0.Stop()
		upd2 := strings.Replace(upd, `"update_id":100`, `"update_id":101`, 1)
		if code := post("s3cret_value", upd2); code != http.StatusInternalServerError {
			t.Fatalf("status %d, want 500 so that Telegram retries", code)
		}
		srv0.Start()
		testutil.Eventually(t, 10*time.Second, "webhook accepts again", func() bool { return post("s3cret_value", upd2) == http.StatusOK })
		if n := pending(t, rdb, tasks.QueueChat); n != 1 { // the restarted Redis is empty: only upd2
			t.Fatalf("%d tasks, want 1", n)
		}
	})
	_ = context.Background
}
