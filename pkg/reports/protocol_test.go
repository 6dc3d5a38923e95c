package reports_test

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/mymmrac/telego"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/reportlink"
	"marketingbot/pkg/reports"
	"marketingbot/pkg/tasks"
	"marketingbot/pkg/telegram"
)

// TestRequest: an order appends one NEW row, however often the task runs,
// projects it and, with the built-in engine only, enqueues the processing.
func TestRequest(t *testing.T) {
	for _, engine := range []string{reports.EngineBuiltin, reports.EngineAppsScript} {
		t.Run(engine, func(t *testing.T) {
			store := newFakeStore(unitListings())
			u := newUnit(t, store, func(o *reports.Options, _ *reports.Deps) { o.Engine = engine })
			for range 2 { // the second run is a retried task
				if err := u.request("req-1", "MSK-100001"); err != nil {
					t.Fatalf("HandleRequest: %v", err)
				}
			}
			r := store.row(t, "req-1")
			if store.appends != 1 || r.Status != domain.RequestStatusNew || r.ObjectCode != "MSK-100001" ||
				r.TelegramID != unitUser || r.Requester != unitPartner {
				t.Fatalf("%d appends, row %+v; want one NEW row", store.appends, r)
			}
			if p := u.projected("req-1"); p.Status != "NEW" || p.TelegramID != unitUser {
				t.Fatalf("projection %+v", p)
			}
			want := "pending"
			if engine == reports.EngineAppsScript {
				want = "" // Apps Script picks the row up
			}
			if got := u.taskState("analytics:process:req-1"); got != want {
				t.Fatalf("process task %q, want %q", got, want)
			}
		})
	}
}

func TestRequestInvalid(t *testing.T) {
	u := newUnit(t, newFakeStore(nil), nil)
	for name, p := range map[string]tasks.AnalyticsRequestPayload{
		"no id":   {ObjectCode: "MSK-100001", TelegramID: unitUser},
		"no user": {RequestID: "x", ObjectCode: "MSK-100001"},
		"no code": {RequestID: "x", ObjectCode: " ", TelegramID: unitUser},
	} {
		task, err := tasks.NewAnalyticsRequestTask(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := u.svc.HandleRequest(context.Background(), task); !errors.Is(err, asynq.SkipRetry) {
			t.Errorf("%s: %v, want SkipRetry", name, err)
		}
	}
	if u.store.appends != 0 {
		t.Fatalf("%d rows appended for invalid orders", u.store.appends)
	}
}

// TestProcess walks NEW → PROCESSING → DONE (or ERROR with the partner's
// reason) and shows that a finished row is never processed again.
func TestProcess(t *testing.T) {
	tests := []struct {
		code   string
		status domain.RequestStatus
		reason func(u *unit) string
	}{
		{"MSK-100001", domain.RequestStatusDone, func(*unit) string { return "" }},
		{"MSK-99999999", domain.RequestStatusError, func(u *unit) string { return u.tx.AnalyticsNotFound }},
		{"BAD-100001", domain.RequestStatusError, func(u *unit) string { return u.tx.AnalyticsInvalidObject }},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			store := newFakeStore(unitListings())
			u := newUnit(t, store, nil)
			if err := u.request("req-1", tt.code); err != nil {
				t.Fatal(err)
			}
			if err := u.process("req-1"); err != nil {
				t.Fatalf("HandleProcess: %v", err)
			}
			got := store.statuses("req-1")
			if len(got) != 2 || got[0] != domain.RequestStatusProcessing || got[1] != tt.status {
				t.Fatalf("statuses written %v, want [PROCESSING %s]", got, tt.status)
			}
			r := store.row(t, "req-1")
			if r.Error != tt.reason(u) {
				t.Fatalf("error %q, want %q", r.Error, tt.reason(u))
			}
			if p := u.projected("req-1"); p.Status != string(tt.status) || p.HasReport != (tt.status == domain.RequestStatusDone) {
				t.Fatalf("projection %+v", p)
			}
			if err := u.process("req-1"); err != nil || len(store.statuses("req-1")) != 2 {
				t.Fatalf("a re-run after %s wrote %v (err %v)", tt.status, store.statuses("req-1"), err)
			}
		})
	}
}

