package ai_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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

// modelsAPI is a fake Gemini API knowing some models: models.get answers
// for them (404 otherwise, as Google does for a retired name) and
// generateContent answers "ok" for them. A wrong key gets Google's 400.
type modelsAPI struct {
	mu       sync.Mutex
	key      string
	models   map[string][]string // name → supportedGenerationMethods
	requests []string            // "GET /v1beta/models/x", "POST …:generateContent"
}

func (f *modelsAPI) set(models map[string][]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.models = models
}

func (f *modelsAPI) got() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

func (f *modelsAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+r.URL.Path)
	models := f.models
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("x-goog-api-key") != f.key {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT",` +
			`"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}`))
		return
	}
	name, action, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v1beta/models/"), ":")
	methods, ok := models[name]
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": 404, "status": "NOT_FOUND",
			"message": "models/" + name + " is not found for API version v1beta, or is not supported for generateContent."}})
		return
	}
	if action == "" {
		_ = json.NewEncoder(w).Encode(map[string]any{"name": "models/" + name, "supportedGenerationMethods": methods})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"candidates": []any{map[string]any{
		"content": map[string]any{"role": "model", "parts": []any{map[string]any{"text": "ok"}}}}}})
}

type modelsFixture struct {
	api    *modelsAPI
	client *ai.Client
	reg    *prometheus.Registry
	log    *syncBuffer
}

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newModelsFixture(t *testing.T, key string) modelsFixture {
	t.Helper()
	api := &modelsAPI{key: "right-key", models: map[string][]string{
		"gemini-3-flash-preview": {"generateContent", "countTokens"},
		"gemini-3.5-flash":       {"generateContent", "countTokens"},
		"gemini-embedding-001":   {"embedContent", "countTokens"},
	}}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	reg := prometheus.NewRegistry()
	log := &syncBuffer{}
	c, err := ai.New(context.Background(), ai.Options{APIKey: key, BaseURL: srv.URL, ChatModel: "gemini-3-flash-preview",
		Timeout: 2 * time.Second, RetryBudget: 5 * time.Second, Temperature: 0.2, MaxOutputTokens: 512,
		ModelSettings: map[string]string{"gemini-3-flash-preview": "gemini.chat_model", "gemini-1.5-pro": "gemini.analysis_model"},
		Registry:      reg, Logger: slog.New(slog.NewJSONHandler(log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return modelsFixture{api: api, client: c, reg: reg, log: log}
}

func modelAvailable(t *testing.T, reg *prometheus.Registry, model string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "marketingbot_gemini_model_available" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == model {
				return m.GetGauge().GetValue(), true
			}
		}
	}
	return 0, false
}

// A model that disappears at run time: one call (404 is permanent), the
// caller gets ErrUnavailable (its fallback) and ErrModelNotFound, the log an
// ERROR naming the model and its setting, the metrics say so.
func TestGenerateModelNotFound(t *testing.T) {
	f := newModelsFixture(t, "right-key")
	if _, err := f.client.Generate(context.Background(), hello); err != nil {
		t.Fatalf("first call: %v", err)
	}
	if v, ok := modelAvailable(t, f.reg, "gemini-3-flash-preview"); !ok || v != 1 {
		t.Fatalf("model_available = %v (%v), want 1", v, ok)
	}
	f.api.set(map[string][]string{"gemini-3.5-flash": {"generateContent"}}) // Google shuts the model down

	_, err := f.client.Generate(context.Background(), hello)
	if !errors.Is(err, ai.ErrModelNotFound) || !errors.Is(err, ai.ErrUnavailable) {
		t.Fatalf("error %v: want ErrModelNotFound and ErrUnavailable", err)
	}
	if !strings.Contains(err.Error(), `"gemini-3-flash-preview" (gemini.chat_model)`) {
		t.Errorf("error %q does not name the model and its setting", err)
	}
	if n := len(f.api.got()); n != 2 {
		t.Fatalf("%d requests, want 2 (one per Generate: no retry): %v", n, f.api.got())
	}
	if got := callsTotal(t, f.reg, "gemini-3-flash-preview", "model_not_found"); got != 1 {
		t.Errorf("calls_total{result=model_not_found} = %v", got)
	}
	if v, _ := modelAvailable(t, f.reg, "gemini-3-flash-preview"); v != 0 {
		t.Errorf("model_available = %v, want 0", v)
	}
	var logged map[string]any
	for _, line := range strings.Split(strings.TrimSpace(f.log.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["level"] == "ERROR" {
			logged = m
		}
	}
	if logged == nil || logged["model"] != "gemini-3-flash-preview" || logged["setting"] != "gemini.chat_model" {
		t.Fatalf("no ERROR line naming the model and the setting:\n%s", f.log.String())
	}
}

func TestCheckModels(t *testing.T) {
	f := newModelsFixture(t, "right-key")
	ok := f.client.CheckModels(context.Background(), []ai.ModelSetting{
		{Model: "gemini-3-flash-preview", Setting: "gemini.chat_model"}, {Model: "gemini-3.5-flash", Setting: "gemini.analysis_model"}})
	if ok != nil {
		t.Fatalf("existing models: %v", ok)
	}
	got := f.client.CheckModels(context.Background(), []ai.ModelSetting{
		{Model: "gemini-1.5-pro", Setting: "gemini.analysis_model"},
		{Model: "gemini-embedding-001", Setting: "gemini.chat_model"},
		{Model: "gemini-3.5-flash", Setting: "gemini.analysis_model"},
	})
	want := []string{
		`model "gemini-1.5-pro" (gemini.analysis_model) does not exist: retired or misspelled`,
		`model "gemini-embedding-001" (gemini.chat_model) cannot generate text (it supports embedContent, countTokens)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("problems\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, r := range f.api.got() {
		if !strings.HasPrefix(r, "GET /v1beta/models/") {
			t.Errorf("CheckModels made %s; it only asks models.get", r)
		}
	}
}

func TestCheckModelsWrongKey(t *testing.T) {
	f := newModelsFixture(t, "wrong-key")
	got := f.client.CheckModels(context.Background(), []ai.ModelSetting{
		{Model: "gemini-3-flash-preview", Setting: "gemini.chat_model"}, {Model: "gemini-3.5-flash", Setting: "gemini.analysis_model"}})
	if len(got) != 1 || !strings.Contains(got[0], "API key was refused") || !strings.Contains(got[0], "API key not valid") {
		t.Fatalf("problems %q: want one naming the refused key", got)
	}
	if strings.Contains(got[0], "wrong-key") {
		t.Fatalf("the problem quotes the key: %q", got[0])
	}
	if n := len(f.api.got()); n != 1 {
		t.Fatalf("%d requests: the walk must stop at a refused key", n)
	}
}
