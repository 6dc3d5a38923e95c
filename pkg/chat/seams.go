package chat

import (
	"context"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
	"github.com/mymmrac/telego"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/ai"
	"marketingbot/pkg/domain"
	"marketingbot/pkg/projection"
	"marketingbot/pkg/telegram"
	"marketingbot/pkg/texts"
)

// What the chat consumes, each as small as what it calls. pkg/app plugs in
// the real adapters (the Sheets gateway, the Telegram sender, the Gemini
// client, the asynq client, the projection store); the unit tests plug in
// fakes.

// Store is the part of the Sheets gateway chat needs.
type Store interface {
	Partners(ctx context.Context) ([]domain.Partner, error)
	RefreshPartners(ctx context.Context) ([]domain.Partner, error)
	PartnerByPhone(ctx context.Context, phone string) (domain.Partner, bool, error)
	PartnerByTelegramID(ctx context.Context, id int64) (domain.Partner, bool, error)
	AuthorizePartner(ctx context.Context, p domain.Partner, telegramID int64, at time.Time) (domain.Partner, error)
	SetBotBlocked(ctx context.Context, telegramID int64, at time.Time) error
	CurrentAppeal(ctx context.Context, telegramID int64) (domain.Appeal, bool, error)
	CreateAppeal(ctx context.Context, a domain.Appeal, recheck bool) (domain.Appeal, error)
	UpdateAppeal(ctx context.Context, a domain.Appeal, fields ...domain.AppealField) (domain.Appeal, error)
	Knowledge(ctx context.Context) ([]domain.KnowledgeEntry, error)
	// SetOperatorsTopic keeps the partner's topic in the operators' forum
	// group with the partner (the Auth row bound to telegramID).
	SetOperatorsTopic(ctx context.Context, telegramID int64, topicID int) error
	// Appeals reads the whole Appeals sheet and PutSupportDay writes a
	// day's row of the Статистика sheet (the support numbers, stats.go).
	Appeals(ctx context.Context) ([]domain.Appeal, error)
	PutSupportDay(ctx context.Context, d domain.SupportDay) error
}

// Sender sends to Telegram (*telegram.Sender: rate limits, retries, and the
// lease fence carried in ctx).
type Sender interface {
	SendMessage(ctx context.Context, p *telego.SendMessageParams, o telegram.Options) (*telego.Message, error)
	CopyMessage(ctx context.Context, p *telego.CopyMessageParams, o telegram.Options) (*telego.MessageID, error)
	EditMessageText(ctx context.Context, p *telego.EditMessageTextParams) error
	AnswerCallbackQuery(ctx context.Context, p *telego.AnswerCallbackQueryParams) error
	Typing(ctx context.Context, chatID int64)
}

// Forum is the forum side of the Bot API (*telegram.Sender): whether the
// operators' group has topics, and the partners' topics in it (topics.go).
type Forum interface {
	GetChat(ctx context.Context, chatID int64) (*telego.ChatFullInfo, error)
	CreateForumTopic(ctx context.Context, p *telego.CreateForumTopicParams, o telegram.Options) (*telego.ForumTopic, error)
	EditForumTopic(ctx context.Context, p *telego.EditForumTopicParams) error
	CloseForumTopic(ctx context.Context, p *telego.CloseForumTopicParams) error
	ReopenForumTopic(ctx context.Context, p *telego.ReopenForumTopicParams) error
	EditMessageReplyMarkup(ctx context.Context, p *telego.EditMessageReplyMarkupParams) error
}

// Generator produces AI answers (*ai.Client) with their finish reason;
// ai.ErrUnavailable means the model is out of reach and the user gets the
// fallback.
type Generator interface {
	Generate(ctx context.Context, req ai.Request) (ai.Answer, error)
}

// Downloader fetches the files users send (*telegram.Downloader): at most
// maxBytes, classified failures (telegram.ErrFileTooBig, ErrFileGone,
// ErrDownload); knownSize is what the message announced (0: unknown).
type Downloader interface {
	Download(ctx context.Context, fileID string, knownSize, maxBytes int64) (telegram.File, error)
}