// TestProcessResult: the DONE row carries the summary and a signed link to
// the PDF stored in the projection.
func TestProcessResult(t *testing.T) {
	store := newFakeStore(unitListings())
	u := newUnit(t, store, nil)
	if err := u.request("req-1", "MSK-100001"); err != nil {
		t.Fatal(err)
	}
	if err := u.process("req-1"); err != nil {
		t.Fatal(err)
	}
	r := store.row(t, "req-1")
	if !strings.Contains(r.ResultText, "MSK-100001") {
		t.Errorf("result_text %q does not name the object", r.ResultText)
	}
	link, err := url.Parse(r.ReportURL)
	if err != nil || link.Scheme+"://"+link.Host != unitBaseURL || !reportlink.IsOurs(r.ReportURL, "req-1") {
		t.Fatalf("report_url %q is not our link", r.ReportURL)
	}
	if !reportlink.Verify(unitSecret, "req-1", link.Query().Get("t"), unitNow.Add(u.opts.ReportTTL-time.Second)) ||
		reportlink.Verify(unitSecret, "req-1", link.Query().Get("t"), unitNow.Add(u.opts.ReportTTL)) {
		t.Error("the link is not valid for exactly ReportTTL")
	}
	pdf, ok, err := u.proj.Report(context.Background(), "req-1")
	if err != nil || !ok || !bytes.HasPrefix(pdf, []byte("%PDF")) {
		t.Fatalf("stored report: ok=%v err=%v", ok, err)
	}
	if ttl := u.mr.TTL("t:proj:report:req-1"); ttl != u.opts.ReportTTL {
		t.Errorf("report TTL %v, want %v", ttl, u.opts.ReportTTL)
	}
}

// TestProcessAppsScript: with Apps Script as the engine a stray process
// task touches nothing.
func TestProcessAppsScript(t *testing.T) {
	store := newFakeStore(unitListings(), queueRow("as-1", domain.RequestStatusNew, unitNow))
	u := newUnit(t, store, func(o *reports.Options, _ *reports.Deps) { o.Engine = reports.EngineAppsScript })
	if err := u.process("as-1"); err != nil {
		t.Fatal(err)
	}
	if n := store.writes(); n != 0 || store.row(t, "as-1").Status != domain.RequestStatusNew {
		t.Fatalf("%d writes; the row is %s", n, store.row(t, "as-1").Status)
	}
}

// TestProcessLocked: a duplicate task while another worker holds the row
// is deferred, not run alongside.
func TestProcessLocked(t *testing.T) {
	store := newFakeStore(unitListings(), queueRow("req-1", domain.RequestStatusNew, unitNow))
	u := newUnit(t, store, nil)
	if err := u.rdb.Set(context.Background(), "t:analytics:lock:process:req-1", "another-worker", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	err := u.process("req-1")
	if _, deferred := tasks.AsRetryAfter(err); !deferred {
		t.Fatalf("HandleProcess = %v, want a deferred retry", err)
	}
	if store.writes() != 0 {
		t.Fatal("the row was written under another worker's lock")
	}
}

// TestPolish: the model's wording is taken only when every number is the
// engine's; the model is asked only when polishing is on.
func TestPolish(t *testing.T) {
	block := func(s string) string {
		return strings.TrimSuffix(strings.TrimPrefix(s, "<<<ТЕКСТ\n"), "\nТЕКСТ>>>")
	}
	tests := []struct {
		name     string
		polish   bool
		answer   func(string) string
		calls    int
		polished bool
		finish   string
	}{
		{"rephrased, numbers kept", true, func(s string) string {
			return strings.ReplaceAll(block(s), "Цена:", "Стоимость объекта:")
		}, 1, true, ""},
		{"a number changed", true, func(s string) string {
			return strings.Replace(strings.ReplaceAll(block(s), "Цена:", "Стоимость объекта:"), "000", "999", 1)
		}, 1, false, ""},
		{"a number invented", true, func(s string) string { return block(s) + "\nСпрос вырос в 2 раза." }, 1, false, ""},
		{"model unavailable", true, nil, 1, false, ""},
		{"polishing off", false, func(s string) string { return "Стоимость объекта:" }, 0, false, ""},
		// A rewrite cut by the token cap would lose the end of the summary.
		{"cut by the token cap", true, func(s string) string {
			return strings.ReplaceAll(block(s), "Цена:", "Стоимость объекта:")
		}, 1, false, "MAX_TOKENS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &fakePolisher{answer: tt.answer, finish: tt.finish}
			store := newFakeStore(unitListings())
			u := newUnit(t, store, func(o *reports.Options, d *reports.Deps) { o.Polish, d.AI = tt.polish, p })
			if err := u.request("req-1", "MSK-100001"); err != nil {
				t.Fatal(err)
			}
			if err := u.process("req-1"); err != nil {
				t.Fatal(err)
			}
			if len(p.calls) != tt.calls {
				t.Fatalf("%d calls of the model, want %d", len(p.calls), tt.calls)
			}
			if tt.calls > 0 && (p.calls[0].Model != "analysis-model" || !strings.HasPrefix(p.calls[0].Turns[0].Text, "<<<ТЕКСТ\n")) {
				t.Fatalf("model call %+v", p.calls[0])
			}
			text := store.row(t, "req-1").ResultText
			if got := strings.Contains(text, "Стоимость объекта:"); got != tt.polished || !strings.Contains(text, "MSK-100001") {
				t.Fatalf("polished=%v, want %v: %q", got, tt.polished, text)
			}
		})
	}
}

