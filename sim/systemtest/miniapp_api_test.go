package systemtest

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/hibiken/asynq"

	"marketingbot/pkg/app"
	"marketingbot/pkg/config"
	"marketingbot/pkg/miniapp"
	"marketingbot/pkg/projection"
	"marketingbot/pkg/reportlink"
	"marketingbot/pkg/telegram/webapp"
	"marketingbot/sim/testutil"
)

// TestMiniAppRefusals is the table of calls the API must refuse: each gets
// its status and error code, and nothing reaches the queue or the projection.
func TestMiniAppRefusals(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel() // an own world: nothing shared but the CPU
	s := newMiniappStack(t, miniappStackOptions{config: func(c *config.Config) { c.Analytics.RequestsPerHour = 3 }})
	in := miniappLaunches(t, s)
	for _, tt := range miniappRefusalCases(in) {
		t.Run(tt.name, func(t *testing.T) {
			r := s.call(http.MethodPost, "/api/v1/analytics", tt.auth, tt.contentType, tt.body)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			body := r.json(t)
			if body["error"] != tt.code || body["message"] == "" {
				t.Fatalf("body %s, want error %q with a message", r.body, tt.code)
			}
			if cc := r.header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q", cc)
			}
			if n, p := s.enqueued(), s.projected(); n != 0 || p != 0 {
				t.Fatalf("%d tasks enqueued and %d requests projected by a refused call", n, p)
			}
		})
	}
	t.Run("messages are the configured texts", func(t *testing.T) { miniappRefusalMessages(t, s, in) })
	t.Run("over the hourly limit", func(t *testing.T) { miniappOverHourlyLimit(t, s, in.good) })
}

// miniappLaunch holds launch data (initData) of every kind the refusals need.
type miniappLaunch struct {
	good, stranger, expired string
	// forged: the same fields signed with another bot's token; swapped: a
	// valid signature over data whose user was then swapped.
	forged, swapped string
}

func miniappLaunches(t *testing.T, s *miniappStack) miniappLaunch {
	t.Helper()
	in := miniappLaunch{
		good:     s.initData(miniappPartnerID, time.Time{}),
		stranger: s.initData(miniappStrangerID, time.Time{}),
		expired:  s.initData(miniappPartnerID, time.Now().Add(-25*time.Hour)),
	}
	fields, _ := url.ParseQuery(in.good)
	in.forged = webapp.Sign(fields, "987654321:AnotherBotTokenAnotherBotToken00")
	in.swapped = strings.Replace(in.good, url.QueryEscape(`"id":810001`), url.QueryEscape(`"id":810003`), 1)
	if in.swapped == in.good {
		t.Fatal("the user id was not found in the init data")
	}
	return in
}

type miniappRefusal struct {
	name        string
	auth        string
	contentType string
	body        string
	status      int
	code        string
}

