package systemtest

import (
	"os/exec"
	"strings"
	"testing"

	"marketingbot/sim/fixtures"
	"marketingbot/sim/world"
)

// Each required key missing stops a role binary with exit code 2 and one
// line naming the key.
func TestMissingSettingExitCode(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	e := world.New(t, world.Options{Data: &fixtures.Data{}})
	bin := world.Binaries(t)
	cases := []struct{ role, env, key string }{
		{"worker", "MARKETINGBOT_TELEGRAM_TOKEN", "telegram.token"},
		{"bot", "MARKETINGBOT_TELEGRAM_TOKEN", "telegram.token"},
		{"worker", "MARKETINGBOT_SHEETS_SPREADSHEET_ID", "sheets.spreadsheet_id"},
		{"poller", "MARKETINGBOT_SHEETS_SPREADSHEET_ID", "sheets.spreadsheet_id"},
		{"worker", "MARKETINGBOT_GEMINI_API_KEY", "gemini.api_key"},
		{"worker", "MARKETINGBOT_TELEGRAM_OPERATORS_CHAT_ID", "telegram.operators_chat_id"},
		{"poller", "MARKETINGBOT_REDIS_URL", "redis.url"},
	}
	for _, c := range cases {
		t.Run(c.role+"/"+c.key, func(t *testing.T) {
			cmd := exec.Command(bin+"/"+c.role, "--config", e.ConfigPath)
			cmd.Env = append(e.Env(), c.env+"=")
			out, err := cmd.CombinedOutput()
			ee, ok := err.(*exec.ExitError)
			if !ok || ee.ExitCode() != 2 {
				t.Fatalf("exit %v, want 2\n%s", err, out)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], c.key) {
				t.Fatalf("want one line naming %s, got:\n%s", c.key, out)
			}
		})
	}
	t.Run("check", func(t *testing.T) {
		cmd := exec.Command(bin+"/worker", "--check", "--config", e.ConfigPath)
		cmd.Env = e.Env()
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), "OK worker") {
			t.Fatalf("--check on a good setup: %v %s", err, out)
		}
		cmd = exec.Command(bin+"/worker", "--check", "--config", e.ConfigPath)
		cmd.Env = append(e.Env(), "MARKETINGBOT_SHEETS_TITLES_QUEUE=Нет такого")
		out, err = cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), `"Нет такого"`) {
			t.Fatalf("--check with a missing sheet: %v %s", err, out)
		}
		e.Redis.Stop()
		cmd = exec.Command(bin+"/bot", "--check", "--config", e.ConfigPath)
		cmd.Env = e.Env()
		out, err = cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.HasPrefix(string(out), "FAIL bot: redis") {
			t.Fatalf("--check with Redis down: %v %s", err, out)
		}
	})
}
