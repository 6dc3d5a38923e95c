package telegram

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	"github.com/mymmrac/telego"
	ta "github.com/mymmrac/telego/telegoapi"
	"github.com/prometheus/client_golang/prometheus"

	"marketingbot/pkg/obs"
)

// Permanent errors callers branch on.
var (
	// ErrBlocked: the user blocked the bot (or deleted the account). Never retried.
	ErrBlocked = errors.New("telegram: bot blocked by the user")
	// ErrChatNotFound: the chat does not exist for this bot.
	ErrChatNotFound = errors.New("telegram: chat not found")
	// ErrBadEntities: Telegram rejected the HTML; callers resend as plain text.
	ErrBadEntities = errors.New("telegram: can't parse entities")
	// ErrNotModified: an edit with identical content; harmless.
	ErrNotModified = errors.New("telegram: message is not modified")
	// ErrMessageGone: the message to edit/delete/copy does not exist.
	ErrMessageGone = errors.New("telegram: message not found")
	// ErrTooLong: the text, caption or notification is over Telegram's
	// limit. The text path (SendText) splits or trims and never sends the
	// same text again.
	ErrTooLong = errors.New("telegram: text is too long")
	// ErrRejected: any other 400 — the request is wrong for this chat and
	// the same request will be refused again.
	ErrRejected = errors.New("telegram: request rejected")
)

// Permanent reports whether err is an answer of Telegram that no retry of
// the same request can change (blocked, chat not found, bad entities, too
// long, another 400, message gone or not modified, a forum topic gone,
// closed or not modified, not a forum). Callers act on it —
// resend as plain text, split, tell someone, give up — and never retry it
// blindly.
func Permanent(err error) bool {
	for _, p := range []error{ErrBlocked, ErrChatNotFound, ErrBadEntities, ErrNotModified, ErrMessageGone, ErrTooLong, ErrRejected, ErrEmptyText,
		ErrTopicGone, ErrTopicClosed, ErrTopicNotModified, ErrNotForum} {
		if errors.Is(err, p) {
			return true
		}
	}
	return false
}

// FloodError is a 429 that could not be waited out within the caller's budget.
type FloodError struct{ RetryAfter time.Duration }

func (e *FloodError) Error() string {
	return fmt.Sprintf("telegram: flood control, retry after %s", e.RetryAfter)
}

// Sender is the one way workers talk to users: every call passes the shared
// limiter, 429 answers are waited out (retry_after), transient failures are
// retried briefly, and permanent ones are classified.
type Sender struct {
	Bot     *telego.Bot
	Limiter *Limiter
	log     *slog.Logger

	calls   *prometheus.CounterVec
	latency *prometheus.HistogramVec
	waits   *prometheus.HistogramVec
	drafts  draftMetrics // draft.go
	// firstBackoff is the wait after the first transient failure; it
	// doubles with each further one (tests shorten it).
	firstBackoff time.Duration
}

// NewSender builds the sender and registers its metrics.
func NewSender(bot *telego.Bot, lim *Limiter, reg prometheus.Registerer, log *slog.Logger) *Sender {
	s := &Sender{Bot: bot, Limiter: lim, log: log, firstBackoff: 200 * time.Millisecond,
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: obs.Namespace, Subsystem: "telegram", Name: "calls_total",
			Help: "Bot API calls by method and result (ok, blocked, flood, error…)."}, []string{"method", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: obs.Namespace, Subsystem: "telegram", Name: "call_duration_seconds",
			Help: "Bot API call latency by method.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 13)}, []string{"method"}),
		waits: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: obs.Namespace, Subsystem: "telegram", Name: "limiter_wait_seconds",
			Help: "Time spent waiting for the shared outgoing-message limiter, by priority.", Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12)}, []string{"priority"}),
	}
	reg.MustRegister(s.calls, s.latency, s.waits)
	s.drafts = newDraftMetrics(reg)
	return s
}

// Options of one send.
type Options struct {
	Priority Priority
	// MaxWait bounds the limiter wait (0 = until ctx ends). Broadcasts use a
	// short one and reschedule instead of holding a worker.
	MaxWait time.Duration
	// Limited says whether the call counts against the message limits (sends do; edits and chat actions don't).
	Limited bool
}

