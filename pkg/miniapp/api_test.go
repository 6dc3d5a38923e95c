package miniapp_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"marketingbot/pkg/miniapp"
	"marketingbot/pkg/projection"
	"marketingbot/pkg/tasks"
)

// TestAuth: initData must be signed with our bot token, unaltered, not
// older than InitDataMaxAge, and its user an authorized partner.
func TestAuth(t *testing.T) {
	a := newAPI(t, nil)
	good := initData(partnerID, unitNow, botToken)
	swapped := strings.Replace(good, url.QueryEscape(`"id":810001`), url.QueryEscape(`"id":810003`), 1)
	if swapped == good {
		t.Fatal("the user id was not found in the init data")
	}
	tests := []struct {
		name   string
		auth   string
		status int
		code   string
		msg    string
	}{
		{"valid", "tma " + good, 200, "", ""},
		{"scheme in capitals", "TMA " + good, 200, "", ""},
		{"just within max age", "tma " + initData(partnerID, unitNow.Add(-24*time.Hour+time.Second), botToken), 200, "", ""},
		{"no Authorization", "", 401, "unauthorized", a.tx.MiniAppUnauthorized},
		{"another scheme", "Bearer " + good, 401, "unauthorized", a.tx.MiniAppUnauthorized},
		{"empty init data", "tma ", 401, "unauthorized", a.tx.MiniAppUnauthorized},
		{"no hash", "tma " + strings.Split(good, "&hash=")[0], 401, "unauthorized", a.tx.MiniAppUnauthorized},
		{"signed with another token", "tma " + initData(partnerID, unitNow, "987654:another-bot"), 401, "unauthorized", a.tx.MiniAppUnauthorized},
		{"user swapped after signing", "tma " + swapped, 401, "unauthorized", a.tx.MiniAppUnauthorized},
		{"expired", "tma " + initData(partnerID, unitNow.Add(-25*time.Hour), botToken), 401, "expired", a.tx.MiniAppExpired},
		{"not a partner", "tma " + initData(strangerID, unitNow, botToken), 403, "not_partner", a.tx.MiniAppNotPartner},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.call(http.MethodGet, "/api/v1/me", tt.auth, "", "")
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if tt.status == 200 {
				return
			}
			body := r.json(t)
			if body["error"] != tt.code || body["message"] != tt.msg {
				t.Fatalf("body %s, want %q %q", r.body, tt.code, tt.msg)
			}
			if r.status == 401 && r.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

// TestOrder: one accepted order is one task on the bus and one NEW request
// in the projection, with the code normalized.
func TestOrder(t *testing.T) {
	a := newAPI(t, nil)
	r := a.order(a.partner(), "  msk-100001 ")
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
	id, _ := body.Request["id"].(string)
	if body.Request["object_code"] != "MSK-100001" || body.Request["status"] != "NEW" || body.Request["delivered"] != false || len(id) != 36 {
		t.Fatalf("%s", r.body)
	}
	if a.queue.count() != 1 {
		t.Fatalf("%d tasks enqueued, want 1", a.queue.count())
	}
	task := a.queue.tasks[0]
	p, err := tasks.ParseAnalyticsRequest(task)
	if err != nil || task.Type() != tasks.TypeAnalyticsRequest || p.RequestID != id || p.ObjectCode != "MSK-100001" ||
		p.TelegramID != partnerID || p.Requester != partnerCode || !p.CreatedAt.Equal(unitNow) {
		t.Fatalf("task %s %+v (%v)", task.Type(), p, err)
	}
	got, ok := a.proj.requests[id]
	if !ok || got.Status != "NEW" || got.TelegramID != partnerID || got.ObjectCode != "MSK-100001" {
		t.Fatalf("projection %+v", got)
	}
	if r := a.order(a.partner(), "MSK-100002"); r.status != http.StatusAccepted || a.queue.count() != 2 || a.proj.count() != 2 {
		t.Fatalf("a second order: %d, %d tasks, %d projected", r.status, a.queue.count(), a.proj.count())
	}
}

// TestObjectCodes checks the codes against the pattern after trimming and
// upper-casing; refused codes enqueue nothing.
func TestObjectCodes(t *testing.T) {
	a := newAPI(t, nil)
	tests := []struct {
		body   string
		status int
		code   string
	}{
		{`{"object_code":"spb-1234"}`, 202, ""},
		{`{"object_code":""}`, 400, "invalid_object_code"},
		{`{}`, 400, "invalid_object_code"},
		{`{"object_code":null}`, 400, "invalid_object_code"},
		{`{"object_code":100001}`, 400, "bad_request"},
		{`{"object_code":"MSK-1"}`, 400, "invalid_object_code"},
		{`{"object_code":"MSK-123456789"}`, 400, "invalid_object_code"},
		{`{"object_code":"МСК-100001"}`, 400, "invalid_object_code"},
		{`{"object_code":"MSK-100001; DROP"}`, 400, "invalid_object_code"},
		{`{"object_code":"` + strings.Repeat("A", 200) + `"}`, 400, "invalid_object_code"},
		{`object_code=MSK-100001`, 400, "bad_request"},
		{`{"object_code":"MSK-100001"}{}`, 400, "bad_request"},
		{`{"object_code":"MSK-100001","x":"` + strings.Repeat("x", 5000) + `"}`, 413, "bad_request"},
	}
	for _, tt := range tests {
		t.Run(tt.body[:min(len(tt.body), 40)], func(t *testing.T) {
			before := a.queue.count()
			r := a.call(http.MethodPost, "/api/v1/analytics", a.partner(), "application/json", tt.body)
			if r.status != tt.status || (tt.code != "" && r.json(t)["error"] != tt.code) {
				t.Fatalf("%d %s, want %d %s", r.status, r.body, tt.status, tt.code)
			}
			if want := before + map[bool]int{true: 1}[tt.status == 202]; a.queue.count() != want {
				t.Fatalf("%d tasks, want %d", a.queue.count(), want)
			}
		})
	}
	if r := a.call(http.MethodPost, "/api/v1/analytics", a.partner(), "text/plain", `{"object_code":"MSK-100001"}`); r.status != 415 {
		t.Errorf("text/plain body: %d", r.status)
	}
}

// TestObjectCodePatternOption: the configured pattern is served and
// enforced; one that does not compile falls back to the default.
func TestObjectCodePatternOption(t *testing.T) {
	for pattern, want := range map[string]string{`^\d{4}$`: `^\d{4}$`, `^(`: miniapp.DefaultObjectCodePattern} {
		a := newAPI(t, func(o *miniapp.Options) { o.ObjectCodePattern = pattern })
		if got := a.call(http.MethodGet, "/api/v1/config", "", "", "").json(t)["object_code_pattern"]; got != want {
			t.Errorf("pattern %q: served %v, want %q", pattern, got, want)
		}
		ok, bad := "1234", "MSK-100001"
		if want == miniapp.DefaultObjectCodePattern {
			ok, bad = bad, ok
		}
		if r := a.order(a.partner(), ok); r.status != 202 {
			t.Errorf("pattern %q: %s refused: %d", pattern, ok, r.status)
		}
		if r := a.order(a.partner(), bad); r.status != 400 {
			t.Errorf("pattern %q: %s accepted: %d", pattern, bad, r.status)
		}
	}
}

// TestRateLimit: RequestsPerHour orders per user, then 429 with the wait;
// reading is not limited by it, other users are not affected, 0 disables it.
func TestRateLimit(t *testing.T) {
	a := newAPI(t, func(o *miniapp.Options) { o.RequestsPerHour = 3 })
	for i := range 3 {
		if r := a.order(a.partner(), "MSK-10000"+strconv.Itoa(i+1)); r.status != http.StatusAccepted {
			t.Fatalf("order %d: %d %s", i+1, r.status, r.body)
		}
	}
	r := a.order(a.partner(), "MSK-100009")
	body := r.json(t)
	retry, _ := body["retry_after"].(float64)
	header, _ := strconv.Atoi(r.header.Get("Retry-After"))
	if r.status != 429 || body["error"] != "rate_limited" || retry < 60 || retry > 3600 || int(retry) != header {
		t.Fatalf("4th order: %d %s, Retry-After %q", r.status, r.body, r.header.Get("Retry-After"))
	}
	if msg, _ := body["message"].(string); !strings.Contains(msg, "мин") {
		t.Errorf("message %q does not say when to retry", msg)
	}
	if a.queue.count() != 3 || a.proj.count() != 3 {
		t.Fatalf("the refused order left %d tasks, %d projected", a.queue.count(), a.proj.count())
	}
	if r := a.call(http.MethodGet, "/api/v1/analytics", a.partner(), "", ""); r.status != 200 {
		t.Fatalf("listing while over the order limit: %d", r.status)
	}
	a.proj.partners[strangerID] = projection.Partner{TelegramID: strangerID, Code: "P-0043"}
	if r := a.order("tma "+initData(strangerID, a.now, botToken), "MSK-100001"); r.status != 202 {
		t.Fatalf("another partner's order: %d", r.status)
	}

	unlimited := newAPI(t, func(o *miniapp.Options) { o.RequestsPerHour = 0 })
	for i := range 5 {
		if r := unlimited.order(unlimited.partner(), "MSK-10000"+strconv.Itoa(i+1)); r.status != 202 {
			t.Fatalf("RequestsPerHour 0: order %d: %d", i+1, r.status)
		}
	}
}

// TestUnavailable: a failing projection or queue is 503 and leaves nothing.
func TestUnavailable(t *testing.T) {
	a := newAPI(t, nil)
	a.queue.err = errors.New("queue down")
	if r := a.order(a.partner(), "MSK-100001"); r.status != 503 || r.json(t)["message"] != a.tx.MiniAppUnavailable {
		t.Fatalf("enqueue fails: %d %s", r.status, r.body)
	}
	if a.proj.count() != 0 {
		t.Fatal("a request was projected although the enqueue failed")
	}
	a.queue.err, a.proj.err = nil, errors.New("redis down")
	if r := a.order(a.partner(), "MSK-100001"); r.status != 503 || a.queue.count() != 0 {
		t.Fatalf("projection fails: %d, %d tasks", r.status, a.queue.count())
	}
}
