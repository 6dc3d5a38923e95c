package ai_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"marketingbot/pkg/ai"
)

// sseScript is one scripted streamGenerateContent answer: an HTTP error
// before the stream, or the events of the stream and how it ends.
type sseScript struct {
	status int    // != 0: answer this status with body instead of a stream
	body   string // the error body
	events []string
	// abort drops the connection after the events (no clean end).
	abort bool
}

// chunk is one "data:" event with text and, when finish is set, the finish reason.
func chunk(text, finish string) string {
	cand := map[string]any{"content": map[string]any{"role": "model", "parts": []any{map[string]any{"text": text}}}, "index": 0}
	if finish != "" {
		cand["finishReason"] = finish
	}
	b, _ := json.Marshal(map[string]any{"candidates": []any{cand}, "usageMetadata": map[string]any{"promptTokenCount": 7, "totalTokenCount": 7}})
	return string(b)
}

// errorEvent is an error sent inside the stream, as Google does after the 200.
func errorEvent(code int, status, message string) string {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"code": code, "status": status, "message": message}})
	return string(b)
}

// fakeStream serves streamGenerateContent?alt=sse from scripts (the last
// repeats) and generateContent with the whole text of a script, so both
// paths can be compared on the same answer.
type fakeStream struct {
	mu       sync.Mutex
	scripts  []sseScript
	requests []string // path?query
}

func (f *fakeStream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	f.mu.Lock()
	sc := f.scripts[min(len(f.requests), len(f.scripts)-1)]
	f.requests = append(f.requests, r.URL.Path+"?"+r.URL.RawQuery)
	f.mu.Unlock()
	if sc.status != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(sc.status)
		_, _ = io.WriteString(w, sc.body)
		return
	}
	if strings.HasSuffix(r.URL.Path, ":generateContent") {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, wholeOf(sc.events))
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	rc := http.NewResponseController(w)
	for _, e := range sc.events {
		fmt.Fprintf(w, "data: %s\r\n\r\n", e)
		_ = rc.Flush()
	}
	if sc.abort {
		panic(http.ErrAbortHandler) // the connection is cut mid-response
	}
}

// wholeOf joins the text of chunk events into one response with the last
// finish reason: what generateContent answers for the same generation.
func wholeOf(events []string) string {
	var text, finish string
	for _, e := range events {
		var r struct {
			Candidates []struct {
				Content struct {
					Parts []struct {
						Text string `json:"text"`
					} `json:"parts"`
				} `json:"content"`
				FinishReason string `json:"finishReason"`
			} `json:"candidates"`
		}
		_ = json.Unmarshal([]byte(e), &r)
		for _, c := range r.Candidates {
			for _, p := range c.Content.Parts {
				text += p.Text
			}
			if c.FinishReason != "" {
				finish = c.FinishReason
			}
		}
	}
	return chunk(text, finish)
}

func (f *fakeStream) got() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

type streamFixture struct {
	srv    *fakeStream
	client *ai.Client
	reg    *prometheus.Registry
}

func newStreamClient(t *testing.T, budget time.Duration, scripts ...sseScript) streamFixture {
	t.Helper()
	f := &fakeStream{scripts: scripts}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	reg := prometheus.NewRegistry()
	c, err := ai.New(context.Background(), ai.Options{APIKey: "test-key", BaseURL: srv.URL, ChatModel: "chat-model",
		Timeout: 2 * time.Second, RetryBudget: budget, Registry: reg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ai.SetFirstBackoff(c, 20*time.Millisecond)
	return streamFixture{srv: f, client: c, reg: reg}
}

// partials records what onText was given.
type partials struct {
	mu  sync.Mutex
	got []ai.Partial
}

func (p *partials) on(x ai.Partial) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.got = append(p.got, x)
}

func (p *partials) texts() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, x := range p.got {
		out = append(out, fmt.Sprintf("%d:%s", x.Attempt, x.Text))
	}
	return out
}

var threeChunks = []string{chunk("Три ", ""), chunk("процента **от", ""), chunk(" сделки**.\n", "STOP")}

func TestGenerateStreamSuccess(t *testing.T) {
	f := newStreamClient(t, time.Second, sseScript{events: threeChunks})
	var p partials
	ans, err := f.client.GenerateStream(context.Background(), hello, p.on)
	if err != nil || ans.Text != "Три процента **от сделки**." || ans.FinishReason != "STOP" || ans.Outcome() != ai.OutcomeComplete {
		t.Fatalf("GenerateStream = %+v, %v", ans, err)
	}
	want := []string{"1:Три ", "1:Три процента **от", "1:Три процента **от сделки**.\n"}
	if got := p.texts(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("partials %q, want %q", got, want)
	}
	reqs := f.srv.got()
	if len(reqs) != 1 || reqs[0] != "/v1beta/models/chat-model:streamGenerateContent?alt=sse" {
		t.Fatalf("requests %q", reqs)
	}
	if got := callsTotal(t, f.reg, "chat-model", "ok"); got != 1 {
		t.Fatalf("calls_total{result=ok} = %v", got)
	}
}

