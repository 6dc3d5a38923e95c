package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"marketingbot/pkg/config"
)

const validYAML = `
telegram:
  token: "123456:TEST-token_abcdefghij"
  api_url: http://127.0.0.1:1
  operators_chat_id: -1001
sheets:
  spreadsheet_id: sheet-1
  endpoint: http://127.0.0.1:2
gemini:
  api_key: test-key
`

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExampleDocumentsEveryKey(t *testing.T) {
	raw, err := os.ReadFile("../../configs/config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The example must load (no unknown keys) …
	if _, err := config.Load(config.Options{File: "../../configs/config.example.yaml", Env: map[string]string{}}); err != nil {
		t.Fatalf("example config does not load: %v", err)
	}
	// … and mention every key's last segment under its section.
	text := string(raw)
	for _, k := range config.Keys() {
		parts := strings.Split(k, ".")
		leaf := parts[len(parts)-1]
		if !regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(leaf) + `:`).MatchString(text) {
			t.Errorf("configs/config.example.yaml does not document %s", k)
		}
	}
}

func TestRequiredKeys(t *testing.T) {
	// Each case removes one setting from a valid configuration; the role must
	// refuse with an error that names exactly that key.
	cases := []struct {
		role config.Role
		env  string // env var blanked
		key  string
	}{
		{config.RoleBot, "MARKETINGBOT_TELEGRAM_TOKEN", "telegram.token"},
		{config.RoleWorker, "MARKETINGBOT_TELEGRAM_TOKEN", "telegram.token"},
		{config.RoleWorker, "MARKETINGBOT_SHEETS_SPREADSHEET_ID", "sheets.spreadsheet_id"},
		{config.RolePoller, "MARKETINGBOT_SHEETS_SPREADSHEET_ID", "sheets.spreadsheet_id"},
		{config.RoleWorker, "MARKETINGBOT_GEMINI_API_KEY", "gemini.api_key"},
		{config.RoleWorker, "MARKETINGBOT_TELEGRAM_OPERATORS_CHAT_ID", "telegram.operators_chat_id"},
		{config.RoleWorker, "MARKETINGBOT_SHEETS_ENDPOINT", "sheets.credentials_file"},
		{config.RoleBot, "MARKETINGBOT_REDIS_URL", "redis.url"},
		{config.RoleWorker, "MARKETINGBOT_HTTP_WORKER_ADDR", "http.worker_addr"},
		{config.RoleBot, "MARKETINGBOT_HTTP_BOT_ADDR", "http.bot_addr"},
		{config.RolePoller, "MARKETINGBOT_HTTP_POLLER_ADDR", "http.poller_addr"},
		{config.RoleWorker, "MARKETINGBOT_SHEETS_TITLES_APPEALS", "sheets.titles.appeals"},
		{config.RoleWorker, "MARKETINGBOT_GEMINI_CHAT_MODEL", "gemini.chat_model"},
	}
	p := writeConfig(t, validYAML)
	for _, tc := range cases {
		t.Run(string(tc.role)+"/"+tc.key, func(t *testing.T) {
			if _, err := config.LoadFor(tc.role, config.Options{File: p, Env: map[string]string{}}); err != nil {
				t.Fatalf("valid config refused: %v", err)
			}
			// An empty environment value counts as set-but-empty, i.e. missing.
			_, err := config.LoadFor(tc.role, config.Options{File: p, Env: map[string]string{tc.env: ""}})
			var cerr *config.Error
			if !errors.As(err, &cerr) {
				t.Fatalf("got %v, want *config.Error", err)
			}
			if cerr.Key != tc.key {
				t.Fatalf("error names %q, want %q: %v", cerr.Key, tc.key, err)
			}
			if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, tc.key) {
				t.Fatalf("message must be one line naming the key: %q", msg)
			}
		})
	}
}

