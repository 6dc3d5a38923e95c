package gemini

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"unicode"
)

// Outcome makes matching generate calls end the way the real model
// sometimes does — the answer cut by the output-token cap, stopped by a
// safety filter, empty, or the prompt blocked — deterministically, so a
// test can produce each case. The answer is still Respond's, then shaped:
//
//   - FinishReason MAX_TOKENS: about the first half of the answer, cut at a
//     word in the middle of a sentence (Empty: no text at all, as a
//     thinking model that spent its budget thinking);
//   - SAFETY, PROHIBITED_CONTENT, BLOCKLIST, SPII: a candidate without
//     content, with a blocked safety rating for SAFETY;
//   - RECITATION, OTHER, LANGUAGE: the beginning of the answer, stopped;
//   - STOP with Empty: a candidate whose content has no parts;
//   - BlockReason (SAFETY, OTHER, BLOCKLIST, PROHIBITED_CONTENT,
//     IMAGE_SAFETY): no candidates, promptFeedback.blockReason.
//
// All answer HTTP 200, as the API does.
type Outcome struct {
	FinishReason string
	Empty        bool
	BlockReason  string
	// Count: the next Count matching calls (0: until ClearOutcomes).
	Count int
	// Models: empty matches every model.
	Models []string
}

// ActiveOutcome is an outcome rule as the control API lists it.
type ActiveOutcome struct {
	ID           int      `json:"id"`
	FinishReason string   `json:"finish_reason,omitempty"`
	Empty        bool     `json:"empty,omitempty"`
	BlockReason  string   `json:"block_reason,omitempty"`
	Remaining    int      `json:"remaining,omitempty"`
	Models       []string `json:"models,omitempty"`
}

type outcomeRule struct {
	ActiveOutcome
	limited bool
}

var (
	errBadOutcome   = errors.New("gemini: invalid outcome")
	finishReasons   = []string{"STOP", "MAX_TOKENS", "SAFETY", "RECITATION", "LANGUAGE", "OTHER", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII"}
	blockReasons    = []string{"SAFETY", "OTHER", "BLOCKLIST", "PROHIBITED_CONTENT", "IMAGE_SAFETY"}
	noContentFinish = []string{"SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII"}
)

// AddOutcome adds an outcome rule and returns its id. Rules are tried in the
// order they were added; the first that matches a generate call shapes it.
func (s *Server) AddOutcome(o Outcome) (int, error) {
	switch {
	case (o.FinishReason == "") == (o.BlockReason == ""):
		return 0, fmt.Errorf("%w: set exactly one of finish_reason and block_reason", errBadOutcome)
	case o.FinishReason != "" && !slices.Contains(finishReasons, o.FinishReason):
		return 0, fmt.Errorf("%w: finish_reason %q is not one of %v", errBadOutcome, o.FinishReason, finishReasons)
	case o.BlockReason != "" && !slices.Contains(blockReasons, o.BlockReason):
		return 0, fmt.Errorf("%w: block_reason %q is not one of %v", errBadOutcome, o.BlockReason, blockReasons)
	case o.Empty && o.FinishReason != "STOP" && o.FinishReason != "MAX_TOKENS":
		return 0, fmt.Errorf("%w: empty goes with finish_reason STOP or MAX_TOKENS", errBadOutcome)
	case o.Count < 0:
		return 0, fmt.Errorf("%w: count must not be negative", errBadOutcome)
	}
	rule := &outcomeRule{ActiveOutcome: ActiveOutcome{FinishReason: o.FinishReason, Empty: o.Empty, BlockReason: o.BlockReason,
		Remaining: o.Count}, limited: o.Count > 0}
	for _, m := range o.Models {
		rule.Models = append(rule.Models, trimModel(m))
	}
	s.mu.Lock()
	s.state.nextOutcomeID++
	rule.ID = s.state.nextOutcomeID
	s.state.outcomes = append(s.state.outcomes, rule)
	s.mu.Unlock()
	s.logger.Info("gemini emulator outcome added", slog.Int("outcome_id", rule.ID), slog.String("finish_reason", o.FinishReason),
		slog.String("block_reason", o.BlockReason), slog.Bool("empty", o.Empty), slog.Int("count", o.Count))
	return rule.ID, nil
}

// ClearOutcomes removes every outcome rule.
func (s *Server) ClearOutcomes() {
	s.mu.Lock()
	s.state.outcomes = nil
	s.mu.Unlock()
}

// Outcomes lists the outcome rules still in force.
func (s *Server) Outcomes() []ActiveOutcome {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []ActiveOutcome{}
	for _, o := range s.state.outcomes {
		out = append(out, o.ActiveOutcome)
	}
	return out
}

// takeOutcome returns the rule that shapes a generate call on model, if any.
func (s *Server) takeOutcome(model string) *ActiveOutcome {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, o := range s.state.outcomes {
		if len(o.Models) > 0 && !slices.Contains(o.Models, model) {
			continue
		}
		got := o.ActiveOutcome
		if o.limited {
			if o.Remaining--; o.Remaining <= 0 {
				s.state.outcomes = slices.Delete(s.state.outcomes, i, i+1)
			}
		}
		return &got
	}
	return nil
}

// shaped is an answer as the response carries it.
type shaped struct {
	text        string
	finish      string
	noContent   bool // the candidate has no content at all
	blockReason string
}

// shape applies an outcome rule (nil: none) to an answer.
func (o *ActiveOutcome) shape(text, finish string) shaped {
	switch {
	case o == nil:
		return shaped{text: text, finish: finish}
	case o.BlockReason != "":
		return shaped{blockReason: o.BlockReason}
	case o.Empty:
		return shaped{finish: o.FinishReason}
	case o.FinishReason == "STOP":
		return shaped{text: text, finish: "STOP"}
	case slices.Contains(noContentFinish, o.FinishReason):
		return shaped{finish: o.FinishReason, noContent: true}
	}
	return shaped{text: midSentence(text), finish: o.FinishReason}
}

// midSentence is about the first half of text, cut after a word in the
// middle of a sentence (never at its end).
func midSentence(text string) string {
	r := []rune(strings.TrimSpace(text))
	cut := string(r[:max(len(r)/2, 1)])
	if i := strings.LastIndexFunc(cut, unicode.IsSpace); i > 0 {
		cut = cut[:i]
	}
	return strings.TrimRightFunc(cut, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) })
}

