package sheets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"google.golang.org/api/googleapi"
)

// A fleet in these tests is two or three "processes" (fleet members, each
// with its own batcher on its own fake API) sharing one miniredis. Only the
// carrier's fake sees requests.

type member struct {
	f *fleet
	a *fakeAPI
}

var fastFleet = fleetOptions{leaseTTL: 300 * time.Millisecond, aliveTTL: 600 * time.Millisecond, tick: 20 * time.Millisecond}

func newFleetRedis(t *testing.T) (*miniredis.Miniredis, redis.UniversalClient) {
	t.Helper()
	mr := miniredis.RunT(t)
	// No retries of its own: a Redis that is gone fails at once.
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	return mr, rdb
}

func newMember(t *testing.T, rdb redis.UniversalClient, a *fakeAPI) *member {
	t.Helper()
	b := newBatcher(a, newMetrics(prometheus.NewRegistry()), batchOptions{rdb: rdb, batching: true, interval: time.Millisecond, maxBatch: 100})
	t.Cleanup(b.close)
	f := newFleet(rdb, "t:sheets:{x}:fleet:", b, newMetrics(prometheus.NewRegistry()),
		slog.New(slog.NewTextHandler(io.Discard, nil)), fastFleet)
	t.Cleanup(f.close)
	return &member{f: f, a: a}
}

func (m *member) carrying() bool {
	m.f.mu.Lock()
	defer m.f.mu.Unlock()
	return m.f.carry != nil
}

// kill stops a member the way kill -9 does: it claims and answers nothing
// more, and hands nothing over or cleans anything up.
func (m *member) kill() {
	m.f.once.Do(func() {
		m.f.mu.Lock()
		c := m.f.carry
		m.f.mu.Unlock()
		if c != nil {
			c.halt(m.f)
		}
		m.f.halt()
	})
}

// carrierFirst starts a carrier member, then the others once it carries.
func carrierFirst(t *testing.T, rdb redis.UniversalClient, apis ...*fakeAPI) []*member {
	t.Helper()
	first := newMember(t, rdb, apis[0])
	eventually(t, "the first member carries", first.carrying)
	out := []*member{first}
	for _, a := range apis[1:] {
		out = append(out, newMember(t, rdb, a))
	}
	return out
}

func queuedOps(t *testing.T, rdb redis.UniversalClient, f *fleet) func() int {
	return func() int {
		n, err := rdb.HLen(context.Background(), f.keys.inflight(f.proc)).Result()
		if err != nil {
			t.Error(err)
		}
		return int(n)
	}
}

// Reads of different processes go out in one batchGet, made by the
// carrier; each caller gets its own ranges.
func TestFleetReadsOfAllProcessesShareOneRequest(t *testing.T) {
	_, rdb := newFleetRedis(t)
	gate := newSlotGate()
	carrierAPI := &fakeAPI{acquireFn: gate.acquire}
	others := []*fakeAPI{{}, {}}
	ms := carrierFirst(t, rdb, carrierAPI, others[0], others[1])
	ctx := testCtx(t)

	const perMember = 5
	var calls []func()
	for mi, m := range ms {
		for i := range perMember {
			calls = append(calls, func() {
				r := fmt.Sprintf("S!A%d", mi*10+i+1)
				got, err := m.f.read(ctx, []string{r})
				if err != nil || len(got) != 1 || got[0][0][0] != r {
					t.Errorf("member %d read %s: %v %v", mi, r, got, err)
				}
			})
		}
	}
	// The carrier's own first read waits for a slot; everybody else's
	// reads arrive meanwhile.
	coalesce(t, gate, func() int { return len(ms[0].f.local.readQ) }, calls...)

	gets, _, _ := carrierAPI.calls()
	if len(gets) != 1 {
		t.Errorf("%d batchGets for %d reads of 3 processes, want them coalesced", len(gets), len(ms)*perMember)
	}
	for i, a := range others {
		if g, u, ap := a.calls(); len(g)+len(u)+len(ap) != 0 {
			t.Errorf("member %d (not the carrier) sent requests itself", i+1)
		}
	}
}

