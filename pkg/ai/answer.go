package ai

import (
	"strings"

	"google.golang.org/genai"
)

// Answer is what the model returned for a Request.
type Answer struct {
	// Text is the answer (thoughts left out), trimmed; it may be partial
	// (Outcome says how to read it).
	Text string
	// FinishReason is the candidate's finishReason as Gemini reports it
	// ("STOP", "MAX_TOKENS", "SAFETY", "RECITATION", …); "" when there was
	// no candidate.
	FinishReason string
	// BlockReason is promptFeedback.blockReason when Gemini blocked the
	// prompt itself (no candidate then); "" otherwise.
	BlockReason string
}

// Outcome is how an Answer is to be read.
type Outcome string

const (
	// OutcomeComplete: the model finished (STOP) with text.
	OutcomeComplete Outcome = "complete"
	// OutcomeTruncated: the text was cut by the output-token cap
	// (MAX_TOKENS): it may stop mid-sentence.
	OutcomeTruncated Outcome = "truncated"
	// OutcomeBlocked: the prompt was blocked, or the answer stopped for
	// safety, recitation, prohibited content, a blocklist, personal data or
	// another reason; whatever text came with it is not to be shown.
	OutcomeBlocked Outcome = "blocked"
	// OutcomeEmpty: no text (an empty STOP, or MAX_TOKENS spent on thinking).
	OutcomeEmpty Outcome = "empty"
)

// Outcome classifies the answer.
func (a Answer) Outcome() Outcome {
	switch {
	case a.BlockReason != "":
		return OutcomeBlocked
	case a.FinishReason == "" || a.FinishReason == string(genai.FinishReasonStop) || a.FinishReason == string(genai.FinishReasonUnspecified):
		if a.Text == "" {
			return OutcomeEmpty
		}
		return OutcomeComplete
	case a.FinishReason == string(genai.FinishReasonMaxTokens):
		if a.Text == "" {
			return OutcomeEmpty
		}
		return OutcomeTruncated
	}
	return OutcomeBlocked
}

// answerOf reads a response: the first candidate's text and finish reason,
// or the prompt's block reason.
func answerOf(resp *genai.GenerateContentResponse) Answer {
	var a Answer
	if resp == nil {
		return a
	}
	if pf := resp.PromptFeedback; pf != nil && pf.BlockReason != "" && pf.BlockReason != genai.BlockedReasonUnspecified {
		a.BlockReason = string(pf.BlockReason)
	}
	if len(resp.Candidates) == 0 || resp.Candidates[0] == nil {
		return a
	}
	a.FinishReason = string(resp.Candidates[0].FinishReason)
	if c := resp.Candidates[0].Content; c != nil {
		var b strings.Builder
		for _, p := range c.Parts {
			if p != nil && !p.Thought {
				b.WriteString(p.Text)
			}
		}
		a.Text = strings.TrimSpace(b.String())
	}
	return a
}

// answerLabel is the calls_total result of an answer.
func answerLabel(a Answer) string {
	if o := a.Outcome(); o != OutcomeComplete {
		return string(o)
	}
	return "ok"
}

// logAnswer leaves a record of an answer that is not complete.
func (c *Client) logAnswer(model string, a Answer) {
	if o := a.Outcome(); o != OutcomeComplete {
		c.log.Warn("gemini answer not complete", "model", model, "outcome", string(o),
			"finish_reason", a.FinishReason, "block_reason", a.BlockReason, "chars", len([]rune(a.Text)))
	}
}