func prioName(p Priority) string {
	switch p {
	case PriorityBroadcast:
		return "broadcast"
	case PriorityDraft:
		return "draft"
	}
	return "chat"
}

type fenceKey struct{}

// WithFence returns a context under which every Bot API request of the
// Sender first calls fence, after the limiter let it through and right
// before the request leaves: an error stops the call. The chat uses it to
// prove it still holds the user's lease at the moment a message is sent
// (a wait for the limiter can outlast a lease).
func WithFence(ctx context.Context, fence func(context.Context) error) context.Context {
	return context.WithValue(ctx, fenceKey{}, fence)
}

// do runs one Bot API call under the limiter and the fence, retrying what
// is worth it: a 429 waits Telegram's retry_after (unless that exceeds
// MaxWait), a transient failure backs off 200 ms, 400 ms … while fewer than
// five requests were made; permanent errors, and whatever stops the call
// before its request leaves (limiter, fence, ctx), are returned at once.
func (s *Sender) do(ctx context.Context, method string, chatID int64, o Options, call func(ctx context.Context) error) error {
	c := &sendCall{s: s, method: method, chatID: chatID, o: o, call: call}
	err := failsafe.With(c.policy()).WithContext(ctx).Run(func() error { return c.attempt(ctx) })
	if ctx.Err() != nil {
		// failsafe reports the end of ctx; callers branch on what the last
		// attempt got (a Telegram error, or nil when the message did leave).
		return c.last
	}
	return err
}

// sendCall is one Sender call: its attempts and the retry decisions.
type sendCall struct {
	s      *Sender
	method string
	chatID int64
	o      Options
	call   func(ctx context.Context) error

	requests int   // requests that left for Telegram
	sent     bool  // the latest attempt's request left (the limiter and the fence let it through)
	last     error // the latest attempt's outcome
}

func (c *sendCall) policy() retrypolicy.RetryPolicy[any] {
	return retrypolicy.NewBuilder[any]().
		HandleIf(func(_ any, err error) bool { return c.retryable(err) }).
		WithMaxRetries(-1). // floods as often as Telegram asks (within ctx); retryable counts the rest
		WithBackoff(c.s.firstBackoff, 8*c.s.firstBackoff).
		WithDelayFunc(func(e failsafe.ExecutionAttempt[any]) time.Duration {
			var flood *FloodError
			if errors.As(e.LastError(), &flood) {
				return flood.RetryAfter
			}
			return -1 // the backoff
		}).
		OnRetryScheduled(func(e failsafe.ExecutionScheduledEvent[any]) {
			var flood *FloodError
			if errors.As(e.LastError(), &flood) {
				c.s.log.Warn("telegram flood control", "method", c.method, "chat_id", c.chatID, "retry_after", flood.RetryAfter)
			}
		}).
		ReturnLastFailure().
		Build()
}

// requestTimeout bounds one Bot API request once it has left.
const requestTimeout = 30 * time.Second

// attempt waits for the limiter, asks the fence, then makes the request.
func (c *sendCall) attempt(ctx context.Context) error {
	c.sent = false
	if c.last = c.admit(ctx); c.last != nil {
		return c.last
	}
	c.sent = true
	c.requests++
	start := time.Now()
	// A request that left is waited for even when ctx ends meanwhile (a
	// worker shutting down): Telegram may have acted on it already, and only
	// its answer lets the caller record that the message was sent.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), requestTimeout)
	defer cancel()
	err := c.call(rctx)
	c.s.latency.WithLabelValues(c.method).Observe(time.Since(start).Seconds())
	c.last = classify(err)
	c.s.calls.WithLabelValues(c.method, result(c.last)).Inc()
	return c.last
}

