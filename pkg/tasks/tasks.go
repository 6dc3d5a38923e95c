// Package tasks is the bus contract between cmd/bot, cmd/poller and
// cmd/worker: every asynq task type, its payload, the queue it runs on and its
// idempotency key. It is the one place that knows these; producers call the
// New…Task constructors and handlers decode with the matching Parse… function.
//
// Idempotency: where a duplicate must be impossible the task carries an
// asynq.TaskID derived from the business key (Telegram update id, Queue row
// id, promotion id + recipient). asynq refuses a second task with the same id
// while the first is pending, active, retrying or retained after completion;
// handlers still make their effects idempotent for duplicates that arrive
// after the retention window.
package tasks

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
)

// Queues, highest priority first.
const (
	QueueChat      = "chat"      // users' updates (messages, presses, member changes), replies, drains
	QueueDefault   = "default"   // housekeeping
	QueueAnalytics = "analytics" // Analytics 360 requests and deliveries
	QueueBroadcast = "broadcast" // promotion fan-out and sends
)

// Queues returns the weighted priorities the worker serves.
func Queues() map[string]int {
	return map[string]int{QueueChat: 6, QueueDefault: 3, QueueAnalytics: 2, QueueBroadcast: 1}
}

// Task types.
const (
	// TypeChatMessage is a message (or an edit of one) in a private chat with
	// the bot: text, contact, media, commands.
	TypeChatMessage = "chat:message"
	// TypeChatCallback is a press of an inline button, by a user or an operator.
	TypeChatCallback = "chat:callback"
	// TypeChatMember is a my_chat_member change: the user blocked or unblocked the bot.
	TypeChatMember = "chat:member"
	// TypeOperatorMessage is a message in the operators' group.
	TypeOperatorMessage = "operator:message"
	// TypeChatDrain asks a worker to drain a user's inbox that nobody holds.
	TypeChatDrain = "chat:drain"
	// TypeAnalyticsRequest appends a NEW row to the Queue sheet.
	TypeAnalyticsRequest = "analytics:request"
	// TypeAnalyticsProcess runs the built-in engine on a NEW row.
	TypeAnalyticsProcess = "analytics:process"
	// TypeAnalyticsDeliver sends a DONE/ERROR result to the user and writes delivered_at.
	TypeAnalyticsDeliver = "analytics:deliver"
	// TypePromoBroadcast selects a promotion's recipients and fans out sends.
	TypePromoBroadcast = "promo:broadcast"
	// TypePromoSend sends one promotion to one recipient.
	TypePromoSend = "promo:send"
)

// Types lists every task type (for metrics and docs).
func Types() []string {
	return []string{TypeChatMessage, TypeChatCallback, TypeChatMember, TypeOperatorMessage, TypeChatDrain,
		TypeAnalyticsRequest, TypeAnalyticsProcess, TypeAnalyticsDeliver, TypePromoBroadcast, TypePromoSend}
}

// UpdateKind classifies a Telegram update for routing, metrics and handlers.
type UpdateKind string

const (
	KindText      UpdateKind = "text"
	KindCommand   UpdateKind = "command"
	KindContact   UpdateKind = "contact"
	KindMedia     UpdateKind = "media" // photo, video, voice, audio, document, sticker, animation, video note
	KindLocation  UpdateKind = "location"
	KindOther     UpdateKind = "other" // any other message content (polls, dice, service messages…)
	KindEdited    UpdateKind = "edited"
	KindCallback  UpdateKind = "callback"
	KindMember    UpdateKind = "member"
	KindOperator  UpdateKind = "operator"
	KindIgnored   UpdateKind = "ignored" // update types we do not act on (channel posts, inline queries…)
	KindMalformed UpdateKind = "malformed"
)

// UpdatePayload carries one Telegram update. The raw JSON is kept so that the
// worker sees exactly what Telegram sent.
type UpdatePayload struct {
	UpdateID   int64      `json:"update_id"`
	Kind       UpdateKind `json:"kind"`
	UserID     int64      `json:"user_id,omitempty"`
	ChatID     int64      `json:"chat_id,omitempty"`
	ReceivedAt time.Time  `json:"received_at"`
	// Prev is the id of the same user's previous update (0 = none known). asynq
	// runs tasks concurrently, so a later update may reach the worker first;
	// the chat drains a user's inbox only along this chain.
	Prev   int64           `json:"prev,omitempty"`
	Update json.RawMessage `json:"update"`
}

