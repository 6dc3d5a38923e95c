package config_test

import (
	"errors"
	"testing"
	"time"

	"marketingbot/pkg/config"
)

func TestStreamSettings(t *testing.T) {
	p := writeConfig(t, validYAML)
	cfg, err := config.LoadFor(config.RoleWorker, config.Options{File: p, Env: map[string]string{}})
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Gemini.Stream || cfg.Gemini.DraftInterval != 700*time.Millisecond {
		t.Fatalf("defaults: stream %v, draft_interval %s; want on, 700ms", cfg.Gemini.Stream, cfg.Gemini.DraftInterval)
	}
	cfg, err = config.LoadFor(config.RoleWorker, config.Options{File: p, Env: map[string]string{
		"MARKETINGBOT_GEMINI_STREAM": "false", "MARKETINGBOT_GEMINI_DRAFT_INTERVAL": "1.5s"}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Gemini.Stream || cfg.Gemini.DraftInterval != 1500*time.Millisecond {
		t.Fatalf("overrides: stream %v, draft_interval %s", cfg.Gemini.Stream, cfg.Gemini.DraftInterval)
	}
	for _, v := range []string{"50ms", "0s", "-1s"} {
		_, err := config.LoadFor(config.RoleWorker, config.Options{File: p, Env: map[string]string{"MARKETINGBOT_GEMINI_DRAFT_INTERVAL": v}})
		var cerr *config.Error
		if !errors.As(err, &cerr) || cerr.Key != "gemini.draft_interval" {
			t.Fatalf("draft_interval %s: got %v, want an error naming gemini.draft_interval", v, err)
		}
	}
	// Without streaming the interval is not used and not checked.
	if _, err := config.LoadFor(config.RoleWorker, config.Options{File: p, Env: map[string]string{
		"MARKETINGBOT_GEMINI_STREAM": "false", "MARKETINGBOT_GEMINI_DRAFT_INTERVAL": "0s"}}); err != nil {
		t.Fatal(err)
	}
}
