package gemini

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/genai"
)

// collect reads a stream through genai: the chunks, when each arrived, and
// the error that ended it.
func collect(t *testing.T, client *genai.Client, config *genai.GenerateContentConfig) ([]*genai.GenerateContentResponse, []time.Duration, error) {
	t.Helper()
	start := time.Now()
	var chunks []*genai.GenerateContentResponse
	var at []time.Duration
	for chunk, err := range client.Models.GenerateContentStream(context.Background(), testModel, conversation(), config) {
		if err != nil {
			return chunks, at, err
		}
		chunks = append(chunks, chunk)
		at = append(at, time.Since(start))
	}
	return chunks, at, nil
}

// A long answer streams in many chunks of Google's shape: the prompt's
// tokens in every one, the answer's tokens and the finish reason in the
// last, one response id, the text joining to the unary answer.
func TestStreamChunkShape(t *testing.T) {
	_, ts := startEmulator(t, Options{APIKey: testKey})
	client := newClient(t, ts.URL, testKey)
	config := &genai.GenerateContentConfig{SystemInstruction: genai.NewContentFromText(loadInstruction(t), genai.RoleUser)}
	unary, err := client.Models.GenerateContent(context.Background(), testModel, conversation(), config)
	if err != nil {
		t.Fatal(err)
	}
	chunks, _, err := collect(t, client, config)
	if err != nil {
		t.Fatal(err)
	}
	if want := min(maxChunks, len([]rune(unary.Text()))/chunkRunes); len(chunks) < want/2 || len(chunks) < 2 {
		t.Fatalf("%d chunks for %d runes", len(chunks), len([]rune(unary.Text())))
	}
	var text strings.Builder
	for i, c := range chunks {
		text.WriteString(c.Text())
		last := i == len(chunks)-1
		u := c.UsageMetadata
		switch {
		case u == nil || u.PromptTokenCount == 0:
			t.Fatalf("chunk %d: no prompt tokens: %+v", i, u)
		case last && (u.CandidatesTokenCount == 0 || c.Candidates[0].FinishReason != genai.FinishReasonStop):
			t.Fatalf("last chunk: usage %+v, finish %q", u, c.Candidates[0].FinishReason)
		case !last && (u.CandidatesTokenCount != 0 || c.Candidates[0].FinishReason != ""):
			t.Fatalf("chunk %d: usage %+v, finish %q before the end", i, u, c.Candidates[0].FinishReason)
		case c.ResponseID != chunks[0].ResponseID || c.ModelVersion != testModel:
			t.Fatalf("chunk %d: response id %q / model %q", i, c.ResponseID, c.ModelVersion)
		}
	}
	if text.String() != unary.Text() {
		t.Fatalf("streamed\n%s\nunary\n%s", text.String(), unary.Text())
	}
}

// The call's latency is spread over the stream: the first chunk after
// part of it, the others after the rest. (Lower bounds only: the emulator
// waits at least that long.)
func TestStreamSpreadsLatency(t *testing.T) {
	_, ts := startEmulator(t, Options{APIKey: testKey, Latency: 600 * time.Millisecond})
	client := newClient(t, ts.URL, testKey)
	chunks, at, err := collect(t, client, nil)
	if err != nil || len(chunks) < 3 {
		t.Fatalf("%d chunks, %v", len(chunks), err)
	}
	first := time.Duration(float64(600*time.Millisecond) * firstChunkShare)
	if at[0] < first {
		t.Fatalf("first chunk after %s, want at least %s", at[0], first)
	}
	if spread := at[len(at)-1] - at[0]; spread < 600*time.Millisecond-first-50*time.Millisecond {
		t.Fatalf("the chunks came within %s of each other: the latency is not spread over them", spread)
	}
}

func TestStreamFaultMidway(t *testing.T) {
	s, ts := startEmulator(t, Options{APIKey: testKey})
	client := newClient(t, ts.URL, testKey)

	t.Run("error event", func(t *testing.T) {
		if _, err := s.InjectFault(Fault{Status: http.StatusServiceUnavailable, AfterChunks: 2, Count: 1}); err != nil {
			t.Fatal(err)
		}
		chunks, _, err := collect(t, client, nil)
		var apiErr genai.APIError
		if len(chunks) != 2 || !errors.As(err, &apiErr) || apiErr.Code != 503 || apiErr.Status != "UNAVAILABLE" {
			t.Fatalf("%d chunks, then %v", len(chunks), err)
		}
		log := s.Requests(RequestFilter{Method: MethodStreamGenerateContent, Limit: 1})[0]
		if log.Status != 503 || !strings.Contains(log.Error, "mid-stream after 2 chunks") || log.ResponseText == "" {
			t.Fatalf("logged %+v", log)
		}
		if chunks, _, err := collect(t, client, nil); err != nil || len(chunks) < 3 {
			t.Fatalf("the next stream (count 1 spent): %d chunks, %v", len(chunks), err)
		}
	})
	t.Run("dropped connection", func(t *testing.T) {
		if _, err := s.InjectFault(Fault{Drop: true, AfterChunks: 1, Count: 1}); err != nil {
			t.Fatal(err)
		}
		chunks, _, err := collect(t, client, nil)
		var apiErr genai.APIError
		if len(chunks) != 1 || err == nil || errors.As(err, &apiErr) {
			t.Fatalf("%d chunks, then %v: want a transport error", len(chunks), err)
		}
		if log := s.Requests(RequestFilter{Method: MethodStreamGenerateContent, Limit: 1})[0]; !strings.Contains(log.Error, "dropped after 1 chunks") {
			t.Fatalf("logged %+v", log)
		}
	})
	t.Run("a short answer breaks before its last chunk", func(t *testing.T) {
		if _, err := s.InjectFault(Fault{Status: http.StatusInternalServerError, AfterChunks: 100, Count: 1}); err != nil {
			t.Fatal(err)
		}
		chunks, _, err := collect(t, client, nil)
		if err == nil || len(chunks) == 0 || chunks[len(chunks)-1].Candidates[0].FinishReason != "" {
			t.Fatalf("%d chunks, %v: the finish reason must never arrive", len(chunks), err)
		}
	})
	t.Run("unary calls are not hit", func(t *testing.T) {
		if _, err := s.InjectFault(Fault{Status: http.StatusServiceUnavailable, AfterChunks: 1}); err != nil {
			t.Fatal(err)
		}
		defer s.ClearFaults()
		if _, err := client.Models.GenerateContent(context.Background(), testModel, conversation(), nil); err != nil {
			t.Fatalf("generateContent under a mid-stream fault: %v", err)
		}
	})
}

func TestStreamFaultControlAPI(t *testing.T) {
	s, ts := startEmulator(t, Options{APIKey: testKey})
	var created struct {
		ID int `json:"id"`
	}
	if code := doJSON(t, http.MethodPost, ts.URL+"/_emulator/faults", nil,
		map[string]any{"status": 500, "after_chunks": 3, "count": 2}, &created); code != http.StatusCreated || created.ID == 0 {
		t.Fatalf("POST mid-stream fault: %d", code)
	}
	if f := s.Faults(); len(f) != 1 || f[0].AfterChunks != 3 || f[0].Remaining != 2 {
		t.Fatalf("faults %+v", f)
	}
	var e struct {
		Error string `json:"error"`
	}
	if code := doJSON(t, http.MethodPost, ts.URL+"/_emulator/faults", nil, map[string]any{"drop": true}, &e); code != http.StatusBadRequest || !strings.Contains(e.Error, "after_chunks") {
		t.Fatalf("drop without after_chunks: %d %q", code, e.Error)
	}
}
