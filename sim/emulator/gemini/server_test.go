package gemini

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/genai"
)

const (
	testKey        = "test-key"
	testModel      = "gemini-3-flash-preview"
	testEmbedModel = "gemini-embedding-001"
)

// startEmulator serves a fresh emulator on a local port.
func startEmulator(t testing.TB, opts Options) (*Server, *httptest.Server) {
	t.Helper()
	s := New(opts)
	ts := httptest.NewServer(s)
	t.Cleanup(func() {
		s.Close() // release calls waiting on latency before the listener waits for them
		ts.Close()
	})
	return s, ts
}

func newClient(t testing.TB, baseURL, key string) *genai.Client {
	t.Helper()
	c, err := genai.NewClient(context.Background(), &genai.ClientConfig{
		APIKey:      key,
		Backend:     genai.BackendGeminiAPI,
		HTTPOptions: genai.HTTPOptions{BaseURL: baseURL},
	})
	if err != nil {
		t.Fatalf("genai.NewClient: %v", err)
	}
	return c
}

func asAPIError(t *testing.T, err error) genai.APIError {
	t.Helper()
	var apiErr genai.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %v (%T) is not a genai.APIError", err, err)
	}
	return apiErr
}

// doJSON sends a raw HTTP request and decodes the JSON answer into out
// (when not nil), returning the status code.
func doJSON(t *testing.T, method, url string, header http.Header, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatalf("encode body: %v", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, url, rd)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
	}
	return resp.StatusCode
}

func conversation() []*genai.Content {
	return []*genai.Content{
		genai.NewContentFromText("Добрый день!", genai.RoleUser),
		genai.NewContentFromText("Здравствуйте! Чем могу помочь?", genai.RoleModel),
		genai.NewContentFromText("Какая комиссия у партнёра за сделку?", genai.RoleUser),
	}
}

func TestGenerateContentWithGenai(t *testing.T) {
	system := loadInstruction(t)
	s, ts := startEmulator(t, Options{APIKey: testKey, Models: []string{testModel}})
	client := newClient(t, ts.URL, testKey)

	temperature := float32(0.2)
	config := &genai.GenerateContentConfig{
		SystemInstruction: genai.NewContentFromText(system, genai.RoleUser),
		Temperature:       &temperature,
		MaxOutputTokens:   1024,
		SafetySettings: []*genai.SafetySetting{{
			Category:  genai.HarmCategoryHarassment,
			Threshold: genai.HarmBlockThresholdBlockOnlyHigh,
		}},
	}
	resp, err := client.Models.GenerateContent(context.Background(), testModel, conversation(), config)
	if err != nil {
		t.Fatalf("GenerateContent: %v", err)
	}
	got := resp.Text()
	if !strings.Contains(got, "**Комиссия партнёра**") || !strings.Contains(got, "2 % от стоимости объекта") || !strings.HasPrefix(got, "Иван,") {
		t.Errorf("answer is not the knowledge answer:\n%s", got)
	}
	if c := resp.Candidates[0]; c.FinishReason != genai.FinishReasonStop || c.Content.Role != genai.RoleModel {
		t.Errorf("candidate finish=%q role=%q", c.FinishReason, c.Content.Role)
	}
	u := resp.UsageMetadata
	if u == nil || u.PromptTokenCount <= 0 || u.CandidatesTokenCount <= 0 || u.TotalTokenCount != u.PromptTokenCount+u.CandidatesTokenCount {
		t.Errorf("usage metadata = %+v", u)
	}
	if resp.ModelVersion != testModel || resp.ResponseID == "" {
		t.Errorf("modelVersion=%q responseId=%q", resp.ModelVersion, resp.ResponseID)
	}

	t.Run("go helper log", func(t *testing.T) {
		logged := s.Requests(RequestFilter{Method: MethodGenerateContent})
		if len(logged) != 1 {
			t.Fatalf("logged %d generate calls, want 1", len(logged))
		}
		e := logged[0]
		if e.Model != testModel || e.Status != http.StatusOK || e.ResponseText != got {
			t.Errorf("log entry = model %q status %d response %q", e.Model, e.Status, e.ResponseText)
		}
		req, err := e.GenerateRequest()
		if err != nil {
			t.Fatal(err)
		}
		if req.SystemText() != system {
			t.Errorf("logged system instruction differs from the one sent")
		}
		var roles, texts []string
		for _, c := range req.Contents {
			roles = append(roles, c.Role)
			texts = append(texts, c.Text())
		}
		if strings.Join(roles, ",") != "user,model,user" || texts[2] != "Какая комиссия у партнёра за сделку?" {
			t.Errorf("logged turns: roles %v texts %q", roles, texts)
		}
		gc := req.GenerationConfig
		if gc == nil || gc.Temperature == nil || math.Abs(*gc.Temperature-0.2) > 1e-6 || gc.MaxOutputTokens != 1024 {
			t.Errorf("logged generation config = %+v", gc)
		}
		if len(req.SafetySettings) != 1 {
			t.Errorf("logged safety settings = %s", req.SafetySettings)
		}
	})

	t.Run("control API log", func(t *testing.T) {
		var logged []LoggedRequest
		if code := doJSON(t, http.MethodGet, ts.URL+"/_emulator/requests?limit=5&model="+testModel, nil, nil, &logged); code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
		if len(logged) != 1 || logged[0].Method != MethodGenerateContent {
			t.Fatalf("log = %+v", logged)
		}
		var raw map[string]any
		if err := json.Unmarshal(logged[0].Request, &raw); err != nil {
			t.Fatalf("logged request is not JSON: %v", err)
		}
		for _, k := range []string{"contents", "systemInstruction", "generationConfig", "safetySettings"} {
			if _, ok := raw[k]; !ok {
				t.Errorf("logged request lacks %q", k)
			}
		}
	})
}

