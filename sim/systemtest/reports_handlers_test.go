package systemtest

import (
	"bytes"
	"context"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"marketingbot/pkg/ai"
	"marketingbot/pkg/domain"
	"marketingbot/pkg/reportlink"
	"marketingbot/pkg/reports"
	"marketingbot/pkg/tasks"
	geminiemu "marketingbot/sim/emulator/gemini"
	sheetsemu "marketingbot/sim/emulator/sheets"
	tgemu "marketingbot/sim/emulator/telegram"
	"marketingbot/sim/world"
)

// TestReportsProcessAndDeliver walks one request through the protocol by calling
// the handlers the way the worker does, each step checked in the sheet, the
// projection and the chat; every handler is then run again to show it is
// idempotent.
func TestReportsProcessAndDeliver(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel() // an own world: nothing shared but the CPU
	e := newReportsEnv(t, nil)
	id, code := "req-ok-1", reportsCode(0)

	e.request(id, code)
	if r := e.row(id); r.Status != domain.RequestStatusNew || r.ObjectCode != code || r.TelegramID != reportsUserID || r.Requester != reportsPartner {
		t.Fatalf("after request: %+v", r)
	}
	if st := e.taskState("analytics:process:" + id); st != "pending" {
		t.Fatalf("process task state %q, want pending", st)
	}
	e.request(id, code) // a retried request task appends nothing
	if rows, _ := e.gw.Requests(reportsCtx(t)); len(rows) != 1 {
		t.Fatalf("%d rows after a retried request, want 1", len(rows))
	}

	if err := e.process(id); err != nil {
		t.Fatalf("HandleProcess: %v", err)
	}
	r := e.row(id)
	if r.Status != domain.RequestStatusDone || r.Error != "" || !strings.Contains(r.ResultText, code) {
		t.Fatalf("after process: status %s error %q text %q", r.Status, r.Error, r.ResultText)
	}
	u, err := url.Parse(r.ReportURL)
	if err != nil || u.Scheme+"://"+u.Host != e.cfg.HTTP.PublicURL || !reportlink.IsOurs(r.ReportURL, id) {
		t.Fatalf("report_url %q is not our signed link", r.ReportURL)
	}
	if !reportlink.Verify(reportlink.Secret(e.cfg.Telegram.Token), id, u.Query().Get("t"), time.Now()) {
		t.Fatal("report_url token does not verify")
	}
	pdf, ok, err := e.proj.Report(reportsCtx(t), id)
	if err != nil || !ok || !bytes.HasPrefix(pdf, []byte("%PDF")) {
		t.Fatalf("stored report: ok=%v err=%v", ok, err)
	}
	p, _, _ := e.proj.Request(reportsCtx(t), id)
	if p.Status != "DONE" || !p.HasReport || p.ResultText != r.ResultText || !p.DeliveredAt.IsZero() {
		t.Fatalf("projection after process: %+v", p)
	}
	if got := reportsMetric(t, e.reg, "marketingbot_analytics_requests_total", "done"); got != 1 {
		t.Errorf("requests_total{done} = %v", got)
	}

	if err := e.deliver(id); err != nil {
		t.Fatalf("HandleDeliver: %v", err)
	}
	msgs := e.chat()
	if n, d := reportsCounts(msgs); n != 1 || d != 1 {
		t.Fatalf("chat has %d texts and %d documents, want 1 and 1", n, d)
	}
	if !reportsContains(msgs[0].Text, "Аналитика 360 — объект "+code, "Цена:") {
		t.Errorf("summary message: %q", msgs[0].Text)
	}
	doc := msgs[1].Document
	if doc.FileName != "Аналитика360_"+code+".pdf" || !strings.Contains(msgs[1].Caption, code) || doc.Size != int64(len(pdf)) {
		t.Errorf("document %+v caption %q (pdf %d bytes)", doc, msgs[1].Caption, len(pdf))
	}
	if r := e.row(id); r.DeliveredAt.IsZero() {
		t.Fatal("delivered_at not written")
	}
	if p, _, _ := e.proj.Request(reportsCtx(t), id); p.DeliveredAt.IsZero() {
		t.Error("projection not marked delivered")
	}

	// Everything again: nothing changes, nothing is sent.
	if err := e.process(id); err != nil {
		t.Fatal(err)
	}
	if err := e.deliver(id); err != nil {
		t.Fatal(err)
	}
	if got := len(e.chat()); got != 2 {
		t.Fatalf("chat has %d messages after re-running the handlers, want 2", got)
	}
	if got := reportsMetric(t, e.reg, "marketingbot_analytics_deliveries_total", "ok"); got != 1 {
		t.Errorf("deliveries_total{ok} = %v", got)
	}
}

