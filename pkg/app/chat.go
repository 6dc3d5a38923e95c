package app

import (
	"github.com/hibiken/asynq"

	"marketingbot/pkg/ai"
	"marketingbot/pkg/chat"
	"marketingbot/pkg/config"
	"marketingbot/pkg/projection"
	"marketingbot/pkg/store"
	"marketingbot/pkg/telegram"
)

// The adapters the chat consumes.
var (
	_ chat.Store      = (*store.Spreadsheet)(nil)
	_ chat.Sender     = (*telegram.Sender)(nil)
	_ chat.Forum      = (*telegram.Sender)(nil)
	_ chat.Generator  = (*ai.Client)(nil)
	_ chat.Enqueuer   = (*asynq.Client)(nil)
	_ chat.Projection = (*projection.Store)(nil)
	_ chat.Prompt     = (*ai.PromptFile)(nil)
	_ chat.Downloader = (*telegram.Downloader)(nil)
	_ chat.Desk       = (*store.Spreadsheet)(nil)
)

// ChatOptions maps the configuration onto the chat. Exported so that
// whole-system tests build the service exactly as the roles do.
func ChatOptions(cfg *config.Config) chat.Options {
	return chat.Options{
		OperatorsChatID:       cfg.Telegram.OperatorsChatID,
		EscalationKeywords:    cfg.Gemini.EscalationKeywords,
		Stream:                cfg.Gemini.Stream,
		DraftInterval:         cfg.Gemini.DraftInterval,
		LockTTL:               cfg.Chat.LockTTL,
		UserMessagesPerMinute: cfg.Chat.UserMessagesPerMinute,
		AuthFailuresPerHour:   cfg.Chat.AuthFailuresPerHour,
		SupportContact:        cfg.Chat.SupportContact,
		Location:              cfg.Location(),
		KeyPrefix:             cfg.Redis.KeyPrefix,
		MiniAppURL:            cfg.MiniAppURL(),
		HistoryBudget:         cfg.Gemini.HistoryBudget,
		KnowledgeTopK:         cfg.Gemini.KnowledgeTopK,
		Media:                 MediaOptions(cfg.Media),
		ForumCheckInterval:    cfg.Chat.ForumCheckInterval,
		Hours:                 HoursOptions(cfg),
	}
}

// HoursOptions maps hours.* onto the chat (validated for the worker and
// the poller; a schedule that does not parse is always open).
func HoursOptions(cfg *config.Config) chat.HoursOptions {
	sch, _ := cfg.Schedule()
	return chat.HoursOptions{Schedule: sch, AIMeanwhile: cfg.Hours.AIMeanwhile}
}

// MediaOptions maps the media section onto the chat's limits.
func MediaOptions(m config.Media) chat.MediaOptions {
	const mb = 1 << 20
	return chat.MediaOptions{Enabled: m.Enabled, MaxBytes: int64(m.MaxFileMB) * mb, MaxDuration: m.MaxAudioDuration,
		MaxPhotoSide: m.MaxPhotoSide, InflightBytes: int64(m.InflightMB) * mb, MaxOutputTokens: m.MaxOutputTokens,
		KnowledgeChars: m.KnowledgeChars, TranscribeEscalated: m.TranscribeEscalated}
}
