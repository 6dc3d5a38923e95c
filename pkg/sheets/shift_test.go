package sheets

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// rowModel is sheet "S" as Google keeps it for these tests: column A holds
// row keys, column E what writes put there, and values.append inserts its
// rows (INSERT_ROWS) right below the table that starts at row 1, moving
// every row under it down.
type rowModel struct {
	mu   sync.Mutex
	rows [][2]string // row n is rows[n-1]: {A, E}
	// beforeGet, when set, runs once, after the model was read for the
	// next batchGet and before its answer returns.
	beforeGet func()
}

func newRowModel(keys ...string) *rowModel {
	m := &rowModel{}
	for _, k := range keys {
		m.rows = append(m.rows, [2]string{k, ""})
	}
	return m
}

func cellRow(rng string) (col byte, row int) {
	c := strings.TrimPrefix(rng, "S!")
	n, err := strconv.Atoi(c[1:])
	if err != nil {
		panic(rng)
	}
	return c[0], n
}

func (m *rowModel) api() *fakeAPI {
	return &fakeAPI{
		batchGetFn: func(_ context.Context, ranges []string) ([][][]any, error) {
			m.mu.Lock()
			out := make([][][]any, len(ranges))
			for i, r := range ranges {
				_, n := cellRow(r)
				if n <= len(m.rows) && m.rows[n-1][0] != "" {
					out[i] = [][]any{{m.rows[n-1][0]}}
				}
			}
			hook := m.beforeGet
			m.beforeGet = nil
			m.mu.Unlock()
			if hook != nil {
				hook()
			}
			return out, nil
		},
		batchUpdateFn: func(_ context.Context, data []Values) error {
			m.mu.Lock()
			defer m.mu.Unlock()
			for _, v := range data {
				col, n := cellRow(v.Range)
				for len(m.rows) < n {
					m.rows = append(m.rows, [2]string{})
				}
				i := 0
				if col == 'E' {
					i = 1
				}
				m.rows[n-1][i] = fmt.Sprint(v.Rows[0][0])
			}
			return nil
		},
		appendRowsFn: func(_ context.Context, _ string, rows [][]any) (string, error) {
			m.mu.Lock()
			defer m.mu.Unlock()
			end := 0
			for end < len(m.rows) && m.rows[end][0] != "" {
				end++
			}
			var added [][2]string
			for _, r := range rows {
				added = append(added, [2]string{fmt.Sprint(r[0]), ""})
			}
			m.rows = append(m.rows[:end], append(added, m.rows[end:]...)...)
			return fmt.Sprintf("S!A%d:A%d", end+1, end+len(rows)), nil
		},
	}
}

// row returns the cells of row n.
func (m *rowModel) row(n int) [2]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n > len(m.rows) {
		return [2]string{}
	}
	return m.rows[n-1]
}

// writeE is a guarded write of E<n> for the row keyed key.
func writeE(ctx context.Context, update func(context.Context, *Guard, []Values) error, n int, key, v string) error {
	return update(ctx, keyGuard("S!A"+strconv.Itoa(n), key), []Values{{Range: "S!E" + strconv.Itoa(n), Rows: [][]any{{v}}}})
}

// An append that lands between a guarded write's guard read and the write
// moves the row the write was judged on (a row below a gap, as a team keeps
// them): the write is judged again, finds the row gone (ErrRowMoved, so the
// caller looks it up again) and writes nothing into the row it left.
func TestAppendBetweenGuardAndWriteJudgesAgain(t *testing.T) {
	for _, batching := range []bool{true, false} {
		t.Run(fmt.Sprintf("batching=%v", batching), func(t *testing.T) {
			m := newRowModel("key", "u2", "", "", "u5") // row 5 sits below a gap
			b := newTestBatcher(t, m.api(), batching, 100)
			ctx := testCtx(t)
			m.beforeGet = func() { // the guard read has seen row 5; an append lands now
				if _, err := b.appendRows(ctx, "S", [][]any{{"u3"}}, "", nil); err != nil {
					t.Error(err)
				}
			}
			err := writeE(ctx, b.update, 5, "u5", "ERROR")
			if !errors.Is(err, ErrRowMoved) {
				t.Fatalf("write judged before the append: %v, want ErrRowMoved after judging again", err)
			}
			if got := m.row(5); got != [2]string{} {
				t.Errorf("row 5 (the row u5 left) is %q, want it untouched", got)
			}
			if got := m.row(6); got != [2]string{"u5", ""} {
				t.Errorf("row 6 is %q, want u5 as it was", got)
			}
			if n := counterValue(t, b.m.guardStale); n != 1 {
				t.Errorf("guard_stale_total %v, want 1", n)
			}
			if err := writeE(ctx, b.update, 6, "u5", "ERROR"); err != nil || m.row(6)[1] != "ERROR" {
				t.Errorf("the write on the row's new place: %v, row 6 %q", err, m.row(6))
			}
		})
	}
}