// TestReportsErrorsDelivered covers the ERROR results a partner must be told about.
func TestReportsErrorsDelivered(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel() // an own world: nothing shared but the CPU
	tests := []struct {
		name   string
		code   string
		reason func(e *reportsEnv) string
	}{
		{"unknown object", "MSK-99999999", func(e *reportsEnv) string { return e.tx.AnalyticsNotFound }},
		{"object without area", "BAD-100001", func(e *reportsEnv) string { return e.tx.AnalyticsInvalidObject }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newReportsEnv(t, nil)
			// A listing a person left without area and price.
			if err := e.gw.Write(reportsCtx(t), e.cfg.Sheets.Titles.Listings+"!A"+strconv.Itoa(len(reportsMarket().listings)+2),
				[][]any{{"BAD-100001", "квартира", "Москва", "Арбат", "ул. Арбат, 1", 2, "", 3, "", "2025-01-01", "active"}}); err != nil {
				t.Fatal(err)
			}
			id := "req-" + strings.ReplaceAll(tt.name, " ", "-")
			e.request(id, tt.code)
			if err := e.process(id); err != nil {
				t.Fatalf("HandleProcess: %v", err)
			}
			want := tt.reason(e)
			if r := e.row(id); r.Status != domain.RequestStatusError || r.Error != want {
				t.Fatalf("row: status %s error %q, want ERROR %q", r.Status, r.Error, want)
			}
			if err := e.deliver(id); err != nil {
				t.Fatalf("HandleDeliver: %v", err)
			}
			msgs := e.chat()
			if len(msgs) != 1 || !reportsContains(msgs[0].Text, tt.code, want) {
				t.Fatalf("chat: %+v", msgs)
			}
			if r := e.row(id); r.DeliveredAt.IsZero() {
				t.Error("delivered_at not written")
			}
		})
	}
}

// TestReportsDeliverResumesAfterCrash interrupts a delivery at each step and shows
// that the retry sends only what is missing.
func TestReportsDeliverResumesAfterCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel() // an own world: nothing shared but the CPU
	tests := []struct {
		name  string
		fault func(e *reportsEnv)
		// what the chat holds after the failed attempt
		texts, docs int
	}{
		{"delivered_at write fails", func(e *reportsEnv) {
			if err := e.emu.InjectFault(sheetsemu.Fault{Status: 400, Count: 1, Methods: []string{"values.batchUpdate"}}); err != nil {
				e.t.Fatal(err)
			}
		}, 1, 1},
		{"PDF upload fails", func(e *reportsEnv) {
			// An outage outlasting the sender's five quick attempts (a 400
			// would be Telegram refusing the request for good: not retried).
			if err := e.tg.AddFault(tgemu.Fault{Method: "sendDocument", Status: 502, Description: "Bad Gateway", Count: 5}); err != nil {
				e.t.Fatal(err)
			}
		}, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newReportsEnv(t, nil)
			id := "req-crash"
			e.request(id, reportsCode(1))
			if err := e.process(id); err != nil {
				t.Fatal(err)
			}
			tt.fault(e)
			if err := e.deliver(id); err == nil {
				t.Fatal("the interrupted delivery reported success")
			}
			if n, d := reportsCounts(e.chat()); n != tt.texts || d != tt.docs {
				t.Fatalf("after the crash: %d texts %d documents, want %d %d", n, d, tt.texts, tt.docs)
			}
			if !e.row(id).DeliveredAt.IsZero() {
				t.Fatal("delivered_at written by the failed attempt")
			}
			if err := e.deliver(id); err != nil {
				t.Fatalf("retry: %v", err)
			}
			if n, d := reportsCounts(e.chat()); n != 1 || d != 1 {
				t.Fatalf("after the retry: %d texts %d documents, want exactly 1 and 1", n, d)
			}
			if e.row(id).DeliveredAt.IsZero() {
				t.Fatal("delivered_at not written by the retry")
			}
		})
	}
}