// Chained reports whether an update of task type typ is linked into its
// sender's chain (UpdatePayload.Prev): private messages and edits, button
// presses in the private chat, and the user's blocking or unblocking of the
// bot. The user's next update waits until a chained one has been taken up,
// so the worker must put every chained update into the user's inbox, even
// one it has nothing to do for.
func Chained(typ string, p UpdatePayload) bool {
	switch typ {
	case TypeChatMessage:
		return p.UserID != 0
	case TypeChatCallback, TypeChatMember:
		return p.UserID != 0 && p.ChatID == p.UserID
	}
	return false
}

// UpdateTaskID is the idempotency key of an update: Telegram's update_id is
// unique per bot, so a re-delivered update maps to the same task.
func UpdateTaskID(updateID int64) string { return "update:" + strconv.FormatInt(updateID, 10) }

// NewUpdateTask builds the task for an update of the given type. retention
// keeps the completed task (and so its TaskID) for that long, which turns a
// late re-delivery into asynq.ErrTaskIDConflict at enqueue time.
func NewUpdateTask(typ string, p UpdatePayload, retention time.Duration) (*asynq.Task, error) {
	// Member updates (block, unblock) are in the user's chain like the
	// messages, so they share the messages' queue.
	return newTask(typ, p, QueueChat, UpdateTaskID(p.UpdateID), asynq.MaxRetry(25), asynq.Timeout(3*time.Minute), asynq.Retention(retention))
}

// ParseUpdate decodes an update task's payload.
func ParseUpdate(t *asynq.Task) (UpdatePayload, error) {
	var p UpdatePayload
	return p, decode(t, &p)
}

// DrainPayload names the user whose inbox should be drained.
type DrainPayload struct {
	UserID int64 `json:"user_id"`
}

// DrainEvery is how often a user's inbox may get a new drain task.
const DrainEvery = 30 * time.Second

// NewDrainTask builds a drain task: at most one per user per DrainEvery
// period. The id names the period, not only the user: a drain task of an
// earlier period stuck in asynq (orphaned "active" after a Redis outage
// until its lease is recovered, or waiting out a retry backoff) must not
// keep the sweeper from draining the inbox now. Draining is idempotent
// (the per-user lease), so an extra drain costs nothing.
func NewDrainTask(userID int64, now time.Time) (*asynq.Task, error) {
	return newTask(TypeChatDrain, DrainPayload{UserID: userID}, QueueChat,
		"drain:"+strconv.FormatInt(userID, 10)+":"+strconv.FormatInt(now.Unix()/int64(DrainEvery/time.Second), 10),
		asynq.MaxRetry(25), asynq.Timeout(3*time.Minute))
}

// ParseDrain decodes a drain task.
func ParseDrain(t *asynq.Task) (DrainPayload, error) {
	var p DrainPayload
	return p, decode(t, &p)
}

// AnalyticsRequestPayload is an Analytics 360 order from the Mini App. The id
// is generated by the bot and becomes the Queue row id.
type AnalyticsRequestPayload struct {
	RequestID  string    `json:"request_id"`
	ObjectCode string    `json:"object_code"`
	TelegramID int64     `json:"telegram_id"`
	Requester  string    `json:"requester"` // partner code
	CreatedAt  time.Time `json:"created_at"`
}

// NewAnalyticsRequestTask builds the task that appends the NEW row.
func NewAnalyticsRequestTask(p AnalyticsRequestPayload) (*asynq.Task, error) {
	return newTask(TypeAnalyticsRequest, p, QueueAnalytics, "analytics:request:"+p.RequestID,
		asynq.MaxRetry(20), asynq.Timeout(2*time.Minute), asynq.Retention(24*time.Hour))
}

// ParseAnalyticsRequest decodes an analytics request task.
func ParseAnalyticsRequest(t *asynq.Task) (AnalyticsRequestPayload, error) {
	var p AnalyticsRequestPayload
	return p, decode(t, &p)
}

// AnalyticsRowPayload refers to a Queue row by its id (column A).
type AnalyticsRowPayload struct {
	RequestID string `json:"request_id"`
}

// NewAnalyticsProcessTask builds the task that computes a NEW request.
func NewAnalyticsProcessTask(requestID string) (*asynq.Task, error) {
	return newTask(TypeAnalyticsProcess, AnalyticsRowPayload{RequestID: requestID}, QueueAnalytics,
		"analytics:process:"+requestID, asynq.MaxRetry(10), asynq.Timeout(5*time.Minute), asynq.Retention(time.Hour))
}

