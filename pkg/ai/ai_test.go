package ai_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"marketingbot/pkg/ai"
)

// answer is one canned response of the fake Gemini endpoint.
type answer struct {
	status int
	body   string
}

func textAnswer(text string) answer {
	b, _ := json.Marshal(map[string]any{"candidates": []any{map[string]any{
		"content": map[string]any{"role": "model", "parts": []any{map[string]any{"text": text}}}, "finishReason": "STOP"}}})
	return answer{http.StatusOK, string(b)}
}

func quotaAnswer(retryDelay string) answer {
	return answer{http.StatusTooManyRequests, `{"error":{"code":429,"message":"Resource has been exhausted","status":"RESOURCE_EXHAUSTED",` +
		`"details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"` + retryDelay + `"}]}}`}
}

var (
	unavailable = answer{http.StatusServiceUnavailable, `{"error":{"code":503,"message":"The model is overloaded","status":"UNAVAILABLE"}}`}
	badRequest  = answer{http.StatusBadRequest, `{"error":{"code":400,"message":"Invalid argument","status":"INVALID_ARGUMENT"}}`}
)

// request is what the fake received.
type request struct {
	at   time.Time
	path string
	body map[string]any
}

// fakeGemini answers generateContent from a script; the last answer repeats.
type fakeGemini struct {
	mu       sync.Mutex
	answers  []answer
	requests []request
}

func (f *fakeGemini) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	_ = json.NewDecoder(r.Body).Decode(&body)
	f.mu.Lock()
	a := f.answers[min(len(f.requests), len(f.answers)-1)]
	f.requests = append(f.requests, request{at: time.Now(), path: r.URL.Path, body: body})
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(a.status)
	_, _ = io.WriteString(w, a.body)
}

func (f *fakeGemini) got() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.requests...)
}

type fixture struct {
	gem    *fakeGemini
	client *ai.Client
	reg    *prometheus.Registry
}

