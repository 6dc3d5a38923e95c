package miniapp

import (
	"context"
	"fmt"

	"github.com/mymmrac/telego"

	"marketingbot/pkg/texts"
)

// MenuBot is the part of the Bot API SetupBot calls; *telego.Bot
// implements it.
type MenuBot interface {
	SetChatMenuButton(ctx context.Context, params *telego.SetChatMenuButtonParams) error
	SetMyCommands(ctx context.Context, params *telego.SetMyCommandsParams) error
}

// SetupBot installs the bot's menu button, which opens the Mini App at
// appURL, and its command list with Russian descriptions. Both calls are
// idempotent; the bot runs it at start.
func SetupBot(ctx context.Context, bot MenuBot, appURL string, tx *texts.Texts) error {
	err := bot.SetChatMenuButton(ctx, &telego.SetChatMenuButtonParams{
		MenuButton: &telego.MenuButtonWebApp{
			Type:   telego.ButtonTypeWebApp,
			Text:   tx.MenuButtonText,
			WebApp: telego.WebAppInfo{URL: appURL},
		},
	})
	if err != nil {
		return fmt.Errorf("miniapp: set menu button: %w", err)
	}
	err = bot.SetMyCommands(ctx, &telego.SetMyCommandsParams{Commands: []telego.BotCommand{
		{Command: "start", Description: tx.CommandStart},
		{Command: "help", Description: tx.CommandHelp},
		{Command: "analytics", Description: tx.CommandAnalytics},
		{Command: "operator", Description: tx.CommandOperator},
	}})
	if err != nil {
		return fmt.Errorf("miniapp: set commands: %w", err)
	}
	return nil
}