// admit holds the request until the shared limiter lets it go (a FloodError
// when that is further away than MaxWait) and the fence agrees.
func (c *sendCall) admit(ctx context.Context) error {
	if c.o.Limited && c.s.Limiter != nil && c.o.Priority == PriorityDraft {
		if err := c.s.admitDraft(ctx, c.chatID); err != nil { // draft.go
			return err
		}
	} else if c.o.Limited && c.s.Limiter != nil {
		start := time.Now()
		w, err := c.s.Limiter.wait(ctx, c.chatID, c.o.Priority, c.o.MaxWait)
		c.s.waits.WithLabelValues(prioName(c.o.Priority)).Observe(time.Since(start).Seconds())
		if w.behindDraft {
			c.s.drafts.behind.WithLabelValues(prioName(c.o.Priority)).Inc()
			c.s.log.Warn("a message waited for the limiter while a draft took a token", "method", c.method, "chat_id", c.chatID)
		}
		if err != nil {
			return err
		}
		if w.retryIn > 0 {
			return &FloodError{RetryAfter: w.retryIn}
		}
	}
	if f, ok := ctx.Value(fenceKey{}).(func(context.Context) error); ok {
		if err := f(ctx); err != nil {
			return err
		}
	}
	return nil
}

// retryable: a 429 within MaxWait, or a transient failure while fewer than
// five requests were made. Nothing that stopped before the request is.
func (c *sendCall) retryable(err error) bool {
	if err == nil || !c.sent || c.o.Priority == PriorityDraft { // a draft is tried once
		return false
	}
	var flood *FloodError
	if errors.As(err, &flood) {
		return c.o.MaxWait <= 0 || flood.RetryAfter <= c.o.MaxWait
	}
	return transient(err) && c.requests < 5
}

func classify(err error) error {
	if err == nil {
		return nil
	}
	var apiErr *ta.Error
	if !errors.As(err, &apiErr) {
		return err
	}
	d := strings.ToLower(apiErr.Description)
	switch {
	case apiErr.ErrorCode == 429:
		ra := 1
		if apiErr.Parameters != nil && apiErr.Parameters.RetryAfter > 0 {
			ra = apiErr.Parameters.RetryAfter
		}
		return &FloodError{RetryAfter: time.Duration(ra) * time.Second}
	case apiErr.ErrorCode == 403:
		return fmt.Errorf("%w: %w", ErrBlocked, apiErr)
	case apiErr.ErrorCode == 400 && classifyTopic(d) != nil:
		return fmt.Errorf("%w: %w", classifyTopic(d), apiErr)
	case strings.Contains(d, "chat not found") || strings.Contains(d, "user not found"):
		return fmt.Errorf("%w: %w", ErrChatNotFound, apiErr)
	case strings.Contains(d, "can't parse entities"):
		return fmt.Errorf("%w: %w", ErrBadEntities, apiErr)
	case strings.Contains(d, "message is not modified"):
		return fmt.Errorf("%w: %w", ErrNotModified, apiErr)
	case strings.Contains(d, "message to edit not found") || strings.Contains(d, "message to delete not found") ||
		strings.Contains(d, "message to copy not found") || strings.Contains(d, "message can't be"):
		return fmt.Errorf("%w: %w", ErrMessageGone, apiErr)
	case apiErr.ErrorCode == 400 && (strings.Contains(d, "too long") || strings.Contains(d, "message_too_long")):
		// "message is too long", "message caption is too long", "text is
		// too long", "MESSAGE_TOO_LONG" (answerCallbackQuery).
		return fmt.Errorf("%w: %w", ErrTooLong, apiErr)
	case apiErr.ErrorCode == 400:
		return fmt.Errorf("%w: %w", ErrRejected, apiErr)
	}
	return err
}

// transient: worth a quick retry — 5xx and network failures, not the
// classified permanent answers or other 4xx.
func transient(err error) bool {
	if Permanent(err) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var apiErr *ta.Error
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode >= 500
	}
	return true
}

func result(err error) string {
	var flood *FloodError
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrBlocked):
		return "blocked"
	case errors.As(err, &flood):
		return "flood"
	case errors.Is(err, ErrChatNotFound):
		return "chat_not_found"
	case errors.Is(err, ErrBadEntities):
		return "bad_entities"
	case errors.Is(err, ErrNotModified):
		return "not_modified"
	case errors.Is(err, ErrTooLong):
		return "too_long"
	case errors.Is(err, ErrRejected):
		return "rejected"
	case errors.Is(err, ErrTopicGone):
		return "topic_gone"
	case errors.Is(err, ErrTopicClosed):
		return "topic_closed"
	case errors.Is(err, ErrTopicNotModified):
		return "topic_not_modified"
	case errors.Is(err, ErrNotForum):
		return "not_forum"
	default:
		return "error"
	}
}

