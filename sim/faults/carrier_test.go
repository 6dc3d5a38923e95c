package faults_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// kill -9 of the process carrying the fleet's Sheets requests while one of
// its requests is out. Sheets here applies each request at once but holds
// its answer for 1.5 s, so the killed carrier's last write has landed while
// nobody got its answer, and the operations it carried for the other
// processes (the other worker, the poller, the bot) stay claimed until the
// kill: their callers are told the carrier was lost, look their keys up or
// queue them again. Nothing is lost, nothing applied twice, and another
// process carries the fleet's requests from then on.
func TestSheetsCarrierKilledMidRequest(t *testing.T) {
	w := newFleet(t, 30, map[string]string{"MARKETINGBOT_CHAT_LOCK_TTL": "10s"})
	w.e.Gemini.SetLatency(300*time.Millisecond, 200*time.Millisecond)
	held := w.slowSheetsAnswers(1500 * time.Millisecond)
	// Two workers first: the first of them takes the carrier's lease.
	ws := []*proc{w.start("worker"), w.start("worker")}
	carrier := w.waitCarrier(ws)
	other := ws[0]
	if carrier == ws[0] {
		other = ws[1]
	}
	poller := w.start("poller")
	bot := w.start("bot")
	done := w.load(6, 3*time.Second)

	// Wait until a write is held and the carrier has claimed operations
	// of another process (held for 1.5 s at least: they are still claimed
	// when the kill comes).
	lease := fmt.Sprintf("mb:sheets:{%s}:fleet:carrier", w.e.SpreadsheetID)
	ctx := context.Background()
	w.waitFor("a carried write out with other processes' operations", 40*time.Second, func() (bool, string) {
		proc, err := w.rdb.Get(ctx, lease).Result()
		if err != nil {
			return false, "no carrier: " + err.Error()
		}
		ids, _ := w.rdb.HKeys(ctx, fmt.Sprintf("mb:sheets:{%s}:fleet:inflight:%s", w.e.SpreadsheetID, proc)).Result()
		foreign := 0
		for _, id := range ids {
			if !strings.HasPrefix(id, proc+".") {
				foreign++
			}
		}
		return held.Load() > 0 && foreign > 0, fmt.Sprintf("%d writes held, %d claimed (%d of other processes)", held.Load(), len(ids), foreign)
	})
	carrier.Kill()
	killed := time.Now()
	w.start("worker") // systemd starts it again

	w.waitFor("another process carrying", 40*time.Second, func() (bool, string) {
		proc, err := w.rdb.Get(ctx, lease).Result()
		return err == nil && proc != "", fmt.Sprintf("lease %q %v", proc, err)
	})
	w.waitLoad(done)
	all, _ := w.settle(90*time.Second, 90*time.Second)
	ans := w.verify()
	lost := 0.0
	for _, p := range []*proc{other, poller, bot} {
		_, m := httpGet("http://" + p.Addr + "/metrics")
		n, _ := metric(m, "marketingbot_sheets_fleet_lost_total")
		lost += n
	}
	if lost == 0 {
		t.Errorf("no surviving process saw an operation lost with the carrier: the kill hit nothing of theirs")
	}
	w.report("kill -9 of the Sheets carrier mid-request", killed, all, ans)
	t.Logf("the surviving processes had %v operations lost with the carrier; each was looked up or queued again", lost)
}

// waitCarrier returns the process among ps whose /metrics says it carries
// the fleet's Sheets requests.
func (w *fleet) waitCarrier(ps []*proc) *proc {
	w.t.Helper()
	var found *proc
	w.waitFor("a worker carrying the Sheets requests", 30*time.Second, func() (bool, string) {
		for _, p := range ps {
			_, m := httpGet("http://" + p.Addr + "/metrics")
			if v, ok := metric(m, "marketingbot_sheets_fleet_carrier"); ok && v == 1 {
				found = p
				return true, ""
			}
		}
		return false, "none reports marketingbot_sheets_fleet_carrier 1"
	})
	return found
}

// slowSheetsAnswers puts a proxy in front of the Sheets emulator for the
// roles started afterwards: every request is applied at once and its answer
// held for d. It returns the number of writes being held now.
func (w *fleet) slowSheetsAnswers(d time.Duration) *atomic.Int32 {
	var held atomic.Int32
	url := w.answerLater(w.e.Sheets, d, func(r *http.Request) (hold, count bool) {
		write := r.Method == http.MethodPost && (strings.Contains(r.URL.Path, ":append") || strings.Contains(r.URL.Path, ":batchUpdate"))
		return true, write
	}, &held)
	w.e.Set("MARKETINGBOT_SHEETS_ENDPOINT", url)
	return &held
}
