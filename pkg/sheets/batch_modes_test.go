package sheets

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/api/googleapi"
)

// A write whose caller gave up while its batch waited for a slot is not sent
// late: the caller's task may have been re-run meanwhile.
func TestGoneCallerIsNotSentLate(t *testing.T) {
	for _, kind := range []string{"update", "append"} {
		t.Run(kind, func(t *testing.T) {
			gate := newSlotGate()
			a := &fakeAPI{acquireFn: gate.acquire}
			b := newTestBatcher(t, a, true, 100)
			write := func(ctx context.Context, id string) error {
				if kind == "update" {
					return b.update(ctx, nil, []Values{{Range: "S!" + id, Rows: [][]any{{id}}}})
				}
				_, err := b.appendRows(ctx, "S", [][]any{{id}}, "", nil)
				return err
			}
			gone, leave := context.WithCancel(context.Background())
			goneDone := make(chan error, 1)
			go func() { goneDone <- write(gone, "A1") }()
			gate.waitHeld(t) // the batch holding A1 waits for its slot
			leave()
			if err := <-goneDone; !errors.Is(err, context.Canceled) {
				t.Fatalf("gone caller: %v", err)
			}
			ctx := testCtx(t)
			stayDone := make(chan error, 1)
			go func() { stayDone <- write(ctx, "A2") }()
			eventually(t, "A2 queued", func() bool { return len(b.writeQ) == 1 })
			gate.open()
			if err := <-stayDone; err != nil {
				t.Fatal(err)
			}
			_, updates, appends := a.calls()
			if sent := fmt.Sprint(updates, appends); !strings.Contains(sent, "A2") || strings.Contains(sent, "A1") {
				t.Errorf("sent %s: want A2 and not A1", sent)
			}
		})
	}
}

// A guarded write whose caller gives up while the guard is being read is not
// sent either; the others of its batch are.
func TestCallerGoneDuringGuardReadIsNotSent(t *testing.T) {
	gate := newSlotGate()
	reading := make(chan struct{})
	proceed := make(chan struct{})
	var once sync.Once
	a := &fakeAPI{acquireFn: gate.acquire}
	a.batchGetFn = func(_ context.Context, ranges []string) ([][][]any, error) {
		once.Do(func() { close(reading) })
		<-proceed
		return guardRows(map[string]string{"S!A2": "u2"})(nil, ranges)
	}
	b := newTestBatcher(t, a, true, 100)
	ctx := testCtx(t)
	gone, leave := context.WithCancel(context.Background())
	defer leave()
	goneDone, stayDone := make(chan error, 1), make(chan error, 1)
	go func() {
		goneDone <- b.update(gone, keyGuard("S!A2", "u2"), []Values{{Range: "S!E2", Rows: [][]any{{"late"}}}})
	}()
	gate.waitHeld(t)
	go func() { stayDone <- b.update(ctx, nil, []Values{{Range: "S!E9", Rows: [][]any{{"x"}}}}) }()
	eventually(t, "the second write queued", func() bool { return len(b.writeQ) == 1 })
	gate.open()
	<-reading
	leave()
	if err := <-goneDone; !errors.Is(err, context.Canceled) {
		t.Fatalf("gone caller: %v", err)
	}
	close(proceed)
	if err := <-stayDone; err != nil {
		t.Fatal(err)
	}
	_, updates, _ := a.calls()
	if len(updates) != 1 || len(updates[0].arg) != 1 || updates[0].arg[0].Range != "S!E9" {
		t.Errorf("updates %+v, want only S!E9 (the gone caller's write must not go out late)", updates)
	}
}

// Batching=false: one request per operation, as the Python original did.
func TestPerCallModeSendsOneRequestPerOperation(t *testing.T) {
	a := &fakeAPI{acquireFn: func(context.Context, quotaKind) error {
		t.Error("per-call mode takes its slots inside each request, not in a loop")
		return nil
	}}
	a.batchGetFn = guardRows(map[string]string{"S!A2": "u2", "S!A3": "someone else"})
	b := newTestBatcher(t, a, false, 100)
	ctx := testCtx(t)
	var wg sync.WaitGroup
	errs := make([]error, 12)
	for i := range 4 {
		wg.Add(3)
		go func() { defer wg.Done(); _, errs[3*i] = b.read(ctx, fmt.Sprintf("S!A%d", i+2)) }()
		go func() {
			defer wg.Done()
			errs[3*i+1] = b.update(ctx, nil, []Values{{Range: fmt.Sprintf("S!E%d", i+2), Rows: [][]any{{i}}}})
		}()
		go func() { defer wg.Done(); _, errs[3*i+2] = b.appendRows(ctx, "Q", [][]any{{i}}, "", nil) }()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("operation %d: %v", i, err)
		}
	}
	if err := b.update(ctx, keyGuard("S!A2", "u2"), []Values{{Range: "S!E2", Rows: [][]any{{"ok"}}}}); err != nil {
		t.Errorf("guarded write on its row: %v", err)
	}
	if err := b.update(ctx, keyGuard("S!A3", "u3"), []Values{{Range: "S!H3", Rows: [][]any{{"moved"}}}}); !errors.Is(err, ErrRowMoved) {
		t.Errorf("guarded write on a moved row: %v, want ErrRowMoved", err)
	}
	gets, updates, appends := a.calls()
	if len(gets) != 4+2 || len(updates) != 4+1 || len(appends) != 4 {
		t.Errorf("%d batchGet, %d batchUpdate, %d append requests; want 6 (4 reads, 2 guards), 5, 4", len(gets), len(updates), len(appends))
	}
	for _, g := range gets {
		if len(g.arg) != 1 || g.preAcquired {
			t.Errorf("per-call read %+v", g)
		}
	}
	for _, u := range updates {
		if len(u.arg) != 1 || u.arg[0].Range == "S!H3" {
			t.Errorf("per-call write %+v", u)
		}
	}
}

