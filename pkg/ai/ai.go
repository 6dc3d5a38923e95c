// Package ai is our side of Google Gemini (google.golang.org/genai, Gemini API
// backend): one call with the system instruction and the conversation, retried
// within a time budget — a 429 waits the server's retry delay, 5xx and
// timeouts back off — after which the caller gets ErrUnavailable and answers
// the user with a fallback. The system prompt file is re-read when it changes.
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
}

// Request is one generation.
type Request struct {
	Model  string // "" = the chat model
	System string
	Turns  []Turn
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
	Registry        prometheus.Registerer
	Logger          *slog.Logger
}

// Client generates answers.
type Client struct {
	g   *genai.Client
	o   Options
	log *slog.Logger

	calls   *prometheus.CounterVec
	latency *prometheus.HistogramVec
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
	c := &Client{g: g, o: o, log: o.Logger,
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: obs.Namespace, Subsystem: "gemini", Name: "calls_total",
			Help: "Gemini generateContent calls by model and result (ok, 429, 5xx, timeout, error)."}, []string{"model", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: obs.Namespace, Subsystem: "gemini", Name: "call_duration_seconds",
			Help: "Gemini call latency by model.", Buckets: prometheus.ExponentialBuckets(0.05, 2, 12)}, []string{"model"}),
	}
	o.Registry.MustRegister(c.calls, c.latency)
	return c, nil
}

// Generate returns the model's text, retrying within Options.RetryBudget.
func (c *Client) Generate(ctx context.Context, req Request) (string, error) {
	model := req.Model
	if model == "" {
		model = c.o.ChatModel
	}
	contents := make([]*genai.Content, 0, len(req.Turns))
	for _, t := range req.Turns {
		if strings.TrimSpace(t.Text) == "" {
			continue
		}
		contents = append(contents, &genai.Content{Role: string(t.Role), Parts: []*genai.Part{{Text: t.Text}}})
	}
	temp := float32(c.o.Temperature)
	cfg := &genai.GenerateContentConfig{Temperature: &temp, MaxOutputTokens: int32(c.o.MaxOutputTokens)}
	if req.System != "" {
		cfg.SystemInstruction = &genai.Content{Parts: []*genai.Part{{Text: req.System}}}
	}
	deadline := time.Now().Add(c.o.RetryBudget)
	backoff := 500 * time.Millisecond
	var last error
	for attempt := 0; ; attempt++ {
		callCtx, cancel := context.WithTimeout(ctx, c.o.Timeout)
		start := time.Now()
		resp, err := c.g.Models.GenerateContent(callCtx, model, contents, cfg)
		cancel()
		c.latency.WithLabelValues(model).Observe(time.Since(start).Seconds())
		if err == nil {
			text := strings.TrimSpace(resp.Text())
			if text != "" {
				c.calls.WithLabelValues(model, "ok").Inc()
				return text, nil
			}
			err = errors.New("empty answer")
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		last = err
		wait, retry := c.retryDelay(err, backoff)
		c.calls.WithLabelValues(model, resultLabel(err)).Inc()
		if !retry || time.Now().Add(wait).After(deadline) {
			break
		}
		c.log.Warn("gemini call failed; retrying", "model", model, "attempt", attempt+1, "wait", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", ctx.Err()
		case <-t.C:
		}
		backoff = min(backoff*2, 8*time.Second)
	}
	return "", fmt.Errorf("%w: %v", ErrUnavailable, last)
}

// retryDelay: 429 waits the server's RetryInfo delay; 5xx, timeouts and
// empty answers back off with jitter; other 4xx are not retried.
func (c *Client) retryDelay(err error, backoff time.Duration) (time.Duration, bool) {
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