// candidateFor builds the candidate of a shaped answer.
func candidateFor(sh shaped, i int) candidate {
	c := candidate{FinishReason: sh.finish, Index: i}
	switch {
	case sh.noContent:
	case sh.text == "":
		c.Content = &Content{Role: roleModel}
	default:
		c.Content = &Content{Role: roleModel, Parts: []Part{{Text: sh.text}}}
	}
	if sh.finish == "SAFETY" {
		c.SafetyRatings = []safetyRating{{Category: "HARM_CATEGORY_DANGEROUS_CONTENT", Probability: "HIGH", Blocked: true}}
	}
	return c
}

type safetyRating struct {
	Category    string `json:"category"`
	Probability string `json:"probability"`
	Blocked     bool   `json:"blocked,omitempty"`
}

type promptFeedback struct {
	BlockReason   string         `json:"blockReason"`
	SafetyRatings []safetyRating `json:"safetyRatings,omitempty"`
}

func feedbackFor(sh shaped) *promptFeedback {
	if sh.blockReason == "" {
		return nil
	}
	return &promptFeedback{BlockReason: sh.blockReason,
		SafetyRatings: []safetyRating{{Category: "HARM_CATEGORY_HARASSMENT", Probability: "HIGH", Blocked: sh.blockReason == "SAFETY"}}}
}

type outcomeJSON struct {
	FinishReason string   `json:"finish_reason"`
	Empty        bool     `json:"empty"`
	BlockReason  string   `json:"block_reason"`
	Count        int      `json:"count"`
	Models       []string `json:"models"`
}

// outcomeRoutes adds the control API of outcome rules to mux.
func (s *Server) outcomeRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /_emulator/outcomes", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Outcomes())
	})
	mux.HandleFunc("POST /_emulator/outcomes", func(w http.ResponseWriter, r *http.Request) {
		var oj outcomeJSON
		if err := decodeControl(r, &oj); err != nil {
			controlError(w, http.StatusBadRequest, err.Error())
			return
		}
		id, err := s.AddOutcome(Outcome(oj))
		if err != nil {
			controlError(w, http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, http.StatusCreated, struct {
			ID int `json:"id"`
		}{id})
	})
	mux.HandleFunc("DELETE /_emulator/outcomes", func(w http.ResponseWriter, r *http.Request) {
		s.ClearOutcomes()
		w.WriteHeader(http.StatusNoContent)
	})
}
