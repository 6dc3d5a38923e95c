package intake_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/intake"
	"marketingbot/pkg/tasks"
)

// The webhook against a real asynq client on miniredis: task ids make a
// re-delivered update a duplicate, and a Redis outage answers 500.
func TestWebhook(t *testing.T) {
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), MaxRetries: -1, DialerRetries: 1}) // fail fast while Redis is gone
	defer rdb.Close()
	in, _ := newIntake(asynq.NewClientFromRedisClient(rdb), nil)
	srv := httptest.NewServer(in.Webhook("s3cret_value"))
	defer srv.Close()

	post := func(method, secret, body string) int {
		req, _ := http.NewRequest(method, srv.URL, strings.NewReader(body))
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
	pending := func() int64 { return rdb.LLen(context.Background(), "asynq:{"+tasks.QueueChat+"}:pending").Val() }
	upd := `{"update_id":100,"message":{"message_id":1,"from":{"id":7},"chat":{"id":7,"type":"private"},"text":"hi"}}`

	for _, tc := range []struct {
		name, method, secret, body string
		status                     int
		pending                    int64
	}{
		{"missing secret", http.MethodPost, "", upd, http.StatusUnauthorized, 0},
		{"wrong secret", http.MethodPost, "s3cret_valuf", upd, http.StatusUnauthorized, 0},
		{"not a POST", http.MethodGet, "s3cret_value", "", http.StatusMethodNotAllowed, 0},
		// Retrying cannot fix bad JSON: 200, so that Telegram does not stall behind it.
		{"not JSON", http.MethodPost, "s3cret_value", "{", http.StatusOK, 0},
		{"accepted", http.MethodPost, "s3cret_value", upd, http.StatusOK, 1},
		// Telegram may deliver the same update more than once.
		{"delivered again", http.MethodPost, "s3cret_value", upd, http.StatusOK, 1},
	} {
		if code := post(tc.method, tc.secret, tc.body); code != tc.status || pending() != tc.pending {
			t.Fatalf("%s: status %d with %d tasks; want %d with %d", tc.name, code, pending(), tc.status, tc.pending)
		}
	}

	mr.Close()
	upd2 := strings.Replace(upd, `"update_id":100`, `"update_id":101`, 1)
	if code := post(http.MethodPost, "s3cret_value", upd2); code != http.StatusInternalServerError {
		t.Fatalf("Redis down: status %d, want 500 so that Telegram retries", code)
	}
	if err := mr.Restart(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the webhook accepts again", func() bool { return post(http.MethodPost, "s3cret_value", upd2) == http.StatusOK })
	if n := pending(); n != 2 {
		t.Fatalf("%d tasks, want 2", n)
	}
}

func TestWebhookWithoutSecretRefusesAll(t *testing.T) {
	s := &store{}
	in, _ := newIntake(s.enqueuer(t), nil)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"update_id":1}`))
	in.Webhook("").ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized || len(s.ids()) != 0 {
		t.Fatalf("status %d, %d stored", rec.Code, len(s.ids()))
	}
}
