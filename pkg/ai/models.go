package ai

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/genai"

	"marketingbot/pkg/obs"
)

// ErrModelNotFound: Gemini answered 404 NOT_FOUND for the model — it was
// shut down, retired or misspelled, or cannot generate content. It is
// permanent (never retried). Generate returns it together with
// ErrUnavailable, so callers answer with their usual fallback.
var ErrModelNotFound = errors.New("ai: model not found")

// modelMetrics say whether each model answered the last time it was asked.
type modelMetrics struct {
	available *prometheus.GaugeVec
}

func newModelMetrics(reg prometheus.Registerer) modelMetrics {
	m := modelMetrics{available: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: obs.Namespace, Subsystem: "gemini", Name: "model_available",
		Help: "1 when the model answered the last call, 0 when Gemini said it does not exist (retired or misspelled: fix the setting)."}, []string{"model"})}
	reg.MustRegister(m.available)
	return m
}

// isModelNotFound: Gemini's 404 for a model ("models/x is not found for API
// version v1beta, or is not supported for generateContent.").
func isModelNotFound(err error) bool {
	var apiErr genai.APIError
	return errors.As(err, &apiErr) && apiErr.Code == 404
}

// settingOf names the configuration key(s) of model for messages.
func (c *Client) settingOf(model string) string {
	if s := c.o.ModelSettings[model]; s != "" {
		return s
	}
	return "the requested model"
}

// answered records that model works.
func (c *Client) answered(model string) { c.models.available.WithLabelValues(model).Set(1) }

// failure is what Generate returns when no answer came: ErrUnavailable, and
// ErrModelNotFound as well when Gemini says the model does not exist — an
// ERROR naming the model and its setting, and the model's gauge at 0.
func (c *Client) failure(model string, err error) error {
	if isRejected(err) { // media.go
		return fmt.Errorf("%w: %w: %w", ErrUnavailable, ErrRejected, err)
	}
	if !isModelNotFound(err) {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	setting := c.settingOf(model)
	c.models.available.WithLabelValues(model).Set(0)
	c.log.Error("gemini model does not exist (retired or misspelled): users get the fallback reply until the setting names a current model",
		"model", model, "setting", setting, "err", err)
	return fmt.Errorf("%w: %w: model %q (%s): %v", ErrUnavailable, ErrModelNotFound, model, setting, err)
}

// ModelSetting is a configured model and the setting that names it.
type ModelSetting struct {
	Model   string // "gemini-3-flash-preview"
	Setting string // "gemini.chat_model"
}

// CheckModels asks Gemini for each model (models.get) and returns one short
// phrase per problem, nil when every model exists and can generate content:
//
//	model "gemini-1.5-pro" (gemini.analysis_model) does not exist: retired or misspelled
//
// A refused API key or an unreachable API stops the walk (the other models
// would say the same).
func (c *Client) CheckModels(ctx context.Context, models []ModelSetting) []string {
	var problems []string
	for _, m := range models {
		info, err := c.g.Models.Get(ctx, m.Model, nil)
		if err != nil {
			p, stop := modelProblem(m, err)
			problems = append(problems, p)
			if stop {
				break
			}
			continue
		}
		if acts := info.SupportedActions; len(acts) > 0 && !slices.Contains(acts, "generateContent") {
			problems = append(problems, fmt.Sprintf("model %q (%s) cannot generate text (it supports %s)", m.Model, m.Setting, strings.Join(acts, ", ")))
		}
	}
	return problems
}

// modelProblem words a models.get failure; stop says the others need not
// be asked.
func modelProblem(m ModelSetting, err error) (string, bool) {
	var apiErr genai.APIError
	if !errors.As(err, &apiErr) {
		return fmt.Sprintf("models.get %q: %v", m.Model, err), true
	}
	switch {
	case apiErr.Code == 404:
		return fmt.Sprintf("model %q (%s) does not exist: retired or misspelled", m.Model, m.Setting), false
	case keyRefused(apiErr):
		return fmt.Sprintf("the API key was refused (HTTP %d %s): %s", apiErr.Code, apiErr.Status, apiErr.Message), true
	}
	return fmt.Sprintf("models.get %q (%s): HTTP %d %s: %s", m.Model, m.Setting, apiErr.Code, apiErr.Status, apiErr.Message), apiErr.Code >= 500
}

// keyRefused: Google's answers to a missing, wrong or blocked API key — 400
// INVALID_ARGUMENT with reason API_KEY_INVALID ("API key not valid. Please
// pass a valid API key."), 401, or 403 PERMISSION_DENIED.
func keyRefused(e genai.APIError) bool {
	if e.Code == 401 || e.Code == 403 {
		return true
	}
	for _, d := range e.Details {
		if r, _ := d["reason"].(string); strings.HasPrefix(r, "API_KEY_") {
			return true
		}
	}
	return false
}