func TestGenerationConfigShapesAnswer(t *testing.T) {
	_, ts := startEmulator(t, Options{APIKey: testKey})
	client := newClient(t, ts.URL, testKey)
	system := genai.NewContentFromText(loadInstruction(t), genai.RoleUser)
	full, err := client.Models.GenerateContent(context.Background(), testModel, conversation(), &genai.GenerateContentConfig{SystemInstruction: system})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		config     genai.GenerateContentConfig
		wantFinish genai.FinishReason
		check      func(text string) bool
	}{
		{"max output tokens truncate", genai.GenerateContentConfig{MaxOutputTokens: 5}, genai.FinishReasonMaxTokens,
			func(text string) bool { return len([]rune(text)) <= 20 && strings.HasPrefix(full.Text(), text) }},
		{"stop sequence cuts", genai.GenerateContentConfig{StopSequences: []string{"**Комиссия"}}, genai.FinishReasonStop,
			func(text string) bool { return text == strings.Split(full.Text(), "**Комиссия")[0] }},
		{"json mode", genai.GenerateContentConfig{ResponseMIMEType: "application/json"}, genai.FinishReasonStop,
			func(text string) bool {
				var s string
				return json.Unmarshal([]byte(text), &s) == nil && s == full.Text()
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.config
			cfg.SystemInstruction = system
			resp, err := client.Models.GenerateContent(context.Background(), testModel, conversation(), &cfg)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Candidates[0].FinishReason != tt.wantFinish || !tt.check(resp.Text()) {
				t.Errorf("finish %q text %q", resp.Candidates[0].FinishReason, resp.Text())
			}
		})
	}
	t.Run("candidate count", func(t *testing.T) {
		resp, err := client.Models.GenerateContent(context.Background(), testModel, conversation(), &genai.GenerateContentConfig{SystemInstruction: system, CandidateCount: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Candidates) != 2 || resp.Candidates[1].Index != 1 {
			t.Errorf("candidates = %d", len(resp.Candidates))
		}
	})
	t.Run("invalid temperature", func(t *testing.T) {
		temp := float32(3)
		_, err := client.Models.GenerateContent(context.Background(), testModel, conversation(), &genai.GenerateContentConfig{Temperature: &temp})
		if e := asAPIError(t, err); e.Code != http.StatusBadRequest || e.Status != "INVALID_ARGUMENT" {
			t.Errorf("error = %+v", e)
		}
	})
}

