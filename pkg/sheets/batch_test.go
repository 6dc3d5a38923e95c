package sheets

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/api/googleapi"
)

func TestReadsCoalesceIntoOneBatchGet(t *testing.T) {
	gate := newSlotGate()
	a := &fakeAPI{acquireFn: gate.acquire}
	b := newTestBatcher(t, a, true, 100)
	ctx := testCtx(t)
	const n = 20
	got := make([][][][]any, n)
	errs := make([]error, n)
	calls := make([]func(), n)
	for i := range calls {
		// Callers 0 and 1 share a range; caller 2 reads two ranges.
		ranges := []string{fmt.Sprintf("S!A%d", max(i, 1))}
		if i == 2 {
			ranges = append(ranges, "T!B1")
		}
		calls[i] = func() { got[i], errs[i] = b.read(ctx, ranges...) }
	}
	coalesce(t, gate, func() int { return len(b.readQ) }, calls...)

	gets, _, _ := a.calls()
	if len(gets) != 1 {
		t.Fatalf("%d batchGet requests for %d concurrent reads, want 1", len(gets), n)
	}
	if len(gets[0].arg) != n {
		t.Errorf("batchGet carried %d ranges, want %d distinct ones: %v", len(gets[0].arg), n, gets[0].arg)
	}
	if !gets[0].preAcquired {
		t.Error("the batch's request did not use the slot the loop took")
	}
	for i := range n {
		want := []string{fmt.Sprintf("S!A%d", max(i, 1))}
		if i == 2 {
			want = append(want, "T!B1")
		}
		if errs[i] != nil || len(got[i]) != len(want) {
			t.Fatalf("caller %d: %v %v", i, got[i], errs[i])
		}
		for j, w := range want {
			if got[i][j][0][0] != w {
				t.Errorf("caller %d range %d: got %v, want the rows of %s", i, j, got[i][j], w)
			}
		}
	}
}

func TestWritesCoalesceIntoOneBatchUpdate(t *testing.T) {
	gate := newSlotGate()
	a := &fakeAPI{acquireFn: gate.acquire}
	b := newTestBatcher(t, a, true, 100)
	ctx := testCtx(t)
	const n = 10
	errs := make([]error, n)
	calls := make([]func(), n)
	for i := range calls {
		calls[i] = func() { errs[i] = b.update(ctx, nil, []Values{{Range: fmt.Sprintf("S!A%d", i+2), Rows: [][]any{{i}}}}) }
	}
	coalesce(t, gate, func() int { return len(b.writeQ) }, calls...)

	_, updates, _ := a.calls()
	if len(updates) != 1 || len(updates[0].arg) != n || !updates[0].preAcquired {
		t.Fatalf("updates: %+v, want one batchUpdate of %d ranges on the loop's slot", updates, n)
	}
	for i, err := range errs {
		if err != nil {
			t.Errorf("caller %d: %v", i, err)
		}
	}
}

// One slot carries the updates in one batchUpdate and the appends in one
// values.append per sheet; each appending caller gets the row its rows got.
func TestAppendsGoOutOnePerSheet(t *testing.T) {
	gate := newSlotGate()
	var slots atomic.Int32 // taken by the batcher (the loop's and those taken before an append)
	a := &fakeAPI{acquireFn: func(ctx context.Context, kind quotaKind) error {
		slots.Add(1)
		return gate.acquire(ctx, kind)
	}}
	b := newTestBatcher(t, a, true, 100)
	ctx := testCtx(t)
	type appendCall struct {
		sheet string
		id    string
		row   int
		err   error
	}
	apps := []*appendCall{{sheet: "A", id: "a1"}, {sheet: "B", id: "b1"}, {sheet: "A", id: "a2"}, {sheet: "A", id: "a3"}, {sheet: "B", id: "b2"}}
	var calls []func()
	for _, c := range apps {
		calls = append(calls, func() { c.row, c.err = b.appendRows(ctx, c.sheet, [][]any{{c.id}}, "", nil) })
	}
	var updErr [2]error
	for i := range updErr {
		calls = append(calls, func() { updErr[i] = b.update(ctx, nil, []Values{{Range: fmt.Sprintf("U!A%d", i), Rows: [][]any{{i}}}}) })
	}
	coalesce(t, gate, func() int { return len(b.writeQ) }, calls...)

	_, updates, appends := a.calls()
	if len(updates) != 1 || len(updates[0].arg) != 2 {
		t.Fatalf("updates: %+v, want one batchUpdate of 2 ranges", updates)
	}
	if len(appends) != 2 {
		t.Fatalf("%d append requests, want one per sheet (2)", len(appends))
	}
	// Every request pays one slot: taken by the batcher (it says so with
	// preAcquired) or by the request itself.
	inside := 0
	for _, r := range append([]bool{updates[0].preAcquired}, appends[0].preAcquired, appends[1].preAcquired) {
		if !r {
			inside++
		}
	}
	if n := int(slots.Load()) + inside; n != 3 {
		t.Errorf("%d slots taken for 3 requests (%d by the batcher, %d inside requests), want one each", n, slots.Load(), inside)
	}
	position := map[string]int{} // id → index of its row in its sheet's request
	for _, ap := range appends {
		for i, row := range ap.arg.rows {
			if !strings.HasPrefix(fmt.Sprint(row[0]), strings.ToLower(ap.arg.sheet)) {
				t.Errorf("row %v appended to sheet %s", row, ap.arg.sheet)
			}
			position[fmt.Sprint(row[0])] = i
		}
	}
	for _, c := range apps {
		if c.err != nil || c.row != 10+position[c.id] {
			t.Errorf("append %s: row %d, err %v; want row %d", c.id, c.row, c.err, 10+position[c.id])
		}
	}
	if updErr[0] != nil || updErr[1] != nil {
		t.Errorf("updates: %v", updErr)
	}
}

