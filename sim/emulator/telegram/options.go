package telegram

import (
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// DefaultToken matches telego's token format check, so an unmodified
// telego.NewBot accepts it.
const DefaultToken = "123456789:AAEmulatorTokenNotForProduction0000"

// Options configure a Server. Zero fields take the documented defaults.
type Options struct {
	// Token is the bot token accepted in /bot<token>/ paths (DefaultToken).
	Token string
	// BotID defaults to the number before ":" in Token.
	BotID int64
	// BotUsername defaults to "emulator_bot", BotName to "Emulator Bot".
	BotUsername string
	BotName     string
	// FloodLimits: nil means DefaultFloodLimits (enabled); pass
	// &FloodLimits{} to switch them off.
	FloodLimits *FloodLimits
	// Webhook delivery retries back off from WebhookBackoffMin (1 s) doubling
	// up to WebhookBackoffMax (30 s); WebhookTimeout (10 s) bounds one push.
	WebhookBackoffMin time.Duration
	WebhookBackoffMax time.Duration
	WebhookTimeout    time.Duration
	// MaxLongPoll caps getUpdates' timeout parameter (50 s).
	MaxLongPoll time.Duration
	// Logger receives webhook delivery failures and similar (discarded by default).
	Logger *slog.Logger
	// StatePath is the file NewWithState keeps the state in (see State);
	// New refuses it. StateSaveDelay (1 s) is how long after a change the
	// state is saved, so that a burst of changes costs one write.
	StatePath      string
	StateSaveDelay time.Duration
}

// FloodLimits are token buckets over the message-sending methods
// (sendMessage, sendDocument, sendPhoto, copyMessage, forwardMessage),
// shaped after Telegram's published limits. Zero rates and bursts of an
// enabled FloodLimits take the defaults.
type FloodLimits struct {
	Enabled bool `json:"enabled"`
	// GlobalRate per second with GlobalBurst, across all chats (30/s, 30).
	GlobalRate  float64 `json:"global_rate"`
	GlobalBurst int     `json:"global_burst"`
	// ChatRate per second with ChatBurst, per private chat (1/s, 3).
	ChatRate  float64 `json:"chat_rate"`
	ChatBurst int     `json:"chat_burst"`
	// GroupPerMinute with GroupBurst, per group or supergroup (20/min, 20).
	GroupPerMinute float64 `json:"group_per_minute"`
	GroupBurst     int     `json:"group_burst"`
}

// DefaultFloodLimits returns Telegram's limits for an ordinary bot.
func DefaultFloodLimits() FloodLimits {
	return FloodLimits{
		Enabled:    true,
		GlobalRate: 30, GlobalBurst: 30,
		ChatRate: 1, ChatBurst: 3,
		GroupPerMinute: 20, GroupBurst: 20,
	}
}

func (f FloodLimits) withDefaults() FloodLimits {
	d := DefaultFloodLimits()
	if f.GlobalRate <= 0 {
		f.GlobalRate = d.GlobalRate
	}
	if f.GlobalBurst <= 0 {
		f.GlobalBurst = d.GlobalBurst
	}
	if f.ChatRate <= 0 {
		f.ChatRate = d.ChatRate
	}
	if f.ChatBurst <= 0 {
		f.ChatBurst = d.ChatBurst
	}
	if f.GroupPerMinute <= 0 {
		f.GroupPerMinute = d.GroupPerMinute
	}
	if f.GroupBurst <= 0 {
		f.GroupBurst = d.GroupBurst
	}
	return f
}

func (o Options) withDefaults() Options {
	if o.Token == "" {
		o.Token = DefaultToken
	}
	if o.BotID == 0 {
		prefix, _, _ := strings.Cut(o.Token, ":")
		if id, err := strconv.ParseInt(prefix, 10, 64); err == nil && id > 0 {
			o.BotID = id
		} else {
			o.BotID = 123456789
		}
	}
	if o.BotUsername == "" {
		o.BotUsername = "emulator_bot"
	}
	if o.BotName == "" {
		o.BotName = "Emulator Bot"
	}
	if o.FloodLimits == nil {
		d := DefaultFloodLimits()
		o.FloodLimits = &d
	} else {
		f := *o.FloodLimits
		if f.Enabled {
			f = f.withDefaults()
		}
		o.FloodLimits = &f
	}
	if o.WebhookBackoffMin <= 0 {
		o.WebhookBackoffMin = time.Second
	}
	if o.WebhookBackoffMax <= 0 {
		o.WebhookBackoffMax = 30 * time.Second
	}
	if o.WebhookBackoffMax < o.WebhookBackoffMin {
		o.WebhookBackoffMax = o.WebhookBackoffMin
	}
	if o.WebhookTimeout <= 0 {
		o.WebhookTimeout = 10 * time.Second
	}
	if o.MaxLongPoll <= 0 {
		o.MaxLongPoll = 50 * time.Second
	}
	if o.StateSaveDelay <= 0 {
		o.StateSaveDelay = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}