// An append below the written row (a new row at the end of the table, a
// write inside it: the usual case) does not make the write stale.
func TestAppendBelowTheWrittenRowKeepsTheJudgement(t *testing.T) {
	m := newRowModel("key", "u2")
	b := newTestBatcher(t, m.api(), true, 100)
	ctx := testCtx(t)
	m.beforeGet = func() {
		if _, err := b.appendRows(ctx, "S", [][]any{{"u3"}}, "", nil); err != nil {
			t.Error(err)
		}
	}
	if err := writeE(ctx, b.update, 2, "u2", "done"); err != nil {
		t.Fatal(err)
	}
	if got := m.row(2); got != [2]string{"u2", "done"} {
		t.Errorf("row 2 is %q", got)
	}
	if n := counterValue(t, b.m.guardStale); n != 0 {
		t.Errorf("guard_stale_total %v, want 0", n)
	}
}

// While a guarded write to a sheet is out, an append to that sheet waits
// for it (Google could otherwise apply the append first, and the write
// would land a row too high).
func TestAppendWaitsForGuardedWriteOut(t *testing.T) {
	m := newRowModel("key", "u2", "", "u4")
	a := m.api()
	inWrite, release := make(chan struct{}), make(chan struct{})
	write := a.batchUpdateFn
	a.batchUpdateFn = func(ctx context.Context, data []Values) error {
		close(inWrite)
		<-release
		return write(ctx, data)
	}
	b := newTestBatcher(t, a, true, 100)
	var once sync.Once
	open := func() { once.Do(func() { close(release) }) }
	t.Cleanup(open) // before the batcher's cleanup waits for the write
	waiting := make(chan string, 1)
	b.shifts.appendWaits = func(sheet string) { waiting <- sheet }
	ctx := testCtx(t)

	wrote := make(chan error, 1)
	go func() { wrote <- writeE(ctx, b.update, 4, "u4", "x") }()
	<-inWrite
	appended := make(chan error, 1)
	go func() {
		_, err := b.appendRows(ctx, "S", [][]any{{"u3"}}, "", nil)
		appended <- err
	}()
	select {
	case sheet := <-waiting:
		if sheet != "S" {
			t.Errorf("the append waited for sheet %q", sheet)
		}
	case err := <-appended:
		t.Fatalf("the append went out (%v) while the guarded write was out", err)
	}
	if _, _, appends := a.calls(); len(appends) != 0 {
		t.Fatalf("the append went out while the guarded write was out")
	}
	open()
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	if err := <-appended; err != nil {
		t.Fatal(err)
	}
	if got := m.row(5); got != [2]string{"u4", "x"} {
		t.Errorf("row 5 is %q, want u4 with its write (moved down by the append after it)", got)
	}
}

// A mark names its carrier and term: another process's mark, or one from
// before this process carried again, is stale whatever the log says.
func TestMarkOfAnotherCarrierIsStale(t *testing.T) {
	s := newRowShifts()
	m := s.mark()
	if got, ok := decodeMark(m.encode("p1"), "p1"); !ok || got != m {
		t.Fatalf("decode(encode(%v)) = %v, %v", m, got, ok)
	}
	if _, ok := decodeMark(m.encode("p1"), "p2"); ok {
		t.Error("p2 read p1's mark as its own")
	}
	rch := map[string]int{"S": 5}
	if s.stale(m, rch) {
		t.Error("a fresh mark with nothing appended is stale")
	}
	s.newTerm()
	if !s.stale(m, rch) {
		t.Error("a mark from an earlier carrying term is not stale")
	}
}

// Through the fleet: the guard is read at the carrier and judged by the
// caller; an append the carrier sends in between makes the carrier refuse
// the write, and the caller judges again.
func TestFleetAppendBetweenGuardAndWriteJudgesAgain(t *testing.T) {
	_, rdb := newFleetRedis(t)
	m := newRowModel("key", "u2", "", "", "u5")
	ms := carrierFirst(t, rdb, m.api(), &fakeAPI{})
	ctx := testCtx(t)
	m.beforeGet = func() {
		if _, err := ms[0].f.appendRows(ctx, "S", [][]any{{"u3"}}, "", nil); err != nil {
			t.Error(err)
		}
	}
	if err := writeE(ctx, ms[1].f.update, 5, "u5", "ERROR"); !errors.Is(err, ErrRowMoved) {
		t.Fatalf("write judged before the append: %v, want ErrRowMoved after judging again", err)
	}
	if got := m.row(5); got != [2]string{} {
		t.Errorf("row 5 (the row u5 left) is %q, want it untouched", got)
	}
	if n := counterValue(t, ms[0].f.local.m.guardStale); n != 1 {
		t.Errorf("the carrier's guard_stale_total %v, want 1", n)
	}
}
