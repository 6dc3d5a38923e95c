package systemtest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"marketingbot/pkg/config"
	"marketingbot/pkg/domain"
	"marketingbot/sim/browser"
	"marketingbot/sim/testutil"
)

// TestMiniAppEndToEnd is the whole Analytics 360 path with the emulators: initData
// from the Telegram emulator → POST /api/v1/analytics → Queue row NEW →
// built-in engine → DONE → two pollers scanning at once → the partner's chat
// holds the summary and the PDF exactly once, and the row has delivered_at.
func TestMiniAppEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel() // an own world: nothing shared but the CPU
	s := newMiniappStack(t, miniappStackOptions{backend: true, pollers: 2})
	initData := s.initData(miniappPartnerID, time.Time{})
	code := miniappCode(0)

	r := s.order(initData, strings.ToLower(code))
	if r.status != http.StatusAccepted {
		t.Fatalf("order: %d %s", r.status, r.body)
	}
	var created struct{ Request struct{ ID string } }
	if err := json.Unmarshal(r.body, &created); err != nil {
		t.Fatal(err)
	}
	id := created.Request.ID

	// The row, DONE, then delivered.
	var row domain.AnalyticsRequest
	testutil.Eventually(t, 20*time.Second, "the row to be delivered", func() bool {
		x, err := s.gw.Request(context.Background(), id)
		row = x
		return err == nil && !x.DeliveredAt.IsZero()
	})
	if seen, _ := s.seenAtStart.Load(id); seen != domain.RequestStatusNew {
		t.Errorf("the engine found the row %v, want NEW", seen)
	}
	if row.Status != domain.RequestStatusDone || row.ObjectCode != code || row.TelegramID != miniappPartnerID || row.Requester != miniappPartnerCode ||
		!strings.Contains(row.ResultText, code) || !strings.HasPrefix(row.ReportURL, s.api.URL+"/api/v1/reports/"+id+".pdf?t=") {
		t.Fatalf("row: %+v", row)
	}

	// Give both pollers several more scans: none may deliver again.
	time.Sleep(10 * s.pollInterval)
	msgs := s.botMessages()
	var texts, docs []int
	for i, m := range msgs {
		if m.Document != nil {
			docs = append(docs, i)
		} else {
			texts = append(texts, i)
		}
	}
	if len(texts) != 1 || len(docs) != 1 {
		t.Fatalf("the chat has %d texts and %d documents, want exactly 1 and 1: %+v", len(texts), len(docs), msgs)
	}
	summary, doc := msgs[texts[0]], msgs[docs[0]]
	if !strings.Contains(summary.Text, "Аналитика 360 — объект "+code) || !strings.Contains(summary.Text, "Рекомендуемый коридор цены") {
		t.Errorf("summary: %q", summary.Text)
	}
	if doc.Document.FileName != "Аналитика360_"+code+".pdf" || doc.Document.MimeType != "application/pdf" {
		t.Errorf("document: %+v", doc.Document)
	}

	// The PDF as the partner downloads it from Telegram.
	pdf := miniappDownload(t, s.tgURL+doc.Document.URL)
	if !bytes.HasPrefix(pdf, []byte("%PDF")) {
		t.Fatalf("the document is not a PDF: %q", pdf[:min(len(pdf), 16)])
	}
	miniappRequirePDFText(t, pdf, code)

	// The Mini App's view of it.
	got := s.call(http.MethodGet, "/api/v1/analytics/"+id, "tma "+initData, "", "")
	var view struct{ Request map[string]any }
	if err := json.Unmarshal(got.body, &view); err != nil || got.status != 200 {
		t.Fatalf("GET request: %d %s", got.status, got.body)
	}
	if view.Request["status"] != "DONE" || view.Request["delivered"] != true || view.Request["result_text"] != row.ResultText {
		t.Fatalf("Mini App view: %v", view.Request)
	}
	link, _ := view.Request["report_url"].(string)
	if viaApp := s.call(http.MethodGet, link, "", "", ""); viaApp.status != 200 || !bytes.Equal(viaApp.body, pdf) {
		t.Fatalf("the Mini App's link: %d, %d bytes (the chat's PDF has %d)", viaApp.status, len(viaApp.body), len(pdf))
	}
	if viaSheet := s.call(http.MethodGet, strings.TrimPrefix(row.ReportURL, s.api.URL), "", "", ""); viaSheet.status != 200 || !bytes.Equal(viaSheet.body, pdf) {
		t.Fatalf("the sheet's link: %d", viaSheet.status)
	}
	if n := miniappMetric(t, s.workerReg, "marketingbot_analytics_deliveries_total", map[string]string{"outcome": "ok"}); n != 1 {
		t.Errorf("deliveries_total{ok} = %v, want 1", n)
	}
}

