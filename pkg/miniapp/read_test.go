package miniapp_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"marketingbot/pkg/projection"
	"marketingbot/pkg/reportlink"
)

// putRequests leaves what the worker and the poller project: the partner's
// finished request with a stored PDF, one finished by Apps Script, one with
// an unsafe external link, and someone else's.
func putRequests(a *api) {
	at := func(h int) time.Time { return unitNow.Add(-time.Duration(h) * time.Hour) }
	for _, r := range []projection.Request{
		{ID: "done-1", TelegramID: partnerID, ObjectCode: "SPB-100002", Status: "DONE", ResultText: "Итог", HasReport: true,
			CreatedAt: at(1), UpdatedAt: at(1), DeliveredAt: unitNow},
		{ID: "ext-1", TelegramID: partnerID, ObjectCode: "KZN-100003", Status: "DONE",
			ReportURL: "https://script.google.com/r/ext-1.pdf", CreatedAt: at(2), UpdatedAt: at(2)},
		{ID: "js-1", TelegramID: partnerID, ObjectCode: "KZN-100004", Status: "DONE", ReportURL: "javascript:alert(1)", CreatedAt: at(3), UpdatedAt: at(3)},
		{ID: "theirs-1", TelegramID: strangerID, ObjectCode: "MSK-100005", Status: "NEW", CreatedAt: unitNow, UpdatedAt: unitNow},
	} {
		a.proj.requests[r.ID] = r
	}
	a.proj.reports["done-1"] = []byte("%PDF-1.4 test")
}

// TestStatus: the list and the status endpoint read the projection, show
// only the caller's requests, and sign a link only for a stored PDF.
func TestStatus(t *testing.T) {
	a := newAPI(t, nil)
	putRequests(a)
	var list struct{ Requests []map[string]any }
	r := a.call(http.MethodGet, "/api/v1/analytics", a.partner(), "", "")
	if err := json.Unmarshal(r.body, &list); err != nil || r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	var ids []string
	for _, x := range list.Requests {
		ids = append(ids, x["id"].(string))
	}
	if strings.Join(ids, ",") != "done-1,ext-1,js-1" {
		t.Fatalf("list %v, want the caller's, newest first", ids)
	}
	if u := list.Requests[1]["report_url"]; u != "https://script.google.com/r/ext-1.pdf" {
		t.Errorf("external report_url %v", u)
	}
	if u := list.Requests[2]["report_url"]; u != "" {
		t.Errorf("unsafe report_url passed on: %v", u)
	}
	link, _ := list.Requests[0]["report_url"].(string)
	tok := strings.TrimPrefix(link, "/api/v1/reports/done-1.pdf?t=")
	tok, _ = url.QueryUnescape(tok)
	if !reportlink.Verify(linkSecret, "done-1", tok, unitNow.Add(time.Hour-time.Second)) || list.Requests[0]["delivered"] != true {
		t.Fatalf("stored report: %v", list.Requests[0])
	}

	r = a.call(http.MethodGet, "/api/v1/analytics/done-1", a.partner(), "", "")
	if r.status != 200 || !strings.Contains(string(r.body), `"status":"DONE"`) || !strings.Contains(string(r.body), `"result_text":"Итог"`) {
		t.Errorf("own request: %d %s", r.status, r.body)
	}
	a.proj.requests["done-1"] = projection.Request{ID: "done-1", TelegramID: partnerID, Status: "ERROR", Error: "Нет данных", CreatedAt: unitNow}
	if r := a.call(http.MethodGet, "/api/v1/analytics/done-1", a.partner(), "", ""); !strings.Contains(string(r.body), `"status":"ERROR"`) {
		t.Errorf("the status does not follow the projection: %s", r.body)
	}
	for _, other := range []string{"theirs-1", "nope", strings.Repeat("x", 100)} {
		if r := a.call(http.MethodGet, "/api/v1/analytics/"+other, a.partner(), "", ""); r.status != 404 || r.json(t)["error"] != "not_found" {
			t.Errorf("%s: %d %s", other, r.status, r.body)
		}
	}
}

