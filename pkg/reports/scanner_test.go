package reports_test

import (
	"strings"
	"testing"
	"time"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/reports"
	"marketingbot/pkg/tasks"
)

// TestScannerDelivers: every finished, undelivered row gets one delivery
// task, however many scans see it; delivered rows get none.
func TestScannerDelivers(t *testing.T) {
	delivered := queueRow("delivered", domain.RequestStatusDone, unitNow.Add(-time.Hour))
	delivered.DeliveredAt = unitNow.Add(-time.Minute)
	store := newFakeStore(nil,
		queueRow("done", domain.RequestStatusDone, unitNow.Add(-time.Hour)),
		queueRow("error", domain.RequestStatusError, unitNow.Add(-time.Hour)),
		delivered)
	u := newUnit(t, store, nil)
	u.scan()
	u.scan()
	pending, err := u.insp.ListPendingTasks(tasks.QueueAnalytics)
	if err != nil || len(pending) != 2 {
		t.Fatalf("%d pending tasks after two scans (err %v), want 2", len(pending), err)
	}
	for id, want := range map[string]string{"done": "pending", "error": "pending", "delivered": ""} {
		if got := u.taskState("analytics:deliver:" + id); got != want {
			t.Errorf("deliver task of %s: %q, want %q", id, got, want)
		}
	}
	if p := u.projected("done"); p.Status != "DONE" {
		t.Errorf("projection of a DONE row: %+v", p)
	}
}

// TestScannerTimesOut: a row PROCESSING for longer than ProcessingTimeout
// becomes ERROR and is delivered, whichever engine owns it; a recent one is
// left alone, and one that finished since the scan's read keeps its result.
func TestScannerTimesOut(t *testing.T) {
	for _, engine := range []string{reports.EngineBuiltin, reports.EngineAppsScript} {
		t.Run(engine, func(t *testing.T) {
			store := newFakeStore(nil,
				queueRow("stuck", domain.RequestStatusProcessing, unitNow.Add(-11*time.Minute)),
				queueRow("busy", domain.RequestStatusProcessing, unitNow.Add(-9*time.Minute)),
				queueRow("landed", domain.RequestStatusProcessing, unitNow.Add(-30*time.Minute)))
			// The result of "landed" arrives between the scan's read and
			// the re-read before the timeout.
			store.afterRequests = func() {
				store.mu.Lock()
				r := store.rows["landed"]
				r.Status, r.ResultText, r.UpdatedAt = domain.RequestStatusDone, "Готово", unitNow
				store.rows["landed"] = r
				store.mu.Unlock()
			}
			u := newUnit(t, store, func(o *reports.Options, _ *reports.Deps) { o.Engine = engine })
			u.scan()
			if r := store.row(t, "stuck"); r.Status != domain.RequestStatusError || r.Error != u.tx.AnalyticsTimeout {
				t.Fatalf("stuck row: %s %q", r.Status, r.Error)
			}
			if st := u.taskState("analytics:deliver:stuck"); st != "pending" {
				t.Fatalf("deliver task of the timed-out row: %q", st)
			}
			if r := store.row(t, "busy"); r.Status != domain.RequestStatusProcessing {
				t.Errorf("a recent PROCESSING row became %s", r.Status)
			}
			if r := store.row(t, "landed"); r.Status != domain.RequestStatusDone || r.ResultText != "Готово" {
				t.Errorf("a result that landed meanwhile was overwritten: %s %q", r.Status, r.Error)
			}
			if got := store.statuses("landed"); len(got) != 0 {
				t.Errorf("the scanner wrote %v to a row that finished", got)
			}
		})
	}
}

// TestScannerRecoversLostProcessing: with the built-in engine a NEW row
// waiting longer than a healthy queue takes gets its process task again
// (also when the old one was archived); a fresh one is left to its task,
// and Apps Script's NEW rows are never touched.
func TestScannerRecoversLostProcessing(t *testing.T) {
	rows := func() *fakeStore {
		return newFakeStore(nil,
			queueRow("lost", domain.RequestStatusNew, unitNow.Add(-5*time.Minute)),
			queueRow("archived", domain.RequestStatusNew, unitNow.Add(-5*time.Minute)),
			queueRow("fresh", domain.RequestStatusNew, unitNow.Add(-10*time.Second)))
	}
	u := newUnit(t, rows(), nil)
	task, _ := tasks.NewAnalyticsProcessTask("archived")
	if _, err := u.tasks.Enqueue(task); err != nil {
		t.Fatal(err)
	}
	if err := u.insp.ArchiveTask(tasks.QueueAnalytics, "analytics:process:archived"); err != nil {
		t.Fatal(err)
	}
	u.scan()
	for id, want := range map[string]string{"lost": "pending", "archived": "pending", "fresh": ""} {
		if got := u.taskState("analytics:process:" + id); got != want {
			t.Errorf("builtin: process task of %s: %q, want %q", id, got, want)
		}
	}

	u = newUnit(t, rows(), func(o *reports.Options, _ *reports.Deps) { o.Engine = reports.EngineAppsScript })
	u.scan()
	if info, err := u.insp.GetQueueInfo(tasks.QueueAnalytics); err == nil && info.Size > 0 {
		t.Fatalf("apps_script: %d tasks enqueued for NEW rows", info.Size)
	}
	if u.store.writes() != 0 {
		t.Fatal("apps_script: the scanner wrote to NEW rows")
	}
}

// TestScannerMirrorsExternalResult: Apps Script's own report link reaches
// the projection as it is; ours would be re-signed by the bot.
func TestScannerMirrorsExternalResult(t *testing.T) {
	r := queueRow("as-1", domain.RequestStatusDone, unitNow.Add(-time.Minute))
	r.ReportURL, r.ResultText = "https://script.google.com/report/as-1.pdf", "Отчёт Apps Script"
	u := newUnit(t, newFakeStore(nil, r), func(o *reports.Options, _ *reports.Deps) { o.Engine = reports.EngineAppsScript })
	u.scan()
	p := u.projected("as-1")
	if p.Status != "DONE" || p.ReportURL != r.ReportURL || p.HasReport || p.ResultText != r.ResultText {
		t.Fatalf("projection %+v", p)
	}
	if err := u.deliver("as-1"); err != nil {
		t.Fatal(err)
	}
	msgs := u.sender.all()
	if len(msgs) != 2 || msgs[1].document != "" || !strings.Contains(msgs[1].text, r.ReportURL) {
		t.Fatalf("Apps Script delivery: %+v", msgs)
	}
}