var errBadRequest = &googleapi.Error{Code: http.StatusBadRequest, Message: "Unable to parse range"}

// A bad range fails its caller only: the batch falls back to one request per caller.
func TestBadRangeFailsOnlyItsCaller(t *testing.T) {
	gate := newSlotGate()
	a := &fakeAPI{acquireFn: gate.acquire}
	a.batchGetFn = func(_ context.Context, ranges []string) ([][][]any, error) {
		if slices.Contains(ranges, "Gone!A1") {
			return nil, errBadRequest
		}
		out := make([][][]any, len(ranges))
		for i, r := range ranges {
			out[i] = [][]any{{r}}
		}
		return out, nil
	}
	b := newTestBatcher(t, a, true, 100)
	ctx := testCtx(t)
	ranges := []string{"S!A1", "Gone!A1", "S!A2", "S!A3"}
	errs := make([]error, len(ranges))
	got := make([][][][]any, len(ranges))
	var calls []func()
	for i, r := range ranges {
		calls = append(calls, func() { got[i], errs[i] = b.read(ctx, r) })
	}
	coalesce(t, gate, func() int { return len(b.readQ) }, calls...)

	for i, r := range ranges {
		if r == "Gone!A1" {
			var gerr *googleapi.Error
			if !errors.As(errs[i], &gerr) || gerr.Code != http.StatusBadRequest {
				t.Errorf("bad range: got %v, want its 400", errs[i])
			}
			continue
		}
		if errs[i] != nil || got[i][0][0][0] != r {
			t.Errorf("caller of %s: %v %v", r, got[i], errs[i])
		}
	}
	if gets, _, _ := a.calls(); len(gets) != 1+len(ranges) {
		t.Errorf("%d batchGet requests, want the batch and then one per caller (%d)", len(gets), 1+len(ranges))
	}
}

// A write the API refuses (a cell too long) fails its caller only.
func TestBadWriteFailsOnlyItsCaller(t *testing.T) {
	gate := newSlotGate()
	a := &fakeAPI{acquireFn: gate.acquire}
	a.batchUpdateFn = func(_ context.Context, data []Values) error {
		for _, d := range data {
			if d.Range == "S!A2" {
				return errBadRequest
			}
		}
		return nil
	}
	b := newTestBatcher(t, a, true, 100)
	ctx := testCtx(t)
	errs := make([]error, 3)
	var calls []func()
	for i := range errs {
		calls = append(calls, func() { errs[i] = b.update(ctx, nil, []Values{{Range: fmt.Sprintf("S!A%d", i+1), Rows: [][]any{{i}}}}) })
	}
	coalesce(t, gate, func() int { return len(b.writeQ) }, calls...)
	if errs[0] != nil || errs[2] != nil || !errors.Is(errs[1], errBadRequest) {
		t.Errorf("got %v, want only S!A2's write to fail", errs)
	}
}