// done prepares a DONE row with its PDF, as HandleProcess leaves it.
func done(t *testing.T, u *unit, id string) {
	t.Helper()
	if err := u.request(id, "MSK-100001"); err != nil {
		t.Fatal(err)
	}
	if err := u.process(id); err != nil {
		t.Fatal(err)
	}
}

// TestDeliver: the text and the PDF are sent once, delivered_at is written
// and the projection says delivered; a re-run sends nothing.
func TestDeliver(t *testing.T) {
	store := newFakeStore(unitListings())
	u := newUnit(t, store, nil)
	done(t, u, "req-1")
	for range 2 {
		if err := u.deliver("req-1"); err != nil {
			t.Fatalf("HandleDeliver: %v", err)
		}
	}
	msgs := u.sender.all()
	if n, d := u.sender.counts(); n != 1 || d != 1 {
		t.Fatalf("%d texts and %d documents, want 1 and 1: %+v", n, d, msgs)
	}
	pdf, _, _ := u.proj.Report(context.Background(), "req-1")
	if m := msgs[0]; m.chatID != unitUser || !strings.Contains(m.text, "MSK-100001") || !strings.Contains(m.text, "Цена:") {
		t.Errorf("summary %+v", m)
	}
	if m := msgs[1]; m.document != "Аналитика360_MSK-100001.pdf" || m.size != len(pdf) || !strings.Contains(m.text, "MSK-100001") {
		t.Errorf("document %+v (pdf %d bytes)", m, len(pdf))
	}
	if store.row(t, "req-1").DeliveredAt.IsZero() || u.projected("req-1").DeliveredAt.IsZero() {
		t.Fatal("delivered_at not written or not projected")
	}
	if n := u.mr.Exists("t:analytics:delivery:req-1"); n {
		t.Error("the delivery markers outlive the delivery")
	}
}

// TestDeliverError: an ERROR row is told to the partner with its reason.
func TestDeliverError(t *testing.T) {
	row := queueRow("req-1", domain.RequestStatusError, unitNow)
	row.Error = "Объект не найден"
	store := newFakeStore(nil, row)
	u := newUnit(t, store, nil)
	if err := u.deliver("req-1"); err != nil {
		t.Fatal(err)
	}
	msgs := u.sender.all()
	if len(msgs) != 1 || !strings.Contains(msgs[0].text, "MSK-100001") || !strings.Contains(msgs[0].text, row.Error) {
		t.Fatalf("sent %+v", msgs)
	}
	if store.row(t, "req-1").DeliveredAt.IsZero() {
		t.Fatal("delivered_at not written")
	}
}