func TestStreamGenerateContent(t *testing.T) {
	s, ts := startEmulator(t, Options{APIKey: testKey})
	client := newClient(t, ts.URL, testKey)
	config := &genai.GenerateContentConfig{SystemInstruction: genai.NewContentFromText(loadInstruction(t), genai.RoleUser)}

	unary, err := client.Models.GenerateContent(context.Background(), testModel, conversation(), config)
	if err != nil {
		t.Fatal(err)
	}
	var (
		text     strings.Builder
		finishes []genai.FinishReason
	)
	for chunk, err := range client.Models.GenerateContentStream(context.Background(), testModel, conversation(), config) {
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		text.WriteString(chunk.Text())
		finishes = append(finishes, chunk.Candidates[0].FinishReason)
	}
	if len(finishes) < 2 {
		t.Errorf("got %d chunks, want a few", len(finishes))
	}
	for i, f := range finishes {
		want := genai.FinishReason("")
		if i == len(finishes)-1 {
			want = genai.FinishReasonStop
		}
		if f != want {
			t.Errorf("chunk %d finish = %q, want %q", i, f, want)
		}
	}
	if text.String() != unary.Text() {
		t.Errorf("streamed text\n%s\ndiffers from unary\n%s", text.String(), unary.Text())
	}
	if n := len(s.Requests(RequestFilter{Method: MethodStreamGenerateContent})); n != 1 {
		t.Errorf("logged %d stream calls, want 1", n)
	}

	t.Run("without alt=sse a JSON array", func(t *testing.T) {
		var chunks []struct {
			Candidates []struct {
				Content      Content `json:"content"`
				FinishReason string  `json:"finishReason"`
			} `json:"candidates"`
		}
		body := map[string]any{"contents": []any{map[string]any{"role": "user", "parts": []any{map[string]any{"text": "Добрый день! Расскажите, чем вы можете помочь партнёру сети?"}}}}}
		code := doJSON(t, http.MethodPost, ts.URL+"/v1beta/models/"+testModel+":streamGenerateContent",
			http.Header{"X-Goog-Api-Key": {testKey}}, body, &chunks)
		if code != http.StatusOK || len(chunks) < 2 || chunks[len(chunks)-1].Candidates[0].FinishReason != "STOP" {
			t.Errorf("status %d chunks %+v", code, chunks)
		}
	})

	t.Run("fault surfaces as APIError", func(t *testing.T) {
		if _, err := s.InjectFault(Fault{Status: http.StatusServiceUnavailable, Count: 1}); err != nil {
			t.Fatal(err)
		}
		var streamErr error
		for _, err := range client.Models.GenerateContentStream(context.Background(), testModel, conversation(), config) {
			if err != nil {
				streamErr = err
				break
			}
		}
		if e := asAPIError(t, streamErr); e.Code != http.StatusServiceUnavailable || e.Status != "UNAVAILABLE" {
			t.Errorf("error = %+v", e)
		}
	})
}

func cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	return dot / math.Sqrt(na*nb)
}