// Enqueuer puts tasks on the bus (*asynq.Client); the sweeper enqueues drains.
type Enqueuer interface {
	EnqueueContext(ctx context.Context, t *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)
}

// Projection is the authorization projection the bot and the Mini App read
// (*projection.Store). A scan takes a mark before it reads the sheet and
// syncs with it, so what workers put or removed meanwhile stands.
type Projection interface {
	PutPartner(ctx context.Context, p projection.Partner, ttl time.Duration) error
	MarkPartnerScan(ctx context.Context) (int64, error)
	SyncPartners(ctx context.Context, mark int64, ps []projection.Partner, ttl time.Duration) error
	RemovePartner(ctx context.Context, telegramID int64) error
}

// Prompt is the system prompt (*ai.PromptFile, re-read when the file changes).
type Prompt interface {
	Text() string
}

// OperatorExtension handles operators' group commands and buttons that are
// not about a user's appeal (promotions); handled=false passes them on.
type OperatorExtension interface {
	HandleOperatorCommand(ctx context.Context, msg *telego.Message) (bool, error)
	HandleOperatorCallback(ctx context.Context, q *telego.CallbackQuery) (bool, error)
}

// Desk is the operators' desk in the spreadsheet (*store.Spreadsheet):
// canned answers (templates.go) and days off (hours.go), both cached.
type Desk interface {
	Templates(ctx context.Context) ([]domain.Template, error)
	Holidays(ctx context.Context) ([]domain.Holiday, error)
}

// Deps are the adapters the chat works through.
type Deps struct {
	Store      Store
	AI         Generator // nil in the poller, which runs only the scanners
	Sender     Sender
	Forum      Forum // nil: the operators' group is treated as flat (cards and replies)
	Tasks      Enqueuer
	Redis      redis.UniversalClient // the chat's own state: inboxes, leases, steps, rate limits
	Projection Projection
	Texts      *texts.Texts
	Prompt     Prompt
	Operators  OperatorExtension // may be nil
	Files      Downloader        // nil: media is not taken in (media_unsupported)
	Log        *slog.Logger
	Registry   prometheus.Registerer
	Now        func() time.Time // nil: time.Now
	Desk       Desk             // nil: no templates; days off from Options.Hours only
}

// Options are the settings the chat reads, as plain values.
type Options struct {
	// OperatorsChatID is the operators' Telegram group.
	OperatorsChatID int64
	// EscalationKeywords hand a message to a human when it contains one
	// (case-insensitive).
	EscalationKeywords []string
	// Stream shows the answer in the private chat while it is written
	// (stream.go); DraftInterval paces the drafts (> 0 when Stream).
	Stream        bool
	DraftInterval time.Duration
	// LockTTL is the lease on a user's inbox; a dead holder's lease expires
	// after it. Must be positive.
	LockTTL time.Duration
	// UserMessagesPerMinute bounds the AI turns of one user; the rest are
	// recorded but not answered by the model.
	UserMessagesPerMinute int
	// AuthFailuresPerHour bounds failed authorization attempts of one user.
	AuthFailuresPerHour int
	// SupportContact is shown to users who cannot authorize ("" = the text's default).
	SupportContact string
	// Location is the time zone of the history lines and the prompt (nil = UTC).
	Location *time.Location
	// KeyPrefix prefixes every Redis key of the deployment.
	KeyPrefix string
	// MiniAppURL opens the Mini App; the menu adds ?screen=….
	MiniAppURL string
	// HistoryBudget is how many characters of the appeal's history go to the model.
	HistoryBudget int
	// KnowledgeTopK is how many knowledge entries go to the model.
	KnowledgeTopK int
	// Media says how voice notes, photos and documents are taken in (media.go).
	Media MediaOptions
	// ForumCheckInterval is how long the operators' group's getChat
	// is_forum is trusted before it is asked again (0: 5 minutes).
	ForumCheckInterval time.Duration
	// Hours are the operators' working hours (hours.go).
	Hours HoursOptions
}
