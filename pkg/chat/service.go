package chat

import (
	"log/slog"
	"strings"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/prometheus/client_golang/prometheus"

	"marketingbot/pkg/obs"
	"marketingbot/pkg/redisx"
	"marketingbot/pkg/texts"
)

// Service implements the chat handlers.
type Service struct {
	d       Deps
	o       Options
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
	// mediaBudget bounds the media bytes held at once (media_turn.go).
	mediaBudget *mediaBudget
	forum       forumCache // is the operators' group a forum (topics.go)
	// supportM: the support lead's numbers (rating.go, stats.go).
	supportM *supportMetrics
}

type metrics struct {
	turns      *prometheus.CounterVec
	merged     prometheus.Histogram
	replyDelay prometheus.Histogram
	escalation *prometheus.CounterVec
	auth       *prometheus.CounterVec
	stage      *prometheus.HistogramVec
	// gapTimeouts: updates taken up without their predecessor, which never
	// reached the inbox within gapTimeout.
	gapTimeouts prometheus.Counter
}

// New builds the service.
func New(d Deps, o Options) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	keys := redisx.Keys{Prefix: o.KeyPrefix}
	s := &Service{d: d, o: o, tx: d.Texts, loc: o.Location, keys: keys,
		ib:   &inbox{rdb: d.Redis, keys: keys, ttl: 7 * 24 * time.Hour},
		rate: redis_rate.NewLimiter(d.Redis), log: d.Log, now: d.Now, kindex: &knowledgeIndex{},
		kw: keywords(o.EscalationKeywords), metrics: newMetrics(), mediaBudget: newMediaBudget(o.Media),
	}
	m := s.metrics
	d.Registry.MustRegister(m.turns, m.merged, m.replyDelay, m.escalation, m.auth, m.stage, m.gapTimeouts)
	s.supportM = newSupportMetrics(d.Registry)
	return s
}

func newMetrics() *metrics {
	return &metrics{
		turns: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: obs.Namespace, Subsystem: "chat", Name: "units_total",
			Help: "Processed chat units by kind (ai, fallback, escalated_forward, command, auth, media, operator…)."}, []string{"kind"}),
		merged: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: obs.Namespace, Subsystem: "chat", Name: "messages_per_ai_turn",
			Help: "User messages answered by one AI turn (quick successive messages are merged).", Buckets: []float64{1, 2, 3, 5, 8, 13}}),
		replyDelay: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: obs.Namespace, Subsystem: "chat", Name: "reply_delay_seconds",
			Help: "From the user's message (Telegram date) to our answer being sent.", Buckets: prometheus.ExponentialBuckets(0.25, 1.6, 14)}),
		escalation: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: obs.Namespace, Subsystem: "chat", Name: "escalations_total",
			Help: "Escalation events: escalated, taken, resolved, resolved_in_sheet, back_to_ai, operator_reply, undelivered; forum topics: topic_created, topic_reopened, topic_closed, topic_gone, topic_not_created; working hours: out_of_hours, opening_reminder."}, []string{"event"}),
		auth: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: obs.Namespace, Subsystem: "chat", Name: "authorizations_total",
			Help: "Authorization attempts by outcome."}, []string{"outcome"}),
		stage: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: obs.Namespace, Subsystem: "chat", Name: "stage_seconds",
			Help:    "Time of each stage of an AI turn: queued (update to start), load (appeal read), generate, send, save; first_draft (generation start to the first draft shown, when streaming).",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 14)}, []string{"stage"}),
		gapTimeouts: prometheus.NewCounter(prometheus.CounterOpts{Namespace: obs.Namespace, Subsystem: "chat", Name: "gap_timeouts_total",
			Help: "Updates taken up without waiting any longer for an earlier update of the same user that never reached the inbox."}),
	}
}

// keywords normalizes the escalation keywords for matching: lower case,
// trimmed, blanks dropped.
func keywords(in []string) []string {
	var out []string
	for _, k := range in {
		if k = strings.ToLower(strings.TrimSpace(k)); k != "" {
			out = append(out, k)
		}
	}
	return out
}