// TestReportsDeliverConcurrentDuplicates runs one delivery from several workers
// at once (a duplicate task after a lost lease): one sends, the others wait.
func TestReportsDeliverConcurrentDuplicates(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel() // an own world: nothing shared but the CPU
	e := newReportsEnv(t, nil)
	id := "req-dup"
	e.request(id, reportsCode(2))
	if err := e.process(id); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = e.deliver(id) }()
	}
	wg.Wait()
	for _, err := range errs {
		if _, deferred := tasks.AsRetryAfter(err); err != nil && !deferred {
			t.Errorf("delivery failed: %v", err)
		}
	}
	if err := e.deliver(id); err != nil { // what a deferred duplicate does later
		t.Fatal(err)
	}
	if n, d := reportsCounts(e.chat()); n != 1 || d != 1 {
		t.Fatalf("%d texts and %d documents, want 1 and 1", n, d)
	}
}

func TestReportsDeliverToBlockedUser(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel() // an own world: nothing shared but the CPU
	e := newReportsEnv(t, nil)
	id := "req-blocked"
	e.request(id, reportsCode(0))
	if err := e.process(id); err != nil {
		t.Fatal(err)
	}
	if _, err := e.tg.SetBlocked(reportsUserID, true); err != nil {
		t.Fatal(err)
	}
	if err := e.deliver(id); err != nil {
		t.Fatalf("HandleDeliver: %v", err)
	}
	if e.row(id).DeliveredAt.IsZero() {
		t.Error("delivered_at not written for a blocked user")
	}
	ps, err := e.gw.RefreshPartners(reportsCtx(t))
	if err != nil || len(ps) != 1 || ps[0].BotBlockedAt.IsZero() {
		t.Fatalf("Auth G not set: %+v %v", ps, err)
	}
	if got := reportsMetric(t, e.reg, "marketingbot_analytics_deliveries_total", "blocked"); got != 1 {
		t.Errorf("deliveries_total{blocked} = %v", got)
	}
}

// reportsPolisher is a Gemini stand-in with a scripted answer.
type reportsPolisher struct {
	answer func(text string) string
	calls  []ai.Request
	mu     sync.Mutex
}

var _ reports.Polisher = (*reportsPolisher)(nil)

func (p *reportsPolisher) Generate(ctx context.Context, req ai.Request) (ai.Answer, error) {
	p.mu.Lock()
	p.calls = append(p.calls, req)
	p.mu.Unlock()
	if p.answer == nil {
		return ai.Answer{}, ai.ErrUnavailable
	}
	return ai.Answer{Text: p.answer(req.Turns[len(req.Turns)-1].Text), FinishReason: "STOP"}, nil
}

func TestReportsPolish(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel() // an own world: nothing shared but the CPU
	block := func(s string) string {
		s = strings.TrimPrefix(s, "<<<ТЕКСТ\n")
		return strings.TrimSuffix(s, "\nТЕКСТ>>>")
	}
	tests := []struct {
		name     string
		answer   func(string) string
		polished bool
	}{
		{"rephrased, numbers kept", func(s string) string {
			return strings.ReplaceAll(block(s), "Цена:", "Стоимость объекта:")
		}, true},
		{"a number changed", func(s string) string {
			return strings.Replace(strings.ReplaceAll(block(s), "Цена:", "Стоимость объекта:"), "000", "999", 1)
		}, false},
		{"a number invented", func(s string) string { return block(s) + "\nСпрос вырос в 2 раза." }, false},
		{"model unavailable", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &reportsPolisher{answer: tt.answer}
			e := newReportsEnv(t, nil, reportsWithPolisher(p))
			id := "req-polish"
			e.request(id, reportsCode(0))
			if err := e.process(id); err != nil {
				t.Fatal(err)
			}
			if len(p.calls) != 1 || p.calls[0].Model != e.cfg.Gemini.AnalysisModel || !strings.HasPrefix(p.calls[0].Turns[0].Text, "<<<ТЕКСТ\n") {
				t.Fatalf("reportsPolisher calls: %+v", p.calls)
			}
			text := e.row(id).ResultText
			if got := strings.Contains(text, "Стоимость объекта:"); got != tt.polished || !strings.Contains(text, reportsCode(0)) {
				t.Fatalf("polished=%v, want %v: %q", got, tt.polished, text)
			}
		})
	}
}

