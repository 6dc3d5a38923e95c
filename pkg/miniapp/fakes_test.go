package miniapp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/go-redis/redis_rate/v10"
	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/miniapp"
	"marketingbot/pkg/projection"
	"marketingbot/pkg/reportlink"
	"marketingbot/pkg/telegram/webapp"
	"marketingbot/pkg/texts"
)

// fakeProjection is the read model in memory. err, when set, fails every
// call (Redis down).
type fakeProjection struct {
	mu         sync.Mutex
	partners   map[int64]projection.Partner
	requests   map[string]projection.Request
	reports    map[string][]byte
	promotions []projection.Promotion
	err        error
}

var _ miniapp.Projection = (*fakeProjection)(nil)

func newFakeProjection() *fakeProjection {
	return &fakeProjection{partners: map[int64]projection.Partner{}, requests: map[string]projection.Request{}, reports: map[string][]byte{}}
}

func (p *fakeProjection) Partner(_ context.Context, id int64) (projection.Partner, bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	x, ok := p.partners[id]
	return x, ok, p.err
}

func (p *fakeProjection) PutRequest(_ context.Context, r projection.Request) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return p.err
	}
	p.requests[r.ID] = r
	return nil
}

func (p *fakeProjection) Request(_ context.Context, id string) (projection.Request, bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r, ok := p.requests[id]
	return r, ok, p.err
}

func (p *fakeProjection) UserRequests(_ context.Context, telegramID int64, limit int) ([]projection.Request, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []projection.Request
	for _, r := range p.requests {
		if r.TelegramID == telegramID {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b projection.Request) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return out[:min(len(out), limit)], p.err
}

func (p *fakeProjection) Report(_ context.Context, id string) ([]byte, bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, ok := p.reports[id]
	return b, ok, p.err
}

func (p *fakeProjection) Promotions(context.Context) ([]projection.Promotion, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.promotions, p.err
}

func (p *fakeProjection) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.requests)
}

// fakeEnqueuer records the tasks put on the bus; err fails the enqueue.
type fakeEnqueuer struct {
	mu    sync.Mutex
	tasks []*asynq.Task
	err   error
}

var _ miniapp.Enqueuer = (*fakeEnqueuer)(nil)

func (f *fakeEnqueuer) EnqueueContext(_ context.Context, t *asynq.Task, _ ...asynq.Option) (*asynq.TaskInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	f.tasks = append(f.tasks, t)
	return &asynq.TaskInfo{Type: t.Type()}, nil
}

func (f *fakeEnqueuer) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.tasks)
}

const (
	botToken    = "123456:unit-test-bot-token"
	partnerID   = int64(810001)
	strangerID  = int64(810002)
	partnerCode = "P-0042"
)

var (
	unitNow    = time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)
	linkSecret = reportlink.Secret(botToken)
)

// api is the API under test on httptest, over fakes and a miniredis for
// the rate limiters (GCRA in Redis is what they are).
type api struct {
	t     *testing.T
	srv   *httptest.Server
	proj  *fakeProjection
	queue *fakeEnqueuer
	tx    *texts.Texts
	reg   *prometheus.Registry
	now   time.Time
}

func newAPI(t *testing.T, change func(*miniapp.Options)) *api {
	t.Helper()
	tx, err := texts.Load("")
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: miniredis.RunT(t).Addr()})
	t.Cleanup(func() { rdb.Close() })
	a := &api{t: t, proj: newFakeProjection(), queue: &fakeEnqueuer{}, tx: tx, reg: prometheus.NewRegistry(), now: unitNow}
	a.proj.partners[partnerID] = projection.Partner{TelegramID: partnerID, Code: partnerCode, Name: "Ольга Смирнова"}
	o := miniapp.Options{ObjectCodePattern: miniapp.DefaultObjectCodePattern, RequestsPerHour: 20, InitDataMaxAge: 24 * time.Hour,
		BotToken: botToken, LinkSecret: linkSecret, KeyPrefix: "t:", BotUsername: "unit_bot"}
	if change != nil {
		change(&o)
	}
	mux := http.NewServeMux()
	miniapp.New(miniapp.Deps{Projection: a.proj, Tasks: a.queue, Limiter: redis_rate.NewLimiter(rdb), Texts: tx,
		Registry: a.reg, Now: func() time.Time { return a.now }}, o).Mount(mux)
	a.srv = httptest.NewServer(mux)
	t.Cleanup(a.srv.Close)
	return a
}

// initData is launch data as Telegram signs it for user at authDate.
func initData(userID int64, authDate time.Time, token string) string {
	user, _ := json.Marshal(webapp.User{ID: userID, FirstName: "Ольга", Username: "olga_realty"})
	return webapp.Sign(url.Values{"user": {string(user)}, "auth_date": {fmt.Sprint(authDate.Unix())}, "query_id": {"AAE1"}}, token)
}

// response is one API answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("answer %d is not JSON: %q", r.status, r.body)
	}
	return m
}

// call sends one request; auth is the whole Authorization header.
func (a *api) call(method, path, auth, contentType, body string) response {
	a.t.Helper()
	req, err := http.NewRequest(method, a.srv.URL+path, strings.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := a.srv.Client().Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// partner is the Authorization header of the authorized partner, now.
func (a *api) partner() string { return "tma " + initData(partnerID, a.now, botToken) }

func (a *api) order(auth, code string) response {
	b, _ := json.Marshal(map[string]string{"object_code": code})
	return a.call(http.MethodPost, "/api/v1/analytics", auth, "application/json", string(b))
}
