package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
	"github.com/mymmrac/telego"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"marketingbot/configs"
	"marketingbot/pkg/ai"
	"marketingbot/pkg/chat"
	"marketingbot/pkg/config"
	"marketingbot/pkg/projection"
	"marketingbot/pkg/promo"
	"marketingbot/pkg/reports"
	"marketingbot/pkg/sheets"
	"marketingbot/pkg/store"
	"marketingbot/pkg/telegram"
	"marketingbot/pkg/texts"
)

// deps are the adapters shared by the worker's and the poller's features.
type deps struct {
	cfg    *config.Config
	log    *slog.Logger
	reg    *prometheus.Registry
	rdb    redis.UniversalClient
	tasks  *asynq.Client
	sheets *store.Spreadsheet
	client *sheets.Client // the transport under sheets; closed by close
	proj   *projection.Store
	texts  *texts.Texts
	tg     *telego.Bot
	sender *telegram.Sender // the poller sends only operators' notes and "request failed" messages
	ai     *ai.Client       // nil in the poller
	prompt *ai.PromptFile
	now    func() time.Time // the chat's clock (WorkerOptions.Now, PollerOptions.Now)
}

func newDeps(ctx context.Context, cfg *config.Config, log *slog.Logger, reg *prometheus.Registry, rdb redis.UniversalClient, withAI bool) (*deps, error) {
	tx, err := loadTexts(cfg)
	if err != nil {
		return nil, err
	}
	sc, gw, err := openSpreadsheet(ctx, cfg, rdb, reg, log)
	if err != nil {
		return nil, err
	}
	d := &deps{cfg: cfg, log: log, reg: reg, rdb: rdb, tasks: asynq.NewClientFromRedisClient(rdb), sheets: gw, client: sc,
		proj: projection.New(rdb, cfg.Redis.KeyPrefix), texts: tx, now: time.Now,
		prompt: ai.NewPromptFile(cfg.Gemini.SystemPromptFile, configs.SystemPrompt, log)}
	if d.tg, err = telegram.NewBot(telegramBotOptions(cfg.Telegram), log); err != nil {
		sc.Close()
		return nil, err
	}
	lim := telegram.NewLimiter(rdb, cfg.Redis.KeyPrefix, cfg.Telegram.GlobalPerSecond, cfg.Telegram.ChatPerSecond, cfg.Telegram.ChatBurst, cfg.Telegram.GroupPerMinute)
	d.sender = telegram.NewSender(d.tg, lim, reg, log)
	if withAI {
		d.ai, err = ai.New(ctx, ai.Options{APIKey: cfg.Gemini.APIKey, BaseURL: cfg.Gemini.BaseURL, ChatModel: cfg.Gemini.ChatModel,
			Timeout: cfg.Gemini.Timeout, RetryBudget: cfg.Gemini.RetryBudget, Temperature: cfg.Gemini.Temperature,
			MaxOutputTokens: cfg.Gemini.MaxOutputTokens, ModelSettings: modelSettings(cfg.Gemini), Registry: reg, Logger: log})
		if err != nil {
			sc.Close()
			return nil, err
		}
	}
	return d, nil
}

// loadTexts reads the messages file; when the configured file is absent the
// built-in default (configs/messages.ru.yaml) is used, and said so.
func loadTexts(cfg *config.Config) (*texts.Texts, error) {
	tx, err := texts.Load(cfg.App.MessagesFile)
	if err == nil {
		return tx, nil
	}
	if fileMissing(cfg.App.MessagesFile) {
		return texts.Load("")
	}
	return nil, &config.Error{Key: "app.messages_file", Msg: fmt.Sprintf("is unusable: %v", err)}
}

// close releases what deps own; the asynq client shares the role's Redis
// connection, which the role closes.
func (d *deps) close() { d.client.Close() }

// reportsService builds Analytics 360; AI is nil in the poller.
func (d *deps) reportsService() *reports.Service {
	var pol reports.Polisher
	if d.ai != nil {
		pol = d.ai
	}
	return reports.New(reports.Deps{Store: d.sheets, Sender: d.sender, Tasks: d.tasks, Inspector: asynq.NewInspectorFromRedisClient(d.rdb),
		Projection: d.proj, AI: pol, Redis: d.rdb, Texts: d.texts, Log: d.log, Registry: d.reg, Now: time.Now}, ReportsOptions(d.cfg))
}

// promoService builds promotions; the poller runs only its scanner.
func (d *deps) promoService() *promo.Service {
	return newPromo(d, time.Now)
}

// chatService builds the chat feature; in the poller only its scanners are used.
func (d *deps) chatService(ops chat.OperatorExtension) *chat.Service {
	var gen chat.Generator
	var files chat.Downloader
	if d.ai != nil {
		gen = d.ai
		files = telegram.NewDownloader(d.tg, telegram.DownloaderOptions{Attempts: d.cfg.Media.DownloadAttempts,
			Timeout: d.cfg.Media.DownloadTimeout, Registry: d.reg, Logger: d.log})
	}
	return chat.New(chat.Deps{Store: d.sheets, AI: gen, Sender: d.sender, Forum: d.sender, Tasks: d.tasks, Redis: d.rdb, Projection: d.proj,
		Texts: d.texts, Prompt: d.prompt, Operators: ops, Files: files, Log: d.log, Registry: d.reg, Now: d.now, Desk: d.sheets}, ChatOptions(d.cfg))
}