// An appended row the API refuses fails its caller only; the other rows of
// the request are appended one by one.
func TestBadAppendFailsOnlyItsCaller(t *testing.T) {
	gate := newSlotGate()
	a := &fakeAPI{acquireFn: gate.acquire}
	a.appendRowsFn = func(_ context.Context, _ string, rows [][]any) (string, error) {
		for _, r := range rows {
			if r[0] == "too long" {
				return "", errBadRequest
			}
		}
		return fmt.Sprintf("'Q'!A10:A%d", 9+len(rows)), nil
	}
	b := newTestBatcher(t, a, true, 100)
	ctx := testCtx(t)
	cells := []string{"ok 1", "too long", "ok 2"}
	errs := make([]error, len(cells))
	var calls []func()
	for i, c := range cells {
		calls = append(calls, func() { _, errs[i] = b.appendRows(ctx, "Q", [][]any{{c}}, "", nil) })
	}
	coalesce(t, gate, func() int { return len(b.writeQ) }, calls...)
	if errs[0] != nil || errs[2] != nil || !errors.Is(errs[1], errBadRequest) {
		t.Errorf("got %v, want only the long row to fail", errs)
	}
}

// A request that fails fails exactly the callers it carried: appends to
// sheet A (503) fail, appends to B and the updates of the same slot succeed.
func TestFailedRequestFailsExactlyItsCallers(t *testing.T) {
	gate := newSlotGate()
	unavailable := &googleapi.Error{Code: http.StatusServiceUnavailable}
	a := &fakeAPI{acquireFn: gate.acquire}
	a.appendRowsFn = func(_ context.Context, sheet string, rows [][]any) (string, error) {
		if sheet == "A" {
			return "", unavailable
		}
		return "'B'!A5:A6", nil
	}
	b := newTestBatcher(t, a, true, 100)
	ctx := testCtx(t)
	sheets := []string{"A", "B", "A", "B"}
	errs := make([]error, len(sheets))
	var updErr error
	calls := []func(){func() { updErr = b.update(ctx, nil, []Values{{Range: "U!A1", Rows: [][]any{{1}}}}) }}
	for i, sh := range sheets {
		calls = append(calls, func() { _, errs[i] = b.appendRows(ctx, sh, [][]any{{i}}, "", nil) })
	}
	coalesce(t, gate, func() int { return len(b.writeQ) }, calls...)
	for i, sh := range sheets {
		if failed := errors.Is(errs[i], unavailable); failed != (sh == "A") {
			t.Errorf("append %d to %s: %v", i, sh, errs[i])
		}
	}
	if updErr != nil {
		t.Errorf("update in the same slot: %v", updErr)
	}
}

// guardRows answers guard reads: range → the key cells now in the sheet.
func guardRows(cells map[string]string) func(context.Context, []string) ([][][]any, error) {
	return func(_ context.Context, ranges []string) ([][][]any, error) {
		out := make([][][]any, len(ranges))
		for i, r := range ranges {
			out[i] = [][]any{{cells[r]}}
		}
		return out, nil
	}
}

func keyGuard(rng, want string) *Guard {
	return &Guard{Sheet: "S", Range: rng, Holds: func(row []any) bool { return len(row) > 0 && row[0] == want }}
}

// A guarded write whose key cells changed gets ErrRowMoved and writes
// nothing; the other writes of its batch go out.
func TestGuardedWriteOnMovedRowWritesNothing(t *testing.T) {
	gate := newSlotGate()
	a := &fakeAPI{acquireFn: gate.acquire, batchGetFn: guardRows(map[string]string{"S!A2": "u2", "S!A3": "someone else", "S!A4": "u4"})}
	b := newTestBatcher(t, a, true, 100)
	ctx := testCtx(t)
	ops := []struct {
		guard *Guard
		cell  string
	}{
		{keyGuard("S!A2", "u2"), "S!E2"},
		{keyGuard("S!A3", "u3"), "S!E3"}, // the row moved: someone else is at row 3 now
		{nil, "S!E9"},
		{keyGuard("S!A4", "u4"), "S!E4"},
	}
	errs := make([]error, len(ops))
	var calls []func()
	for i, op := range ops {
		calls = append(calls, func() { errs[i] = b.update(ctx, op.guard, []Values{{Range: op.cell, Rows: [][]any{{"x"}}}}) })
	}
	coalesce(t, gate, func() int { return len(b.writeQ) }, calls...)

	for i, err := range errs {
		if moved := errors.Is(err, ErrRowMoved); moved != (i == 1) || (!moved && err != nil) {
			t.Errorf("write %d: %v", i, err)
		}
	}
	gets, updates, _ := a.calls()
	if len(gets) != 1 || len(gets[0].arg) != 3 {
		t.Errorf("guard reads: %+v, want one batchGet of the 3 key ranges", gets)
	}
	if len(updates) != 1 {
		t.Fatalf("%d batchUpdates, want 1", len(updates))
	}
	var written []string
	for _, v := range updates[0].arg {
		written = append(written, v.Range)
	}
	sort.Strings(written)
	if want := []string{"S!E2", "S!E4", "S!E9"}; !slices.Equal(written, want) {
		t.Errorf("written %v, want %v (nothing on the moved row)", written, want)
	}
	if got := counterValue(t, b.m.rowMoved.WithLabelValues("S")); got != 1 {
		t.Errorf("row_moved_total %v, want 1", got)
	}
}