func TestEmbeddings(t *testing.T) {
	s, ts := startEmulator(t, Options{APIKey: testKey})
	client := newClient(t, ts.URL, testKey)
	texts := []string{
		"Какая комиссия у партнёра за сделку?",
		"Комиссия партнёров за сделки с новостройками",
		"Когда придёт отчёт аналитики по объекту?",
	}
	contents := make([]*genai.Content, len(texts))
	for i, text := range texts {
		contents[i] = genai.NewContentFromText(text, genai.RoleUser)
	}

	t.Run("batch via genai", func(t *testing.T) {
		resp, err := client.Models.EmbedContent(context.Background(), testEmbedModel, contents, nil)
		if err != nil {
			t.Fatalf("EmbedContent: %v", err)
		}
		if len(resp.Embeddings) != len(texts) {
			t.Fatalf("got %d embeddings", len(resp.Embeddings))
		}
		vecs := make([][]float32, len(texts))
		for i, e := range resp.Embeddings {
			vecs[i] = e.Values
			if len(e.Values) != DefaultEmbeddingDimensions {
				t.Errorf("embedding %d has %d values", i, len(e.Values))
			}
			if n := cosine(e.Values, e.Values); math.Abs(n-1) > 1e-5 {
				t.Errorf("embedding %d not normalized: %v", i, n)
			}
		}
		similar, unrelated := cosine(vecs[0], vecs[1]), cosine(vecs[0], vecs[2])
		if similar <= unrelated {
			t.Errorf("cos(similar)=%.3f not above cos(unrelated)=%.3f", similar, unrelated)
		}
		if n := len(s.Requests(RequestFilter{Method: MethodBatchEmbedContents})); n != 1 {
			t.Errorf("logged %d batch embed calls", n)
		}
	})

	t.Run("output dimensionality", func(t *testing.T) {
		dims := int32(64)
		resp, err := client.Models.EmbedContent(context.Background(), testEmbedModel, contents[:1], &genai.EmbedContentConfig{OutputDimensionality: &dims})
		if err != nil {
			t.Fatal(err)
		}
		if got := len(resp.Embeddings[0].Values); got != 64 {
			t.Errorf("got %d values, want 64", got)
		}
	})

	t.Run("single embedContent", func(t *testing.T) {
		var out struct {
			Embedding struct {
				Values []float32 `json:"values"`
			} `json:"embedding"`
		}
		body := map[string]any{"content": map[string]any{"parts": []any{map[string]any{"text": texts[0]}}}}
		code := doJSON(t, http.MethodPost, ts.URL+"/v1beta/models/"+testEmbedModel+":embedContent",
			http.Header{"X-Goog-Api-Key": {testKey}}, body, &out)
		if code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
		want := Embed(texts[0], 0)
		if len(out.Embedding.Values) != len(want) || cosine(out.Embedding.Values, want) < 0.9999 {
			t.Errorf("embedContent vector differs from Embed")
		}
	})

	t.Run("generation model cannot embed", func(t *testing.T) {
		_, err := client.Models.EmbedContent(context.Background(), testModel, contents, nil)
		if e := asAPIError(t, err); e.Code != http.StatusNotFound || e.Status != "NOT_FOUND" {
			t.Errorf("error = %+v", e)
		}
	})
}