func miniappDownload(t *testing.T, u string) []byte {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v", u, resp.StatusCode, err)
	}
	return b
}

// requirePDFText checks with pdftotext that the PDF's text names want. A
// missing tool skips the check, unless MARKETINGBOT_REQUIRE_TOOLS is set.
func miniappRequirePDFText(t *testing.T, pdf []byte, want string) {
	t.Helper()
	tool, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv(browser.RequireToolsEnv) != "" {
			t.Fatalf("pdftotext is not installed and %s is set", browser.RequireToolsEnv)
		}
		t.Logf("pdftotext not installed (apt-get install poppler-utils); PDF text not checked")
		return
	}
	path := filepath.Join(t.TempDir(), "report.pdf")
	if err := os.WriteFile(path, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, "-enc", "UTF-8", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	if !strings.Contains(string(out), want) {
		t.Fatalf("the PDF's text does not contain %q:\n%s", want, out)
	}
}

// TestMiniAppEndToEndFailures: the ERROR results reach the partner through the
// same path — an unknown object ordered in the Mini App, and a row stuck in
// PROCESSING that a poller times out.
func TestMiniAppEndToEndFailures(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel() // an own world: nothing shared but the CPU
	s := newMiniappStack(t, miniappStackOptions{backend: true, pollers: 2, config: func(c *config.Config) {
		c.Poller.ProcessingTimeout = time.Minute
	}})
	initData := s.initData(miniappPartnerID, time.Time{})
	if r := s.order(initData, "MSK-99999999"); r.status != http.StatusAccepted {
		t.Fatalf("order: %d %s", r.status, r.body)
	}
	stuckAt := domain.FormatSheetTime(time.Now().Add(-5*time.Minute), s.cfg.Location())
	if err := s.gw.Write(context.Background(), s.cfg.Sheets.Titles.Queue+"!A100:K100", [][]any{{
		"stuck-1", stuckAt, miniappCode(1), "810001", miniappPartnerCode, "PROCESSING", stuckAt, "", "", "", ""}}); err != nil {
		t.Fatal(err)
	}

	var msgs []string
	testutil.Eventually(t, 20*time.Second, "two error notices in the chat", func() bool {
		msgs = msgs[:0]
		for _, m := range s.botMessages() {
			msgs = append(msgs, m.Text)
		}
		return len(msgs) >= 2
	})
	time.Sleep(10 * s.pollInterval)
	if got := len(s.botMessages()); got != 2 {
		t.Fatalf("%d messages, want exactly 2: %q", got, msgs)
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{"MSK-99999999", s.tx.AnalyticsNotFound, miniappCode(1), s.tx.AnalyticsTimeout} {
		if !strings.Contains(all, want) {
			t.Errorf("the chat does not say %q:\n%s", want, all)
		}
	}
	testutil.Eventually(t, 10*time.Second, "delivered_at on both rows", func() bool {
		rows, err := s.gw.Requests(context.Background())
		if err != nil || len(rows) != 2 {
			return false
		}
		for _, r := range rows {
			if r.Status != domain.RequestStatusError || r.DeliveredAt.IsZero() {
				return false
			}
		}
		return true
	})
}
