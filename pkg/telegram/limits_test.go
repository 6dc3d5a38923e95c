package telegram_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mymmrac/telego"
	"github.com/prometheus/client_golang/prometheus"

	"marketingbot/pkg/telegram"
)

// Telegram's permanent 400s are classified and never retried: too long (a
// text, a caption, a callback notification), or any other.
func TestSenderClassifiesPermanent400(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, answer string
		want         error
		result       string
	}{
		{"text too long", `{"ok":false,"error_code":400,"description":"Bad Request: message is too long"}`, telegram.ErrTooLong, "too_long"},
		{"caption too long", `{"ok":false,"error_code":400,"description":"Bad Request: message caption is too long"}`, telegram.ErrTooLong, "too_long"},
		{"notification too long", `{"ok":false,"error_code":400,"description":"Bad Request: MESSAGE_TOO_LONG"}`, telegram.ErrTooLong, "too_long"},
		{"other 400", `{"ok":false,"error_code":400,"description":"Bad Request: not enough rights to send text messages to the chat"}`, telegram.ErrRejected, "rejected"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newSender(t, tc.answer, okMessage)
			err := send(context.Background(), f.sender, telegram.Options{})
			if !errors.Is(err, tc.want) || !telegram.Permanent(err) {
				t.Fatalf("err = %v, want permanent %v", err, tc.want)
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

// bodyRecorder is a Bot API that answers true and keeps the requests' JSON.
type bodyRecorder struct {
	mu     sync.Mutex
	bodies []map[string]any
}

func (b *bodyRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var m map[string]any
	_ = json.NewDecoder(r.Body).Decode(&m)
	b.mu.Lock()
	b.bodies = append(b.bodies, m)
	b.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"ok":true,"result":true}`)
}

// A callback notification is fitted to 200 characters before it leaves.
func TestAnswerCallbackQueryFitsTheLimit(t *testing.T) {
	t.Parallel()
	rec := &bodyRecorder{}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	bot, err := telegram.NewBot(telegram.BotOptions{Token: testToken, APIURL: srv.URL, RequestTimeout: 5 * time.Second}, log)
	if err != nil {
		t.Fatal(err)
	}
	s := telegram.NewSender(bot, nil, prometheus.NewRegistry(), log)
	exact := strings.Repeat("ж", 198) + "😀" // 200 units
	long := strings.Repeat("Нажатие кнопки 😀 ", 30)
	for _, text := range []string{exact, long} {
		if err := s.AnswerCallbackQuery(context.Background(), &telego.AnswerCallbackQueryParams{CallbackQueryID: "q", Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	got0, _ := rec.bodies[0]["text"].(string)
	got1, _ := rec.bodies[1]["text"].(string)
	if got0 != exact {
		t.Fatalf("a text of exactly 200 units was changed: %q", got0)
	}
	if u16(got1) > 200 || !strings.HasSuffix(got1, "…") || !strings.HasPrefix(long, strings.TrimSuffix(got1, "…")) {
		t.Fatalf("sent %d units %q, want the beginning within 200 and a marker", u16(got1), got1)
	}
}