func miniappRefusalCases(in miniappLaunch) []miniappRefusal {
	good := in.good
	orderBody := `{"object_code":"MSK-100001"}`
	return []miniappRefusal{
		{"no Authorization", "", "application/json", orderBody, 401, "unauthorized"},
		{"another scheme", "Bearer " + good, "application/json", orderBody, 401, "unauthorized"},
		{"empty init data", "tma ", "application/json", orderBody, 401, "unauthorized"},
		{"garbage init data", "tma %zz;", "application/json", orderBody, 401, "unauthorized"},
		{"no hash", "tma " + strings.Split(good, "&hash=")[0], "application/json", orderBody, 401, "unauthorized"},
		{"signed with another token", "tma " + in.forged, "application/json", orderBody, 401, "unauthorized"},
		{"user swapped after signing", "tma " + in.swapped, "application/json", orderBody, 401, "unauthorized"},
		{"expired", "tma " + in.expired, "application/json", orderBody, 401, "expired"},
		{"not a partner", "tma " + in.stranger, "application/json", orderBody, 403, "not_partner"},
		{"code empty", "tma " + good, "application/json", `{"object_code":""}`, 400, "invalid_object_code"},
		{"code missing", "tma " + good, "application/json", `{}`, 400, "invalid_object_code"},
		{"code null", "tma " + good, "application/json", `{"object_code":null}`, 400, "invalid_object_code"},
		{"code not a string", "tma " + good, "application/json", `{"object_code":100001}`, 400, "bad_request"},
		{"code msk", "tma " + good, "application/json", `{"object_code":"msk"}`, 400, "invalid_object_code"},
		{"code too short", "tma " + good, "application/json", `{"object_code":"MSK-1"}`, 400, "invalid_object_code"},
		{"code too long", "tma " + good, "application/json", `{"object_code":"MSK-123456789"}`, 400, "invalid_object_code"},
		{"code in Cyrillic", "tma " + good, "application/json", `{"object_code":"МСК-100001"}`, 400, "invalid_object_code"},
		{"code with SQL", "tma " + good, "application/json", `{"object_code":"MSK-100001; DROP"}`, 400, "invalid_object_code"},
		{"code inner newline", "tma " + good, "application/json", `{"object_code":"MSK-\n100001"}`, 400, "invalid_object_code"},
		{"code 200 chars", "tma " + good, "application/json", `{"object_code":"` + strings.Repeat("A", 200) + `"}`, 400, "invalid_object_code"},
		{"body not JSON", "tma " + good, "application/json", `object_code=MSK-100001`, 400, "bad_request"},
		{"body two objects", "tma " + good, "application/json", orderBody + orderBody, 400, "bad_request"},
		{"body too large", "tma " + good, "application/json", `{"object_code":"MSK-100001","x":"` + strings.Repeat("x", 5000) + `"}`, 413, "bad_request"},
		{"form instead of JSON", "tma " + good, "application/x-www-form-urlencoded", orderBody, 415, "bad_request"},
	}
}

func miniappRefusalMessages(t *testing.T, s *miniappStack, in miniappLaunch) {
	for auth, want := range map[string]string{
		"":                   s.tx.MiniAppUnauthorized,
		"tma " + in.expired:  s.tx.MiniAppExpired,
		"tma " + in.stranger: s.tx.MiniAppNotPartner,
		"tma " + in.swapped:  s.tx.MiniAppUnauthorized,
		"tma " + in.forged:   s.tx.MiniAppUnauthorized,
	} {
		if got := s.call(http.MethodGet, "/api/v1/me", auth, "", "").json(t)["message"]; got != want {
			t.Errorf("message %q, want %q", got, want)
		}
	}
}

func miniappOverHourlyLimit(t *testing.T, s *miniappStack, good string) {
	for i := range 3 {
		if r := s.order(good, "msk-10000"+strconv.Itoa(i+1)); r.status != http.StatusAccepted {
			t.Fatalf("order %d: %d %s", i+1, r.status, r.body)
		}
	}
	tasksBefore, projBefore := s.enqueued(), s.projected()
	if tasksBefore != 3 || projBefore != 3 {
		t.Fatalf("3 accepted orders left %d tasks and %d projected requests", tasksBefore, projBefore)
	}
	r := s.order(good, "MSK-100009")
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("4th order: %d %s", r.status, r.body)
	}
	body := r.json(t)
	retry, _ := body["retry_after"].(float64)
	header, _ := strconv.Atoi(r.header.Get("Retry-After"))
	if body["error"] != "rate_limited" || retry < 60 || retry > 3600 || int(retry) != header {
		t.Fatalf("429 body %s, Retry-After %q", r.body, r.header.Get("Retry-After"))
	}
	if !strings.Contains(body["message"].(string), "мин") {
		t.Errorf("message %q does not say when to retry", body["message"])
	}
	if s.enqueued() != tasksBefore || s.projected() != projBefore {
		t.Fatal("the refused order was enqueued or projected")
	}
	// Reading is not limited by the order budget.
	if r := s.call(http.MethodGet, "/api/v1/analytics", "tma "+good, "", ""); r.status != http.StatusOK {
		t.Fatalf("listing while over the order limit: %d", r.status)
	}
}