// TestReportsScannerAppsScript checks the scanner on rows another processor owns.
func TestReportsScannerAppsScript(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel() // an own world: nothing shared but the CPU
	old := time.Now().Add(-30 * time.Minute)
	recent := time.Now().Add(-2 * time.Minute)
	e := newReportsEnv(t, [][]any{
		reportsQueueRow("as-new", reportsCode(0), "NEW", old, old),
		reportsQueueRow("as-busy", reportsCode(0), "PROCESSING", recent, recent),
		reportsQueueRow("as-stuck", reportsCode(0), "PROCESSING", old, old),
	}, reportsAppsScript)
	e.request("as-fresh", reportsCode(1))
	if st := e.taskState("analytics:process:as-fresh"); st != "" {
		t.Fatalf("apps_script: process task %s for a new request", st)
	}
	reportsScan(t, e)

	if r := e.row("as-new"); r.Status != domain.RequestStatusNew {
		t.Errorf("NEW row touched: %s", r.Status)
	}
	if r := e.row("as-busy"); r.Status != domain.RequestStatusProcessing {
		t.Errorf("recent PROCESSING row touched: %s", r.Status)
	}
	if st := e.taskState("analytics:process:as-new"); st != "" {
		t.Errorf("apps_script: a process task (%s) for a waiting NEW row", st)
	}
	stuck := e.row("as-stuck")
	if stuck.Status != domain.RequestStatusError || stuck.Error != e.tx.AnalyticsTimeout {
		t.Fatalf("stuck row: %s %q", stuck.Status, stuck.Error)
	}
	if st := e.taskState("analytics:deliver:as-stuck"); st != "pending" {
		t.Fatalf("deliver task of the timed-out row: %q", st)
	}
	if err := e.deliver("as-stuck"); err != nil {
		t.Fatal(err)
	}
	if msgs := e.chat(); len(msgs) != 1 || !strings.Contains(msgs[0].Text, e.tx.AnalyticsTimeout) {
		t.Fatalf("timeout notice: %+v", msgs)
	}

	// Apps Script finishes a row: status, text and its own report link,
	// without touching updated_at.
	r := e.row("as-new")
	if err := e.gw.Write(reportsCtx(t), e.cfg.Sheets.Titles.Queue+"!F"+strconv.Itoa(r.Row)+":K"+strconv.Itoa(r.Row),
		[][]any{{"DONE", domain.FormatSheetTime(old, reportsSheetLoc), "https://script.google.com/report/as-new.pdf", "", "", "Отчёт Apps Script: 42 объекта"}}); err != nil {
		t.Fatal(err)
	}
	reportsScan(t, e)
	p, _, _ := e.proj.Request(reportsCtx(t), "as-new")
	if p.Status != "DONE" || p.ReportURL != "https://script.google.com/report/as-new.pdf" || p.HasReport {
		t.Fatalf("projection of the Apps Script result: %+v", p)
	}
	if err := e.deliver("as-new"); err != nil {
		t.Fatal(err)
	}
	msgs := e.chat()
	if len(msgs) != 3 || !strings.Contains(msgs[1].Text, "Отчёт Apps Script: 42 объекта") ||
		!strings.Contains(string(msgs[2].Entities), "https://script.google.com/report/as-new.pdf") {
		t.Fatalf("Apps Script delivery: %+v", msgs)
	}
}