// A guarded write is judged in the caller's process on a read made through
// the fleet: a moved row writes nothing; a row still in place is written.
func TestFleetGuardedWrite(t *testing.T) {
	_, rdb := newFleetRedis(t)
	carrierAPI := &fakeAPI{batchGetFn: guardRows(map[string]string{"S!A2": "u2", "S!A3": "someone else"})}
	ms := carrierFirst(t, rdb, carrierAPI, &fakeAPI{})
	ctx := testCtx(t)

	if err := ms[1].f.update(ctx, keyGuard("S!A3", "u3"), []Values{{Range: "S!E3", Rows: [][]any{{"x"}}}}); !errors.Is(err, ErrRowMoved) {
		t.Fatalf("write on a moved row: %v, want ErrRowMoved", err)
	}
	if err := ms[1].f.update(ctx, keyGuard("S!A2", "u2"), []Values{{Range: "S!E2", Rows: [][]any{{int64(1234567890123)}}}}); err != nil {
		t.Fatalf("write on its row: %v", err)
	}
	_, updates, _ := carrierAPI.calls()
	if len(updates) != 1 || updates[0].arg[0].Range != "S!E2" {
		t.Fatalf("updates %+v, want only the write of S!E2", updates)
	}
	if got := fmt.Sprint(updates[0].arg[0].Rows[0][0]); got != "1234567890123" {
		t.Errorf("the cell reached the carrier as %q, want 1234567890123 exactly", got)
	}
	if got := counterValue(t, ms[1].f.m.rowMoved.WithLabelValues("S")); got != 1 {
		t.Errorf("row_moved_total of the caller %v, want 1", got)
	}
}

// Google's errors cross the fleet with their status: a bad request is
// still a client error for the caller, and fails only its caller.
func TestFleetErrorsKeepTheirStatus(t *testing.T) {
	_, rdb := newFleetRedis(t)
	carrierAPI := &fakeAPI{batchGetFn: func(_ context.Context, ranges []string) ([][][]any, error) {
		for _, r := range ranges {
			if r == "Gone!A1" {
				return nil, &googleapi.Error{Code: http.StatusBadRequest, Message: "Unable to parse range: Gone!A1"}
			}
		}
		return [][][]any{{{"ok"}}}, nil
	}}
	ms := carrierFirst(t, rdb, carrierAPI, &fakeAPI{})
	_, err := ms[1].f.read(testCtx(t), []string{"Gone!A1"})
	var gerr *googleapi.Error
	if !errors.As(err, &gerr) || gerr.Code != http.StatusBadRequest || !isClientError(err) {
		t.Fatalf("read of a missing sheet: %v, want a 400 the caller can recognise", err)
	}
	if got, err := ms[1].f.read(testCtx(t), []string{"S!A1"}); err != nil || got[0][0][0] != "ok" {
		t.Fatalf("next read: %v %v", got, err)
	}
}

// The carrier dies (kill -9) while its request is out: once its heartbeat
// has expired another process answers its callers "lost", takes the lease,
// and each caller does what its operation needs: the append is looked up by
// its key and appended again only if it is not there — exactly once.
func TestFleetCarrierKilledMidRequest(t *testing.T) {
	for _, landed := range []bool{false, true} {
		t.Run(fmt.Sprintf("landed=%v", landed), func(t *testing.T) {
			mr, rdb := newFleetRedis(t)
			inRequest := make(chan struct{})
			hang := make(chan struct{})
			dying := &fakeAPI{appendRowsFn: func(ctx context.Context, sheet string, rows [][]any) (string, error) {
				close(inRequest)
				<-hang // the process is gone: nothing comes back
				return "", ctx.Err()
			}}
			next := &fakeAPI{}
			ms := carrierFirst(t, rdb, dying, next)
			t.Cleanup(func() { close(hang) }) // before the batchers' cleanups wait for the request
			ctx := testCtx(t)

			var verified atomic.Int32
			verify := func(context.Context, []string) (map[string]int, error) {
				verified.Add(1)
				if landed {
					return map[string]int{"k1": 42}, nil
				}
				return map[string]int{}, nil
			}
			type result struct {
				row int
				err error
			}
			done := make(chan result, 1)
			go func() {
				row, err := ms[1].f.appendRows(ctx, "History", [][]any{{"hello"}}, "k1", verify)
				done <- result{row, err}
			}()
			<-inRequest
			ms[0].kill()
			// Its lease and heartbeat run out; the survivor reaps and carries.
			mr.FastForward(fastFleet.aliveTTL + time.Millisecond)
			r := <-done
			if r.err != nil {
				t.Fatalf("the caller of the lost append: %v", r.err)
			}
			if verified.Load() != 1 {
				t.Errorf("verify asked %d times, want once", verified.Load())
			}
			_, _, appends := next.calls()
			switch {
			case landed && (len(appends) != 0 || r.row != 42):
				t.Errorf("found by its key: appended again %d times, row %d; want 0 and row 42", len(appends), r.row)
			case !landed && (len(appends) != 1 || r.row != 10):
				t.Errorf("not found: appended again %d times, row %d; want once and row 10", len(appends), r.row)
			}
			eventually(t, "the survivor carries", ms[1].carrying)
			if n := counterValue(t, ms[1].f.m.fleetLost); n != 1 {
				t.Errorf("fleet_lost_total %v, want 1", n)
			}
		})
	}
}