// TestMiniAppUnavailable: with Redis down, or only the task queue failing, the API
// answers 503 and leaves nothing behind.
func TestMiniAppUnavailable(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel() // an own world: nothing shared but the CPU
	s := newMiniappStack(t, miniappStackOptions{})
	good := s.initData(miniappPartnerID, time.Time{})

	t.Run("Redis down", func(t *testing.T) {
		s.redis.Stop()
		r := s.order(good, "MSK-100001")
		s.redis.Start() // empty: it persists nothing
		s.putPartner()
		if r.status != http.StatusServiceUnavailable || r.json(t)["error"] != "unavailable" || r.json(t)["message"] != s.tx.MiniAppUnavailable {
			t.Fatalf("with Redis down: %d %s", r.status, r.body)
		}
		if n, p := s.enqueued(), s.projected(); n != 0 || p != 0 {
			t.Fatalf("%d tasks and %d projected requests after a 503", n, p)
		}
	})

	t.Run("enqueue fails", func(t *testing.T) {
		// The queue lives on a Redis that is gone; the projection's is fine.
		queueRedis := testutil.StartRedis(t)
		broken := asynq.NewClientFromRedisClient(queueRedis.Client())
		queueRedis.Stop()
		mux := http.NewServeMux()
		miniapp.New(miniapp.Deps{Projection: s.proj, Tasks: broken, Limiter: redis_rate.NewLimiter(s.rdb), Texts: s.tx, Log: miniappQuiet()},
			app.MiniAppOptions(s.cfg, "")).Mount(mux)
		srv := httptest.NewServer(mux)
		defer srv.Close()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/analytics", strings.NewReader(`{"object_code":"MSK-100001"}`))
		req.Header.Set("Authorization", "tma "+good)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("status %d, want 503", resp.StatusCode)
		}
		if p := s.projected(); p != 0 {
			t.Fatalf("%d requests projected although the enqueue failed", p)
		}
		if reqs, _ := s.proj.UserRequests(context.Background(), miniappPartnerID, 10); len(reqs) != 0 {
			t.Fatalf("the partner sees %d requests after a failed order", len(reqs))
		}
	})
}

// TestMiniAppAPI covers the successful calls of the contract, one stack
// for all: the order's request shows up in the list that follows.
func TestMiniAppAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel() // an own world: nothing shared but the CPU
	s := newMiniappStack(t, miniappStackOptions{})
	good := "tma " + s.initData(miniappPartnerID, time.Time{})

	t.Run("config", func(t *testing.T) { miniappAPIConfig(t, s) })
	t.Run("me", func(t *testing.T) { miniappAPIMe(t, s, good) })
	var id string
	t.Run("order", func(t *testing.T) { id = miniappAPIOrder(t, s, good) })
	t.Run("list and get", func(t *testing.T) { miniappAPIListAndGet(t, s, good, id) })
	t.Run("promotions for the partner's audience", func(t *testing.T) { miniappAPIPromotions(t, s, good) })
	t.Run("routing", func(t *testing.T) { miniappAPIRouting(t, s, good) })
}