func TestAuthentication(t *testing.T) {
	_, ts := startEmulator(t, Options{APIKey: testKey})
	url := ts.URL + "/v1beta/models/" + testModel + ":generateContent"
	body := map[string]any{"contents": []any{map[string]any{"role": "user", "parts": []any{map[string]any{"text": "привет"}}}}}
	tests := []struct {
		name       string
		url        string
		header     http.Header
		wantCode   int
		wantStatus string
		wantMsg    string
	}{
		{"missing key", url, nil, http.StatusForbidden, "PERMISSION_DENIED", ""},
		{"wrong key in header", url, http.Header{"X-Goog-Api-Key": {"nope"}}, http.StatusBadRequest, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key."},
		{"wrong key in query", url + "?key=nope", nil, http.StatusBadRequest, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key."},
		{"key in query", url + "?key=" + testKey, nil, http.StatusOK, "", ""},
		{"key in header", url, http.Header{"X-Goog-Api-Key": {testKey}}, http.StatusOK, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out struct {
				Error *apiError `json:"error"`
			}
			code := doJSON(t, http.MethodPost, tt.url, tt.header, body, &out)
			if code != tt.wantCode {
				t.Fatalf("status %d, want %d", code, tt.wantCode)
			}
			if tt.wantStatus == "" {
				return
			}
			if out.Error == nil || out.Error.Code != tt.wantCode || out.Error.Status != tt.wantStatus {
				t.Fatalf("error body = %+v", out.Error)
			}
			if tt.wantMsg != "" && out.Error.Message != tt.wantMsg {
				t.Errorf("message = %q", out.Error.Message)
			}
		})
	}

	t.Run("wrong key through genai", func(t *testing.T) {
		client := newClient(t, ts.URL, "wrong-key")
		_, err := client.Models.GenerateContent(context.Background(), testModel, conversation(), nil)
		e := asAPIError(t, err)
		if e.Code != http.StatusBadRequest || e.Status != "INVALID_ARGUMENT" || e.Message != msgInvalidKey {
			t.Errorf("error = %+v", e)
		}
		if len(e.Details) == 0 || e.Details[0]["reason"] != "API_KEY_INVALID" {
			t.Errorf("details = %v", e.Details)
		}
	})
}

func TestUnknownModel(t *testing.T) {
	_, ts := startEmulator(t, Options{APIKey: testKey, Models: []string{"models/" + testModel, testEmbedModel}})
	client := newClient(t, ts.URL, testKey)
	_, err := client.Models.GenerateContent(context.Background(), "gemini-x", conversation(), nil)
	e := asAPIError(t, err)
	want := "models/gemini-x is not found for API version v1beta, or is not supported for generateContent."
	if e.Code != http.StatusNotFound || e.Status != "NOT_FOUND" || e.Message != want {
		t.Errorf("error = %+v", e)
	}

	// The allowlisted models are what a listing shows.
	var names []string
	for m, err := range client.Models.All(context.Background()) {
		if err != nil {
			t.Fatalf("list models: %v", err)
		}
		names = append(names, m.Name)
	}
	if strings.Join(names, ",") != "models/"+testModel+",models/"+testEmbedModel {
		t.Errorf("listed models %v", names)
	}
	if _, err := client.Models.Get(context.Background(), testModel, nil); err != nil {
		t.Errorf("get allowed model: %v", err)
	}
	if _, err := client.Models.Get(context.Background(), "gemini-x", nil); asAPIError(t, err).Code != http.StatusNotFound {
		t.Errorf("get unknown model: %v", err)
	}
}

func TestCountTokens(t *testing.T) {
	_, ts := startEmulator(t, Options{APIKey: testKey})
	client := newClient(t, ts.URL, testKey)
	resp, err := client.Models.CountTokens(context.Background(), testModel, conversation(), nil)
	if err != nil {
		t.Fatalf("CountTokens: %v", err)
	}
	want := 0
	for _, c := range conversation() {
		want += estimateTokens(c.Parts[0].Text)
	}
	if int(resp.TotalTokens) != want {
		t.Errorf("total tokens = %d, want %d", resp.TotalTokens, want)
	}
}

func TestInjectedFaults(t *testing.T) {
	s, ts := startEmulator(t, Options{APIKey: testKey})
	client := newClient(t, ts.URL, testKey)
	generate := func(model string) error {
		_, err := client.Models.GenerateContent(context.Background(), model, conversation(), nil)
		return err
	}
	tests := []struct {
		name       string
		fault      map[string]any
		wantCode   int
		wantStatus string
		wantMsg    string
		retryDelay string
	}{
		{"429 with retry info", map[string]any{"status": 429, "count": 1, "retry_delay_s": 3}, 429, "RESOURCE_EXHAUSTED", "", "3s"},
		{"429 default retry delay", map[string]any{"status": 429, "count": 1}, 429, "RESOURCE_EXHAUSTED", "", "1s"},
		{"503 overloaded", map[string]any{"status": 503, "count": 1}, 503, "UNAVAILABLE", "The model is overloaded. Please try again later.", ""},
		{"500 internal", map[string]any{"status": 500, "count": 1}, 500, "INTERNAL", "", ""},
		{"504 deadline", map[string]any{"status": 504, "count": 1}, 504, "DEADLINE_EXCEEDED", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code := doJSON(t, http.MethodPost, ts.URL+"/_emulator/faults", nil, tt.fault, nil); code != http.StatusCreated {
				t.Fatalf("inject fault: status %d", code)
			}
			e := asAPIError(t, generate(testModel))
			if e.Code != tt.wantCode || e.Status != tt.wantStatus {
				t.Fatalf("error = %+v", e)
			}
			if tt.wantMsg != "" && e.Message != tt.wantMsg {
				t.Errorf("message = %q", e.Message)
			}
			if found := retryDelayOf(e); tt.retryDelay != "" && found != tt.retryDelay {
				t.Errorf("RetryInfo.retryDelay = %q, want %q (details %v)", found, tt.retryDelay, e.Details)
			}
			if err := generate(testModel); err != nil {
				t.Errorf("call after the fault was used up: %v", err)
			}
		})
	}

	t.Run("model filter", func(t *testing.T) {
		if _, err := s.InjectFault(Fault{Status: 503, Models: []string{"models/gemini-3.5-flash"}}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.ClearFaults)
		if err := generate(testModel); err != nil {
			t.Errorf("call on an unfiltered model failed: %v", err)
		}
		if e := asAPIError(t, generate("gemini-3.5-flash")); e.Code != 503 {
			t.Errorf("error = %+v", e)
		}
	})

	t.Run("until cleared", func(t *testing.T) { faultUntilCleared(t, ts.URL, generate) })

	t.Run("duration expires", func(t *testing.T) {
		if _, err := s.InjectFault(Fault{Status: 503, Duration: 20 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
		if err := generate(testModel); err != nil {
			t.Errorf("call after the fault expired: %v", err)
		}
	})

	t.Run("invalid fault", func(t *testing.T) {
		var out struct{ Error string }
		if code := doJSON(t, http.MethodPost, ts.URL+"/_emulator/faults", nil, map[string]any{"status": 418}, &out); code != http.StatusBadRequest || out.Error == "" {
			t.Errorf("status %d error %q", code, out.Error)
		}
	})
}

// retryDelayOf is the retryDelay of the error's RetryInfo detail, if any.
func retryDelayOf(e genai.APIError) string {
	var found string
	for _, d := range e.Details {
		if d["@type"] == "type.googleapis.com/google.rpc.RetryInfo" {
			found, _ = d["retryDelay"].(string)
		}
	}
	return found
}

// faultUntilCleared: a fault with a long duration fails every call until
// DELETE /_emulator/faults clears it.
func faultUntilCleared(t *testing.T, baseURL string, generate func(model string) error) {
	if code := doJSON(t, http.MethodPost, baseURL+"/_emulator/faults", nil, map[string]any{"status": 503, "duration_ms": 3_600_000}, nil); code != http.StatusCreated {
		t.Fatalf("inject: %d", code)
	}
	for range 3 {
		if e := asAPIError(t, generate(testModel)); e.Code != 503 {
			t.Fatalf("error = %+v", e)
		}
	}
	var active []ActiveFault
	doJSON(t, http.MethodGet, baseURL+"/_emulator/faults", nil, nil, &active)
	if len(active) != 1 || active[0].Until.IsZero() {
		t.Errorf("active faults = %+v", active)
	}
	if code := doJSON(t, http.MethodDelete, baseURL+"/_emulator/faults", nil, nil, nil); code != http.StatusNoContent {
		t.Fatalf("clear: %d", code)
	}
	if err := generate(testModel); err != nil {
		t.Errorf("call after clearing: %v", err)
	}
}

func TestLatency(t *testing.T) {
	s, ts := startEmulator(t, Options{APIKey: testKey})
	client := newClient(t, ts.URL, testKey)

	t.Run("honoured", func(t *testing.T) {
		if code := doJSON(t, http.MethodPost, ts.URL+"/_emulator/latency", nil, map[string]any{"ms": 150}, nil); code != http.StatusOK {
			t.Fatalf("set latency: %d", code)
		}
		start := time.Now()
		if _, err := client.Models.GenerateContent(context.Background(), testModel, conversation(), nil); err != nil {
			t.Fatal(err)
		}
		if waited := time.Since(start); waited < 150*time.Millisecond {
			t.Errorf("call returned after %v, before the configured latency", waited)
		}
	})

	t.Run("cancelled by context", func(t *testing.T) {
		s.SetLatency(time.Hour, 0)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := client.Models.GenerateContent(ctx, testModel, conversation(), nil)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error = %v, want context deadline", err)
		}
		// The server notices the client left and logs the call as 499.
		deadline := time.Now().Add(5 * time.Second)
		for {
			logged := s.Requests(RequestFilter{Limit: 1})
			if len(logged) == 1 && logged[0].Status == statusClientClosed {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no 499 entry; last = %+v", logged)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})

	t.Run("released by Close", func(t *testing.T) {
		s.SetLatency(time.Hour, 0)
		errc := make(chan error, 1)
		go func() {
			_, err := client.Models.GenerateContent(context.Background(), testModel, conversation(), nil)
			errc <- err
		}()
		for s.Stats().InFlight == 0 {
			time.Sleep(5 * time.Millisecond)
		}
		s.Close()
		if e := asAPIError(t, <-errc); e.Code != http.StatusServiceUnavailable {
			t.Errorf("error = %+v", e)
		}
	})
}

func TestConcurrentCallsOverlap(t *testing.T) {
	const calls = 200
	s, ts := startEmulator(t, Options{APIKey: testKey, Latency: 300 * time.Millisecond, Jitter: 50 * time.Millisecond})
	client := newClient(t, ts.URL, testKey)

	var wg sync.WaitGroup
	errs := make(chan error, calls)
	for range calls {
		wg.Go(func() {
			_, err := client.Models.GenerateContent(context.Background(), testModel, conversation(), nil)
			errs <- err
		})
	}
	// Serialized calls would never be in flight together.
	peak := int64(0)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for waiting := true; waiting; {
		select {
		case <-done:
			waiting = false
		case <-time.After(5 * time.Millisecond):
			peak = max(peak, s.Stats().InFlight)
		}
	}
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("call failed: %v", err)
		}
	}
	if peak < calls/2 {
		t.Errorf("at most %d calls were in flight at once, want most of %d", peak, calls)
	}
	if st := s.Stats(); st.Requests != calls || st.ByStatus["200"] != calls {
		t.Errorf("stats = %+v", st)
	}
}

func TestControlAPI(t *testing.T) {
	s, ts := startEmulator(t, Options{APIKey: testKey, Latency: 7 * time.Millisecond})
	client := newClient(t, ts.URL, testKey)
	for range 3 {
		if _, err := client.Models.GenerateContent(context.Background(), testModel, conversation(), nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.InjectFault(Fault{Status: 429, Count: 1}); err != nil {
		t.Fatal(err)
	}
	_, _ = client.Models.GenerateContent(context.Background(), testModel, conversation(), nil)
	if _, err := client.Models.EmbedContent(context.Background(), testEmbedModel, conversation()[:1], nil); err != nil {
		t.Fatal(err)
	}

	t.Run("stats", func(t *testing.T) {
		var st Stats
		if code := doJSON(t, http.MethodGet, ts.URL+"/_emulator/stats", nil, nil, &st); code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
		if st.Requests != 5 || st.ByStatus["200"] != 4 || st.ByStatus["429"] != 1 ||
			st.ByMethod[MethodGenerateContent] != 4 || st.ByMethod[MethodBatchEmbedContents] != 1 {
			t.Errorf("stats = %+v", st)
		}
	})

	t.Run("requests filters", func(t *testing.T) { controlRequestFilters(t, ts.URL) })

	t.Run("CORS", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodOptions, ts.URL+"/_emulator/faults", nil)
		req.Header.Set("Origin", "http://localhost:3000")
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
			!strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "DELETE") {
			t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
		}
	})

	t.Run("reset", func(t *testing.T) { controlReset(t, s, ts.URL, client) })

	t.Run("bad control requests", func(t *testing.T) { controlBadRequests(t, ts.URL) })
}

// controlRequestFilters reads the request log of TestControlAPI's five
// calls through each filter.
func controlRequestFilters(t *testing.T, baseURL string) {
	tests := []struct {
		query  string
		want   int
		lastID int64
	}{
		{"", 5, 5},
		{"?limit=2", 2, 5},
		{"?model=" + testEmbedModel, 1, 5},
		{"?method=" + MethodGenerateContent + "&limit=1", 1, 4},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			var logged []LoggedRequest
			doJSON(t, http.MethodGet, baseURL+"/_emulator/requests"+tt.query, nil, nil, &logged)
			if len(logged) != tt.want || logged[len(logged)-1].ID != tt.lastID {
				t.Errorf("got %d entries (%+v)", len(logged), logged)
			}
		})
	}
	var logged []LoggedRequest
	doJSON(t, http.MethodGet, baseURL+"/_emulator/requests?method="+MethodGenerateContent, nil, nil, &logged)
	if last := logged[len(logged)-1]; last.Status != 429 || !strings.HasPrefix(last.Error, "RESOURCE_EXHAUSTED") {
		t.Errorf("429 entry = %+v", last)
	}
}

