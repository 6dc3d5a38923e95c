package app

import (
	"github.com/go-redis/redis_rate/v10"
	"github.com/hibiken/asynq"
	"github.com/mymmrac/telego"

	"marketingbot/pkg/config"
	"marketingbot/pkg/miniapp"
	"marketingbot/pkg/projection"
	"marketingbot/pkg/reportlink"
	"marketingbot/pkg/reports"
	"marketingbot/pkg/store"
	"marketingbot/pkg/telegram"
)

// The adapters the Analytics 360 features consume.
var (
	_ reports.Store      = (*store.Spreadsheet)(nil)
	_ reports.Sender     = (*telegram.Sender)(nil)
	_ reports.Enqueuer   = (*asynq.Client)(nil)
	_ reports.Inspector  = (*asynq.Inspector)(nil)
	_ reports.Projection = (*projection.Store)(nil)
	_ miniapp.Projection = (*projection.Store)(nil)
	_ miniapp.Enqueuer   = (*asynq.Client)(nil)
	_ miniapp.Limiter    = (*redis_rate.Limiter)(nil)
	_ miniapp.MenuBot    = (*telego.Bot)(nil)
)

// ReportsOptions maps the configuration onto Analytics 360's worker and
// poller side. Exported so that whole-system tests build the service
// exactly as the roles do.
func ReportsOptions(cfg *config.Config) reports.Options {
	return reports.Options{
		Engine:            cfg.Analytics.Engine,
		ReportTTL:         cfg.Analytics.ReportTTL,
		ProcessingTimeout: cfg.Poller.ProcessingTimeout,
		Location:          cfg.Location(),
		KeyPrefix:         cfg.Redis.KeyPrefix,
		PublicURL:         cfg.PublicBaseURL(),
		LinkSecret:        reportlink.Secret(cfg.Telegram.Token),
		Polish:            cfg.Gemini.PolishAnalytics,
		PolishModel:       cfg.Gemini.AnalysisModel,
	}
}

// MiniAppOptions maps the configuration onto the Mini App API; botUsername
// is what GET /api/v1/config shows ("" when unknown).
func MiniAppOptions(cfg *config.Config, botUsername string) miniapp.Options {
	return miniapp.Options{
		ObjectCodePattern: cfg.Analytics.ObjectCodePattern,
		RequestsPerHour:   cfg.Analytics.RequestsPerHour,
		InitDataMaxAge:    cfg.Analytics.InitDataMaxAge,
		BotToken:          cfg.Telegram.Token,
		LinkSecret:        reportlink.Secret(cfg.Telegram.Token),
		KeyPrefix:         cfg.Redis.KeyPrefix,
		BotUsername:       botUsername,
	}
}