func newClient(t *testing.T, budget time.Duration, answers ...answer) fixture {
	t.Helper()
	gem := &fakeGemini{answers: answers}
	srv := httptest.NewServer(gem)
	t.Cleanup(srv.Close)
	reg := prometheus.NewRegistry()
	c, err := ai.New(context.Background(), ai.Options{APIKey: "test-key", BaseURL: srv.URL, ChatModel: "chat-model",
		Timeout: 2 * time.Second, RetryBudget: budget, Temperature: 0.2, MaxOutputTokens: 512,
		Registry: reg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ai.SetFirstBackoff(c, 20*time.Millisecond)
	return fixture{gem: gem, client: c, reg: reg}
}

var hello = ai.Request{System: "Ты помощник.", Turns: []ai.Turn{
	{Role: ai.RoleUser, Text: "Привет"}, {Role: ai.RoleModel, Text: "  "}, {Role: ai.RoleUser, Text: "Какая комиссия?"}}}

func TestGenerateSuccess(t *testing.T) {
	f := newClient(t, time.Second, textAnswer("  Три процента.\n"))
	ans, err := f.client.Generate(context.Background(), hello)
	if err != nil || ans.Text != "Три процента." || ans.FinishReason != "STOP" || ans.Outcome() != ai.OutcomeComplete {
		t.Fatalf("Generate = %+v, %v", ans, err)
	}
	reqs := f.gem.got()
	if len(reqs) != 1 || reqs[0].path != "/v1beta/models/chat-model:generateContent" {
		t.Fatalf("requests %+v, want one to the chat model", reqs)
	}
	contents, _ := reqs[0].body["contents"].([]any)
	if len(contents) != 2 { // the blank turn is dropped
		t.Fatalf("%d contents sent, want 2: %v", len(contents), reqs[0].body)
	}
	if _, ok := reqs[0].body["systemInstruction"]; !ok {
		t.Fatalf("no system instruction sent: %v", reqs[0].body)
	}
	if got := callsTotal(t, f.reg, "chat-model", "ok"); got != 1 {
		t.Fatalf("calls_total{result=ok} = %v", got)
	}
}

func TestGenerateQuotaWaitsRetryInfo(t *testing.T) {
	f := newClient(t, 5*time.Second, quotaAnswer("0.3s"), textAnswer("ok"))
	if ans, err := f.client.Generate(context.Background(), hello); err != nil || ans.Text != "ok" {
		t.Fatalf("Generate = %+v, %v", ans, err)
	}
	reqs := f.gem.got()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	if gap := reqs[1].at.Sub(reqs[0].at); gap < 300*time.Millisecond || gap > time.Second {
		t.Fatalf("retried after %s, want the server's 0.3s (not jittered, not backed off)", gap)
	}
	if got := callsTotal(t, f.reg, "chat-model", "429"); got != 1 {
		t.Fatalf("calls_total{result=429} = %v", got)
	}
}

func TestGenerateGivesUp(t *testing.T) {
	cases := []struct {
		name     string
		answer   answer
		requests func(n int) bool
		within   time.Duration
	}{
		// A retry delay beyond the budget is not waited for at all.
		{"quota delay beyond the budget", quotaAnswer("30s"), func(n int) bool { return n == 1 }, time.Second},
		// 5xx backs off 20, 40, 80, 160 ms (±50 %) until the next wait would end past the budget.
		{"5xx until the budget ends", unavailable, func(n int) bool { return n >= 3 }, 1500 * time.Millisecond},
		// Other 4xx cannot get better.
		{"400 at once", badRequest, func(n int) bool { return n == 1 }, time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newClient(t, 400*time.Millisecond, tc.answer) // fails every time
			// An ignored budget fails the test instead of hanging it.
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			start := time.Now()
			_, err := f.client.Generate(ctx, hello)
			if !errors.Is(err, ai.ErrUnavailable) {
				t.Fatalf("err = %v, want ErrUnavailable", err)
			}
			if n := len(f.gem.got()); !tc.requests(n) {
				t.Fatalf("%d requests", n)
			}
			if el := time.Since(start); el > tc.within {
				t.Fatalf("gave up after %s, want within %s", el, tc.within)
			}
		})
	}
}

// A cancelled caller gets its context's error, not ErrUnavailable.
func TestGenerateCancelled(t *testing.T) {
	f := newClient(t, 10*time.Second, quotaAnswer("5s"))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := f.client.Generate(ctx, hello); !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ai.ErrUnavailable) {
		t.Fatalf("err = %v, want the deadline", err)
	}
}

// callsTotal reads marketingbot_gemini_calls_total{model, result}.
func callsTotal(t *testing.T, reg *prometheus.Registry, model, result string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "marketingbot_gemini_calls_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["model"] == model && labels["result"] == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func TestPromptFile(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	path := filepath.Join(t.TempDir(), "prompt.md")
	p := ai.NewPromptFile(path, "встроенный", log)
	if got := p.Text(); got != "встроенный" {
		t.Fatalf("no file: %q, want the fallback", got)
	}
	write := func(text string, mod time.Time) {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mod, mod); err != nil {
			t.Fatal(err)
		}
		ai.Recheck(p)
	}
	t0 := time.Now().Add(-time.Hour)
	write("первый", t0)
	if got := p.Text(); got != "первый" {
		t.Fatalf("file written: %q", got)
	}
	if err := os.WriteFile(path, []byte("второй"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := p.Text(); got != "первый" {
		t.Fatalf("re-read within a second: %q", got)
	}
	write("второй", t0.Add(time.Minute))
	if got := p.Text(); got != "второй" {
		t.Fatalf("file changed: %q", got)
	}
	write("  \n", t0.Add(2*time.Minute))
	if got := p.Text(); got != "второй" {
		t.Fatalf("emptied file: %q, want the last good text", got)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	ai.Recheck(p)
	if got := p.Text(); got != "второй" {
		t.Fatalf("file removed: %q, want the last good text", got)
	}
}
