// Package ai is our side of Google Gemini (google.golang.org/genai, Gemini API
// backend): one call with the system instruction and the conversation, retried
// within a time budget — a 429 waits the server's retry delay, 5xx and
// timeouts back off — after which the caller gets ErrUnavailable and answers
// the user with a fallback. An answer comes back with its finish reason
// (Answer, Outcome: complete, truncated by the output cap, blocked, empty)
// and is never retried because of what it says. The system prompt file is
// re-read when it changes.
package ai

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/genai"

	"marketingbot/pkg/obs"
)

// ErrUnavailable: Gemini did not answer within the retry budget.
var ErrUnavailable = errors.New("ai: model unavailable")

// Role of a turn in the conversation sent to the model.
type Role string

const (
	RoleUser  Role = "user"
	RoleModel Role = "model"
)

// Turn is one message of the conversation.
type Turn struct {
	Role Role
	Text string
	// Media go with the text as inline parts (a voice note, a photo, a
	// PDF), before it (media.go).
	Media []Blob
}

// Request is one generation.
type Request struct {
	Model  string // "" = the chat model
	System string
	Turns  []Turn
	// JSONSchema, when set, asks for JSON output of that shape (a JSON
	// Schema object; media.go); Answer.Text is then the JSON.
	JSONSchema any
	// MaxOutputTokens overrides Options.MaxOutputTokens (0: the default).
	MaxOutputTokens int
}

// Options configure the client.
type Options struct {
	APIKey          string
	BaseURL         string
	ChatModel       string
	Timeout         time.Duration
	RetryBudget     time.Duration
	Temperature     float64
	MaxOutputTokens int
	// ModelSettings name the configuration key(s) of each model
	// ("gemini-3-flash-preview" → "gemini.chat_model") for error messages.
	ModelSettings map[string]string
	Registry      prometheus.Registerer
	Logger        *slog.Logger
}

// Client generates answers.
type Client struct {
	g   *genai.Client
	o   Options
	log *slog.Logger

	calls   *prometheus.CounterVec
	latency *prometheus.HistogramVec
	models  modelMetrics  // models.go
	stream  streamMetrics // stream.go
	// firstBackoff is the first wait after a 5xx or a timeout (tests shorten it).
	firstBackoff time.Duration
}

// New builds the client; it makes no request.
func New(ctx context.Context, o Options) (*Client, error) {
	attempts := int32(1) // we retry ourselves, within the budget
	cc := &genai.ClientConfig{APIKey: o.APIKey, Backend: genai.BackendGeminiAPI,
		HTTPOptions: genai.HTTPOptions{BaseURL: o.BaseURL, RetryOptions: &genai.HTTPRetryOptions{Attempts: &attempts}}}
	g, err := genai.NewClient(ctx, cc)
	if err != nil {
		return nil, fmt.Errorf("ai: create client: %w", err)
	}
	c := &Client{g: g, o: o, log: o.Logger, firstBackoff: 500 * time.Millisecond,
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: obs.Namespace, Subsystem: "gemini", Name: "calls_total",
			Help: "Gemini generateContent calls by model and result (ok, truncated, blocked, empty, 429, 5xx, timeout, model_not_found, error)."}, []string{"model", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: obs.Namespace, Subsystem: "gemini", Name: "call_duration_seconds",
			Help: "Gemini call latency by model.", Buckets: prometheus.ExponentialBuckets(0.05, 2, 12)}, []string{"model"}),
	}
	o.Registry.MustRegister(c.calls, c.latency)
	c.models = newModelMetrics(o.Registry)
	c.stream = newStreamMetrics(o.Registry)
	return c, nil
}

// Generate returns the model's answer with its finish reason, retrying
// failures (429, 5xx, timeouts) within Options.RetryBudget. An answer is
// never retried, whatever its Outcome: an empty, blocked or truncated one
// is returned as it is, for the caller to say so.
func (c *Client) Generate(ctx context.Context, req Request) (Answer, error) {
	return c.run(ctx, c.newGeneration(req))
}

// newGeneration prepares the call of req: the model, the configuration and
// the contents (Generate and GenerateStream send the same).
func (c *Client) newGeneration(req Request) *generation {
	g := &generation{c: c, model: req.Model, cfg: c.contentConfig(req.System),
		contents: make([]*genai.Content, 0, len(req.Turns))}
	if g.model == "" {
		g.model = c.o.ChatModel
	}
	outputConfig(g.cfg, req) // media.go
	for _, t := range req.Turns {
		if parts := partsOf(t); len(parts) > 0 {
			g.contents = append(g.contents, &genai.Content{Role: string(t.Role), Parts: parts})
		}
	}
	return g
}

// run makes g's attempts within the retry budget.
func (c *Client) run(ctx context.Context, g *generation) (Answer, error) {
	_, err := failsafe.With(g.policy(time.Now().Add(c.o.RetryBudget))).WithContext(ctx).GetWithExecution(
		func(e failsafe.Execution[string]) (string, error) { return g.attempt(ctx, e.Attempts()) })
	switch {
	case g.answered:
		c.answered(g.model)
		return g.answer, nil // even if ctx ended meanwhile
	case ctx.Err() != nil:
		return Answer{}, ctx.Err()
	}
	return Answer{}, c.failure(g.model, unwrapLater(err)) // models.go
}

func (c *Client) contentConfig(system string) *genai.GenerateContentConfig {
	temp := float32(c.o.Temperature)
	cfg := &genai.GenerateContentConfig{Temperature: &temp, MaxOutputTokens: int32(c.o.MaxOutputTokens)}
	if system != "" {
		cfg.SystemInstruction = &genai.Content{Parts: []*genai.Part{{Text: system}}}
	}
	return cfg
}

