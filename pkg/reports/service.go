package reports

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/mymmrac/telego"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/ai"
	"marketingbot/pkg/analytics"
	"marketingbot/pkg/domain"
	"marketingbot/pkg/obs"
	"marketingbot/pkg/projection"
	"marketingbot/pkg/redislock"
	"marketingbot/pkg/redisx"
	"marketingbot/pkg/reportlink"
	"marketingbot/pkg/tasks"
	"marketingbot/pkg/telegram"
	"marketingbot/pkg/texts"
)

// Store is what the protocol reads and writes in the spreadsheet: the Queue
// sheet, the Listings sheet the engine analyses and the Auth sheet's
// bot_blocked_at. The sheets gateway implements it.
type Store interface {
	AppendRequest(ctx context.Context, r domain.AnalyticsRequest) (domain.AnalyticsRequest, error)
	Request(ctx context.Context, id string) (domain.AnalyticsRequest, error)
	Requests(ctx context.Context) ([]domain.AnalyticsRequest, error)
	UpdateRequest(ctx context.Context, r domain.AnalyticsRequest, fields ...domain.RequestField) (domain.AnalyticsRequest, error)
	Listings(ctx context.Context) ([]domain.Listing, error)
	SetBotBlocked(ctx context.Context, telegramID int64, at time.Time) error
}

// Sender sends to Telegram within the fleet's flood limits; *telegram.Sender
// implements it.
type Sender interface {
	SendMessage(ctx context.Context, p *telego.SendMessageParams, o telegram.Options) (*telego.Message, error)
	SendDocument(ctx context.Context, p *telego.SendDocumentParams, o telegram.Options) (*telego.Message, error)
}

// Enqueuer puts a task on the bus; *asynq.Client implements it.
type Enqueuer interface {
	EnqueueContext(ctx context.Context, t *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)
}

// Inspector looks up and removes a task by its id, so the scanner can
// replace one that was archived; *asynq.Inspector implements it.
type Inspector interface {
	GetTaskInfo(queue, id string) (*asynq.TaskInfo, error)
	DeleteTask(queue, id string) error
}

// Projection is the Redis read model the bot serves: request statuses and
// the stored PDFs; *projection.Store implements it.
type Projection interface {
	PutRequest(ctx context.Context, r projection.Request) error
	Request(ctx context.Context, id string) (projection.Request, bool, error)
	PutReport(ctx context.Context, requestID string, pdf []byte, ttl time.Duration) error
	Report(ctx context.Context, requestID string) ([]byte, bool, error)
}

// Polisher rephrases a summary; *ai.Client implements it. A nil Polisher
// (or Options.Polish false) keeps the engine's wording.
type Polisher interface {
	Generate(ctx context.Context, req ai.Request) (ai.Answer, error)
}

// Deps are the adapters the service uses. Sender is used by HandleDeliver
// only, AI by HandleProcess only; the poller may leave both nil. Without an
// Inspector the scanner cannot replace an archived task. Redis holds the
// per-step locks and the delivery markers.
type Deps struct {
	Store      Store
	Sender     Sender
	Tasks      Enqueuer
	Inspector  Inspector
	Projection Projection
	AI         Polisher
	Redis      redis.UniversalClient
	Texts      *texts.Texts
	Log        *slog.Logger
	Registry   prometheus.Registerer
	Now        func() time.Time
}

// The engines Options.Engine names.
const (
	EngineBuiltin    = "builtin"     // this package processes NEW rows
	EngineAppsScript = "apps_script" // Google Apps Script does; we only deliver
)

// Options are the settings of Analytics 360, as plain values.
type Options struct {
	// Engine is EngineBuiltin or EngineAppsScript; anything but
	// EngineAppsScript means the built-in engine.
	Engine string
	// ReportTTL is how long a PDF stays in Redis, and so how long its
	// link is valid.
	ReportTTL time.Duration
	// ProcessingTimeout turns a row PROCESSING for longer into ERROR.
	ProcessingTimeout time.Duration
	// Location is the time zone of the engine's calendar (nil: the
	// engine's default, Moscow).
	Location *time.Location
	// KeyPrefix prefixes every Redis key of this service.
	KeyPrefix string
	// PublicURL is the bot's public base URL; the report links written
	// into the sheet start with it.
	PublicURL string
	// LinkSecret signs report links (reportlink.Secret of the bot token).
	LinkSecret []byte
	// Polish lets PolishModel rephrase the summary (numbers unchanged).
	Polish      bool
	PolishModel string
}

// Service implements the Analytics 360 task handlers and the Queue scanner.
type Service struct {
	d    Deps
	o    Options
	tx   *texts.Texts
	log  *slog.Logger
	now  func() time.Time
	keys redisx.Keys
	m    metrics

	engMu  sync.Mutex
	eng    *analytics.Engine
	engFor []domain.Listing // the slice eng was built from

	seenMu sync.Mutex
	seen   map[string]seenRow // scanner: rows already mirrored into the projection
}

type metrics struct {
	requests   *prometheus.CounterVec
	deliveries *prometheus.CounterVec
	processing prometheus.Histogram
}

