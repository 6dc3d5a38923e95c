package reports_test

import (
	"context"
	"fmt"
	"io"
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
	"marketingbot/pkg/projection"
	"marketingbot/pkg/reportlink"
	"marketingbot/pkg/reports"
	"marketingbot/pkg/tasks"
	"marketingbot/pkg/telegram"
	"marketingbot/pkg/texts"
)

// fakeStore is the spreadsheet in memory: Queue rows by id, the listings,
// and the Auth sheet's bot_blocked_at. The function fields, when set, make
// a call fail or change the sheet behind the service's back.
type fakeStore struct {
	mu       sync.Mutex
	rows     map[string]domain.AnalyticsRequest
	listings []domain.Listing
	blocked  map[int64]time.Time
	appends  int
	updates  []fakeUpdate

	// failUpdate, when it returns an error, fails UpdateRequest.
	failUpdate func(r domain.AnalyticsRequest, fields []domain.RequestField) error
	// afterRequests runs once Requests has taken its snapshot.
	afterRequests func()
}

// fakeUpdate is one UpdateRequest call that succeeded.
type fakeUpdate struct {
	id     string
	status domain.RequestStatus
	fields []domain.RequestField
}

var _ reports.Store = (*fakeStore)(nil)

func newFakeStore(listings []domain.Listing, rows ...domain.AnalyticsRequest) *fakeStore {
	s := &fakeStore{rows: map[string]domain.AnalyticsRequest{}, listings: listings, blocked: map[int64]time.Time{}}
	for i, r := range rows {
		r.Row = i + 2
		s.rows[r.ID] = r
	}
	return s
}

func (s *fakeStore) AppendRequest(_ context.Context, r domain.AnalyticsRequest) (domain.AnalyticsRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.rows[r.ID]; ok {
		return old, nil
	}
	s.appends++
	r.Row = len(s.rows) + 2
	s.rows[r.ID] = r
	return r, nil
}

func (s *fakeStore) Request(_ context.Context, id string) (domain.AnalyticsRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.rows[id]
	if !ok {
		return r, fmt.Errorf("fake: request %s: %w", id, domain.ErrNotFound)
	}
	return r, nil
}

func (s *fakeStore) Requests(context.Context) ([]domain.AnalyticsRequest, error) {
	s.mu.Lock()
	out := make([]domain.AnalyticsRequest, 0, len(s.rows))
	for _, r := range s.rows {
		out = append(out, r)
	}
	after := s.afterRequests
	s.mu.Unlock()
	if after != nil {
		after()
	}
	return out, nil
}