// TestReport: the PDF goes to whoever holds a valid link, and to no one else.
func TestReport(t *testing.T) {
	a := newAPI(t, nil)
	putRequests(a)
	valid := reportlink.Path(linkSecret, "done-1", unitNow.Add(time.Hour))
	pdf := a.call(http.MethodGet, valid, "", "", "")
	if pdf.status != 200 || !bytes.Equal(pdf.body, []byte("%PDF-1.4 test")) || pdf.header.Get("Content-Type") != "application/pdf" ||
		!strings.Contains(pdf.header.Get("Content-Disposition"), `filename="Analytics360_SPB-100002.pdf"`) ||
		!strings.Contains(pdf.header.Get("Content-Disposition"), "filename*=UTF-8''%D0%90%D0%BD%D0%B0%D0%BB%D0%B8%D1%82%D0%B8%D0%BA%D0%B0360_SPB-100002.pdf") {
		t.Fatalf("download: %d %v %q", pdf.status, pdf.header, pdf.body)
	}
	for name, path := range map[string]string{
		"no token":         "/api/v1/reports/done-1.pdf",
		"another request":  strings.Replace(valid, "done-1", "ext-1", 1),
		"expired":          reportlink.Path(linkSecret, "done-1", unitNow),
		"token of another": "/api/v1/reports/done-1.pdf?t=" + url.QueryEscape(reportlink.Token([]byte("other"), "done-1", unitNow.Add(time.Hour))),
	} {
		if r := a.call(http.MethodGet, path, "", "", ""); r.status != 401 || r.json(t)["error"] != "unauthorized" {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
	if r := a.call(http.MethodGet, reportlink.Path(linkSecret, "gone-1", unitNow.Add(time.Hour)), "", "", ""); r.status != 404 {
		t.Errorf("a valid link to a PDF that is not stored: %d", r.status)
	}
	if r := a.call(http.MethodGet, "/api/v1/reports/done-1.txt", "", "", ""); r.status != 404 {
		t.Errorf("not a .pdf: %d", r.status)
	}
}

// TestPublicCalls: the config, the partner's promotions, routing errors as
// JSON, the app's security headers and the metric of every call.
func TestPublicCalls(t *testing.T) {
	a := newAPI(t, nil)
	cfg := a.call(http.MethodGet, "/api/v1/config", "", "", "").json(t)
	if cfg["object_code_pattern"] != `^[A-Z]{2,4}-\d{3,8}$` || cfg["bot_username"] != "unit_bot" || cfg["poll_interval_ms"] != 3000.0 {
		t.Fatalf("config %v", cfg)
	}
	if r := a.call(http.MethodGet, "/api/v1/promotions", a.partner(), "", ""); r.status != 200 || string(r.body) != "{\"promotions\":[]}\n" {
		t.Fatalf("no promotions: %d %s", r.status, r.body)
	}
	a.proj.promotions = []projection.Promotion{{ID: "all", Audience: "all"}, {ID: "mine", Audience: "P-00"}, {ID: "other", Audience: "Q-"}}
	var promos struct{ Promotions []projection.Promotion }
	if r := a.call(http.MethodGet, "/api/v1/promotions", a.partner(), "", ""); json.Unmarshal(r.body, &promos) != nil ||
		len(promos.Promotions) != 2 || promos.Promotions[0].ID != "all" || promos.Promotions[1].ID != "mine" {
		t.Fatalf("promotions: %s", r.body)
	}
	r := a.call(http.MethodDelete, "/api/v1/analytics", a.partner(), "", "")
	if r.status != 405 || r.json(t)["error"] != "bad_request" || r.header.Get("Allow") != "GET, POST" {
		t.Errorf("DELETE: %d %v %s", r.status, r.header, r.body)
	}
	if r := a.call(http.MethodGet, "/api/v1/nothing", a.partner(), "", ""); r.status != 404 || r.json(t)["error"] != "not_found" ||
		r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("unknown route: %d %v %s", r.status, r.header, r.body)
	}
	page := a.call(http.MethodGet, "/app/", "", "", "")
	if page.status != 200 || !strings.Contains(string(page.body), "app.js") || page.header.Get("Referrer-Policy") != "same-origin" {
		t.Errorf("app: %d %v", page.status, page.header)
	}
	if got := requestsCounter(t, a, "analytics", "405"); got != 1 {
		t.Errorf("requests_total{analytics,405} = %v", got)
	}
}

// requestsCounter reads marketingbot_miniapp_requests_total{route,status}.
func requestsCounter(t *testing.T, a *api, route, status string) float64 {
	t.Helper()
	mfs, err := a.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "marketingbot_miniapp_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["route"] == route && labels["status"] == status {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
