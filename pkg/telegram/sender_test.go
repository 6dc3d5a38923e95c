package telegram_test

import (
	"context"
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
	dto "github.com/prometheus/client_model/go"

	"marketingbot/pkg/telegram"
)

const testToken = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ012345678"

// Canned Bot API answers.
const (
	okMessage   = `{"ok":true,"result":{"message_id":1,"date":0,"chat":{"id":7,"type":"private"}}}`
	flood1s     = `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 1","parameters":{"retry_after":1}}`
	blocked     = `{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}`
	badEntities = `{"ok":false,"error_code":400,"description":"Bad Request: can't parse entities: Unsupported start tag \"x\" at byte offset 0"}`
	chatMissing = `{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}`
	notModified = `{"ok":false,"error_code":400,"description":"Bad Request: message is not modified: specified new message content and reply markup are exactly the same"}`
	editGone    = `{"ok":false,"error_code":400,"description":"Bad Request: message to edit not found"}`
	apiError500 = `{"ok":false,"error_code":500,"description":"Internal Server Error"}`
	badGateway  = "HTTP 502" // a bare 502 from a proxy, not Telegram's JSON
)

// fakeBotAPI answers Bot API calls from a script, one answer per request;
// the last answer repeats.
type fakeBotAPI struct {
	mu      sync.Mutex
	answers []string
	calls   []time.Time
}

func (f *fakeBotAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	n := len(f.calls)
	f.calls = append(f.calls, time.Now())
	a := f.answers[min(n, len(f.answers)-1)]
	f.mu.Unlock()
	if a == badGateway {
		http.Error(w, "bad gateway", http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, a)
}

func (f *fakeBotAPI) requests() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.calls...)
}

type senderFixture struct {
	api    *fakeBotAPI
	sender *telegram.Sender
	reg    *prometheus.Registry
}

// newSender builds a Sender without a limiter against a fake Bot API
// answering answers in turn.
func newSender(t *testing.T, answers ...string) senderFixture {
	t.Helper()
	api := &fakeBotAPI{answers: answers}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	bot, err := telegram.NewBot(telegram.BotOptions{Token: testToken, APIURL: srv.URL + "/", RequestTimeout: 5 * time.Second}, log)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	s := telegram.NewSender(bot, nil, reg, log)
	telegram.SetFirstBackoff(s, 10*time.Millisecond)
	return senderFixture{api: api, sender: s, reg: reg}
}

func send(ctx context.Context, s *telegram.Sender, o telegram.Options) error {
	_, err := s.SendMessage(ctx, &telego.SendMessageParams{ChatID: telego.ChatID{ID: 7}, Text: "привет"}, o)
	return err
}

