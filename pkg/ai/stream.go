package ai

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/genai"

	"marketingbot/pkg/obs"
)

// Streaming: the same request as Generate, sent to streamGenerateContent
// (alt=sse), so the caller can show the answer while it is written. Each
// server-sent event is a GenerateContentResponse carrying the next piece of
// the text; the last one carries the finish reason (and the usage).

// Partial is the answer so far while it streams.
type Partial struct {
	// Text is everything the model wrote so far in this attempt (thoughts
	// left out), as it came: not trimmed, possibly ending mid-word or inside
	// Markdown markup.
	Text string
	// Attempt counts the calls of this generation, from 1. A new attempt
	// (after a failure) starts again from nothing, so its first Partial is
	// shorter than the last one of the attempt before.
	Attempt int
}

// errStreamCut: the stream ended cleanly but without a finish reason (the
// connection was closed early); the answer is incomplete. It is retried
// like a network failure.
var errStreamCut = errors.New("ai: the answer stream ended without a finish reason")

// GenerateStream is Generate with the answer streamed: onText gets the text
// so far each time a chunk adds to it, on the calling goroutine (a slow
// onText slows the reading of the stream, never loses a chunk). The Answer
// is what Generate returns for the same response — the text of all chunks
// together, trimmed, with the finish reason of the last — and failures are
// handled alike, within the same retry budget: a 429 waits the server's
// delay, 5xx, timeouts and network failures back off, other answers are not
// retried, a model Gemini does not know is ErrModelNotFound. A failure after
// some text came (an error event in the stream, a dropped connection, a
// stream that ends without a finish reason) is such a failure too: the
// whole request is made again and onText starts over with the next Attempt;
// the text of a failed attempt is never part of an Answer.
func (c *Client) GenerateStream(ctx context.Context, req Request, onText func(Partial)) (Answer, error) {
	g := c.newGeneration(req)
	g.onText = onText
	if g.onText == nil {
		g.onText = func(Partial) {}
	}
	return c.run(ctx, g)
}

// streamMetrics: how soon the first text of a streamed answer arrives.
type streamMetrics struct {
	firstText *prometheus.HistogramVec
}

func newStreamMetrics(reg prometheus.Registerer) streamMetrics {
	m := streamMetrics{firstText: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: obs.Namespace, Subsystem: "gemini",
		Name: "stream_first_text_seconds", Help: "From the start of a streamGenerateContent call to its first text, by model.",
		Buckets: prometheus.ExponentialBuckets(0.05, 2, 12)}, []string{"model"})}
	reg.MustRegister(m.firstText)
	return m
}

// streamAttempt makes the n-th call (1-based) as a stream; outcomes as attempt's.
func (g *generation) streamAttempt(ctx context.Context, n int) (string, error) {
	callCtx, cancel := context.WithTimeout(ctx, g.c.o.Timeout)
	defer cancel()
	start := time.Now()
	var acc streamed
	var err error
	for resp, e := range g.c.g.Models.GenerateContentStream(callCtx, g.model, g.contents, g.cfg) {
		if e != nil {
			err = e
			break
		}
		if acc.add(resp) {
			if acc.chunks == 1 {
				g.c.stream.firstText.WithLabelValues(g.model).Observe(time.Since(start).Seconds())
			}
			g.onText(Partial{Text: acc.text.String(), Attempt: n})
		}
	}
	g.c.latency.WithLabelValues(g.model).Observe(time.Since(start).Seconds())
	if err == nil && !acc.finished() {
		err = errStreamCut
	}
	if err == nil {
		g.answered, g.answer = true, acc.answer()
		g.c.calls.WithLabelValues(g.model, answerLabel(g.answer)).Inc()
		g.c.logAnswer(g.model, g.answer)
		return g.answer.Text, nil
	}
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	if acc.chunks > 0 {
		g.c.log.Warn("gemini answer stream broke off", "model", g.model, "attempt", n, "chars", len([]rune(acc.text.String())), "err", err)
	}
	g.c.calls.WithLabelValues(g.model, resultLabel(err)).Inc()
	if wait, ok := retryDelay(err, g.c.backoff(n)); ok {
		return "", &retryLater{err: err, wait: wait}
	}
	return "", err
}

// streamed collects the chunks of one streamed response.
type streamed struct {
	text         strings.Builder
	chunks       int // chunks that added text
	finishReason string
	blockReason  string
}

// add takes one chunk in and says whether it added text.
func (s *streamed) add(resp *genai.GenerateContentResponse) bool {
	if resp == nil {
		return false
	}
	if pf := resp.PromptFeedback; pf != nil && pf.BlockReason != "" && pf.BlockReason != genai.BlockedReasonUnspecified {
		s.blockReason = string(pf.BlockReason)
	}
	if len(resp.Candidates) == 0 || resp.Candidates[0] == nil {
		return false
	}
	cand := resp.Candidates[0]
	if cand.FinishReason != "" {
		s.finishReason = string(cand.FinishReason)
	}
	added := false
	if cand.Content != nil {
		for _, p := range cand.Content.Parts {
			if p != nil && !p.Thought && p.Text != "" {
				s.text.WriteString(p.Text)
				added = true
			}
		}
	}
	if added {
		s.chunks++
	}
	return added
}

// finished: the model said it was done (a finish reason, or the prompt
// was blocked), so the text is all there is.
func (s *streamed) finished() bool {
	return (s.finishReason != "" && s.finishReason != string(genai.FinishReasonUnspecified)) || s.blockReason != ""
}

// answer is the response as Generate would have read it.
func (s *streamed) answer() Answer {
	return Answer{Text: strings.TrimSpace(s.text.String()), FinishReason: s.finishReason, BlockReason: s.blockReason}
}
