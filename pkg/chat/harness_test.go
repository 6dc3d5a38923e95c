package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"
	"github.com/mymmrac/telego"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/ai"
	"marketingbot/pkg/domain"
	"marketingbot/pkg/history"
	"marketingbot/pkg/projection"
	"marketingbot/pkg/telegram"
	"marketingbot/pkg/texts"
)

// Fakes of the chat's seams: in-memory state plus function fields that,
// when set, decide a call's outcome (an injected error, say).

var (
	_ Store             = (*fakeStore)(nil)
	_ Sender            = (*fakeSender)(nil)
	_ Generator         = (*fakeGen)(nil)
	_ Enqueuer          = (*fakeEnqueuer)(nil)
	_ Projection        = (*fakeProjection)(nil)
	_ Prompt            = promptText("")
	_ OperatorExtension = (*fakeOperators)(nil)
)

// fakeStore is a spreadsheet in memory: the Auth rows and the appeal rows.
type fakeStore struct {
	mu        sync.Mutex
	partners  []domain.Partner
	appeals   []domain.Appeal
	knowledge []domain.KnowledgeEntry
	phones    []string // PartnerByPhone was asked for these
	authCalls int

	// clearsBlocked: AuthorizePartner also clears the row's bot_blocked_at
	// (as pkg/store does once it writes by header); false is the store that
	// leaves it to the chat.
	clearsBlocked bool

	// Optional: an error fails the call before it changes anything.
	// They are called outside the store's lock.
	CreateAppealFn  func(a domain.Appeal, recheck bool) error
	UpdateAppealFn  func(a domain.Appeal) error
	SetBotBlockedFn func(telegramID int64, at time.Time) error
	// SetOperatorsTopicFn fails the write of a partner's topic id.
	SetOperatorsTopicFn func(telegramID int64, topicID int) error
	topicWrites         int
	// days are the Статистика rows written (rating_test.go).
	days []domain.SupportDay
}

func (f *fakeStore) Partners(context.Context) ([]domain.Partner, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]domain.Partner(nil), f.partners...), nil
}

func (f *fakeStore) RefreshPartners(ctx context.Context) ([]domain.Partner, error) {
	return f.Partners(ctx)
}

func (f *fakeStore) PartnerByPhone(_ context.Context, phone string) (domain.Partner, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.phones = append(f.phones, phone)
	for _, p := range f.partners {
		if p.Phone == phone {
			return p, true, nil
		}
	}
	return domain.Partner{}, false, nil
}

func (f *fakeStore) PartnerByTelegramID(_ context.Context, id int64) (domain.Partner, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.partners {
		if p.TelegramID == id {
			return p, true, nil
		}
	}
	return domain.Partner{}, false, nil
}

func (f *fakeStore) AuthorizePartner(_ context.Context, p domain.Partner, telegramID int64, at time.Time) (domain.Partner, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.authCalls++
	for i := range f.partners {
		if f.partners[i].Code == p.Code {
			f.partners[i].TelegramID, f.partners[i].Status, f.partners[i].AuthorizedAt = telegramID, domain.PartnerStatusAuthorized, at
			if f.clearsBlocked {
				f.partners[i].BotBlockedAt = time.Time{}
			}
			return f.partners[i], nil
		}
	}
	return p, domain.ErrNotFound
}