// callsTotal reads marketingbot_telegram_calls_total{method, result}.
func callsTotal(t *testing.T, reg *prometheus.Registry, method, result string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "marketingbot_telegram_calls_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label(m, "method") == method && label(m, "result") == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// Permanent answers are classified and never retried.
func TestSenderPermanentErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, answer string
		want         error
		result       string // calls_total result label
	}{
		{"blocked", blocked, telegram.ErrBlocked, "blocked"},
		{"bad entities", badEntities, telegram.ErrBadEntities, "bad_entities"},
		{"chat not found", chatMissing, telegram.ErrChatNotFound, "chat_not_found"},
		{"not modified", notModified, telegram.ErrNotModified, "not_modified"},
		{"message gone", editGone, telegram.ErrMessageGone, "error"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newSender(t, tc.answer, okMessage)
			err := send(context.Background(), f.sender, telegram.Options{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
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

func TestSenderTransientErrors(t *testing.T) {
	t.Parallel()
	t.Run("retried until success", func(t *testing.T) {
		f := newSender(t, badGateway, apiError500, okMessage)
		if err := send(context.Background(), f.sender, telegram.Options{}); err != nil {
			t.Fatal(err)
		}
		reqs := f.api.requests()
		if len(reqs) != 3 {
			t.Fatalf("%d requests, want 3", len(reqs))
		}
		// Backoff 10 ms, then 20 ms (the test's first backoff; 200 ms in production).
		if gap := reqs[2].Sub(reqs[1]); gap < 20*time.Millisecond {
			t.Fatalf("second retry after %s, want the doubled backoff", gap)
		}
	})
	t.Run("at most five requests", func(t *testing.T) {
		f := newSender(t, badGateway)
		if err := send(context.Background(), f.sender, telegram.Options{}); err == nil {
			t.Fatal("no error after a persistent 502")
		}
		if n := len(f.api.requests()); n != 5 {
			t.Fatalf("%d requests, want 5", n)
		}
		if got := callsTotal(t, f.reg, "sendMessage", "error"); got != 5 {
			t.Fatalf("calls_total{result=error} = %v, want 5", got)
		}
	})
}

func TestSenderFloodControl(t *testing.T) {
	t.Parallel()
	t.Run("waits retry_after then succeeds", func(t *testing.T) {
		f := newSender(t, flood1s, okMessage)
		if err := send(context.Background(), f.sender, telegram.Options{}); err != nil {
			t.Fatal(err)
		}
		reqs := f.api.requests()
		if len(reqs) != 2 {
			t.Fatalf("%d requests, want 2", len(reqs))
		}
		if gap := reqs[1].Sub(reqs[0]); gap < time.Second {
			t.Fatalf("retried after %s, before Telegram's retry_after of 1s", gap)
		}
		if callsTotal(t, f.reg, "sendMessage", "flood") != 1 || callsTotal(t, f.reg, "sendMessage", "ok") != 1 {
			t.Fatal("calls_total does not show one flood and one ok")
		}
	})
	t.Run("retry_after beyond MaxWait", func(t *testing.T) {
		f := newSender(t, flood1s, okMessage)
		err := send(context.Background(), f.sender, telegram.Options{MaxWait: 500 * time.Millisecond})
		var flood *telegram.FloodError
		if !errors.As(err, &flood) || flood.RetryAfter != time.Second {
			t.Fatalf("err = %v, want a FloodError of 1s", err)
		}
		if n := len(f.api.requests()); n != 1 {
			t.Fatalf("%d requests, want 1", n)
		}
	})
	t.Run("retry_after beyond the caller's deadline", func(t *testing.T) {
		f := newSender(t, flood1s, okMessage)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		err := send(ctx, f.sender, telegram.Options{})
		var flood *telegram.FloodError
		if !errors.As(err, &flood) {
			t.Fatalf("err = %v, want the FloodError (what Telegram answered), not the deadline", err)
		}
		if n := len(f.api.requests()); n != 1 {
			t.Fatalf("%d requests, want 1", n)
		}
	})
}

func TestSenderFence(t *testing.T) {
	t.Parallel()
	t.Run("asked before every request", func(t *testing.T) {
		f := newSender(t, badGateway, okMessage)
		var fenced []int // requests made when the fence was asked
		ctx := telegram.WithFence(context.Background(), func(context.Context) error {
			fenced = append(fenced, len(f.api.requests()))
			return nil
		})
		if err := send(ctx, f.sender, telegram.Options{}); err != nil {
			t.Fatal(err)
		}
		if len(fenced) != 2 || fenced[0] != 0 || fenced[1] != 1 {
			t.Fatalf("fence asked with %v requests made, want before each of 2", fenced)
		}
	})
	t.Run("stops the call", func(t *testing.T) {
		f := newSender(t, okMessage)
		lost := errors.New("lease lost")
		asked := 0
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		ctx = telegram.WithFence(ctx, func(context.Context) error { asked++; return lost })
		if err := send(ctx, f.sender, telegram.Options{}); !errors.Is(err, lost) {
			t.Fatalf("err = %v, want the fence's", err)
		}
		if n := len(f.api.requests()); n != 0 || asked != 1 {
			t.Fatalf("%d requests, fence asked %d times; want 0 and 1 (a fence's no is final)", n, asked)
		}
	})
}

// The limiter comes before the request: a slot further away than MaxWait
// ends the call with a FloodError and no request.
func TestSenderLimiterMaxWait(t *testing.T) {
	t.Parallel()
	f := newSender(t, okMessage)
	l, _, _ := newLimiter(t) // frozen clock
	f.sender.Limiter = l
	for i := 0; i < 3; i++ { // the chat's burst
		if err := send(context.Background(), f.sender, telegram.Options{}); err != nil {
			t.Fatal(err)
		}
	}
	// A deadline shorter than the 1-s verdict: a call that waited it out
	// would still be waiting when the deadline came.
	ctx, cancel := context.WithTimeout(context.Background(), 900*time.Millisecond)
	defer cancel()
	err := send(ctx, f.sender, telegram.Options{Priority: telegram.PriorityBroadcast, MaxWait: 200 * time.Millisecond})
	var flood *telegram.FloodError
	if !errors.As(err, &flood) || flood.RetryAfter < 900*time.Millisecond {
		t.Fatalf("err = %v, want a FloodError of about 1s", err)
	}
	if ctx.Err() != nil {
		t.Fatal("the call lasted until its deadline: the limiter's verdict was waited out instead of returned")
	}
	if n := len(f.api.requests()); n != 3 {
		t.Fatalf("%d requests, want the 3 the limiter allowed", n)
	}
}

// Errors never carry the bot token (net/http puts the URL into them).
func TestBotRedactsToken(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	bot, err := telegram.NewBot(telegram.BotOptions{Token: testToken, APIURL: "http://127.0.0.1:1", RequestTimeout: time.Second}, log)
	if err != nil {
		t.Fatal(err)
	}
	_, err = bot.GetMe(context.Background())
	if err == nil || strings.Contains(err.Error(), testToken) {
		t.Fatalf("err = %v", err)
	}
}

// A request that left is waited for when the caller's context ends
// meanwhile (a worker shutting down): Telegram may already have sent the
// message, and only its answer lets the caller record that; aborting would
// send it a second time when the task runs again.
func TestSenderWaitsForARequestThatLeft(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cancel() // the worker shuts down while Telegram handles the request
		select {
		case <-r.Context().Done():
			return // the client gave up on a request Telegram acted on
		case <-time.After(300 * time.Millisecond):
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, okMessage)
	}))
	defer srv.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	bot, err := telegram.NewBot(telegram.BotOptions{Token: testToken, APIURL: srv.URL + "/", RequestTimeout: 5 * time.Second}, log)
	if err != nil {
		t.Fatal(err)
	}
	s := telegram.NewSender(bot, nil, prometheus.NewRegistry(), log)
	m, err := s.SendMessage(ctx, &telego.SendMessageParams{ChatID: telego.ChatID{ID: 7}, Text: "привет"}, telegram.Options{})
	if err != nil || m == nil || m.MessageID != 1 {
		t.Fatalf("SendMessage = %v, %v; want message 1 (the answer to the request that left)", m, err)
	}
}