// New builds the service and registers its metrics on d.Registry.
func New(d Deps, o Options) *Service {
	if d.Log == nil {
		d.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
	}
	s := &Service{
		d: d, o: o, tx: d.Texts, log: d.Log, now: d.Now,
		keys: redisx.Keys{Prefix: o.KeyPrefix},
		seen: map[string]seenRow{},
		m: metrics{
			requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: obs.Namespace, Subsystem: "analytics", Name: "requests_total",
				Help: "Analytics 360 requests finished by us: done (built-in engine) or error (engine error, unknown object, processing timeout)."}, []string{"outcome"}),
			deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: obs.Namespace, Subsystem: "analytics", Name: "deliveries_total",
				Help: "Analytics 360 results delivered to partners: ok, blocked (the user blocked the bot), failed (gave up)."}, []string{"outcome"}),
			processing: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: obs.Namespace, Subsystem: "analytics", Name: "processing_seconds",
				Help:    "Time the built-in engine spends on one request, from the claim (PROCESSING) to DONE or ERROR written.",
				Buckets: prometheus.ExponentialBuckets(0.05, 2, 12)}),
		},
	}
	for _, o := range []string{"done", "error"} {
		s.m.requests.WithLabelValues(o)
	}
	for _, o := range []string{"ok", "blocked", "failed"} {
		s.m.deliveries.WithLabelValues(o)
	}
	d.Registry.MustRegister(s.m.requests, s.m.deliveries, s.m.processing)
	return s
}

func (s *Service) builtin() bool { return s.o.Engine != EngineAppsScript }

// ---- projection ----

// project mirrors a Queue row into the projection the bot reads. hasReport
// says whether a PDF is stored for it in Redis.
func (s *Service) project(ctx context.Context, r domain.AnalyticsRequest, hasReport bool) {
	if r.TelegramID == 0 {
		return // nobody can look it up
	}
	if err := s.d.Projection.PutRequest(ctx, s.projected(r, hasReport)); err != nil {
		// The next scan writes it again; a stale status in the Mini App is
		// not worth failing the task for.
		s.log.Warn("analytics projection not updated", "request_id", r.ID, "err", err)
	}
}

func (s *Service) projected(r domain.AnalyticsRequest, hasReport bool) projection.Request {
	p := projection.Request{
		ID: r.ID, TelegramID: r.TelegramID, ObjectCode: r.ObjectCode, Status: string(r.Status),
		Error: r.Error, ResultText: r.ResultText, HasReport: hasReport,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, DeliveredAt: r.DeliveredAt,
	}
	if p.UpdatedAt.IsZero() {
		p.UpdatedAt = r.CreatedAt
	}
	if r.ReportURL != "" && !reportlink.IsOurs(r.ReportURL, r.ID) {
		p.ReportURL = r.ReportURL // external (Apps Script); ours is re-signed by the bot
	}
	return p
}

// ---- locks ----

var errLocked = errors.New("reports: held by another worker")

// lock takes a short Redis lease on one step of one request so that a
// duplicate task (asynq is at-least-once; a lease can expire under a slow
// worker) never runs the same step concurrently. ttl must exceed the task's
// timeout; a crashed holder's lease simply expires.
func (s *Service) lock(ctx context.Context, step, requestID string, ttl time.Duration) (release func(), err error) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	key := s.keys.Key("analytics", "lock", step, requestID)
	ok, err := s.d.Redis.SetNX(ctx, key, token, ttl).Result()
	if err != nil {
		return nil, fmt.Errorf("reports: lock %s %s: %w", step, requestID, err)
	}
	if !ok {
		return nil, errLocked
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if err := redislock.Release(ctx, s.d.Redis, key, token); err != nil {
			s.log.Warn("analytics lock not released; it expires by itself", "request_id", requestID, "step", step, "err", err)
		}
	}, nil
}

// ---- enqueueing ----

// ensureTask enqueues t whose TaskID is derived from a row id. A conflict
// means the task exists: fine while it is pending, active or retrying. A
// task that was archived (retries exhausted), or completed a while ago while
// the row still waits for it, would block its TaskID until its retention
// ends, so it is deleted and enqueued again; the handlers are idempotent.
func (s *Service) ensureTask(ctx context.Context, t *asynq.Task, id string, staleAfter time.Duration) (enqueued bool, err error) {
	queue := tasks.QueueAnalytics
	_, err = s.d.Tasks.EnqueueContext(ctx, t)
	if err == nil {
		return true, nil
	}
	if !tasks.IsDuplicate(err) {
		return false, fmt.Errorf("reports: enqueue %s: %w", id, err)
	}
	if s.d.Inspector == nil {
		return false, nil
	}
	info, err := s.d.Inspector.GetTaskInfo(queue, id)
	if err != nil {
		if errors.Is(err, asynq.ErrTaskNotFound) {
			// Gone between the enqueue and the look-up: try once more.
			if _, err := s.d.Tasks.EnqueueContext(ctx, t); err == nil {
				return true, nil
			} else if !tasks.IsDuplicate(err) {
				return false, fmt.Errorf("reports: enqueue %s: %w", id, err)
			}
			return false, nil
		}
		return false, fmt.Errorf("reports: inspect task %s: %w", id, err)
	}
	stale := info.State == asynq.TaskStateArchived ||
		(info.State == asynq.TaskStateCompleted && !info.CompletedAt.IsZero() && s.now().Sub(info.CompletedAt) > staleAfter)
	if !stale {
		return false, nil
	}
	if err := s.d.Inspector.DeleteTask(queue, id); err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
		return false, fmt.Errorf("reports: delete stale task %s: %w", id, err)
	}
	s.log.Info("analytics task re-enqueued", "task_id", id, "was", info.State.String())
	if _, err := s.d.Tasks.EnqueueContext(ctx, t); err != nil {
		if tasks.IsDuplicate(err) {
			return false, nil // another poller was quicker
		}
		return false, fmt.Errorf("reports: enqueue %s: %w", id, err)
	}
	return true, nil
}

// The TaskIDs tasks.NewAnalyticsProcessTask and NewAnalyticsDeliverTask
// give (asynq keeps a task's options private); TestTaskIDs pins them.
func processTaskID(requestID string) string { return "analytics:process:" + requestID }
func deliverTaskID(requestID string) string { return "analytics:deliver:" + requestID }