// NewAnalyticsDeliverTask builds the delivery task for a finished row. Two
// pollers seeing the same row produce the same TaskID.
func NewAnalyticsDeliverTask(requestID string) (*asynq.Task, error) {
	return newTask(TypeAnalyticsDeliver, AnalyticsRowPayload{RequestID: requestID}, QueueAnalytics,
		"analytics:deliver:"+requestID, asynq.MaxRetry(20), asynq.Timeout(3*time.Minute), asynq.Retention(24*time.Hour))
}

// ParseAnalyticsRow decodes a process or deliver task.
func ParseAnalyticsRow(t *asynq.Task) (AnalyticsRowPayload, error) {
	var p AnalyticsRowPayload
	return p, decode(t, &p)
}

// PromoBroadcastPayload starts (or resumes) a promotion's broadcast.
type PromoBroadcastPayload struct {
	PromotionID string `json:"promotion_id"`
	Operator    string `json:"operator,omitempty"` // who started it from the operators' group, if anyone
}

// NewPromoBroadcastTask builds the fan-out task; one per promotion.
func NewPromoBroadcastTask(p PromoBroadcastPayload) (*asynq.Task, error) {
	return newTask(TypePromoBroadcast, p, QueueBroadcast, "promo:broadcast:"+p.PromotionID,
		asynq.MaxRetry(20), asynq.Timeout(30*time.Minute), asynq.Retention(7*24*time.Hour))
}

// ParsePromoBroadcast decodes a broadcast task.
func ParsePromoBroadcast(t *asynq.Task) (PromoBroadcastPayload, error) {
	var p PromoBroadcastPayload
	return p, decode(t, &p)
}

// PromoSendPayload is one promotion for one recipient.
type PromoSendPayload struct {
	PromotionID string `json:"promotion_id"`
	TelegramID  int64  `json:"telegram_id"`
}

// PromoSendTaskID is the idempotency key of a send: never twice to one person.
func PromoSendTaskID(promotionID string, telegramID int64) string {
	return "promo:send:" + promotionID + ":" + strconv.FormatInt(telegramID, 10)
}

// NewPromoSendTask builds one send on the lowest-priority queue.
func NewPromoSendTask(p PromoSendPayload) (*asynq.Task, error) {
	return newTask(TypePromoSend, p, QueueBroadcast, PromoSendTaskID(p.PromotionID, p.TelegramID),
		asynq.MaxRetry(8), asynq.Timeout(time.Minute), asynq.Retention(7*24*time.Hour))
}

// ParsePromoSend decodes a send task.
func ParsePromoSend(t *asynq.Task) (PromoSendPayload, error) {
	var p PromoSendPayload
	return p, decode(t, &p)
}

func newTask(typ string, payload any, queue, id string, opts ...asynq.Option) (*asynq.Task, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("tasks: encode %s: %w", typ, err)
	}
	opts = append([]asynq.Option{asynq.Queue(queue), asynq.TaskID(id)}, opts...)
	return asynq.NewTask(typ, b, opts...), nil
}

// ErrMalformedPayload marks a payload that cannot be decoded; retrying cannot help.
var ErrMalformedPayload = errors.New("malformed task payload")

func decode(t *asynq.Task, v any) error {
	if err := json.Unmarshal(t.Payload(), v); err != nil {
		return fmt.Errorf("tasks: decode %s: %w: %v: %w", t.Type(), ErrMalformedPayload, err, asynq.SkipRetry)
	}
	return nil
}

// IsDuplicate reports whether an enqueue error means the task already exists:
// for an idempotent producer that is success.
func IsDuplicate(err error) bool {
	return errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask)
}

// RetryAfterError asks the worker to run the task again after a delay without
// counting it as a failure (rate limits, a lock held by someone else, Google's
// 429 with a retry delay).
type RetryAfterError struct {
	After  time.Duration
	Reason string
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("retry after %s: %s", e.After, e.Reason)
}

// RetryAfter builds a RetryAfterError.
func RetryAfter(d time.Duration, reason string) error {
	return &RetryAfterError{After: d, Reason: reason}
}

// AsRetryAfter extracts a RetryAfterError from err's chain.
func AsRetryAfter(err error) (*RetryAfterError, bool) {
	var r *RetryAfterError
	ok := errors.As(err, &r)
	return r, ok
}
