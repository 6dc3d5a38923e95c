package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/hibiken/asynq"
	"github.com/mymmrac/telego"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/ai"
	"marketingbot/pkg/config"
	"marketingbot/pkg/domain"
	"marketingbot/pkg/obs"
	"marketingbot/pkg/projection"
	"marketingbot/pkg/redisx"
	"marketingbot/pkg/store"
	"marketingbot/pkg/tasks"
	"marketingbot/pkg/telegram"
	"marketingbot/pkg/texts"
)

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
}

var _ Store = (*store.Spreadsheet)(nil)

// Generator produces AI answers (*ai.Client).
type Generator interface {
	Generate(ctx context.Context, req ai.Request) (string, error)
}

// OperatorExtension handles operators' group commands and buttons that are
// not about a user's appeal (promotions); handled=false passes them on.
type OperatorExtension interface {
	HandleOperatorCommand(ctx context.Context, msg *telego.Message) (bool, error)
	HandleOperatorCallback(ctx context.Context, q *telego.CallbackQuery) (bool, error)
}

// Deps are everything the chat needs.
type Deps struct {
	Store      Store
	AI         Generator
	Sender     *telegram.Sender
	Tasks      *asynq.Client
	Redis      redis.UniversalClient
	Projection *projection.Store
	Texts      *texts.Texts
	Prompt     *ai.PromptFile
	Config     *config.Config
	Operators  OperatorExtension // may be nil
	Log        *slog.Logger
	Registry   prometheus.Registerer
	Now        func() time.Time
}

// Service implements the chat handlers.
type Service struct {
	d       Deps
	cfg     *config.Config
	tx      *texts.Texts
	loc     *time.Location
	ib      *inbox
	keys    redisx.Keys
	rate    *redis_rate.Limiter
	log     *slog.Logger
	now     func() time.Time
	kw      []string
	kindex  *knowledgeIndex
	metrics *metrics
}

type metrics struct {
	turns      *prometheus.CounterVec
	merged     prometheus.Histogram
	replyDelay prometheus.Histogram
	escalation *prometheus.CounterVec
	auth       *prometheus.CounterVec
	stage      *prometheus.HistogramVec
}

// New builds the service.
func New(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	keys := redisx.Keys{Prefix: d.Config.Redis.KeyPrefix}
	s := &Service{d: d, cfg: d.Config, tx: d.Texts, loc: d.Config.Location(), keys: keys,
		ib:   &inbox{rdb: d.Redis, keys: keys, ttl: 7 * 24 * time.Hour},
		rate: redis_rate.NewLimiter(d.Redis), log: d.Log, now: d.Now, kindex: &knowledgeIndex{},
	}
	for _, k := range d.Config.Gemini.EscalationKeywords {
		if k = strings.ToLower(strings.TrimSpace(k)); k != "" {
			s.kw = append(s.kw, k)
		}
	}
	s.metrics = &metrics{
		turns: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: obs.Namespace, Subsystem: "chat", Name: "units_total",
			Help: "Processed chat units by kind (ai, fallback, escalated_forward, command, auth, media, operator…)."}, []string{"kind"}),
		merged: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: obs.Namespace, Subsystem: "chat", Name: "messages_per_ai_turn",
			Help: "User messages answered by one AI turn (quick successive messages are merged).", Buckets: []float64{1, 2, 3, 5, 8, 13}}),
		replyDelay: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: obs.Namespace, Subsystem: "chat", Name: "reply_delay_seconds",
			Help: "From the user's message (Telegram date) to our answer being sent.", Buckets: prometheus.ExponentialBuckets(0.25, 1.6, 14)}),
		escalation: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: obs.Namespace, Subsystem: "chat", Name: "escalations_total",
			Help: "Escalation events: escalated, taken, resolved, operator_reply."}, []string{"event"}),
		auth: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: obs.Namespace, Subsystem: "chat", Name: "authorizations_total",
			Help: "Authorization attempts by outcome."}, []string{"outcome"}),
		stage: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: obs.Namespace, Subsystem: "chat", Name: "stage_seconds",
			Help:    "Time of each stage of an AI turn: queued (update to start), load (appeal read), generate, send, save.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 14)}, []string{"stage"}),
	}
	d.Registry.MustRegister(s.metrics.turns, s.metrics.merged, s.metrics.replyDelay, s.metrics.escalation, s.metrics.auth, s.metrics.stage)
	return s
}

// HandleMessage is tasks.TypeChatMessage: a private message or edit.
func (s *Service) HandleMessage(ctx context.Context, t *asynq.Task) error {
	p, err := tasks.ParseUpdate(t)
	if err != nil {
		return err
	}
	return s.enqueueAndDrain(ctx, p.UserID, item{Type: t.Type(), Payload: p})
}

// HandleDrain is tasks.TypeChatDrain (from the sweeper).
func (s *Service) HandleDrain(ctx context.Context, t *asynq.Task) error {
	p, err := tasks.ParseDrain(t)
	if err != nil {
		return err
	}
	return s.drain(ctx, p.UserID)
}

// HandleCallback is tasks.TypeChatCallback: a button press by a user, or by
// an operator in the operators' group.
func (s *Service) HandleCallback(ctx context.Context, t *asynq.Task) error {
	p, err := tasks.ParseUpdate(t)
	if err != nil {
		return err
	}
	var u telego.Update
	if err := json.Unmarshal(p.Update, &u); err != nil || u.CallbackQuery == nil {
		return fmt.Errorf("chat: callback update %d unreadable: %w", p.UpdateID, asynq.SkipRetry)
	}
	q := u.CallbackQuery
	if strings.HasPrefix(q.Data, "promo:") && s.d.Operators != nil {
		if _, err := s.d.Operators.HandleOperatorCallback(ctx, q); err != nil {
			return err
		}
		return nil
	}
	target := q.From.ID
	if _, uid, ok := parseOperatorAction(q.Data); ok {
		if !s.fromOperatorsChat(q) {
			s.answer(ctx, q.ID, "")
			return nil // operator buttons only count in the operators' group
		}
		target = uid
	}
	// Stop the button's spinner now; the work itself is ordered through the inbox.
	s.answer(ctx, q.ID, "")
	return s.enqueueAndDrain(ctx, target, item{Type: t.Type(), Payload: p})
}