// controlReset: reset restores Options' latency and empties the log, stats
// and faults, while request ids keep increasing.
func controlReset(t *testing.T, s *Server, baseURL string, client *genai.Client) {
	s.SetLatency(time.Second, time.Second)
	_, _ = s.InjectFault(Fault{Status: 503})
	if code := doJSON(t, http.MethodPost, baseURL+"/_emulator/reset", nil, nil, nil); code != http.StatusNoContent {
		t.Fatalf("reset: %d", code)
	}
	var lat struct {
		MS       int64 `json:"ms"`
		JitterMS int64 `json:"jitter_ms"`
	}
	doJSON(t, http.MethodGet, baseURL+"/_emulator/latency", nil, nil, &lat)
	if lat.MS != 7 || lat.JitterMS != 0 {
		t.Errorf("latency after reset = %+v, want Options'", lat)
	}
	if st := s.Stats(); st.Requests != 0 || len(s.Requests(RequestFilter{})) != 0 || len(s.Faults()) != 0 {
		t.Errorf("state after reset: stats %+v faults %v", st, s.Faults())
	}
	if _, err := client.Models.GenerateContent(context.Background(), testModel, conversation(), nil); err != nil {
		t.Fatalf("call after reset: %v", err)
	}
	if logged := s.Requests(RequestFilter{}); len(logged) != 1 || logged[0].ID != 6 {
		t.Errorf("ids must keep increasing across reset: %+v", logged)
	}
}