// When the guard read itself fails, the guarded writes fail and write
// nothing; the unguarded ones go out.
func TestGuardReadFailureFailsOnlyGuardedWrites(t *testing.T) {
	gate := newSlotGate()
	unavailable := &googleapi.Error{Code: http.StatusServiceUnavailable}
	a := &fakeAPI{acquireFn: gate.acquire, batchGetFn: func(context.Context, []string) ([][][]any, error) { return nil, unavailable }}
	b := newTestBatcher(t, a, true, 100)
	ctx := testCtx(t)
	var guarded, plain error
	coalesce(t, gate, func() int { return len(b.writeQ) },
		func() {
			guarded = b.update(ctx, keyGuard("S!A2", "u2"), []Values{{Range: "S!E2", Rows: [][]any{{"x"}}}})
		},
		func() { plain = b.update(ctx, nil, []Values{{Range: "S!E9", Rows: [][]any{{"y"}}}}) })
	if !errors.Is(guarded, unavailable) || plain != nil {
		t.Errorf("guarded: %v, plain: %v", guarded, plain)
	}
	if _, updates, _ := a.calls(); len(updates) != 1 || len(updates[0].arg) != 1 || updates[0].arg[0].Range != "S!E9" {
		t.Errorf("updates: %+v, want only the unguarded write", updates)
	}
}

// MaxBatch bounds the callers per request; the rest go out in the next ones.
func TestMaxBatchSplitsRequests(t *testing.T) {
	for _, kind := range []string{"read", "update"} {
		t.Run(kind, func(t *testing.T) {
			gate := newSlotGate()
			a := &fakeAPI{acquireFn: gate.acquire}
			b := newTestBatcher(t, a, true, 3)
			ctx := testCtx(t)
			var calls []func()
			var mu sync.Mutex
			var errs []error
			for i := range 7 {
				rng := fmt.Sprintf("S!A%d", i+1)
				calls = append(calls, func() {
					var err error
					if kind == "read" {
						_, err = b.read(ctx, rng)
					} else {
						err = b.update(ctx, nil, []Values{{Range: rng, Rows: [][]any{{i}}}})
					}
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				})
			}
			q := func() int { return len(b.readQ) }
			if kind == "update" {
				q = func() int { return len(b.writeQ) }
			}
			coalesce(t, gate, q, calls...)
			gets, updates, _ := a.calls()
			var sizes []int
			for _, g := range gets {
				sizes = append(sizes, len(g.arg))
			}
			for _, u := range updates {
				sizes = append(sizes, len(u.arg))
			}
			if !slices.Equal(sizes, []int{3, 3, 1}) {
				t.Errorf("request sizes %v, want [3 3 1]", sizes)
			}
			for _, err := range errs {
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
}

// The batchGet URL stays short: callers beyond maxURL go in the next request.
func TestLongURLSplitsReads(t *testing.T) {
	b := &batcher{maxURL: 60, maxBatch: 100}
	var ops []*readOp
	for i := range 4 {
		ops = append(ops, &readOp{ranges: []string{fmt.Sprintf("Sheet!A%d:K%d", i+1, i+1)}})
	}
	batch, rest := b.splitReads(ops)
	if len(batch) != 2 || len(rest) != 2 { // 23 characters a range with "&ranges="
		t.Errorf("split %d + %d, want 2 + 2", len(batch), len(rest))
	}
	if batch, rest := b.splitReads(ops[:1]); len(batch) != 1 || rest != nil {
		t.Error("a single caller always goes out, however long")
	}
}