func chatIDOf(id telego.ChatID) int64 { return id.ID }

// SendMessage sends text (limited).
func (s *Sender) SendMessage(ctx context.Context, p *telego.SendMessageParams, o Options) (*telego.Message, error) {
	o.Limited = true
	var msg *telego.Message
	err := s.do(ctx, "sendMessage", chatIDOf(p.ChatID), o, func(ctx context.Context) error {
		var err error
		msg, err = s.Bot.SendMessage(ctx, p)
		return err
	})
	return msg, err
}

// SendDocument sends a file (limited).
func (s *Sender) SendDocument(ctx context.Context, p *telego.SendDocumentParams, o Options) (*telego.Message, error) {
	o.Limited = true
	var msg *telego.Message
	err := s.do(ctx, "sendDocument", chatIDOf(p.ChatID), o, func(ctx context.Context) error {
		var err error
		msg, err = s.Bot.SendDocument(ctx, p)
		return err
	})
	return msg, err
}

// SendPhoto sends a picture with a caption (limited).
func (s *Sender) SendPhoto(ctx context.Context, p *telego.SendPhotoParams, o Options) (*telego.Message, error) {
	o.Limited = true
	var msg *telego.Message
	err := s.do(ctx, "sendPhoto", chatIDOf(p.ChatID), o, func(ctx context.Context) error {
		var err error
		msg, err = s.Bot.SendPhoto(ctx, p)
		return err
	})
	return msg, err
}

// CopyMessage copies a message into another chat (limited).
func (s *Sender) CopyMessage(ctx context.Context, p *telego.CopyMessageParams, o Options) (*telego.MessageID, error) {
	o.Limited = true
	var id *telego.MessageID
	err := s.do(ctx, "copyMessage", chatIDOf(p.ChatID), o, func(ctx context.Context) error {
		var err error
		id, err = s.Bot.CopyMessage(ctx, p)
		return err
	})
	return id, err
}

// EditMessageText edits a message (not counted against send limits).
func (s *Sender) EditMessageText(ctx context.Context, p *telego.EditMessageTextParams) error {
	return s.do(ctx, "editMessageText", chatIDOf(p.ChatID), Options{}, func(ctx context.Context) error {
		_, err := s.Bot.EditMessageText(ctx, p)
		return err
	})
}

// EditMessageReplyMarkup changes a message's buttons.
func (s *Sender) EditMessageReplyMarkup(ctx context.Context, p *telego.EditMessageReplyMarkupParams) error {
	return s.do(ctx, "editMessageReplyMarkup", chatIDOf(p.ChatID), Options{}, func(ctx context.Context) error {
		_, err := s.Bot.EditMessageReplyMarkup(ctx, p)
		return err
	})
}

// AnswerCallbackQuery acknowledges a button press. Its notification text is
// fitted to Telegram's 200 characters first (cut at a word with "…").
func (s *Sender) AnswerCallbackQuery(ctx context.Context, p *telego.AnswerCallbackQueryParams) error {
	if fitted := FitCallbackText(p.Text); fitted != p.Text {
		s.log.Warn("callback answer trimmed to Telegram's limit", "chars", utf16Len(p.Text), "limit", MaxCallbackTextLen)
		q := *p
		q.Text = fitted
		p = &q
	}
	return s.do(ctx, "answerCallbackQuery", 0, Options{}, func(ctx context.Context) error {
		return s.Bot.AnswerCallbackQuery(ctx, p)
	})
}

// Typing shows "typing…" in the chat; best effort.
func (s *Sender) Typing(ctx context.Context, chatID int64) {
	err := s.Bot.SendChatAction(ctx, &telego.SendChatActionParams{ChatID: telego.ChatID{ID: chatID}, Action: telego.ChatActionTyping})
	s.calls.WithLabelValues("sendChatAction", result(classify(err))).Inc()
}