func (f *fakeStore) SetBotBlocked(_ context.Context, telegramID int64, at time.Time) error {
	if f.SetBotBlockedFn != nil {
		if err := f.SetBotBlockedFn(telegramID, at); err != nil {
			return err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.partners {
		if f.partners[i].TelegramID == telegramID {
			f.partners[i].BotBlockedAt = at
		}
	}
	return nil
}

func (f *fakeStore) SetOperatorsTopic(_ context.Context, telegramID int64, topicID int) error {
	if f.SetOperatorsTopicFn != nil {
		if err := f.SetOperatorsTopicFn(telegramID, topicID); err != nil {
			return err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.topicWrites++
	for i := range f.partners {
		if f.partners[i].TelegramID == telegramID {
			f.partners[i].OperatorsTopicID = topicID
		}
	}
	return nil
}

// CurrentAppeal is the user's last row, as the gateway's index has it.
func (f *fakeStore) CurrentAppeal(_ context.Context, telegramID int64) (domain.Appeal, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.appeals) - 1; i >= 0; i-- {
		if f.appeals[i].TelegramID == telegramID {
			return f.appeals[i], true, nil
		}
	}
	return domain.Appeal{}, false, nil
}

func (f *fakeStore) CreateAppeal(_ context.Context, a domain.Appeal, recheck bool) (domain.Appeal, error) {
	if f.CreateAppealFn != nil { // outside the lock: it may block
		if err := f.CreateAppealFn(a, recheck); err != nil {
			return a, err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if recheck {
		if i := f.find(a); i >= 0 {
			return f.appeals[i], nil
		}
	}
	a.Row = len(f.appeals) + 2
	f.appeals = append(f.appeals, a)
	return a, nil
}

func (f *fakeStore) UpdateAppeal(_ context.Context, a domain.Appeal, fields ...domain.AppealField) (domain.Appeal, error) {
	if f.UpdateAppealFn != nil { // outside the lock: it may block
		if err := f.UpdateAppealFn(a); err != nil {
			return a, err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	i := f.find(a)
	if i < 0 {
		return a, domain.ErrNotFound
	}
	row := &f.appeals[i]
	for _, fl := range fields {
		switch fl {
		case domain.AppealFieldHistory:
			row.History = a.History
		case domain.AppealFieldStatus:
			row.Status = a.Status
		case domain.AppealFieldOperator:
			row.Operator = a.Operator
		default:
			applySupportField(row, a, fl) // rating_test.go
		}
	}
	row.UpdatedAt = a.UpdatedAt
	return *row, nil
}

func (f *fakeStore) Knowledge(context.Context) ([]domain.KnowledgeEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.knowledge, nil
}

// find locates a row by its key (Telegram ID, created_at to the second).
func (f *fakeStore) find(a domain.Appeal) int {
	for i, r := range f.appeals {
		if sameAppeal(r, a) {
			return i
		}
	}
	return -1
}

func (f *fakeStore) rows(uid int64) []domain.Appeal {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []domain.Appeal
	for _, a := range f.appeals {
		if a.TelegramID == uid {
			out = append(out, a)
		}
	}
	return out
}

func (f *fakeStore) partner(code string) domain.Partner {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.partners {
		if p.Code == code {
			return p
		}
	}
	return domain.Partner{}
}

// sent is one message the fake Telegram accepted.
type sent struct {
	chatID  int64
	id      int
	text    string
	markup  telego.ReplyMarkup
	replyTo int
}

type fakeSender struct {
	mu       sync.Mutex
	next     int
	msgs     []sent
	copies   []telego.CopyMessageParams
	edits    []telego.EditMessageTextParams
	answers  int
	answered []telego.AnswerCallbackQueryParams

	// Optional: an error instead of sending.
	SendMessageFn func(p *telego.SendMessageParams) error
}

func (f *fakeSender) SendMessage(ctx context.Context, p *telego.SendMessageParams, _ telegram.Options) (*telego.Message, error) {
	// As *telegram.Sender does with the fence carried in ctx (telegram.WithFence).
	if err := fence(ctx); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.SendMessageFn != nil {
		if err := f.SendMessageFn(p); err != nil {
			return nil, err
		}
	}
	if err := telegramLimits(p.Text, p.ParseMode, telegram.MaxTextLen); err != nil {
		return nil, err
	}
	f.next++
	m := sent{chatID: p.ChatID.ID, id: 1000 + f.next, text: p.Text, markup: p.ReplyMarkup}
	if p.ReplyParameters != nil {
		m.replyTo = p.ReplyParameters.MessageID
	}
	f.msgs = append(f.msgs, m)
	return &telego.Message{MessageID: m.id, Chat: telego.Chat{ID: p.ChatID.ID}, Text: p.Text}, nil
}

func (f *fakeSender) CopyMessage(_ context.Context, p *telego.CopyMessageParams, _ telegram.Options) (*telego.MessageID, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	f.copies = append(f.copies, *p)
	return &telego.MessageID{MessageID: 1000 + f.next}, nil
}

func (f *fakeSender) EditMessageText(_ context.Context, p *telego.EditMessageTextParams) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := telegramLimits(p.Text, p.ParseMode, telegram.MaxTextLen); err != nil {
		return err
	}
	f.edits = append(f.edits, *p)
	return nil
}

func (f *fakeSender) AnswerCallbackQuery(_ context.Context, p *telego.AnswerCallbackQueryParams) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers++
	f.answered = append(f.answered, *p)
	return nil
}

func (f *fakeSender) Typing(context.Context, int64) {}

// to returns the messages sent to a chat.
func (f *fakeSender) to(chatID int64) []sent {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []sent
	for _, m := range f.msgs {
		if m.chatID == chatID {
			out = append(out, m)
		}
	}
	return out
}

type fakeGen struct {
	mu   sync.Mutex
	reqs []ai.Request

	// Optional: the answer's text (finished with STOP); by default
	// "Ответ: " and the question.
	GenerateFn func(req ai.Request) (string, error)
	// Optional, before GenerateFn: the whole answer, finish reason and all.
	AnswerFn func(req ai.Request) (ai.Answer, error)
}

func (f *fakeGen) Generate(_ context.Context, req ai.Request) (ai.Answer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, req)
	if f.AnswerFn != nil {
		return f.AnswerFn(req)
	}
	text := "Ответ: " + req.Turns[len(req.Turns)-1].Text
	if f.GenerateFn != nil {
		var err error
		if text, err = f.GenerateFn(req); err != nil {
			return ai.Answer{}, err
		}
	}
	return ai.Answer{Text: text, FinishReason: "STOP"}, nil
}

func (f *fakeGen) calls() []ai.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]ai.Request(nil), f.reqs...)
}

type fakeEnqueuer struct {
	mu    sync.Mutex
	tasks []*asynq.Task
}

func (f *fakeEnqueuer) EnqueueContext(_ context.Context, t *asynq.Task, _ ...asynq.Option) (*asynq.TaskInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tasks = append(f.tasks, t)
	return &asynq.TaskInfo{}, nil
}

// fakeProjection records the calls and keeps the projection for real (a
// projection.Store on the bench's miniredis), so a test can ask what the
// Mini App would see.
type fakeProjection struct {
	st      *projection.Store
	mu      sync.Mutex
	put     []projection.Partner
	synced  []projection.Partner
	removed []int64
}

func (f *fakeProjection) PutPartner(ctx context.Context, p projection.Partner, ttl time.Duration) error {
	f.mu.Lock()
	f.put = append(f.put, p)
	f.mu.Unlock()
	return f.st.PutPartner(ctx, p, ttl)
}

func (f *fakeProjection) MarkPartnerScan(ctx context.Context) (int64, error) {
	return f.st.MarkPartnerScan(ctx)
}

func (f *fakeProjection) SyncPartners(ctx context.Context, mark int64, ps []projection.Partner, ttl time.Duration) error {
	f.mu.Lock()
	f.synced = ps
	f.mu.Unlock()
	return f.st.SyncPartners(ctx, mark, ps, ttl)
}

func (f *fakeProjection) RemovePartner(ctx context.Context, telegramID int64) error {
	f.mu.Lock()
	f.removed = append(f.removed, telegramID)
	f.mu.Unlock()
	return f.st.RemovePartner(ctx, telegramID)
}

// miniApp reports whether the Mini App would let the user in (the projection has them).
func (f *fakeProjection) miniApp(t *testing.T, uid int64) bool {
	t.Helper()
	_, ok, err := f.st.Partner(context.Background(), uid)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// fakeOperators is the promotions' extension of the operators' group: it
// takes every "promo:" press it is given, as pkg/promo does.
type fakeOperators struct {
	mu      sync.Mutex
	presses []string
}

func (f *fakeOperators) HandleOperatorCommand(context.Context, *telego.Message) (bool, error) {
	return false, nil
}

func (f *fakeOperators) HandleOperatorCallback(_ context.Context, q *telego.CallbackQuery) (bool, error) {
	if !strings.HasPrefix(q.Data, "promo:") {
		return false, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.presses = append(f.presses, q.Data)
	return true, nil
}

type promptText string

func (p promptText) Text() string { return string(p) }

// bench is a Service on fakes and miniredis.
type bench struct {
	t      *testing.T
	s      *Service
	mr     *miniredis.Miniredis
	rdb    *redis.Client
	store  *fakeStore
	sender *fakeSender
	gen    *fakeGen
	enq    *fakeEnqueuer
	proj   *fakeProjection
	ops    *fakeOperators
	tx     *texts.Texts

	mu        sync.Mutex
	now       time.Time // the service's clock
	clockHook func()
	update    int64 // the last update id handed out
	message   int   // the last user message id handed out
	prev      map[int64]int64
}

const operatorsChat = -100500

func testOptions() Options {
	return Options{OperatorsChatID: operatorsChat, EscalationKeywords: []string{" Оператор ", "Живой человек", ""},
		LockTTL: 30 * time.Second, UserMessagesPerMinute: 20, AuthFailuresPerHour: 5, Location: time.UTC,
		KeyPrefix: "t", MiniAppURL: "https://example.test/app/", HistoryBudget: 6000, KnowledgeTopK: 4}
}

// newBench builds the service; mod adjusts the options.
func newBench(t *testing.T, mod func(*Options)) *bench {
	t.Helper()
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	tx, err := texts.Load("")
	if err != nil {
		t.Fatal(err)
	}
	b := &bench{t: t, mr: mr, rdb: rdb, store: &fakeStore{}, sender: &fakeSender{}, gen: &fakeGen{}, enq: &fakeEnqueuer{},
		proj: &fakeProjection{st: projection.New(rdb, "t:")}, ops: &fakeOperators{}, tx: tx, now: time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC), update: 100, prev: map[int64]int64{}}
	o := testOptions()
	if mod != nil {
		mod(&o)
	}
	b.s = New(Deps{Store: b.store, AI: b.gen, Sender: b.sender, Tasks: b.enq, Redis: rdb, Projection: b.proj, Texts: tx, Operators: b.ops,
		Prompt: promptText("Ты помощник."), Log: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry(), Now: b.clock}, o)
	return b
}

func (b *bench) clock() time.Time {
	b.mu.Lock()
	now, hook := b.now, b.clockHook
	b.mu.Unlock()
	if hook != nil {
		hook()
	}
	return now
}

// onClock runs f whenever the service asks the time.
func (b *bench) onClock(f func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.clockHook = f
}

func (b *bench) advance(d time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.now = b.now.Add(d)
}

// partner adds an Auth row; uid 0 leaves it unbound.
func (b *bench) partner(code, phone, name string, uid int64) {
	p := domain.Partner{Code: code, Phone: phone, FullName: name, TelegramID: uid}
	if uid != 0 {
		p.Status = domain.PartnerStatusAuthorized
	}
	b.store.mu.Lock()
	defer b.store.mu.Unlock()
	b.store.partners = append(b.store.partners, p)
}

// history parses the user's appeal rows' cells.
func (b *bench) history(uid int64) [][]history.Turn {
	var out [][]history.Turn
	for _, a := range b.store.rows(uid) {
		out = append(out, history.Parse(a.History, time.UTC))
	}
	return out
}

// ids lists "role:id" of turns, the shape most history assertions check.
func ids(turns []history.Turn) string {
	var out []string
	for _, t := range turns {
		out = append(out, fmt.Sprintf("%s:%s", t.Role, t.ID))
	}
	return strings.Join(out, " ")
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