// UpdateRequest writes the given fields and updated_at, as the gateway does.
func (s *fakeStore) UpdateRequest(_ context.Context, r domain.AnalyticsRequest, fields ...domain.RequestField) (domain.AnalyticsRequest, error) {
	if s.failUpdate != nil {
		if err := s.failUpdate(r, fields); err != nil {
			return r, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.rows[r.ID]
	if !ok {
		return r, fmt.Errorf("fake: update %s: %w", r.ID, domain.ErrNotFound)
	}
	cur.UpdatedAt = r.UpdatedAt
	for _, f := range fields {
		switch f {
		case domain.RequestFieldStatus:
			cur.Status = r.Status
		case domain.RequestFieldReportURL:
			cur.ReportURL = r.ReportURL
		case domain.RequestFieldError:
			cur.Error = r.Error
		case domain.RequestFieldDeliveredAt:
			cur.DeliveredAt = r.DeliveredAt
		case domain.RequestFieldResultText:
			cur.ResultText = r.ResultText
		}
	}
	s.rows[r.ID] = cur
	s.updates = append(s.updates, fakeUpdate{id: r.ID, status: cur.Status, fields: fields})
	return cur, nil
}

func (s *fakeStore) Listings(context.Context) ([]domain.Listing, error) { return s.listings, nil }

func (s *fakeStore) SetBotBlocked(_ context.Context, telegramID int64, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blocked[telegramID] = at
	return nil
}

func (s *fakeStore) row(t *testing.T, id string) domain.AnalyticsRequest {
	t.Helper()
	r, err := s.Request(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// statuses lists the statuses the service wrote to a row, in order.
func (s *fakeStore) statuses(id string) []domain.RequestStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []domain.RequestStatus
	for _, u := range s.updates {
		if u.id == id {
			out = append(out, u.status)
		}
	}
	return out
}

func (s *fakeStore) writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.updates)
}

// sent is one message the fake sender accepted.
type sent struct {
	chatID   int64
	text     string // message text, or the document's caption
	document string // the document's file name; "" for a text
	size     int
}

// fakeSender records what Telegram accepted. sendMessage and sendDocument,
// when set, answer instead (nil error: accepted and recorded).
type fakeSender struct {
	mu           sync.Mutex
	sent         []sent
	sendMessage  func(p *telego.SendMessageParams) error
	sendDocument func(p *telego.SendDocumentParams) error
}

var _ reports.Sender = (*fakeSender)(nil)

func (f *fakeSender) SendMessage(_ context.Context, p *telego.SendMessageParams, _ telegram.Options) (*telego.Message, error) {
	if f.sendMessage != nil {
		if err := f.sendMessage(p); err != nil {
			return nil, err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, sent{chatID: p.ChatID.ID, text: p.Text})
	return &telego.Message{MessageID: len(f.sent)}, nil
}

func (f *fakeSender) SendDocument(_ context.Context, p *telego.SendDocumentParams, _ telegram.Options) (*telego.Message, error) {
	if f.sendDocument != nil {
		if err := f.sendDocument(p); err != nil {
			return nil, err
		}
	}
	// Read the upload as telego would, to see its name and size.
	b, err := io.ReadAll(p.Document.File)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, sent{chatID: p.ChatID.ID, text: p.Caption, document: p.Document.File.Name(), size: len(b)})
	return &telego.Message{MessageID: len(f.sent)}, nil
}

// counts splits what was sent into texts and documents.
func (f *fakeSender) counts() (texts, docs int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, m := range f.sent {
		if m.document != "" {
			docs++
		} else {
			texts++
		}
	}
	return texts, docs
}

func (f *fakeSender) all() []sent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sent(nil), f.sent...)
}

// fakePolisher answers with answer(the block it was given) and finish ("":
// STOP); nil answer means the model is unavailable.
type fakePolisher struct {
	mu     sync.Mutex
	calls  []ai.Request
	answer func(block string) string
	finish string
}

var _ reports.Polisher = (*fakePolisher)(nil)

func (p *fakePolisher) Generate(_ context.Context, req ai.Request) (ai.Answer, error) {
	p.mu.Lock()
	p.calls = append(p.calls, req)
	p.mu.Unlock()
	if p.answer == nil {
		return ai.Answer{}, ai.ErrUnavailable
	}
	finish := p.finish
	if finish == "" {
		finish = "STOP"
	}
	return ai.Answer{Text: p.answer(req.Turns[len(req.Turns)-1].Text), FinishReason: finish}, nil
}

// clock is a settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func (c *clock) Set(t time.Time)     { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// unit is one test's service over fakes, with miniredis for the locks,
// markers, projection and task queue (asynq runs on it).
type unit struct {
	t      *testing.T
	svc    *reports.Service
	store  *fakeStore
	sender *fakeSender
	proj   *projection.Store
	insp   *asynq.Inspector
	tasks  *asynq.Client
	rdb    *redis.Client
	mr     *miniredis.Miniredis
	reg    *prometheus.Registry
	clock  *clock
	tx     *texts.Texts
	opts   reports.Options
}

const (
	unitUser    = int64(700001)
	unitPartner = "P-0001"
	unitBaseURL = "https://bot.example.test"
)

var unitSecret = reportlink.Secret("123456:unit-test-token")

func defaultOptions() reports.Options {
	return reports.Options{Engine: reports.EngineBuiltin, ReportTTL: 7 * 24 * time.Hour, ProcessingTimeout: 10 * time.Minute,
		Location: time.UTC, KeyPrefix: "t:", PublicURL: unitBaseURL, LinkSecret: unitSecret, PolishModel: "analysis-model"}
}

