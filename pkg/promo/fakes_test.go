package promo

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/mymmrac/telego"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/projection"
	"marketingbot/pkg/tasks"
	"marketingbot/pkg/telegram"
)

// The fakes below are the service's collaborators in memory; the unit
// tests run them with a miniredis for the promotion's own state.
var (
	_ Store         = (*fakeStore)(nil)
	_ Sender        = (*fakeSender)(nil)
	_ Limiter       = (*fakeLimiter)(nil)
	_ BotInfo       = (*fakeBot)(nil)
	_ Enqueuer      = (*fakeQueue)(nil)
	_ TaskInspector = (*fakeQueue)(nil)
	_ Projection    = (*fakeProjection)(nil)
)

// update is one UpdatePromotion call.
type update struct {
	P      domain.Promotion
	Fields []domain.PromotionField
}

func (u update) has(f domain.PromotionField) bool { return slices.Contains(u.Fields, f) }

// fakeStore is the spreadsheet: the Promotions rows and the Auth partners.
type fakeStore struct {
	mu       sync.Mutex
	promos   []domain.Promotion
	partners []domain.Partner
	updates  []update
	blocked  map[int64]time.Time
	// UpdateErr, when set, answers UpdatePromotion before anything is written.
	UpdateErr func(p domain.Promotion, fields []domain.PromotionField) error
}

func (s *fakeStore) Promotions(context.Context) ([]domain.Promotion, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.promos), nil
}

func (s *fakeStore) Promotion(_ context.Context, id string) (domain.Promotion, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.promos {
		if p.ID == id {
			return p, nil
		}
	}
	return domain.Promotion{}, fmt.Errorf("promotion %s: %w", id, domain.ErrNotFound)
}

func (s *fakeStore) UpdatePromotion(_ context.Context, p domain.Promotion, fields ...domain.PromotionField) (domain.Promotion, error) {
	if s.UpdateErr != nil {
		if err := s.UpdateErr(p, fields); err != nil {
			return domain.Promotion{}, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.updates = append(s.updates, update{P: p, Fields: slices.Clone(fields)})
	for i := range s.promos {
		row := &s.promos[i]
		if row.ID != p.ID {
			continue
		}
		for _, f := range fields {
			switch f {
			case domain.PromotionFieldStatus:
				row.Status = p.Status
			case domain.PromotionFieldCounters:
				row.Sent, row.Failed, row.Blocked = p.Sent, p.Failed, p.Blocked
			case domain.PromotionFieldFinishedAt:
				row.FinishedAt = p.FinishedAt
			}
		}
		return *row, nil
	}
	return domain.Promotion{}, fmt.Errorf("promotion %s: %w", p.ID, domain.ErrNotFound)
}

func (s *fakeStore) Partners(context.Context) ([]domain.Partner, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.partners), nil
}

func (s *fakeStore) RefreshPartners(ctx context.Context) ([]domain.Partner, error) {
	return s.Partners(ctx)
}

func (s *fakeStore) SetBotBlocked(_ context.Context, telegramID int64, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.blocked == nil {
		s.blocked = map[int64]time.Time{}
	}
	s.blocked[telegramID] = at
	for i := range s.partners {
		if s.partners[i].TelegramID == telegramID {
			s.partners[i].BotBlockedAt = at
		}
	}
	return nil
}

// row returns a promotion's row as the store holds it.
func (s *fakeStore) row(id string) domain.Promotion {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.promos {
		if p.ID == id {
			return p
		}
	}
	return domain.Promotion{}
}

// setStatus edits a row's status by hand, as an operator does.
func (s *fakeStore) setStatus(id string, st domain.PromotionStatus) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.promos {
		if s.promos[i].ID == id {
			s.promos[i].Status = st
		}
	}
}

func (s *fakeStore) allUpdates() []update {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.updates)
}

// sent is one message or photo the fake Bot API accepted or refused.
type sent struct {
	ChatID    int64
	Text      string // text or caption
	Photo     string
	ParseMode string
	Preview   string // link preview URL
	Markup    string // reply_markup as JSON
	ReplyTo   int
	Err       error
}

// fakeSender is the Bot API. Fail decides the answer to a send (nil: ok).
type fakeSender struct {
	mu      sync.Mutex
	calls   []sent
	edits   []*telego.EditMessageTextParams
	answers []string
	nextID  int
	Fail    func(s sent) error
}

func (f *fakeSender) record(s sent) (*telego.Message, error) {
	f.mu.Lock()
	fail := f.Fail
	f.mu.Unlock()
	if fail != nil {
		s.Err = fail(s)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
	if s.Err != nil {
		return nil, s.Err
	}
	f.nextID++
	return &telego.Message{MessageID: f.nextID, Chat: telego.Chat{ID: s.ChatID}, Text: s.Text}, nil
}

func markupJSON(m telego.ReplyMarkup) string {
	if m == nil {
		return ""
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func (f *fakeSender) SendMessage(_ context.Context, p *telego.SendMessageParams, _ telegram.Options) (*telego.Message, error) {
	s := sent{ChatID: p.ChatID.ID, Text: p.Text, ParseMode: p.ParseMode, Markup: markupJSON(p.ReplyMarkup)}
	if p.LinkPreviewOptions != nil {
		s.Preview = p.LinkPreviewOptions.URL
	}
	if p.ReplyParameters != nil {
		s.ReplyTo = p.ReplyParameters.MessageID
	}
	return f.record(s)
}

func (f *fakeSender) SendPhoto(_ context.Context, p *telego.SendPhotoParams, _ telegram.Options) (*telego.Message, error) {
	return f.record(sent{ChatID: p.ChatID.ID, Text: p.Caption, Photo: p.Photo.URL, ParseMode: p.ParseMode, Markup: markupJSON(p.ReplyMarkup)})
}

func (f *fakeSender) EditMessageText(_ context.Context, p *telego.EditMessageTextParams) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.edits = append(f.edits, p)
	return nil
}

func (f *fakeSender) AnswerCallbackQuery(_ context.Context, p *telego.AnswerCallbackQueryParams) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers = append(f.answers, p.CallbackQueryID)
	return nil
}

// to returns the successful sends to a chat.
func (f *fakeSender) to(chatID int64) []sent {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []sent
	for _, s := range f.calls {
		if s.ChatID == chatID && s.Err == nil {
			out = append(out, s)
		}
	}
	return out
}

// attempts counts every call aimed at chatID, refused ones included.
func (f *fakeSender) attempts(chatID int64) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, s := range f.calls {
		if s.ChatID == chatID {
			n++
		}
	}
	return n
}

