package promo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"
	ta "github.com/mymmrac/telego/telegoapi"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/tasks"
	"marketingbot/pkg/texts"
)

const (
	testGroup  = int64(-100777)
	testPrefix = "t:"
	testAppURL = "https://mini.example/app/"
	firstUser  = int64(5001)
)

var errTest = errors.New("test: injected failure")

// apiError is the Bot API's error answer as telego returns it.
func apiError(code int, description string) error {
	return &ta.Error{ErrorCode: code, Description: description}
}

// unit is the service on fakes and a miniredis, with a settable clock.
type unit struct {
	t      *testing.T
	mr     *miniredis.Miniredis
	rdb    *redis.Client
	store  *fakeStore
	sender *fakeSender // the limited sender: operators' notes and replies
	direct *fakeSender // the broadcast's sends
	lim    *fakeLimiter
	queue  *fakeQueue
	proj   *fakeProjection
	reg    *prometheus.Registry
	svc    *Service

	clockMu sync.Mutex
	now     time.Time

	messageID int // of the operators' commands
}

func newUnit(t *testing.T, o Options, promos []domain.Promotion, partners []domain.Partner) *unit {
	t.Helper()
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { rdb.Close() })
	tx, err := texts.Load("")
	if err != nil {
		t.Fatal(err)
	}
	u := &unit{t: t, mr: mr, rdb: rdb, store: &fakeStore{promos: promos, partners: partners},
		sender: &fakeSender{}, direct: &fakeSender{}, lim: &fakeLimiter{}, queue: &fakeQueue{}, proj: &fakeProjection{},
		reg: prometheus.NewRegistry(), now: time.Date(2025, 6, 2, 10, 0, 0, 0, time.UTC)}
	if o.OperatorsChatID == 0 {
		o.OperatorsChatID = testGroup
	}
	if o.KeyPrefix == "" {
		o.KeyPrefix = testPrefix
	}
	if o.MiniAppURL == "" {
		o.MiniAppURL = testAppURL
	}
	u.svc = New(Deps{Store: u.store, Sender: u.sender, Direct: u.direct, Limiter: u.lim, Bot: &fakeBot{username: "our_bot"},
		Tasks: u.queue, Inspector: u.queue, Redis: rdb, Projection: u.proj, Texts: tx, Registry: u.reg, Now: u.clock}, o)
	return u
}

func (u *unit) clock() time.Time {
	u.clockMu.Lock()
	defer u.clockMu.Unlock()
	return u.now
}

func (u *unit) setClock(t time.Time) {
	u.clockMu.Lock()
	defer u.clockMu.Unlock()
	u.now = t
}

// partners makes n authorized partners P-1…P-n with Telegram ids from firstUser.
func partners(n int) []domain.Partner {
	out := make([]domain.Partner, n)
	for i := range out {
		out[i] = domain.Partner{Code: "P-" + strconv.Itoa(i+1), Status: domain.PartnerStatusAuthorized, TelegramID: firstUser + int64(i)}
	}
	return out
}

func promotion(id string, status domain.PromotionStatus, startsAt time.Time) domain.Promotion {
	return domain.Promotion{Row: 2, ID: id, Title: "Акция " + id, Text: "Текст " + id, StartsAt: startsAt, Audience: "all", Status: status}
}

func (u *unit) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	u.t.Cleanup(cancel)
	return ctx
}

func (u *unit) scan() {
	u.t.Helper()
	if err := u.svc.Scanner().Scan(u.ctx()); err != nil {
		u.t.Fatalf("scan: %v", err)
	}
}

// run hands a task to its handler, as the worker does.
func (u *unit) run(t *asynq.Task) error {
	switch t.Type() {
	case tasks.TypePromoBroadcast:
		return u.svc.HandleBroadcast(u.ctx(), t)
	case tasks.TypePromoSend:
		return u.svc.HandleSend(u.ctx(), t)
	}
	return fmt.Errorf("unexpected task %s", t.Type())
}

// drain runs the queued tasks in enqueue order until none is left; a task
// that fails goes back to the queue (at most tries times in all).
func (u *unit) drain(tries int) {
	u.t.Helper()
	attempts := map[string]int{}
	for x := u.queue.next(); x != nil; x = u.queue.next() {
		err := u.run(x.Task)
		attempts[x.ID]++
		switch {
		case err == nil, errors.Is(err, asynq.SkipRetry):
			u.queue.setState(x, asynq.TaskStateCompleted)
		case attempts[x.ID] >= tries:
			u.t.Fatalf("task %s failed %d times: %v", x.ID, attempts[x.ID], err)
		default:
			u.queue.setState(x, asynq.TaskStatePending)
		}
	}
}

// sendTask is the send task of one recipient.
func sendTask(t *testing.T, id string, uid int64) *asynq.Task {
	t.Helper()
	task, err := tasks.NewPromoSendTask(tasks.PromoSendPayload{PromotionID: id, TelegramID: uid})
	if err != nil {
		t.Fatal(err)
	}
	return task
}

// state reads the promotion's Redis state.
func (u *unit) state(id string) state {
	u.t.Helper()
	st, err := u.svc.loadState(u.ctx(), id)
	if err != nil {
		u.t.Fatal(err)
	}
	return st
}

// counter reads a counter with one label (outcome).
func (u *unit) counter(name, outcome string) float64 {
	u.t.Helper()
	mfs, err := u.reg.Gather()
	if err != nil {
		u.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == outcome {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
