package gemini

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/genai"
)

// Each unusual ending a real model produces can be asked for, and genai
// reads it as it would read Google's answer.
func TestOutcomes(t *testing.T) {
	s, ts := startEmulator(t, Options{APIKey: testKey, Models: []string{testModel}})
	client := newClient(t, ts.URL, testKey)
	ctx := context.Background()
	question := []*genai.Content{genai.NewContentFromText("Добрый день! Расскажите, что вы умеете и как с вами работать.", genai.RoleUser)}
	full, err := client.Models.GenerateContent(ctx, testModel, question, nil)
	if err != nil {
		t.Fatal(err)
	}
	whole := full.Text()
	cases := []struct {
		o      Outcome
		check  func(r *genai.GenerateContentResponse) bool
		expect string
	}{
		{Outcome{FinishReason: "MAX_TOKENS"}, func(r *genai.GenerateContentResponse) bool {
			text := r.Text()
			return r.Candidates[0].FinishReason == genai.FinishReasonMaxTokens && text != "" && len(text) < len(whole) &&
				strings.HasPrefix(whole, text) && !strings.ContainsAny(text[len(text)-1:], ".!?")
		}, "MAX_TOKENS with the first half of the answer, cut mid-sentence"},
		{Outcome{FinishReason: "MAX_TOKENS", Empty: true}, func(r *genai.GenerateContentResponse) bool {
			return r.Candidates[0].FinishReason == genai.FinishReasonMaxTokens && r.Text() == ""
		}, "MAX_TOKENS without text"},
		{Outcome{FinishReason: "STOP", Empty: true}, func(r *genai.GenerateContentResponse) bool {
			return r.Candidates[0].FinishReason == genai.FinishReasonStop && r.Text() == "" && r.Candidates[0].Content != nil
		}, "STOP with an empty content"},
		{Outcome{FinishReason: "SAFETY"}, func(r *genai.GenerateContentResponse) bool {
			c := r.Candidates[0]
			return c.FinishReason == genai.FinishReasonSafety && c.Content == nil && len(c.SafetyRatings) == 1 && c.SafetyRatings[0].Blocked
		}, "SAFETY without content, a blocked rating"},
		{Outcome{FinishReason: "RECITATION"}, func(r *genai.GenerateContentResponse) bool {
			return r.Candidates[0].FinishReason == genai.FinishReasonRecitation && r.Text() != "" && strings.HasPrefix(whole, r.Text())
		}, "RECITATION with the beginning of the answer"},
		{Outcome{FinishReason: "PROHIBITED_CONTENT"}, func(r *genai.GenerateContentResponse) bool {
			return r.Candidates[0].FinishReason == genai.FinishReasonProhibitedContent && r.Text() == ""
		}, "PROHIBITED_CONTENT without content"},
		{Outcome{BlockReason: "SAFETY"}, func(r *genai.GenerateContentResponse) bool {
			return len(r.Candidates) == 0 && r.PromptFeedback != nil && r.PromptFeedback.BlockReason == genai.BlockedReasonSafety
		}, "no candidates, promptFeedback.blockReason SAFETY"},
	}
	for _, tc := range cases {
		t.Run(tc.expect, func(t *testing.T) {
			if _, err := s.AddOutcome(Outcome{FinishReason: tc.o.FinishReason, Empty: tc.o.Empty, BlockReason: tc.o.BlockReason, Count: 1}); err != nil {
				t.Fatal(err)
			}
			r, err := client.Models.GenerateContent(ctx, testModel, question, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(r) {
				t.Fatalf("want %s; got %+v (feedback %+v)", tc.expect, r.Candidates, r.PromptFeedback)
			}
			// Count 1: the next call is normal again.
			r, err = client.Models.GenerateContent(ctx, testModel, question, nil)
			if err != nil || r.Text() != whole || r.Candidates[0].FinishReason != genai.FinishReasonStop {
				t.Fatalf("the call after the outcome: %v, %q", err, r.Text())
			}
		})
	}
}

func TestOutcomesControlAPI(t *testing.T) {
	const other = "gemini-3.1-pro-preview"
	s, ts := startEmulator(t, Options{APIKey: testKey, Models: []string{testModel, other}})
	var created struct{ ID int }
	if code := doJSON(t, http.MethodPost, ts.URL+"/_emulator/outcomes", nil,
		map[string]any{"finish_reason": "SAFETY", "models": []string{"models/" + testModel}}, &created); code != http.StatusCreated || created.ID == 0 {
		t.Fatalf("POST outcomes: %d %+v", code, created)
	}
	for _, bad := range []map[string]any{
		{"finish_reason": "NOPE"},
		{"finish_reason": "SAFETY", "block_reason": "SAFETY"},
		{},
		{"finish_reason": "SAFETY", "empty": true},
	} {
		if code := doJSON(t, http.MethodPost, ts.URL+"/_emulator/outcomes", nil, bad, nil); code != http.StatusBadRequest {
			t.Errorf("POST %v: %d, want 400", bad, code)
		}
	}
	var list []ActiveOutcome
	doJSON(t, http.MethodGet, ts.URL+"/_emulator/outcomes", nil, nil, &list)
	if len(list) != 1 || list[0].FinishReason != "SAFETY" || list[0].Models[0] != testModel {
		t.Fatalf("GET outcomes: %+v", list)
	}
	// Until cleared (count 0), for the named model only.
	client := newClient(t, ts.URL, testKey)
	q := []*genai.Content{genai.NewContentFromText("Привет", genai.RoleUser)}
	for range 2 {
		r, err := client.Models.GenerateContent(context.Background(), testModel, q, nil)
		if err != nil || r.Candidates[0].FinishReason != genai.FinishReasonSafety {
			t.Fatalf("%v %+v", err, r)
		}
	}
	if r, err := client.Models.GenerateContent(context.Background(), other, q, nil); err != nil || r.Candidates[0].FinishReason != genai.FinishReasonStop {
		t.Fatal("an outcome for one model shaped another's answer")
	}
	s.Reset()
	if n := len(s.Outcomes()); n != 0 {
		t.Fatalf("%d outcomes after Reset", n)
	}
}
