package app_test

import (
	"testing"
	"time"

	"marketingbot/pkg/app"
	"marketingbot/pkg/config"
	"marketingbot/pkg/miniapp"
	"marketingbot/pkg/reportlink"
	"marketingbot/pkg/reports"
)

// TestReportsOptions: the configuration reaches Analytics 360 unchanged,
// and both roles sign report links with the same key.
func TestReportsOptions(t *testing.T) {
	cfg := config.Defaults()
	cfg.Telegram.Token = "123456:token"
	cfg.HTTP.PublicURL = "https://bot.example.test/"
	cfg.Analytics.Engine, cfg.Analytics.ReportTTL = reports.EngineAppsScript, 48*time.Hour
	cfg.Poller.ProcessingTimeout = 7 * time.Minute
	cfg.Gemini.PolishAnalytics, cfg.Gemini.AnalysisModel = true, "model-x"

	r := app.ReportsOptions(&cfg)
	if r.Engine != reports.EngineAppsScript || r.ReportTTL != 48*time.Hour || r.ProcessingTimeout != 7*time.Minute ||
		r.PublicURL != "https://bot.example.test" || !r.Polish || r.PolishModel != "model-x" || r.KeyPrefix != cfg.Redis.KeyPrefix ||
		r.Location.String() != cfg.App.Timezone {
		t.Fatalf("reports options %+v", r)
	}
	m := app.MiniAppOptions(&cfg, "bot_name")
	if m.BotToken != cfg.Telegram.Token || m.RequestsPerHour != cfg.Analytics.RequestsPerHour || m.InitDataMaxAge != cfg.Analytics.InitDataMaxAge ||
		m.ObjectCodePattern != cfg.Analytics.ObjectCodePattern || m.KeyPrefix != cfg.Redis.KeyPrefix || m.BotUsername != "bot_name" {
		t.Fatalf("mini app options %+v", m)
	}
	if string(r.LinkSecret) != string(m.LinkSecret) || string(m.LinkSecret) != string(reportlink.Secret(cfg.Telegram.Token)) {
		t.Fatal("the worker and the bot sign report links with different keys")
	}
	// The Mini App's fallback for a pattern that does not compile is the
	// configuration's default.
	if miniapp.DefaultObjectCodePattern != config.Defaults().Analytics.ObjectCodePattern {
		t.Fatalf("miniapp.DefaultObjectCodePattern %q, config default %q", miniapp.DefaultObjectCodePattern, config.Defaults().Analytics.ObjectCodePattern)
	}
}
