package miniapp_test

import (
	"context"
	"errors"
	"testing"

	"github.com/mymmrac/telego"

	"marketingbot/pkg/miniapp"
	"marketingbot/pkg/texts"
)

// fakeMenuBot records the Bot API calls; setMenu, when set, answers
// SetChatMenuButton instead.
type fakeMenuBot struct {
	menus    []*telego.SetChatMenuButtonParams
	commands []*telego.SetMyCommandsParams
	setMenu  func() error
}

var _ miniapp.MenuBot = (*fakeMenuBot)(nil)

func (b *fakeMenuBot) SetChatMenuButton(_ context.Context, p *telego.SetChatMenuButtonParams) error {
	if b.setMenu != nil {
		if err := b.setMenu(); err != nil {
			return err
		}
	}
	b.menus = append(b.menus, p)
	return nil
}

func (b *fakeMenuBot) SetMyCommands(_ context.Context, p *telego.SetMyCommandsParams) error {
	b.commands = append(b.commands, p)
	return nil
}

// TestSetupBot: the menu button opens the Mini App at the given URL, the
// commands carry the configured Russian descriptions.
func TestSetupBot(t *testing.T) {
	tx, err := texts.Load("")
	if err != nil {
		t.Fatal(err)
	}
	bot := &fakeMenuBot{}
	if err := miniapp.SetupBot(context.Background(), bot, "https://bot.example.test/app/", tx); err != nil {
		t.Fatal(err)
	}
	if len(bot.menus) != 1 || len(bot.commands) != 1 {
		t.Fatalf("%d menu and %d command calls, want 1 each", len(bot.menus), len(bot.commands))
	}
	menu, ok := bot.menus[0].MenuButton.(*telego.MenuButtonWebApp)
	if !ok || menu.Type != telego.ButtonTypeWebApp || menu.Text != tx.MenuButtonText || menu.WebApp.URL != "https://bot.example.test/app/" {
		t.Fatalf("menu button %+v", bot.menus[0].MenuButton)
	}
	want := map[string]string{"start": tx.CommandStart, "help": tx.CommandHelp, "analytics": tx.CommandAnalytics, "operator": tx.CommandOperator}
	got := bot.commands[0].Commands
	if len(got) != len(want) {
		t.Fatalf("commands %+v", got)
	}
	for _, c := range got {
		if want[c.Command] == "" || c.Description != want[c.Command] {
			t.Errorf("command /%s %q", c.Command, c.Description)
		}
	}

	failing := &fakeMenuBot{setMenu: func() error { return errors.New("telegram down") }}
	if err := miniapp.SetupBot(context.Background(), failing, "https://x/app/", tx); err == nil || len(failing.commands) != 0 {
		t.Fatalf("a failed menu call: err %v, %d command calls", err, len(failing.commands))
	}
}
