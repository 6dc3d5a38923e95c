package sheets

import (
	"errors"
	"fmt"
)

// ErrColumnsMoved means a guarded write found the sheet's header row
// changed under the columns it writes or checks (someone inserted, moved or
// renamed a column); nothing was written. It is also an ErrRowMoved, so
// callers that retry moved rows retry it; they should read the header row
// again first.
var ErrColumnsMoved = fmt.Errorf("%w: the header row changed", ErrRowMoved)

// GuardRange is one more range a Guard reads right before its write, and
// what it must hold.
type GuardRange struct {
	Range string               // A1 range
	Holds func(row []any) bool // true when the cells (of the range's first row) are still what the write expects
	// HoldsRows, when set, judges every row of the range instead of Holds
	// (a column of many rows).
	HoldsRows func(rows [][]any) bool
}

func (r GuardRange) holds(rows [][]any) bool {
	if r.HoldsRows != nil {
		return r.HoldsRows(rows)
	}
	return r.Holds(firstRow(rows))
}

// ranges are the A1 ranges g reads: Range, More in order, then Header. The
// header row of a sheet is spelled the same by every caller, so a batch of
// guards reads it once (the read batcher sends each distinct range once).
func (g *Guard) ranges() []string {
	out := make([]string, 0, 2+len(g.More))
	out = append(out, g.Range)
	for _, m := range g.More {
		out = append(out, m.Range)
	}
	if g.Header != nil {
		out = append(out, g.Header.Range)
	}
	return out
}

// verdict judges what was read for g (per range of ranges(), its rows): nil
// when the write may go, ErrColumnsMoved when the header row changed (that
// explains a key-cell mismatch too), else ErrRowMoved on any key mismatch.
func (g *Guard) verdict(rows [][][]any) error {
	if len(rows) != len(g.ranges()) {
		return errors.New("sheets: guard read returned the wrong number of ranges")
	}
	if g.Header != nil && !g.Header.holds(rows[len(rows)-1]) {
		return ErrColumnsMoved
	}
	if !g.Holds(firstRow(rows[0])) {
		return ErrRowMoved
	}
	for i, m := range g.More {
		if !m.holds(rows[1+i]) {
			return ErrRowMoved
		}
	}
	return nil
}
