package miniapp

import (
	"context"
	"fmt"

	"github.com/mymmrac/telego"

	"marketingbot/pkg/config"
	"marketingbot/pkg/texts"
)

// SetupBot installs the bot's menu button, which opens the Mini App
// (cfg.MiniAppURL()), and its command list with Russian descriptions. Both
// calls are idempotent; the bot runs it at start.
func SetupBot(ctx context.Context, bot *telego.Bot, cfg *config.Config, tx *texts.Texts) error {
	err := bot.SetChatMenuButton(ctx, &telego.SetChatMenuButtonParams{
		MenuButton: &telego.MenuButtonWebApp{
			Type:   telego.ButtonTypeWebApp,
			Text:   tx.MenuButtonText,
			WebApp: telego.WebAppInfo{URL: cfg.MiniAppURL()},
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
