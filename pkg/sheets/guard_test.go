package sheets

import (
	"context"
	"errors"
	"slices"
	"testing"
)

// headerGuard is a key guard that also expects col of the header row S!1:1
// to read want.
func headerGuard(keyRange, key string, col int, want string) *Guard {
	g := keyGuard(keyRange, key)
	g.Header = &GuardRange{Range: "S!1:1", Holds: func(row []any) bool { return col < len(row) && row[col] == want }}
	return g
}

// The guards of one batch read the sheet's header row once, in the same
// batchGet as their key cells; a write whose header cells changed gets
// ErrColumnsMoved (also an ErrRowMoved) and writes nothing, the others go out.
func TestGuardChecksHeaderCellsInTheSameRead(t *testing.T) {
	gate := newSlotGate()
	header := []any{"id", "Заметка", "status"} // a column was inserted at B: status moved from B to C
	a := &fakeAPI{acquireFn: gate.acquire, batchGetFn: func(_ context.Context, ranges []string) ([][][]any, error) {
		out := make([][][]any, len(ranges))
		for i, r := range ranges {
			if r == "S!1:1" {
				out[i] = [][]any{header}
			} else {
				out[i] = [][]any{{map[string]any{"S!A2": "u2", "S!A3": "u3", "S!A4": "u4"}[r]}}
			}
		}
		return out, nil
	}}
	b := newTestBatcher(t, a, true, 100)
	ctx := testCtx(t)
	ops := []struct {
		guard *Guard
		cell  string
	}{
		{headerGuard("S!A2", "u2", 2, "status"), "S!C2"}, // knows the new layout
		{headerGuard("S!A3", "u3", 1, "status"), "S!B3"}, // stale layout: would write into the new column
		{headerGuard("S!A4", "u4", 2, "status"), "S!C4"},
	}
	errs := make([]error, len(ops))
	var calls []func()
	for i, op := range ops {
		calls = append(calls, func() { errs[i] = b.update(ctx, op.guard, []Values{{Range: op.cell, Rows: [][]any{{"DONE"}}}}) })
	}
	coalesce(t, gate, func() int { return len(b.writeQ) }, calls...)
	for i, err := range errs {
		stale := i == 1
		if stale != errors.Is(err, ErrColumnsMoved) || stale != errors.Is(err, ErrRowMoved) || (!stale && err != nil) {
			t.Errorf("write %d: %v", i, err)
		}
	}
	gets, updates, _ := a.calls()
	if len(gets) != 1 {
		t.Fatalf("guard reads: %+v, want one batchGet", gets)
	}
	want := []string{"S!1:1", "S!A2", "S!A3", "S!A4"}
	got := slices.Clone(gets[0].arg)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("guard read ranges %v, want %v (the header row once)", got, want)
	}
	var written []string
	for _, u := range updates {
		for _, v := range u.arg {
			written = append(written, v.Range)
		}
	}
	slices.Sort(written)
	if !slices.Equal(written, []string{"S!C2", "S!C4"}) {
		t.Errorf("written %v, want S!C2 and S!C4 only", written)
	}
}

// Without batching the guard reads its key cells, its further key cells and
// the header row in one batchGet.
func TestGuardWithoutBatching(t *testing.T) {
	a := &fakeAPI{batchGetFn: func(_ context.Context, ranges []string) ([][][]any, error) {
		return [][][]any{{{"u2"}}, {{"2026"}}, {{"id", "status"}}}, nil
	}}
	b := newTestBatcher(t, a, false, 100)
	g := headerGuard("S!A2", "u2", 1, "status")
	g.More = []GuardRange{{Range: "S!D2", Holds: func(row []any) bool { return len(row) > 0 && row[0] == "2026" }}}
	if err := b.update(testCtx(t), g, []Values{{Range: "S!B2", Rows: [][]any{{"x"}}}}); err != nil {
		t.Fatal(err)
	}
	g.More[0].Holds = func([]any) bool { return false }
	if err := b.update(testCtx(t), g, []Values{{Range: "S!B2", Rows: [][]any{{"x"}}}}); !errors.Is(err, ErrRowMoved) || errors.Is(err, ErrColumnsMoved) {
		t.Errorf("a further key cell moved: %v, want ErrRowMoved", err)
	}
	gets, updates, _ := a.calls()
	if len(gets) != 2 || !slices.Equal(gets[0].arg, []string{"S!A2", "S!D2", "S!1:1"}) || len(updates) != 1 {
		t.Errorf("reads %+v, %d writes", gets, len(updates))
	}
}