func (f *fakeSender) all() []sent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// fakeLimiter admits every send unless WaitFunc says otherwise.
type fakeLimiter struct {
	mu       sync.Mutex
	waits    int
	WaitFunc func(chatID int64, prio telegram.Priority, maxWait time.Duration) (time.Duration, error)
}

func (l *fakeLimiter) Wait(_ context.Context, chatID int64, prio telegram.Priority, maxWait time.Duration) (time.Duration, error) {
	l.mu.Lock()
	l.waits++
	fn := l.WaitFunc
	l.mu.Unlock()
	if fn == nil {
		return 0, nil
	}
	return fn(chatID, prio, maxWait)
}

type fakeBot struct{ username string }

func (b *fakeBot) GetMe(context.Context) (*telego.User, error) {
	return &telego.User{Username: b.username, IsBot: true}, nil
}

// queued is a task the fake bus holds.
type queued struct {
	ID    string
	Task  *asynq.Task
	At    time.Time // asynq.ProcessAt; zero: now
	State asynq.TaskState
}

// fakeQueue is the task bus: enqueue with TaskID uniqueness (the ids
// tasks gives promotions' tasks), inspection and deletion.
type fakeQueue struct {
	mu    sync.Mutex
	tasks []*queued
	// EnqueueErr, when set, answers an enqueue before the task is taken.
	EnqueueErr func(t *asynq.Task) error
}

// taskID is the TaskID pkg/tasks gives a promotion task.
func taskID(t *asynq.Task) string {
	switch t.Type() {
	case tasks.TypePromoSend:
		p, _ := tasks.ParsePromoSend(t)
		return tasks.PromoSendTaskID(p.PromotionID, p.TelegramID)
	case tasks.TypePromoBroadcast:
		p, _ := tasks.ParsePromoBroadcast(t)
		return broadcastTaskID(p.PromotionID)
	}
	return t.Type() + ":" + string(t.Payload())
}

func (q *fakeQueue) EnqueueContext(_ context.Context, t *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error) {
	if q.EnqueueErr != nil {
		if err := q.EnqueueErr(t); err != nil {
			return nil, err
		}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	id := taskID(t)
	for _, x := range q.tasks {
		if x.ID == id {
			return nil, asynq.ErrTaskIDConflict
		}
	}
	e := &queued{ID: id, Task: t, State: asynq.TaskStatePending}
	for _, o := range opts {
		if o.Type() == asynq.ProcessAtOpt {
			e.At = o.Value().(time.Time)
			e.State = asynq.TaskStateScheduled
		}
	}
	q.tasks = append(q.tasks, e)
	return &asynq.TaskInfo{ID: id, Type: t.Type(), Payload: t.Payload(), State: e.State}, nil
}

func (q *fakeQueue) GetTaskInfo(_, id string) (*asynq.TaskInfo, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, x := range q.tasks {
		if x.ID == id {
			return &asynq.TaskInfo{ID: id, Type: x.Task.Type(), Payload: x.Task.Payload(), State: x.State}, nil
		}
	}
	return nil, asynq.ErrTaskNotFound
}

func (q *fakeQueue) DeleteTask(_, id string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, x := range q.tasks {
		if x.ID == id {
			q.tasks = slices.Delete(q.tasks, i, i+1)
			return nil
		}
	}
	return asynq.ErrTaskNotFound
}

// ofType returns the tasks of a type in enqueue order.
func (q *fakeQueue) ofType(typ string) []*queued {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []*queued
	for _, x := range q.tasks {
		if x.Task.Type() == typ {
			out = append(out, x)
		}
	}
	return out
}

// next takes the first task that has not run, in enqueue order.
func (q *fakeQueue) next() *queued {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, x := range q.tasks {
		if x.State == asynq.TaskStatePending || x.State == asynq.TaskStateScheduled {
			x.State = asynq.TaskStateActive
			return x
		}
	}
	return nil
}

func (q *fakeQueue) setState(x *queued, st asynq.TaskState) {
	q.mu.Lock()
	defer q.mu.Unlock()
	x.State = st
}

// fakeProjection is the Mini App's read model.
type fakeProjection struct {
	mu      sync.Mutex
	list    []projection.Promotion
	ttl     time.Duration
	puts    int
	removed []int64
}

func (p *fakeProjection) PutPromotions(_ context.Context, list []projection.Promotion, ttl time.Duration) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.list, p.ttl = slices.Clone(list), ttl
	p.puts++
	return nil
}

func (p *fakeProjection) RemovePartner(_ context.Context, telegramID int64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.removed = append(p.removed, telegramID)
	return nil
}
