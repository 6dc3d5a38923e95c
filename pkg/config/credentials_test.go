package config_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"marketingbot/pkg/config"
)

// A credentials file is checked whenever it is configured, also beside an
// emulator endpoint (the authenticated emulator mode of the tests).
func TestCredentialsFileCheckedWithEndpoint(t *testing.T) {
	p := writeConfig(t, validYAML)
	missing := filepath.Join(t.TempDir(), "credentials.json")
	for _, role := range []config.Role{config.RoleWorker, config.RolePoller} {
		_, err := config.LoadFor(role, config.Options{File: p, Env: map[string]string{"MARKETINGBOT_SHEETS_CREDENTIALS_FILE": missing}})
		var cerr *config.Error
		if !errors.As(err, &cerr) || cerr.Key != "sheets.credentials_file" || !strings.Contains(err.Error(), missing) {
			t.Fatalf("%s: got %v, want an error naming sheets.credentials_file and %s", role, err, missing)
		}
	}
}

// The defaults name no model Google has shut down (Gemini 1.x, 2.0, 2.5:
// https://ai.google.dev/gemini-api/docs/deprecations).
func TestDefaultModelsAreNotRetired(t *testing.T) {
	g := config.Defaults().Gemini
	for _, m := range []string{g.ChatModel, g.AnalysisModel} {
		for _, old := range []string{"gemini-1.", "gemini-2.", "gemini-pro", "gemini-3-pro-preview"} {
			if strings.HasPrefix(m, old) {
				t.Errorf("default model %q is retired", m)
			}
		}
	}
}
