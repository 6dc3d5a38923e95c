package intake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"marketingbot/pkg/obs"
	"marketingbot/pkg/tasks"
)

// Enqueuer is the part of *asynq.Client intake needs.
type Enqueuer interface {
	EnqueueContext(ctx context.Context, task *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)
}

// Outcome of accepting one update.
type Outcome int

const (
	Enqueued  Outcome = iota // a new task was created
	Duplicate                // the update was already known (task id exists)
	Ignored                  // nothing to do for this kind of update (or it is malformed)
)

// Metrics are the intake's Prometheus series.
type Metrics struct {
	Received      *prometheus.CounterVec
	Enqueued      *prometheus.CounterVec
	Duplicates    prometheus.Counter
	Ignored       *prometheus.CounterVec
	EnqueueErrors prometheus.Counter
	PollErrors    prometheus.Counter
	Backlog       prometheus.Gauge
}

// NewMetrics registers the intake metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Received: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: obs.Namespace, Name: "updates_received_total",
			Help: "Telegram updates received, by kind."}, []string{"kind"}),
		Enqueued: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: obs.Namespace, Name: "updates_enqueued_total",
			Help: "Updates turned into new tasks, by kind."}, []string{"kind"}),
		Duplicates: prometheus.NewCounter(prometheus.CounterOpts{Namespace: obs.Namespace, Name: "updates_duplicate_total",
			Help: "Updates that were already known (re-delivered by Telegram or re-read after a restart)."}),
		Ignored: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: obs.Namespace, Name: "updates_ignored_total",
			Help: "Updates with nothing to do, by reason."}, []string{"reason"}),
		EnqueueErrors: prometheus.NewCounter(prometheus.CounterOpts{Namespace: obs.Namespace, Name: "updates_enqueue_errors_total",
			Help: "Failed attempts to enqueue an update (the update is kept and retried)."}),
		PollErrors: prometheus.NewCounter(prometheus.CounterOpts{Namespace: obs.Namespace, Name: "telegram_poll_errors_total",
			Help: "Failed getUpdates calls."}),
		Backlog: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: obs.Namespace, Name: "updates_pending_enqueue",
			Help: "Updates fetched from Telegram but not yet enqueued (non-zero while Redis is unreachable)."}),
	}
	reg.MustRegister(m.Received, m.Enqueued, m.Duplicates, m.Ignored, m.EnqueueErrors, m.PollErrors, m.Backlog)
	return m
}

// Sequencer links each user's updates into a chain (see tasks.UpdatePayload.Prev).
type Sequencer interface {
	Chain(ctx context.Context, userID, updateID int64) (prev int64, err error)
}

// Intake classifies updates and enqueues them as tasks.
type Intake struct {
	enq             Enqueuer
	seq             Sequencer
	operatorsChatID int64
	retention       time.Duration
	m               *Metrics
	log             *slog.Logger
	now             func() time.Time
	lastErr         atomic.Pointer[error]
}

// New builds an Intake. retention keeps completed update tasks (and their ids) so
// that late re-deliveries are recognised at enqueue time.
func New(enq Enqueuer, seq Sequencer, operatorsChatID int64, retention time.Duration, m *Metrics, log *slog.Logger) *Intake {
	return &Intake{enq: enq, seq: seq, operatorsChatID: operatorsChatID, retention: retention, m: m, log: log, now: time.Now}
}

// Healthy reports the last enqueue error (nil after a success).
func (in *Intake) Healthy() error {
	if p := in.lastErr.Load(); p != nil {
		return *p
	}
	return nil
}

// Accept classifies one raw update and enqueues its task. An error means the
// update was NOT stored and must be offered again (never confirmed).
func (in *Intake) Accept(ctx context.Context, raw json.RawMessage) (Outcome, error) {
	typ, p, reason := Classify(raw, in.operatorsChatID)
	in.m.Received.WithLabelValues(string(p.Kind)).Inc()
	if typ == "" {
		in.m.Ignored.WithLabelValues(reason).Inc()
		in.log.Debug("update ignored", "update_id", p.UpdateID, "reason", reason)
		return Ignored, nil
	}
	p.ReceivedAt = in.now().UTC()
	if in.seq != nil && tasks.Chained(typ, p) {
		prev, err := in.seq.Chain(ctx, p.UserID, p.UpdateID)
		if err != nil {
			in.m.EnqueueErrors.Inc()
			err = fmt.Errorf("intake: sequence update %d: %w", p.UpdateID, err)
			in.lastErr.Store(&err)
			return 0, err
		}
		p.Prev = prev
	}
	task, err := tasks.NewUpdateTask(typ, p, in.retention)
	if err != nil {
		in.m.Ignored.WithLabelValues("encode").Inc()
		in.log.Error("update cannot be encoded", "update_id", p.UpdateID, "err", err)
		return Ignored, nil
	}
	_, err = in.enq.EnqueueContext(ctx, task)
	switch {
	case err == nil:
		in.lastErr.Store(nil)
		in.m.Enqueued.WithLabelValues(string(p.Kind)).Inc()
		return Enqueued, nil
	case tasks.IsDuplicate(err):
		in.lastErr.Store(nil)
		in.m.Duplicates.Inc()
		return Duplicate, nil
	default:
		in.m.EnqueueErrors.Inc()
		err = fmt.Errorf("intake: enqueue update %d: %w", p.UpdateID, err)
		in.lastErr.Store(&err)
		return 0, err
	}
}