// TestDeliverSkips: rows that are not finished are not delivered.
func TestDeliverSkips(t *testing.T) {
	for _, st := range []domain.RequestStatus{domain.RequestStatusNew, domain.RequestStatusProcessing} {
		store := newFakeStore(nil, queueRow("req-1", st, unitNow))
		u := newUnit(t, store, nil)
		if err := u.deliver("req-1"); err != nil {
			t.Fatal(err)
		}
		if len(u.sender.all()) != 0 || store.writes() != 0 {
			t.Fatalf("%s row: sent %v, %d writes", st, u.sender.all(), store.writes())
		}
	}
}

// TestDeliverResumes interrupts a delivery at each step: the retry sends
// only what is missing, and delivered_at is written by the attempt that
// completes.
func TestDeliverResumes(t *testing.T) {
	outage := errors.New("simulated outage")
	tests := []struct {
		name        string
		fault       func(u *unit) (undo func())
		texts, docs int // after the failed attempt
	}{
		{"summary fails", func(u *unit) func() {
			u.sender.sendMessage = func(*telego.SendMessageParams) error { return outage }
			return func() { u.sender.sendMessage = nil }
		}, 0, 0},
		{"PDF upload fails", func(u *unit) func() {
			u.sender.sendDocument = func(*telego.SendDocumentParams) error { return outage }
			return func() { u.sender.sendDocument = nil }
		}, 1, 0},
		{"delivered_at write fails", func(u *unit) func() {
			u.store.failUpdate = func(_ domain.AnalyticsRequest, f []domain.RequestField) error {
				if len(f) == 1 && f[0] == domain.RequestFieldDeliveredAt {
					return outage
				}
				return nil
			}
			return func() { u.store.failUpdate = nil }
		}, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newUnit(t, newFakeStore(unitListings()), nil)
			done(t, u, "req-1")
			undo := tt.fault(u)
			if err := u.deliver("req-1"); !errors.Is(err, outage) {
				t.Fatalf("the interrupted delivery returned %v", err)
			}
			if n, d := u.sender.counts(); n != tt.texts || d != tt.docs {
				t.Fatalf("after the failure: %d texts %d documents, want %d %d", n, d, tt.texts, tt.docs)
			}
			if !u.store.row(t, "req-1").DeliveredAt.IsZero() {
				t.Fatal("delivered_at written by the failed attempt")
			}
			undo()
			if err := u.deliver("req-1"); err != nil {
				t.Fatalf("retry: %v", err)
			}
			if n, d := u.sender.counts(); n != 1 || d != 1 {
				t.Fatalf("after the retry: %d texts %d documents, want exactly 1 and 1", n, d)
			}
			if u.store.row(t, "req-1").DeliveredAt.IsZero() {
				t.Fatal("delivered_at not written by the retry")
			}
		})
	}
}

// TestDeliverBlocked: a partner who blocked the bot is marked in the Auth
// sheet and the row counts as delivered; flood control defers the task.
func TestDeliverBlocked(t *testing.T) {
	u := newUnit(t, newFakeStore(unitListings()), nil)
	done(t, u, "req-1")
	u.sender.sendMessage = func(*telego.SendMessageParams) error { return telegram.ErrBlocked }
	if err := u.deliver("req-1"); err != nil {
		t.Fatal(err)
	}
	if u.store.row(t, "req-1").DeliveredAt.IsZero() || u.store.blocked[unitUser].IsZero() {
		t.Fatalf("delivered_at %v, bot_blocked_at %v", u.store.row(t, "req-1").DeliveredAt, u.store.blocked[unitUser])
	}

	u = newUnit(t, newFakeStore(unitListings()), nil)
	done(t, u, "req-2")
	u.sender.sendMessage = func(*telego.SendMessageParams) error { return &telegram.FloodError{RetryAfter: 42 * time.Second} }
	err := u.deliver("req-2")
	if after, ok := tasks.AsRetryAfter(err); !ok || after.After != 42*time.Second {
		t.Fatalf("flood control: %v, want a retry after 42s", err)
	}
}