// A caller that gives up while its write waits at the carrier: the write
// does not go out late.
func TestFleetGivenUpWriteDoesNotGoOutLate(t *testing.T) {
	_, rdb := newFleetRedis(t)
	gate := newSlotGate()
	carrierAPI := &fakeAPI{acquireFn: gate.acquire}
	ms := carrierFirst(t, rdb, carrierAPI, &fakeAPI{})
	cctx, cancel := context.WithCancel(testCtx(t))
	done := make(chan error, 1)
	go func() { done <- ms[1].f.update(cctx, nil, []Values{{Range: "S!E2", Rows: [][]any{{"stale"}}}}) }()
	gate.waitHeld(t) // claimed by the carrier, waiting for a write slot
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("given-up write: %v", err)
	}
	eventually(t, "the carrier dropped it", func() bool { return queuedOps(t, rdb, ms[0].f)() == 0 })
	gate.open()
	if err := ms[1].f.update(testCtx(t), nil, []Values{{Range: "S!E3", Rows: [][]any{{"fresh"}}}}); err != nil {
		t.Fatal(err)
	}
	if wrote(carrierAPI, "S!E2") {
		t.Fatal("the given-up write went out")
	}
}

// wrote reports whether a batchUpdate sent to a wrote the range rng.
func wrote(a *fakeAPI, rng string) bool {
	_, updates, _ := a.calls()
	for _, u := range updates {
		for _, v := range u.arg {
			if v.Range == rng {
				return true
			}
		}
	}
	return false
}

// A closing carrier hands the lease over at once; the others carry on.
func TestFleetCloseHandsOver(t *testing.T) {
	_, rdb := newFleetRedis(t)
	next := &fakeAPI{}
	ms := carrierFirst(t, rdb, &fakeAPI{}, next)
	ms[0].f.close()
	if _, err := ms[1].f.read(testCtx(t), []string{"S!A1"}); err != nil {
		t.Fatal(err)
	}
	if gets, _, _ := next.calls(); len(gets) != 1 {
		t.Errorf("the next carrier sent %d reads, want 1", len(gets))
	}
}

// Redis unreachable: callers fail at once with the error, not at their
// deadline.
func TestFleetRedisDownFailsCallersCleanly(t *testing.T) {
	mr, rdb := newFleetRedis(t)
	ms := carrierFirst(t, rdb, &fakeAPI{}, &fakeAPI{})
	mr.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	_, err := ms[1].f.read(ctx, []string{"S!A1"})
	if err == nil || ctx.Err() != nil {
		t.Fatalf("read with Redis down: %v (ctx %v), want an error before the deadline", err, ctx.Err())
	}
	if time.Since(start) > 30*time.Second {
		t.Errorf("the error came after %s", time.Since(start))
	}
}

// A caller that gives up while it cannot reach Redis (so it can neither
// withdraw nor cancel its write) stops refreshing the write's liveness key;
// once that has expired the carrier does not send the write — it would land
// late, after the caller's task was re-run elsewhere.
func TestFleetWriteOfACallerCutOffIsNotSentLate(t *testing.T) {
	mr, rdb := newFleetRedis(t)
	gate := newSlotGate()
	carrierAPI := &fakeAPI{acquireFn: gate.acquire}
	carrier := newMember(t, rdb, carrierAPI)
	eventually(t, "the carrier carries", carrier.carrying)
	own := redis.NewClient(&redis.Options{Addr: mr.Addr(), MaxRetries: -1})
	caller := newMember(t, own, &fakeAPI{})

	ctx, cancel := context.WithCancel(testCtx(t))
	done := make(chan error, 1)
	go func() { done <- caller.f.update(ctx, nil, []Values{{Range: "S!E2", Rows: [][]any{{"stale"}}}}) }()
	gate.waitHeld(t) // claimed, waiting for a write slot
	_ = own.Close()  // the caller's process loses Redis…
	cancel()         // …and gives up
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("given-up write: %v", err)
	}
	mr.FastForward(fleetLiveTTL + time.Millisecond)
	gate.open()
	if err := carrier.f.update(testCtx(t), nil, []Values{{Range: "S!E3", Rows: [][]any{{"fresh"}}}}); err != nil {
		t.Fatal(err)
	}
	if wrote(carrierAPI, "S!E2") {
		t.Fatal("the write of a caller that gave up went out late")
	}
}