func miniappAPIConfig(t *testing.T, s *miniappStack) {
	r := s.call(http.MethodGet, "/api/v1/config", "", "", "")
	body := r.json(t)
	if r.status != 200 || body["object_code_pattern"] != s.cfg.Analytics.ObjectCodePattern || body["bot_username"] != miniappBotUsername || body["poll_interval_ms"] != 3000.0 {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

func miniappAPIMe(t *testing.T, s *miniappStack, good string) {
	r := s.call(http.MethodGet, "/api/v1/me", good, "", "")
	var body struct {
		User struct {
			ID        int64  `json:"id"`
			FirstName string `json:"first_name"`
			Username  string `json:"username"`
		} `json:"user"`
		Partner struct{ Code, Name string } `json:"partner"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil || r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if body.User.ID != miniappPartnerID || body.User.FirstName != "Ольга" || body.User.Username != "olga_realty" ||
		body.Partner.Code != miniappPartnerCode || body.Partner.Name != "Ольга Смирнова" {
		t.Fatalf("%s", r.body)
	}
}

// miniappAPIOrder orders a report and returns the new request's id.
func miniappAPIOrder(t *testing.T, s *miniappStack, good string) (id string) {
	r := s.order(strings.TrimPrefix(good, "tma "), "  msk-100001 ")
	if r.status != http.StatusAccepted {
		t.Fatalf("%d %s", r.status, r.body)
	}
	var body struct{ Request map[string]any }
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "object_code", "status", "created_at", "updated_at", "result_text", "error", "report_url", "delivered"} {
		if _, ok := body.Request[k]; !ok {
			t.Errorf("request has no %q: %s", k, r.body)
		}
	}
	id, _ = body.Request["id"].(string)
	if body.Request["object_code"] != "MSK-100001" || body.Request["status"] != "NEW" || body.Request["delivered"] != false || len(id) != 36 {
		t.Fatalf("%s", r.body)
	}
	infos, err := s.insp.ListPendingTasks("analytics")
	if err != nil || len(infos) != 1 {
		t.Fatalf("pending analytics tasks: %v %v", infos, err)
	}
	var raw map[string]any
	_ = json.Unmarshal(infos[0].Payload, &raw)
	if infos[0].Type != "analytics:request" || raw["request_id"] != id || raw["object_code"] != "MSK-100001" ||
		raw["requester"] != miniappPartnerCode || raw["telegram_id"] != float64(miniappPartnerID) {
		t.Fatalf("task %s %s", infos[0].Type, infos[0].Payload)
	}
	return id
}

// miniappAPIListAndGet lists the partner's requests (id is the one just
// ordered) and downloads a stored PDF through its signed link.
func miniappAPIListAndGet(t *testing.T, s *miniappStack, good, id string) {
	ctx := context.Background()
	// A finished request of the partner with a stored PDF, and someone else's.
	done := projection.Request{ID: "done-1", TelegramID: miniappPartnerID, ObjectCode: "SPB-100002", Status: "DONE", ResultText: "Итог",
		HasReport: true, CreatedAt: time.Now().Add(-time.Hour), UpdatedAt: time.Now().Add(-time.Hour), DeliveredAt: time.Now()}
	ext := projection.Request{ID: "ext-1", TelegramID: miniappPartnerID, ObjectCode: "KZN-100003", Status: "DONE",
		ReportURL: "https://script.google.com/r/ext-1.pdf", CreatedAt: time.Now().Add(-2 * time.Hour), UpdatedAt: time.Now()}
	theirs := projection.Request{ID: "theirs-1", TelegramID: miniappStrangerID, ObjectCode: "MSK-100005", Status: "NEW", CreatedAt: time.Now(), UpdatedAt: time.Now()}
	for _, r := range []projection.Request{done, ext, theirs} {
		if err := s.proj.PutRequest(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.proj.PutReport(ctx, "done-1", []byte("%PDF-1.4 test"), time.Hour); err != nil {
		t.Fatal(err)
	}

	var list struct{ Requests []map[string]any }
	r := s.call(http.MethodGet, "/api/v1/analytics", good, "", "")
	if err := json.Unmarshal(r.body, &list); err != nil || r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	var ids []string
	for _, x := range list.Requests {
		ids = append(ids, x["id"].(string))
	}
	if strings.Join(ids, ",") != id+",done-1,ext-1" {
		t.Fatalf("list %v, want newest first and only the caller's", ids)
	}
	if u := list.Requests[2]["report_url"]; u != ext.ReportURL {
		t.Errorf("external report_url %v", u)
	}
	link, _ := list.Requests[1]["report_url"].(string)
	if !strings.HasPrefix(link, "/api/v1/reports/done-1.pdf?t=") || list.Requests[1]["delivered"] != true {
		t.Fatalf("stored report: %v", list.Requests[1])
	}

	pdf := s.call(http.MethodGet, link, "", "", "")
	if pdf.status != 200 || !bytes.HasPrefix(pdf.body, []byte("%PDF")) || pdf.header.Get("Content-Type") != "application/pdf" ||
		!strings.Contains(pdf.header.Get("Content-Disposition"), "filename*=UTF-8''%D0%90%D0%BD%D0%B0%D0%BB%D0%B8%D1%82%D0%B8%D0%BA%D0%B0360_SPB-100002.pdf") {
		t.Fatalf("download: %d %v %q", pdf.status, pdf.header, pdf.body)
	}
	for name, path := range map[string]string{
		"no token":         "/api/v1/reports/done-1.pdf",
		"another request":  strings.Replace(link, "done-1", "ext-1", 1),
		"expired":          reportlink.Path(reportlink.Secret(s.cfg.Telegram.Token), "done-1", time.Now().Add(-time.Second)),
		"token of another": "/api/v1/reports/done-1.pdf?t=" + url.QueryEscape(reportlink.Token([]byte("other"), "done-1", time.Now().Add(time.Hour))),
	} {
		if r := s.call(http.MethodGet, path, "", "", ""); r.status != 401 || r.json(t)["error"] != "unauthorized" {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
	if r := s.call(http.MethodGet, reportlink.Path(reportlink.Secret(s.cfg.Telegram.Token), "gone-1", time.Now().Add(time.Hour)), "", "", ""); r.status != 404 {
		t.Errorf("a valid link to a PDF that is not stored: %d", r.status)
	}

	if r := s.call(http.MethodGet, "/api/v1/analytics/done-1", good, "", ""); r.status != 200 || !strings.Contains(string(r.body), `"status":"DONE"`) {
		t.Errorf("own request: %d %s", r.status, r.body)
	}
	for _, other := range []string{"theirs-1", "nope", strings.Repeat("x", 100)} {
		if r := s.call(http.MethodGet, "/api/v1/analytics/"+other, good, "", ""); r.status != 404 || r.json(t)["error"] != "not_found" {
			t.Errorf("%s: %d %s", other, r.status, r.body)
		}
	}
}

func miniappAPIPromotions(t *testing.T, s *miniappStack, good string) {
	ctx := context.Background()
	if r := s.call(http.MethodGet, "/api/v1/promotions", good, "", ""); r.status != 200 || string(r.body) != "{\"promotions\":[]}\n" {
		t.Fatalf("no promotions: %d %s", r.status, r.body)
	}
	err := s.proj.PutPromotions(ctx, []projection.Promotion{
		{ID: "all", Title: "Всем", Audience: "all"},
		{ID: "mine", Title: "Нам", Audience: "P-00"},
		{ID: "other", Title: "Не нам", Audience: "Q-"},
	}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var body struct{ Promotions []projection.Promotion }
	r := s.call(http.MethodGet, "/api/v1/promotions", good, "", "")
	if err := json.Unmarshal(r.body, &body); err != nil || len(body.Promotions) != 2 || body.Promotions[0].ID != "all" || body.Promotions[1].ID != "mine" {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

func miniappAPIRouting(t *testing.T, s *miniappStack, good string) {
	r := s.call(http.MethodDelete, "/api/v1/analytics", good, "", "")
	if r.status != 405 || r.json(t)["error"] != "bad_request" || !strings.Contains(r.header.Get("Allow"), "GET") {
		t.Errorf("DELETE: %d %v %s", r.status, r.header, r.body)
	}
	if r := s.call(http.MethodGet, "/api/v1/nothing", good, "", ""); r.status != 404 || r.json(t)["error"] != "not_found" {
		t.Errorf("unknown route: %d %s", r.status, r.body)
	}
	page := s.call(http.MethodGet, "/app/", "", "", "")
	if page.status != 200 || !strings.Contains(string(page.body), "app.js") ||
		!strings.Contains(page.header.Get("Content-Security-Policy"), "script-src 'self' https://telegram.org") ||
		page.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("app: %d %v", page.status, page.header)
	}
	if got := miniappMetric(t, s.reg, "marketingbot_miniapp_requests_total", map[string]string{"route": "analytics", "status": "405"}); got != 1 {
		t.Errorf("requests_total{analytics,405} = %v", got)
	}
}
