package systemtest

import (
	"context"
	"encoding/json"
	"testing"

	"marketingbot/pkg/miniapp"
	"marketingbot/pkg/telegram"
)

// TestMiniAppSetupBot installs the menu button and commands on the Telegram
// emulator and reads them back through its control API.
func TestMiniAppSetupBot(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel() // an own world: nothing shared but the CPU
	s := newMiniappStack(t, miniappStackOptions{})
	c := s.cfg.Telegram
	bot, err := telegram.NewBot(telegram.BotOptions{Token: c.Token, APIURL: c.APIURL, RequestTimeout: c.RequestTimeout}, miniappQuiet())
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // idempotent: a restart sets the same again
		if err := miniapp.SetupBot(context.Background(), bot, s.cfg.MiniAppURL(), s.tx); err != nil {
			t.Fatal(err)
		}
	}

	var menu struct {
		Default struct {
			Type   string `json:"type"`
			Text   string `json:"text"`
			WebApp struct {
				URL string `json:"url"`
			} `json:"web_app"`
		} `json:"default"`
	}
	s.getJSON(s.tgURL+"/_emulator/menu_button", &menu)
	if menu.Default.Type != "web_app" || menu.Default.Text != s.tx.MenuButtonText || menu.Default.WebApp.URL != s.api.URL+"/app/" {
		t.Fatalf("menu button: %+v", menu.Default)
	}

	var sets []struct {
		Scope    json.RawMessage `json:"scope"`
		Commands []struct {
			Command     string `json:"command"`
			Description string `json:"description"`
		} `json:"commands"`
	}
	s.getJSON(s.tgURL+"/_emulator/commands", &sets)
	if len(sets) != 1 {
		t.Fatalf("%d command sets, want 1", len(sets))
	}
	want := map[string]string{"start": s.tx.CommandStart, "help": s.tx.CommandHelp, "analytics": s.tx.CommandAnalytics, "operator": s.tx.CommandOperator}
	if len(sets[0].Commands) != len(want) {
		t.Fatalf("commands: %+v", sets[0].Commands)
	}
	for _, c := range sets[0].Commands {
		if want[c.Command] == "" || c.Description != want[c.Command] {
			t.Errorf("command /%s %q", c.Command, c.Description)
		}
	}
}
