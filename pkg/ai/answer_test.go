package ai_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"marketingbot/pkg/ai"
)

// candidateAnswer is a 200 with one candidate: text (omitted when "") and a
// finish reason.
func candidateAnswer(text, finish string) answer {
	cand := map[string]any{"finishReason": finish}
	if text != "" {
		cand["content"] = map[string]any{"role": "model", "parts": []any{map[string]any{"text": text}}}
	}
	b, _ := json.Marshal(map[string]any{"candidates": []any{cand}})
	return answer{http.StatusOK, string(b)}
}

// Generate returns the finish reason with the text and never asks again
// because of what the answer is: truncated, blocked, empty — each comes back
// from one request, classified, for the caller to say so.
func TestGenerateFinishReasons(t *testing.T) {
	blocked := answer{http.StatusOK, `{"promptFeedback":{"blockReason":"SAFETY","safetyRatings":[{"category":"HARM_CATEGORY_HARASSMENT","probability":"HIGH","blocked":true}]}}`}
	thoughts := answer{http.StatusOK, `{"candidates":[{"content":{"role":"model","parts":[{"text":"думаю…","thought":true},{"text":"Ответ."}]},"finishReason":"STOP"}]}`}
	cases := []struct {
		name    string
		answer  answer
		text    string
		finish  string
		block   string
		outcome ai.Outcome
		result  string // calls_total
	}{
		{"complete", candidateAnswer("Три процента.", "STOP"), "Три процента.", "STOP", "", ai.OutcomeComplete, "ok"},
		{"thoughts left out", thoughts, "Ответ.", "STOP", "", ai.OutcomeComplete, "ok"},
		{"cut by the token cap", candidateAnswer("Комиссия составляет три процента, а для", "MAX_TOKENS"), "Комиссия составляет три процента, а для", "MAX_TOKENS", "", ai.OutcomeTruncated, "truncated"},
		{"token cap spent thinking", candidateAnswer("", "MAX_TOKENS"), "", "MAX_TOKENS", "", ai.OutcomeEmpty, "empty"},
		{"empty", candidateAnswer("", "STOP"), "", "STOP", "", ai.OutcomeEmpty, "empty"},
		{"safety", candidateAnswer("", "SAFETY"), "", "SAFETY", "", ai.OutcomeBlocked, "blocked"},
		{"recitation with partial text", candidateAnswer("Начало цитаты", "RECITATION"), "Начало цитаты", "RECITATION", "", ai.OutcomeBlocked, "blocked"},
		{"prohibited content", candidateAnswer("", "PROHIBITED_CONTENT"), "", "PROHIBITED_CONTENT", "", ai.OutcomeBlocked, "blocked"},
		{"blocklist", candidateAnswer("", "BLOCKLIST"), "", "BLOCKLIST", "", ai.OutcomeBlocked, "blocked"},
		{"personal data", candidateAnswer("", "SPII"), "", "SPII", "", ai.OutcomeBlocked, "blocked"},
		{"other", candidateAnswer("", "OTHER"), "", "OTHER", "", ai.OutcomeBlocked, "blocked"},
		{"prompt blocked", blocked, "", "", "SAFETY", ai.OutcomeBlocked, "blocked"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newClient(t, 2*time.Second, tc.answer, textAnswer("второй ответ"))
			ans, err := f.client.Generate(context.Background(), hello)
			if err != nil {
				t.Fatal(err)
			}
			if ans.Text != tc.text || ans.FinishReason != tc.finish || ans.BlockReason != tc.block || ans.Outcome() != tc.outcome {
				t.Fatalf("Generate = %+v (%s), want %q %s %q (%s)", ans, ans.Outcome(), tc.text, tc.finish, tc.block, tc.outcome)
			}
			if n := len(f.gem.got()); n != 1 {
				t.Fatalf("%d requests, want 1 (an answer is never retried)", n)
			}
			if got := callsTotal(t, f.reg, "chat-model", tc.result); got != 1 {
				t.Fatalf("calls_total{result=%q} = %v", tc.result, got)
			}
		})
	}
}