// TestReportsScannerRecoversLostProcessing: a NEW row whose process task vanished
// or was archived gets a new one; a fresh NEW row is left to its task.
func TestReportsScannerRecoversLostProcessing(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel() // an own world: nothing shared but the CPU
	old := time.Now().Add(-5 * time.Minute)
	e := newReportsEnv(t, [][]any{
		reportsQueueRow("lost", reportsCode(0), "NEW", old, old),
		reportsQueueRow("archived", reportsCode(0), "NEW", old, old),
		reportsQueueRow("fresh", reportsCode(0), "NEW", time.Now(), time.Now()),
	})
	task, _ := tasks.NewAnalyticsProcessTask("archived")
	if _, err := e.tasks.Enqueue(task); err != nil {
		t.Fatal(err)
	}
	if err := e.insp.ArchiveTask(tasks.QueueAnalytics, "analytics:process:archived"); err != nil {
		t.Fatal(err)
	}
	reportsScan(t, e)
	for id, want := range map[string]string{"lost": "pending", "archived": "pending", "fresh": ""} {
		if got := e.taskState("analytics:process:" + id); got != want {
			t.Errorf("process task of %s: %q, want %q", id, got, want)
		}
	}
}

// TestReportsTwoPollers: two pollers scanning at once enqueue one delivery.
func TestReportsTwoPollers(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel() // an own world: nothing shared but the CPU
	at := time.Now().Add(-time.Minute)
	rows := [][]any{}
	for _, id := range []string{"a", "b", "c"} {
		rows = append(rows, reportsQueueRow(id, reportsCode(0), "ERROR", at, at))
	}
	e := newReportsEnv(t, rows)
	second := e.rig.Service(world.ReportsService{}) // another poller: its own gateway
	var wg sync.WaitGroup
	for range 5 {
		for _, s := range []*reports.Service{e.svc, second} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := s.Scanner().Scan(reportsCtx(t)); err != nil {
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
	pending, err := e.insp.ListPendingTasks(tasks.QueueAnalytics)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 3 {
		t.Fatalf("%d pending tasks after 10 concurrent scans of 3 finished rows, want 3", len(pending))
	}
}

func reportsScan(t *testing.T, e *reportsEnv) {
	t.Helper()
	if err := e.svc.Scanner().Scan(reportsCtx(t)); err != nil {
		t.Fatalf("scan: %v", err)
	}
}

// TestReportsPolishWithGeminiEmulator wires the real Gemini client: the emulator's
// editor stand-in returns the block unchanged, which passes the number check.
func TestReportsPolishWithGeminiEmulator(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel() // an own world: nothing shared but the CPU
	gem := geminiemu.New(geminiemu.Options{})
	srv := httptest.NewServer(gem)
	t.Cleanup(srv.Close)
	client, err := ai.New(context.Background(), ai.Options{APIKey: "test-key", BaseURL: srv.URL, ChatModel: "gemini-3-flash-preview",
		Timeout: 5 * time.Second, RetryBudget: 5 * time.Second, Temperature: 0.4, MaxOutputTokens: 2048,
		Registry: prometheus.NewRegistry(), Logger: reportsQuiet()})
	if err != nil {
		t.Fatal(err)
	}
	e := newReportsEnv(t, nil, reportsWithPolisher(client))
	e.request("req-gemini", reportsCode(0))
	if err := e.process("req-gemini"); err != nil {
		t.Fatal(err)
	}
	logged := gem.Requests(geminiemu.RequestFilter{Model: e.cfg.Gemini.AnalysisModel})
	if len(logged) != 1 || logged[0].Status != 200 {
		t.Fatalf("%d calls of the analysis model, want 1 answered", len(logged))
	}
	if req, err := logged[0].GenerateRequest(); err != nil || !strings.HasPrefix(req.LastUserText(), "<<<ТЕКСТ\n") {
		t.Fatalf("the summary was not sent as an editor block: %v", err)
	}
	if got := e.row("req-gemini").ResultText; got != logged[0].ResponseText {
		t.Fatalf("result_text %q, want the model's answer %q", got, logged[0].ResponseText)
	}
}