func controlBadRequests(t *testing.T, baseURL string) {
	tests := []struct {
		method, path string
		body         any
		want         int
	}{
		{http.MethodPost, "/_emulator/latency", map[string]any{"ms": -1}, http.StatusBadRequest},
		{http.MethodPost, "/_emulator/latency", map[string]any{"millis": 5}, http.StatusBadRequest},
		{http.MethodGet, "/_emulator/requests?limit=x", nil, http.StatusBadRequest},
		{http.MethodGet, "/_emulator/nope", nil, http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			if code := doJSON(t, tt.method, baseURL+tt.path, nil, tt.body, nil); code != tt.want {
				t.Errorf("status %d, want %d", code, tt.want)
			}
		})
	}
}

func TestRequestLogIsCapped(t *testing.T) {
	s := New(Options{})
	for range RequestLogLimit + 10 {
		s.record(&call{start: time.Now(), method: MethodGenerateContent, model: testModel, status: 200})
	}
	logged := s.Requests(RequestFilter{})
	if len(logged) != RequestLogLimit || logged[0].ID != 11 || logged[len(logged)-1].ID != RequestLogLimit+10 {
		t.Errorf("log holds %d entries, ids %d..%d", len(logged), logged[0].ID, logged[len(logged)-1].ID)
	}
	if st := s.Stats(); st.Requests != RequestLogLimit+10 {
		t.Errorf("stats count %d", st.Requests)
	}
}

func BenchmarkGenerateContentParallel(b *testing.B) {
	_, ts := startEmulator(b, Options{APIKey: testKey})
	client := newClient(b, ts.URL, testKey)
	config := &genai.GenerateContentConfig{SystemInstruction: genai.NewContentFromText(loadInstruction(b), genai.RoleUser)}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := client.Models.GenerateContent(context.Background(), testModel, conversation(), config); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