// HandleOperatorMessage is tasks.TypeOperatorMessage: a message in the
// operators' group. Replies to a card or a forwarded message go to that user.
func (s *Service) HandleOperatorMessage(ctx context.Context, t *asynq.Task) error {
	p, err := tasks.ParseUpdate(t)
	if err != nil {
		return err
	}
	var u telego.Update
	if err := json.Unmarshal(p.Update, &u); err != nil || u.Message == nil {
		return fmt.Errorf("chat: operator update %d unreadable: %w", p.UpdateID, asynq.SkipRetry)
	}
	m := u.Message
	if m.From != nil && m.From.IsBot {
		return nil
	}
	if strings.HasPrefix(m.Text, "/") && s.d.Operators != nil {
		if handled, err := s.d.Operators.HandleOperatorCommand(ctx, m); handled || err != nil {
			return err
		}
	}
	if m.ReplyToMessage == nil {
		return nil // operators talking among themselves
	}
	uid, ok, err := s.userOfGroupMessage(ctx, m.ReplyToMessage.MessageID)
	if err != nil {
		return err
	}
	if !ok {
		return nil
	}
	return s.enqueueAndDrain(ctx, uid, item{Type: t.Type(), Payload: p})
}

// HandleMember is tasks.TypeChatMember: the user blocked or unblocked the bot.
func (s *Service) HandleMember(ctx context.Context, t *asynq.Task) error {
	p, err := tasks.ParseUpdate(t)
	if err != nil {
		return err
	}
	var u telego.Update
	if err := json.Unmarshal(p.Update, &u); err != nil || u.MyChatMember == nil {
		return fmt.Errorf("chat: member update %d unreadable: %w", p.UpdateID, asynq.SkipRetry)
	}
	status := u.MyChatMember.NewChatMember.MemberStatus()
	uid := u.MyChatMember.Chat.ID
	switch status {
	case telego.MemberStatusBanned, telego.MemberStatusLeft:
		if err := s.d.Store.SetBotBlocked(ctx, uid, time.Unix(u.MyChatMember.Date, 0)); err != nil {
			return err
		}
		return s.d.Projection.RemovePartner(ctx, uid)
	case telego.MemberStatusMember:
		return s.d.Store.SetBotBlocked(ctx, uid, time.Time{})
	}
	return nil
}

func (s *Service) fromOperatorsChat(q *telego.CallbackQuery) bool {
	return q.Message != nil && q.Message.GetChat().ID == s.cfg.Telegram.OperatorsChatID
}

func (s *Service) answer(ctx context.Context, id, text string) {
	if err := s.d.Sender.AnswerCallbackQuery(ctx, &telego.AnswerCallbackQueryParams{CallbackQueryID: id, Text: text}); err != nil {
		s.log.Debug("answerCallbackQuery failed", "err", err)
	}
}

// enqueueAndDrain puts the update into the user's inbox and drains it if no
// other worker holds the user.
func (s *Service) enqueueAndDrain(ctx context.Context, uid int64, it item) error {
	if uid == 0 {
		return fmt.Errorf("chat: update %d without a user: %w", it.Payload.UpdateID, asynq.SkipRetry)
	}
	if _, err := s.ib.push(ctx, uid, it); err != nil {
		return err
	}
	return s.drain(ctx, uid)
}

// drain processes the inbox while holding the user's lease; see doc.go.
func (s *Service) drain(ctx context.Context, uid int64) error {
	ttl := s.cfg.Chat.LockTTL
	for {
		l, err := s.ib.lock(ctx, uid, ttl)
		if errors.Is(err, errLocked) {
			return nil // the holder drains
		}
		if err != nil {
			return err
		}
		workCtx, cancel := context.WithCancel(ctx)
		workCtx = withLease(workCtx, l, ttl, cancel)
		stopRenew := s.keepLease(workCtx, cancel, l, ttl)
		progress, err := s.process(workCtx, uid)
		stopRenew()
		cancel()
		l.release(context.WithoutCancel(ctx))
		if err != nil {
			return err
		}
		if !progress {
			return nil // waiting for an earlier update of this user; its task drains
		}
		// Anything that arrived while we held the lock and found it taken?
		n, err := s.d.Redis.ZCard(ctx, s.ib.itemsKey(uid)).Result()
		if err != nil {
			return fmt.Errorf("chat: inbox: %w", err)
		}
		if n == 0 {
			s.d.Redis.SRem(ctx, s.ib.usersKey(), uid)
			// A push may have slipped in between ZCARD and SREM: look once more.
			if n2, _ := s.d.Redis.ZCard(ctx, s.ib.itemsKey(uid)).Result(); n2 == 0 {
				return nil
			}
			s.d.Redis.SAdd(ctx, s.ib.usersKey(), uid)
		}
	}
}

// keepLease renews the lease while work goes on; losing it cancels the work.
func (s *Service) keepLease(ctx context.Context, cancel context.CancelFunc, l *lease, ttl time.Duration) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				ok, err := l.renew(context.WithoutCancel(ctx), ttl)
				if err == nil && !ok {
					s.log.Warn("lost the user's lease; stopping", "telegram_id", l.uid)
					cancel()
					return
				}
			}
		}
	}()
	return func() { close(done) }
}
