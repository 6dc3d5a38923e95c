package systemtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/store"
	sheetsemu "marketingbot/sim/emulator/sheets"
	"marketingbot/sim/fixtures"
	"marketingbot/sim/testutil"
)

func sheetsMetricValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for k, v := range labels {
				if !sheetsHasLabel(m, k, v) {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			}
		}
	}
	return sum
}

func sheetsHasLabel(m *dto.Metric, k, v string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == k && l.GetValue() == v {
			return true
		}
	}
	return false
}

// sheetsStormSeconds is 60 as the brief asks; MARKETINGBOT_STORM_SECONDS
// shortens it for local iterations.
func sheetsStormSeconds() int {
	if s, err := strconv.Atoi(os.Getenv("MARKETINGBOT_STORM_SECONDS")); err == nil && s > 0 {
		return s
	}
	return 60
}

// sheetsStormTraffic is the callers of the storm test: users doing
// read-modify-writes and one caller appending Queue rows, until stop.
type sheetsStormTraffic struct {
	wg       sync.WaitGroup
	mu       sync.Mutex
	done     map[int64]int // per user: the last acknowledged marker
	appended atomic.Int64  // the last acknowledged request number
}

// start runs the callers; every operation's deadline falls after the storm.
func (tr *sheetsStormTraffic) start(t *testing.T, run context.Context, g *store.Spreadsheet, users int, deadline time.Duration) {
	tr.done = map[int64]int{}
	for i := 0; i < users; i++ {
		id := int64(1000 + i)
		tr.done[id] = 0
		tr.wg.Add(1)
		go func() {
			defer tr.wg.Done()
			for n := 1; run.Err() == nil; n++ {
				opCtx, c := context.WithTimeout(context.Background(), deadline)
				err := sheetsRMW(opCtx, g, id, n)
				c()
				if err != nil {
					t.Errorf("user %d op %d failed although its deadline was after the storm: %v", id, n, err)
					return
				}
				tr.mu.Lock()
				tr.done[id] = n
				tr.mu.Unlock()
				time.Sleep(200 * time.Millisecond)
			}
		}()
	}
	tr.wg.Add(1)
	go func() { // appends are not idempotent: the verify path must keep them single
		defer tr.wg.Done()
		for n := 1; run.Err() == nil; n++ {
			opCtx, c := context.WithTimeout(context.Background(), deadline)
			now := time.Now()
			_, err := g.AppendRequest(opCtx, domain.AnalyticsRequest{ID: fmt.Sprintf("req-%04d", n), CreatedAt: now, ObjectCode: "MSK-1", Status: domain.RequestStatusNew, UpdatedAt: now})
			c()
			if err != nil {
				t.Errorf("append %d: %v", n, err)
				return
			}
			tr.appended.Store(int64(n))
			time.Sleep(300 * time.Millisecond)
		}
	}()
}

// sheetsStorm injects 503, then 429, then 500 answers for a third of storm
// each. During the 503s a caller with a short deadline must see its error
// only at its deadline.
func sheetsStorm(t *testing.T, e *sheetsEnv, storm time.Duration) {
	phase := storm / 3
	start := time.Now()
	for _, status := range []int{503, 429, 500} {
		if err := e.emu.InjectFault(sheetsemu.Fault{Status: status, DurationMS: int(phase / time.Millisecond)}); err != nil {
			t.Fatal(err)
		}
		if status == 503 {
			// A caller with a short deadline inside the storm: error only at its deadline.
			dl := 3 * time.Second
			c, cancel := context.WithTimeout(context.Background(), dl)
			t0 := time.Now()
			_, _, err := e.g.CurrentAppeal(c, 1000)
			cancel()
			if err == nil || !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("short-deadline caller: got %v, want its deadline error", err)
			}
			if el := time.Since(t0); el < dl-100*time.Millisecond {
				t.Errorf("short-deadline caller failed after %s, before its %s deadline", el, dl)
			}
		}
		time.Sleep(phase - time.Since(start)%phase)
	}
	time.Sleep(time.Until(start.Add(storm)))
}

// sheetsCheckQueueOnce: every acknowledged append is in the Queue exactly once.
func sheetsCheckQueueOnce(t *testing.T, queue [][]any, appended int) {
	t.Helper()
	ids := map[string]int{}
	for _, r := range queue[1:] {
		ids[fmt.Sprint(r[0])]++
	}
	for n := 1; n <= appended; n++ {
		if c := ids[fmt.Sprintf("req-%04d", n)]; c != 1 {
			t.Errorf("request req-%04d appears %d times", n, c)
		}
	}
}

// A 60-second storm of 503, then 429, then 500 answers: nothing is lost or
// applied twice, the breaker opens and closes again, and a caller whose
// deadline falls inside the storm sees its error only at its deadline.
func TestSheetsStormNothingLostNothingDoubled(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	storm := time.Duration(sheetsStormSeconds()) * time.Second
	const users = 20
	reg := prometheus.NewRegistry()
	e := sheetsSetup(t, fixtures.Data{Appeals: sheetsSeedAppeals(users)}, &sheetsemu.Quota{}, func(o *fixtures.StoreOptions) {
		o.Registry = reg
		o.RequestTimeout = 2 * time.Second
		o.RetryMaxDelay = 3 * time.Second
		o.BreakerDelay = 2 * time.Second
		o.ReadsPerWindow, o.WritesPerWindow, o.QuotaWindow = 50, 50, 10*time.Second
	})
	run, stop := context.WithCancel(context.Background())
	var tr sheetsStormTraffic
	tr.start(t, run, e.g, users, storm+60*time.Second)

	time.Sleep(2 * time.Second) // normal traffic first
	sheetsStorm(t, e, storm)
	opened := sheetsMetricValue(t, reg, "marketingbot_sheets_breaker_transitions_total", map[string]string{"to": "open"})
	// Recovery: everything goes through again without help.
	recovered := time.Now()
	testutil.Eventually(t, 60*time.Second, "store recovery", func() bool {
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _, err := e.g.CurrentAppeal(c, 1001)
		return err == nil
	})
	t.Logf("storm of %s: recovered %s after it ended", storm, time.Since(recovered).Round(100*time.Millisecond))
	time.Sleep(3 * time.Second)
	stop()
	tr.wg.Wait()

	if opened == 0 {
		t.Error("the circuit breaker never opened during the storm")
	}
	if st := sheetsMetricValue(t, reg, "marketingbot_sheets_breaker_state", nil); st != 0 {
		t.Errorf("breaker state %v after recovery, want 0 (closed)", st)
	}
	closed := sheetsMetricValue(t, reg, "marketingbot_sheets_breaker_transitions_total", map[string]string{"to": "closed"})
	t.Logf("breaker opened %v times, closed %v times; %v retries", opened, closed, sheetsMetricValue(t, reg, "marketingbot_sheets_retries_total", nil))
	sheetsCheckMarkers(t, e.sheet(t, "Обращения"), tr.done)
	sheetsCheckQueueOnce(t, e.sheet(t, "Очередь"), int(tr.appended.Load()))
	total := 0
	for _, n := range tr.done {
		total += n
	}
	t.Logf("%d read-modify-writes and %d appends acknowledged, all present exactly once", total, tr.appended.Load())
}