func newUnit(t *testing.T, store *fakeStore, change func(*reports.Options, *reports.Deps)) *unit {
	t.Helper()
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { rdb.Close() })
	tx, err := texts.Load("")
	if err != nil {
		t.Fatal(err)
	}
	u := &unit{t: t, store: store, sender: &fakeSender{}, proj: projection.New(rdb, "t:"), rdb: rdb, mr: mr,
		insp: asynq.NewInspectorFromRedisClient(rdb), tasks: asynq.NewClientFromRedisClient(rdb),
		reg: prometheus.NewRegistry(), clock: &clock{t: unitNow}, tx: tx, opts: defaultOptions()}
	t.Cleanup(func() { u.tasks.Close() })
	d := reports.Deps{Store: store, Sender: u.sender, Tasks: u.tasks, Inspector: u.insp, Projection: u.proj,
		Redis: rdb, Texts: tx, Registry: u.reg, Now: u.clock.Now}
	if change != nil {
		change(&u.opts, &d)
	}
	u.svc = reports.New(d, u.opts)
	return u
}

func (u *unit) request(id, code string) error {
	task, err := tasks.NewAnalyticsRequestTask(tasks.AnalyticsRequestPayload{
		RequestID: id, ObjectCode: code, TelegramID: unitUser, Requester: unitPartner, CreatedAt: u.clock.Now()})
	if err != nil {
		u.t.Fatal(err)
	}
	return u.svc.HandleRequest(context.Background(), task)
}

func (u *unit) process(id string) error {
	task, err := tasks.NewAnalyticsProcessTask(id)
	if err != nil {
		u.t.Fatal(err)
	}
	return u.svc.HandleProcess(context.Background(), task)
}

func (u *unit) deliver(id string) error {
	task, err := tasks.NewAnalyticsDeliverTask(id)
	if err != nil {
		u.t.Fatal(err)
	}
	return u.svc.HandleDeliver(context.Background(), task)
}

func (u *unit) scan() {
	u.t.Helper()
	if err := u.svc.Scanner().Scan(context.Background()); err != nil {
		u.t.Fatalf("scan: %v", err)
	}
}

// taskState is the asynq state of a task in the analytics queue, "" if none.
func (u *unit) taskState(id string) string {
	info, err := u.insp.GetTaskInfo(tasks.QueueAnalytics, id)
	if err != nil {
		return ""
	}
	return info.State.String()
}

func (u *unit) projected(id string) projection.Request {
	u.t.Helper()
	p, ok, err := u.proj.Request(context.Background(), id)
	if err != nil || !ok {
		u.t.Fatalf("projection of %s: ok=%v err=%v", id, ok, err)
	}
	return p
}

// unitNow is the tests' "now": the market below is laid out around it.
var unitNow = time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)

// unitListings is a small market: the object MSK-100001, comparable
// flats in its district (some sold), and BAD-100001 typed without area or
// price.
func unitListings() []domain.Listing {
	flat := func(code string, area float64, price int64, listedDaysAgo int) domain.Listing {
		return domain.Listing{Code: code, Type: "квартира", City: "Москва", District: "Арбат", Address: "ул. Арбат, 1",
			Rooms: 2, AreaM2: area, Floor: 3, PriceRub: price, ListedAt: unitNow.AddDate(0, 0, -listedDaysAgo), Status: domain.ListingActive}
	}
	out := []domain.Listing{flat("MSK-100001", 55, 16_500_000, 20)}
	for i, area := range []float64{50, 52, 54, 56, 58, 60} {
		out = append(out, flat(fmt.Sprintf("MSK-2000%02d", i), area, int64(area*300_000)+int64(i)*100_000, 30+10*i))
	}
	for i := range 4 {
		l := flat(fmt.Sprintf("MSK-3000%02d", i), 55, 15_000_000+int64(i)*500_000, 200+30*i)
		l.Status, l.ClosedAt, l.SoldPriceRub = domain.ListingSold, unitNow.AddDate(0, -i-1, 0), l.PriceRub-300_000
		out = append(out, l)
	}
	return append(out, domain.Listing{Code: "BAD-100001", Type: "квартира", City: "Москва", District: "Арбат", Rooms: 2,
		ListedAt: unitNow.AddDate(0, 0, -5), Status: domain.ListingActive})
}

// queueRow is a Queue row as a person or Apps Script would leave it.
func queueRow(id string, status domain.RequestStatus, updated time.Time) domain.AnalyticsRequest {
	return domain.AnalyticsRequest{ID: id, CreatedAt: updated, ObjectCode: "MSK-100001", TelegramID: unitUser,
		Requester: unitPartner, Status: status, UpdatedAt: updated}
}