// After an ambiguous append failure (the rows may have landed) each caller
// is asked whether its key is in the sheet: found rows are answered, the
// others appended again, once.
func TestAmbiguousAppendLooksBeforeAppendingAgain(t *testing.T) {
	t.Parallel()
	gate := newSlotGate()
	a := &fakeAPI{acquireFn: gate.acquire}
	var mu sync.Mutex
	attempts := 0
	a.appendRowsFn = func(_ context.Context, _ string, rows [][]any) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if attempts++; attempts == 1 {
			return "", &googleapi.Error{Code: http.StatusBadGateway}
		}
		return fmt.Sprintf("'Q'!A20:B%d", 19+len(rows)), nil
	}
	b := newTestBatcher(t, a, true, 100)
	ctx := testCtx(t)
	lookup := func(found map[string]int, err error) VerifyFunc {
		return func(context.Context, []string) (map[string]int, error) { return found, err }
	}
	verifyDown := errors.New("index unreachable")
	type call struct {
		key    string
		verify VerifyFunc
		row    int
		err    error
	}
	calls := []*call{
		{key: "landed", verify: lookup(map[string]int{"landed": 7}, nil)},
		{key: "lost", verify: lookup(map[string]int{}, nil)},
		{key: ""}, // no key: appended again unasked
		{key: "unknown", verify: lookup(nil, verifyDown)},
	}
	var fns []func()
	for _, c := range calls {
		fns = append(fns, func() { c.row, c.err = b.appendRows(ctx, "Q", [][]any{{c.key}}, c.key, c.verify) })
	}
	coalesce(t, gate, func() int { return len(b.writeQ) }, fns...)

	if calls[0].err != nil || calls[0].row != 7 {
		t.Errorf("landed: row %d, %v; want the row its verify found (7)", calls[0].row, calls[0].err)
	}
	if !errors.Is(calls[3].err, verifyDown) {
		t.Errorf("verify failed: %v", calls[3].err)
	}
	_, _, appends := a.calls()
	if len(appends) != 2 || len(appends[0].arg.rows) != 4 || len(appends[1].arg.rows) != 2 {
		t.Fatalf("append requests %+v, want all 4 rows, then the 2 not found", appends)
	}
	for _, c := range calls[1:3] {
		if c.err != nil || c.row < 20 || c.row > 21 {
			t.Errorf("appended again %q: row %d, %v", c.key, c.row, c.err)
		}
	}
}

// An unreachable limiter is asked again (failsafe-go); the callers wait
// meanwhile and get their results once it answers.
func TestUnreachableLimiterIsAskedAgain(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	failures := 1
	a := &fakeAPI{acquireFn: func(context.Context, quotaKind) error {
		mu.Lock()
		defer mu.Unlock()
		if failures > 0 {
			failures--
			return errLimiter{errors.New("connection refused")}
		}
		return nil
	}}
	b := newTestBatcher(t, a, true, 100)
	start := time.Now()
	got, err := b.read(testCtx(t), "S!A1")
	if err != nil || got[0][0][0] != "S!A1" {
		t.Fatalf("read: %v %v", got, err)
	}
	if el := time.Since(start); el < 150*time.Millisecond {
		t.Errorf("asked the limiter again after %s, want its 200 ms pause", el)
	}
}

// Close answers the callers still waiting.
func TestCloseAnswersWaitingCallers(t *testing.T) {
	gate := newSlotGate()
	b := newTestBatcher(t, &fakeAPI{acquireFn: gate.acquire}, true, 100)
	done := make(chan error, 1)
	go func() { _, err := b.read(testCtx(t), "S!A1"); done <- err }()
	gate.waitHeld(t)
	b.close()
	if err := <-done; !errors.Is(err, errClosed) {
		t.Errorf("got %v, want errClosed", err)
	}
}
