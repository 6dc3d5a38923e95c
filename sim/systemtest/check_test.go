package systemtest

import (
	"strings"
	"testing"

	"marketingbot/pkg/app"
	"marketingbot/pkg/config"
	"marketingbot/pkg/domain"
	"marketingbot/sim/fixtures"
	"marketingbot/sim/world"
)

// One --check against the emulators names both a retired model and a
// header the spreadsheet lacks, each by name, on one line, exit 1: an
// operator sees every problem of a first deployment at once.
func TestCheckNamesRetiredModelAndMissingHeader(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	e := world.New(t, world.Options{})
	e.LoadLayout(layoutTeamSpreadsheet(), fixtures.Data{
		Partners: []domain.Partner{{Code: "P-1", Phone: "79123456789", FullName: "Анна", Status: "authorized", TelegramID: 42}},
	})
	code, out := e.Check(config.RoleWorker, map[string]string{"MARKETINGBOT_GEMINI_CHAT_MODEL": "gemini-1.5-pro"})
	for _, want := range []string{
		"FAIL worker: ",
		`model "gemini-1.5-pro" (gemini.chat_model) does not exist`,
		`Обращения: missing "Статус"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("--check output lacks %q", want)
		}
	}
	if code != app.ExitFail || strings.Count(out, "\n") != 1 {
		t.Fatalf("--check: exit %d, output %q: want exit 1 and one line", code, out)
	}
}