// The subset of an update that routing needs; the task keeps the raw JSON.
type wireUpdate struct {
	UpdateID      int64        `json:"update_id"`
	Message       *wireMessage `json:"message"`
	EditedMessage *wireMessage `json:"edited_message"`
	CallbackQuery *struct {
		From    wireUser `json:"from"`
		Message *struct {
			Chat wireChat `json:"chat"`
		} `json:"message"`
	} `json:"callback_query"`
	MyChatMember *struct {
		Chat wireChat `json:"chat"`
		From wireUser `json:"from"`
	} `json:"my_chat_member"`
}

type wireUser struct {
	ID int64 `json:"id"`
}

type wireChat struct {
	ID   int64  `json:"id"`
	Type string `json:"type"`
}

type wireMessage struct {
	From     *wireUser `json:"from"`
	Chat     wireChat  `json:"chat"`
	Text     string    `json:"text"`
	Entities []struct {
		Type   string `json:"type"`
		Offset int    `json:"offset"`
	} `json:"entities"`
	Contact   json.RawMessage `json:"contact"`
	Location  json.RawMessage `json:"location"`
	Venue     json.RawMessage `json:"venue"`
	Photo     json.RawMessage `json:"photo"`
	Video     json.RawMessage `json:"video"`
	VideoNote json.RawMessage `json:"video_note"`
	Voice     json.RawMessage `json:"voice"`
	Audio     json.RawMessage `json:"audio"`
	Document  json.RawMessage `json:"document"`
	Sticker   json.RawMessage `json:"sticker"`
	Animation json.RawMessage `json:"animation"`
}

func (m *wireMessage) kind() tasks.UpdateKind {
	switch {
	case len(m.Contact) > 0:
		return tasks.KindContact
	case len(m.Location) > 0 || len(m.Venue) > 0:
		return tasks.KindLocation
	case len(m.Photo) > 0 || len(m.Video) > 0 || len(m.VideoNote) > 0 || len(m.Voice) > 0 ||
		len(m.Audio) > 0 || len(m.Document) > 0 || len(m.Sticker) > 0 || len(m.Animation) > 0:
		return tasks.KindMedia
	case strings.HasPrefix(m.Text, "/"):
		for _, e := range m.Entities {
			if e.Type == "bot_command" && e.Offset == 0 {
				return tasks.KindCommand
			}
		}
		return tasks.KindText
	case m.Text != "":
		return tasks.KindText
	default:
		return tasks.KindOther
	}
}

// Classify maps an update to its task type and payload. An empty type means
// there is nothing to do; reason then says why (for metrics).
func Classify(raw json.RawMessage, operatorsChatID int64) (typ string, p tasks.UpdatePayload, reason string) {
	var u wireUpdate
	p.Update = raw
	if err := json.Unmarshal(raw, &u); err != nil || u.UpdateID == 0 {
		p.Kind = tasks.KindMalformed
		return "", p, "malformed"
	}
	p.UpdateID = u.UpdateID
	switch {
	case u.Message != nil:
		m := u.Message
		p.ChatID = m.Chat.ID
		if m.From != nil {
			p.UserID = m.From.ID
		}
		if operatorsChatID != 0 && m.Chat.ID == operatorsChatID {
			p.Kind = tasks.KindOperator
			return tasks.TypeOperatorMessage, p, ""
		}
		p.Kind = m.kind()
		if m.Chat.Type != "private" || m.From == nil {
			return "", p, "not_private"
		}
		return tasks.TypeChatMessage, p, ""
	case u.EditedMessage != nil:
		m := u.EditedMessage
		p.Kind = tasks.KindEdited
		p.ChatID = m.Chat.ID
		if m.From != nil {
			p.UserID = m.From.ID
		}
		if m.Chat.Type != "private" || m.From == nil {
			return "", p, "edited_not_private"
		}
		return tasks.TypeChatMessage, p, ""
	case u.CallbackQuery != nil:
		p.Kind = tasks.KindCallback
		p.UserID = u.CallbackQuery.From.ID
		if u.CallbackQuery.Message != nil {
			p.ChatID = u.CallbackQuery.Message.Chat.ID
		}
		return tasks.TypeChatCallback, p, ""
	case u.MyChatMember != nil:
		p.Kind = tasks.KindMember
		p.UserID = u.MyChatMember.From.ID
		p.ChatID = u.MyChatMember.Chat.ID
		if u.MyChatMember.Chat.Type != "private" {
			return "", p, "member_not_private"
		}
		return tasks.TypeChatMember, p, ""
	default:
		p.Kind = tasks.KindIgnored
		return "", p, "unhandled_type"
	}
}

// AllowedUpdates is what the bot asks Telegram for.
var AllowedUpdates = []string{"message", "edited_message", "callback_query", "my_chat_member"}

// errStopped is returned by waits interrupted by shutdown.
var errStopped = errors.New("intake: stopped")