// The streamed answer is the answer Generate gets for the same response,
// outcome included.
func TestGenerateStreamSameAnswerAsGenerate(t *testing.T) {
	cases := map[string][]string{
		"complete":  threeChunks,
		"truncated": {chunk("Первое предложение. Второе", ""), chunk(" обрыва", "MAX_TOKENS")},
		"safety":    {chunk("Начало ответа", ""), chunk("", "SAFETY")},
		"empty":     {chunk("  ", ""), chunk("", "STOP")},
		"one chunk": {chunk("  Да.  ", "STOP")},
	}
	for name, events := range cases {
		t.Run(name, func(t *testing.T) {
			f := newStreamClient(t, time.Second, sseScript{events: events})
			whole, err := f.client.Generate(context.Background(), hello)
			if err != nil {
				t.Fatal(err)
			}
			streamed, err := f.client.GenerateStream(context.Background(), hello, nil)
			if err != nil {
				t.Fatal(err)
			}
			if streamed != whole {
				t.Fatalf("streamed %+v, generated %+v", streamed, whole)
			}
			if n := len(f.srv.got()); n != 2 {
				t.Fatalf("%d requests, want one of each: an outcome is never retried", n)
			}
		})
	}
}

func TestGenerateStreamBlockedPrompt(t *testing.T) {
	blocked := `{"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":3,"totalTokenCount":3}}`
	f := newStreamClient(t, time.Second, sseScript{events: []string{blocked}})
	var p partials
	ans, err := f.client.GenerateStream(context.Background(), hello, p.on)
	if err != nil || ans.Outcome() != ai.OutcomeBlocked || ans.BlockReason != "SAFETY" || len(p.got) != 0 {
		t.Fatalf("GenerateStream = %+v, %v; partials %q", ans, err, p.texts())
	}
}

// A stream that breaks off after some text is made again from the start,
// within the budget; the Answer is the new attempt's alone.
func TestGenerateStreamBrokenOffIsRetried(t *testing.T) {
	cases := map[string]sseScript{
		"error event":         {events: []string{chunk("Сломан", ""), errorEvent(503, "UNAVAILABLE", "The model is overloaded.")}},
		"dropped connection":  {events: []string{chunk("Сломан", ""), chunk("ный", "")}, abort: true},
		"ended without STOP":  {events: []string{chunk("Сломан", ""), chunk("ный", "")}},
		"error before a text": {events: []string{errorEvent(500, "INTERNAL", "An internal error has occurred.")}},
	}
	for name, broken := range cases {
		t.Run(name, func(t *testing.T) {
			f := newStreamClient(t, 2*time.Second, broken, sseScript{events: threeChunks})
			var p partials
			ans, err := f.client.GenerateStream(context.Background(), hello, p.on)
			if err != nil || ans.Text != "Три процента **от сделки**." {
				t.Fatalf("GenerateStream = %+v, %v", ans, err)
			}
			got := p.texts()
			if last := got[len(got)-1]; last != "2:Три процента **от сделки**.\n" {
				t.Fatalf("partials %q: the second attempt must start over", got)
			}
			if n := len(f.srv.got()); n != 2 {
				t.Fatalf("%d requests, want 2", n)
			}
		})
	}
}

func TestGenerateStreamGivesUp(t *testing.T) {
	broken := sseScript{events: []string{chunk("Сломан", ""), errorEvent(503, "UNAVAILABLE", "The model is overloaded.")}}
	f := newStreamClient(t, 300*time.Millisecond, broken) // breaks every time
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err := f.client.GenerateStream(ctx, hello, nil)
	if !errors.Is(err, ai.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	if n := len(f.srv.got()); n < 2 {
		t.Fatalf("%d requests: a broken stream must be retried within the budget", n)
	}
	if got := callsTotal(t, f.reg, "chat-model", "5xx"); got < 2 {
		t.Fatalf("calls_total{result=5xx} = %v", got)
	}
}

// Failures before the stream are Generate's: a 429 waits the server's delay,
// a 400 is not retried, a 404 names the model.
func TestGenerateStreamHTTPFailures(t *testing.T) {
	quota := quotaAnswer("0.2s")
	f := newStreamClient(t, 3*time.Second, sseScript{status: quota.status, body: quota.body}, sseScript{events: threeChunks})
	if ans, err := f.client.GenerateStream(context.Background(), hello, nil); err != nil || ans.Text == "" {
		t.Fatalf("after a 429: %+v, %v", ans, err)
	}
	f = newStreamClient(t, 3*time.Second, sseScript{status: badRequest.status, body: badRequest.body})
	if _, err := f.client.GenerateStream(context.Background(), hello, nil); !errors.Is(err, ai.ErrUnavailable) || len(f.srv.got()) != 1 {
		t.Fatalf("400: %v after %d requests", err, len(f.srv.got()))
	}
	notFound := `{"error":{"code":404,"message":"models/chat-model is not found for API version v1beta, or is not supported for generateContent.","status":"NOT_FOUND"}}`
	f = newStreamClient(t, 3*time.Second, sseScript{status: 404, body: notFound})
	if _, err := f.client.GenerateStream(context.Background(), hello, nil); !errors.Is(err, ai.ErrModelNotFound) || len(f.srv.got()) != 1 {
		t.Fatalf("404: %v after %d requests", err, len(f.srv.got()))
	}
}