// generation is one Generate call: what it sends and how its attempts went.
type generation struct {
	c        *Client
	model    string
	contents []*genai.Content
	cfg      *genai.GenerateContentConfig

	answered bool
	answer   Answer

	// onText, when set, makes the attempts stream (stream.go).
	onText func(Partial)
}

// policy retries a failure that says when to try again (retryLater) as long
// as that moment is within the budget. The delay is the one the failure
// carries, never jittered further: a 429's RetryInfo delay is the server's.
func (g *generation) policy(deadline time.Time) retrypolicy.RetryPolicy[string] {
	return retrypolicy.NewBuilder[string]().
		HandleIf(func(_ string, err error) bool {
			var later *retryLater
			return errors.As(err, &later) && !time.Now().Add(later.wait).After(deadline)
		}).
		WithMaxRetries(-1). // bounded by the budget
		WithDelayFunc(func(e failsafe.ExecutionAttempt[string]) time.Duration {
			var later *retryLater
			if errors.As(e.LastError(), &later) {
				return later.wait
			}
			return 0
		}).
		OnRetryScheduled(func(e failsafe.ExecutionScheduledEvent[string]) {
			g.c.log.Warn("gemini call failed; retrying", "model", g.model, "attempt", e.Attempts(), "wait", e.Delay, "err", unwrapLater(e.LastError()))
		}).
		ReturnLastFailure().
		Build()
}

// attempt makes the n-th call (1-based). A failure worth repeating comes back
// as a *retryLater saying after how long.
func (g *generation) attempt(ctx context.Context, n int) (string, error) {
	if g.onText != nil {
		return g.streamAttempt(ctx, n)
	}
	callCtx, cancel := context.WithTimeout(ctx, g.c.o.Timeout)
	start := time.Now()
	resp, err := g.c.g.Models.GenerateContent(callCtx, g.model, g.contents, g.cfg)
	cancel()
	g.c.latency.WithLabelValues(g.model).Observe(time.Since(start).Seconds())
	if err == nil {
		g.answered, g.answer = true, answerOf(resp)
		g.c.calls.WithLabelValues(g.model, answerLabel(g.answer)).Inc()
		g.c.logAnswer(g.model, g.answer)
		return g.answer.Text, nil
	}
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	g.c.calls.WithLabelValues(g.model, resultLabel(err)).Inc()
	if wait, ok := retryDelay(err, g.c.backoff(n)); ok {
		return "", &retryLater{err: err, wait: wait}
	}
	return "", err
}

// retryLater is a failed call worth repeating after wait.
type retryLater struct {
	err  error
	wait time.Duration
}

func (e *retryLater) Error() string { return e.err.Error() }
func (e *retryLater) Unwrap() error { return e.err }

func unwrapLater(err error) error {
	var later *retryLater
	if errors.As(err, &later) {
		return later.err
	}
	return err
}

// backoff of the n-th attempt (1-based): 500 ms doubling up to 8 s.
func (c *Client) backoff(n int) time.Duration {
	return min(c.firstBackoff<<min(max(n-1, 0), 8), 8*time.Second)
}

// retryDelay: 429 waits the server's RetryInfo delay; 5xx and timeouts back
// off with jitter (±50 %); other 4xx are not retried.
func retryDelay(err error, backoff time.Duration) (time.Duration, bool) {
	jittered := backoff/2 + time.Duration(rand.Int64N(int64(backoff)))
	var apiErr genai.APIError
	if errors.As(err, &apiErr) {
		switch {
		case apiErr.Code == 429:
			if d := retryInfoDelay(apiErr); d > 0 {
				return d, true
			}
			return jittered, true
		case apiErr.Code >= 500:
			return jittered, true
		default:
			return 0, false
		}
	}
	return jittered, true
}

func retryInfoDelay(e genai.APIError) time.Duration {
	for _, d := range e.Details {
		if t, _ := d["@type"].(string); strings.HasSuffix(t, "google.rpc.RetryInfo") {
			if s, ok := d["retryDelay"].(string); ok {
				if dur, err := time.ParseDuration(s); err == nil {
					return dur
				}
			}
		}
	}
	return 0
}

func resultLabel(err error) string {
	var apiErr genai.APIError
	switch {
	case errors.As(err, &apiErr) && apiErr.Code == 429:
		return "429"
	case errors.As(err, &apiErr) && apiErr.Code >= 500:
		return "5xx"
	case isModelNotFound(err):
		return "model_not_found"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	default:
		return "error"
	}
}

// PromptFile is the system prompt on disk, re-read when its modification time
// changes (edit the file, no restart). If the file cannot be read the last
// good text (or the built-in default) stays in use.
type PromptFile struct {
	path     string
	fallback string
	log      *slog.Logger

	mu      sync.Mutex
	text    string
	modTime time.Time
	checked time.Time
}

// NewPromptFile watches path; fallback is used until a read succeeds.
func NewPromptFile(path, fallback string, log *slog.Logger) *PromptFile {
	return &PromptFile{path: path, fallback: fallback, text: fallback, log: log}
}

// Text returns the current prompt (checking the file at most once a second).
func (p *PromptFile) Text() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.path == "" || time.Since(p.checked) < time.Second {
		return p.text
	}
	p.checked = time.Now()
	st, err := os.Stat(p.path)
	if err != nil {
		return p.text
	}
	if st.ModTime().Equal(p.modTime) {
		return p.text
	}
	b, err := os.ReadFile(p.path)
	if err != nil || strings.TrimSpace(string(b)) == "" {
		p.log.Warn("system prompt not reloaded", "path", p.path, "err", err)
		return p.text
	}
	if !p.modTime.IsZero() {
		p.log.Info("system prompt reloaded", "path", p.path)
	}
	p.text, p.modTime = string(b), st.ModTime()
	return p.text
}