func TestMalformedValues(t *testing.T) {
	cases := []struct {
		env, val, key string
	}{
		{"MARKETINGBOT_POLLER_INTERVAL", "soon", "poller.interval"},
		{"MARKETINGBOT_POLLER_INTERVAL", "-5s", "poller.interval"},
		{"MARKETINGBOT_TELEGRAM_TOKEN", "not-a-token", "telegram.token"},
		{"MARKETINGBOT_REDIS_URL", "127.0.0.1:6379", "redis.url"},
		{"MARKETINGBOT_WORKER_CONCURRENCY", "many", "worker.concurrency"},
		{"MARKETINGBOT_SHEETS_BATCHING", "perhaps", "sheets.batching"},
		{"MARKETINGBOT_APP_TIMEZONE", "Mars/Olympus", "app.timezone"},
		{"MARKETINGBOT_HTTP_BOT_ADDR", "localhost", "http.bot_addr"},
		{"MARKETINGBOT_TELEGRAM_WEBHOOK_URL", "ftp://x", "telegram.webhook_url"},
		{"MARKETINGBOT_ANALYTICS_ENGINE", "excel", "analytics.engine"},
		{"MARKETINGBOT_LOG_LEVEL", "loud", "log.level"},
	}
	p := writeConfig(t, validYAML)
	for _, tc := range cases {
		t.Run(tc.key+"="+tc.val, func(t *testing.T) {
			_, err := config.LoadFor(config.RoleSandbox, config.Options{File: p, Env: map[string]string{tc.env: tc.val}})
			var cerr *config.Error
			if !errors.As(err, &cerr) || cerr.Key != tc.key {
				t.Fatalf("got %v, want an error naming %s", err, tc.key)
			}
		})
	}
}

func TestUnknownKeyInFile(t *testing.T) {
	p := writeConfig(t, validYAML+"\npoller:\n  intervall: 5s\n")
	_, err := config.Load(config.Options{File: p, Env: map[string]string{}})
	var cerr *config.Error
	if !errors.As(err, &cerr) || cerr.Key != "poller.intervall" {
		t.Fatalf("got %v, want unknown key poller.intervall", err)
	}
}

func TestPrecedence(t *testing.T) {
	p := writeConfig(t, validYAML+"\npoller:\n  interval: 20s\nworker:\n  concurrency: 7\n")
	dir := filepath.Dir(p)
	env := "MARKETINGBOT_POLLER_INTERVAL=30s\nMARKETINGBOT_WORKER_CONCURRENCY=9\nGEMINI_API_KEY=legacy-key\nMARKETINGBOT_TELEGRAM_WEBHOOK_SECRET=from-dotenv\n"
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte(env), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadFor(config.RoleSandbox, config.Options{File: p, Env: map[string]string{"MARKETINGBOT_POLLER_INTERVAL": "40s"}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Poller.Interval != 40*time.Second {
		t.Errorf("environment must beat .env and file: interval = %s", cfg.Poller.Interval)
	}
	if cfg.Worker.Concurrency != 9 {
		t.Errorf(".env must beat the file: concurrency = %d", cfg.Worker.Concurrency)
	}
	if cfg.Gemini.APIKey != "legacy-key" {
		t.Errorf("legacy GEMINI_API_KEY in .env must override the file: %q", cfg.Gemini.APIKey)
	}
	if cfg.Telegram.WebhookSecret != "from-dotenv" {
		t.Errorf(".env secret not read: %q", cfg.Telegram.WebhookSecret)
	}
	if cfg.Sheets.Titles.Appeals != "Обращения" || cfg.Poller.PromotionsInterval != time.Minute {
		t.Errorf("defaults lost: %+v", cfg.Sheets.Titles)
	}
	red := cfg.Redacted()
	if red["telegram.token"] != "***" || red["gemini.api_key"] != "***" {
		t.Errorf("secrets not redacted: %v %v", red["telegram.token"], red["gemini.api_key"])
	}
}

func TestExplicitEnvFileMissing(t *testing.T) {
	p := writeConfig(t, validYAML+"\napp:\n  env_file: /nonexistent/.env\n")
	if _, err := config.Load(config.Options{File: p, Env: map[string]string{}}); err == nil || !strings.Contains(err.Error(), "app.env_file") {
		t.Fatalf("got %v, want an error naming app.env_file", err)
	}
}

func TestWebhookNeedsSecret(t *testing.T) {
	p := writeConfig(t, validYAML)
	_, err := config.LoadFor(config.RoleBot, config.Options{File: p, Env: map[string]string{"MARKETINGBOT_TELEGRAM_WEBHOOK_URL": "https://bot.example.com/telegram/webhook"}})
	var cerr *config.Error
	if !errors.As(err, &cerr) || cerr.Key != "telegram.webhook_secret" {
		t.Fatalf("got %v", err)
	}
}
