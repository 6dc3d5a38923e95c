package app_test

import (
	"slices"
	"testing"
	"time"

	"marketingbot/pkg/app"
	"marketingbot/pkg/config"
)

// TestChatOptions: the configuration reaches the chat unchanged.
func TestChatOptions(t *testing.T) {
	cfg := config.Defaults()
	cfg.Telegram.OperatorsChatID = -100123
	cfg.Telegram.MiniAppURL = "https://app.example.test/"
	cfg.Gemini.EscalationKeywords = []string{"оператор", "человек"}
	cfg.Gemini.HistoryBudget, cfg.Gemini.KnowledgeTopK = 1234, 7
	cfg.Chat.LockTTL, cfg.Chat.UserMessagesPerMinute, cfg.Chat.AuthFailuresPerHour = 9*time.Second, 11, 3
	cfg.Chat.SupportContact = "@desk"
	cfg.Redis.KeyPrefix = "pfx"
	cfg.App.Timezone = "Asia/Yekaterinburg"

	o := app.ChatOptions(&cfg)
	if o.OperatorsChatID != -100123 || o.MiniAppURL != "https://app.example.test/" || !slices.Equal(o.EscalationKeywords, cfg.Gemini.EscalationKeywords) ||
		o.HistoryBudget != 1234 || o.KnowledgeTopK != 7 || o.LockTTL != 9*time.Second || o.UserMessagesPerMinute != 11 ||
		o.AuthFailuresPerHour != 3 || o.SupportContact != "@desk" || o.KeyPrefix != "pfx" || o.Location.String() != "Asia/Yekaterinburg" {
		t.Fatalf("chat options %+v", o)
	}
}
