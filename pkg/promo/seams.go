package promo

import (
	"context"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
	"github.com/mymmrac/telego"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/projection"
	"marketingbot/pkg/telegram"
	"marketingbot/pkg/texts"
)

// Store is the part of the spreadsheet promotions read and write (the
// Sheets gateway in production).
type Store interface {
	Promotions(ctx context.Context) ([]domain.Promotion, error)
	Promotion(ctx context.Context, id string) (domain.Promotion, error)
	UpdatePromotion(ctx context.Context, p domain.Promotion, fields ...domain.PromotionField) (domain.Promotion, error)
	Partners(ctx context.Context) ([]domain.Partner, error)
	RefreshPartners(ctx context.Context) ([]domain.Partner, error)
	SetBotBlocked(ctx context.Context, telegramID int64, at time.Time) error
}

// Sender is the Bot API as promotions use it (*telegram.Sender): its
// errors are classified (telegram.ErrBlocked, *telegram.FloodError…).
type Sender interface {
	SendMessage(ctx context.Context, p *telego.SendMessageParams, o telegram.Options) (*telego.Message, error)
	SendPhoto(ctx context.Context, p *telego.SendPhotoParams, o telegram.Options) (*telego.Message, error)
	EditMessageText(ctx context.Context, p *telego.EditMessageTextParams) error
	AnswerCallbackQuery(ctx context.Context, p *telego.AnswerCallbackQueryParams) error
}

// Limiter is the outgoing-message limiter every worker shares
// (*telegram.Limiter): Wait returns how long the next slot is away when
// that is beyond maxWait, 0 when the send may go now.
type Limiter interface {
	Wait(ctx context.Context, chatID int64, prio telegram.Priority, maxWait time.Duration) (time.Duration, error)
}

// BotInfo tells who the bot is (*telego.Bot), to recognise "/promo@us".
type BotInfo interface {
	GetMe(ctx context.Context) (*telego.User, error)
}

// Enqueuer puts tasks on the bus (*asynq.Client).
type Enqueuer interface {
	EnqueueContext(ctx context.Context, task *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)
}

// TaskInspector looks up and deletes a task by id (*asynq.Inspector), to
// replace the ended broadcast task of a promotion started again.
type TaskInspector interface {
	GetTaskInfo(queue, id string) (*asynq.TaskInfo, error)
	DeleteTask(queue, id string) error
}

// Projection is the Mini App's read model (*projection.Store).
type Projection interface {
	PutPromotions(ctx context.Context, list []projection.Promotion, ttl time.Duration) error
	RemovePartner(ctx context.Context, telegramID int64) error
}

// Deps are the collaborators of the service; all are required except
// Limiter (nil: sends are not limited), Bot (nil: "/promo@name" is never
// taken for ours), Registry, Log and Now.
type Deps struct {
	Store Store
	// Sender sends the operators' notes and replies through the limiter.
	Sender Sender
	// Direct is the same Bot API without the limiter: HandleSend waits for
	// Limiter itself so that the claim sits between the reservation and the
	// call (see doc.go).
	Direct     Sender
	Limiter    Limiter
	Bot        BotInfo
	Tasks      Enqueuer
	Inspector  TaskInspector
	Redis      redis.UniversalClient // the promotion's own state (state.go)
	Projection Projection
	Texts      *texts.Texts
	Log        *slog.Logger
	Registry   prometheus.Registerer
	Now        func() time.Time
}

// Options are the plain settings the service reads; pkg/app maps the
// configuration onto them.
type Options struct {
	// OperatorsChatID is the operators' group: notes go there and /promo is
	// taken from there only. 0: no notes, no /promo.
	OperatorsChatID int64
	// ProgressEvery: the counters are written to the row every this many
	// processed recipients (≤ 0: 50).
	ProgressEvery int
	// SendRate paces the fan-out, in sends per second: Telegram's global
	// limit the shared limiter enforces (≤ 0: 30).
	SendRate float64
	// KeyPrefix prefixes every Redis key of the service.
	KeyPrefix string
	// MiniAppURL is the Mini App; the promotion's button opens its
	// promotions screen.
	MiniAppURL string
	// ScanInterval is how often the scanner runs; the Mini App's list
	// expires after ten of them (at least ten minutes).
	ScanInterval time.Duration
}
