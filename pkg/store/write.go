package store

import (
	"context"
	"errors"
	"fmt"

	"marketingbot/pkg/sheets"
	"marketingbot/pkg/sheets/a1"
)

// put is one cell a write sets: a field of the row and its value.
type put struct {
	field string
	value any
}

// key is a key cell a guarded write checks: the field and what it must hold.
type key struct {
	field string
	holds func(v any) bool
}

// empty reports a value that writes nothing worth a column: a write of an
// empty value to a field the sheet lacks is skipped, not refused.
func empty(v any) bool {
	s, ok := v.(string)
	return v == nil || ok && s == ""
}

// writeRow writes cells of row n of sheet k, each at its field's column as
// the header row says, RAW. The guard reads, right before the write, the key
// cells (at their columns) and the header row: a moved row is refused with
// sheets.ErrRowMoved, a moved column with sheets.ErrColumnsMoved (the layout
// is then forgotten, so the next attempt reads the header row again). A
// field the header row lacks fails the write, naming sheet and header, and
// nothing is written.
func (s *Spreadsheet) writeRow(ctx context.Context, k SheetKey, n int, keys []key, cells []put) error {
	l, err := s.layout(ctx, k)
	if err != nil {
		return err
	}
	g, data, err := planWrite(l, n, keys, cells)
	if err != nil || len(data) == 0 {
		return err
	}
	err = s.t.Update(ctx, g, data...)
	if errors.Is(err, sheets.ErrColumnsMoved) {
		s.dropLayout(k)
	}
	return err
}

// planWrite maps a row write onto l: the guard and the cells.
func planWrite(l *layout, n int, keys []key, cells []put) (*sheets.Guard, []sheets.Values, error) {
	used := map[int]string{} // column → header the write relies on
	var data []sheets.Values
	for _, c := range cells {
		col, ok := l.col(c.field)
		if !ok {
			if empty(c.value) {
				continue
			}
			return nil, nil, l.missingColumn(c.field)
		}
		used[col] = l.field(c.field).Header
		data = append(data, sheets.Values{Range: a1.Cell(l.title, col, n), Rows: [][]any{{c.value}}})
	}
	g := &sheets.Guard{Sheet: l.title}
	for i, kc := range keys {
		col, ok := l.col(kc.field)
		if !ok {
			return nil, nil, l.missingColumn(kc.field)
		}
		used[col] = l.field(kc.field).Header
		holds := kc.holds
		gr := sheets.GuardRange{Range: a1.Cell(l.title, col, n), Holds: func(row []any) bool {
			var v any
			if len(row) > 0 {
				v = row[0]
			}
			return holds(v)
		}}
		if i == 0 {
			g.Range, g.Holds = gr.Range, gr.Holds
		} else {
			g.More = append(g.More, gr)
		}
	}
	if len(keys) == 0 {
		return nil, nil, fmt.Errorf("store: write to %s row %d without a key: refused", l.title, n)
	}
	g.Header = &sheets.GuardRange{Range: headerRange(l.title), Holds: func(row []any) bool {
		for col, h := range used {
			if col >= len(row) || !sameHeader(cellString(row[col]), h) {
				return false
			}
		}
		return true
	}}
	return g, data, nil
}

// newRow is a row to append: our values at our fields' columns and nil
// (nothing: the cell is left empty) everywhere else, so the team's columns
// of the new row stay untouched.
func newRow(l *layout, cells []put) ([]any, error) {
	var row []any
	for _, c := range cells {
		col, ok := l.col(c.field)
		if !ok {
			if empty(c.value) {
				continue
			}
			return nil, l.missingColumn(c.field)
		}
		for len(row) <= col {
			row = append(row, nil)
		}
		row[col] = c.value
	}
	return row, nil
}

// appendRow appends one row to sheet k. The header row is read right
// before (appends have no guard, and a new row must not put a value under a
// column that moved since the layout was cached).
func (s *Spreadsheet) appendRow(ctx context.Context, k SheetKey, cells []put, idem string, verify sheets.VerifyFunc) (int, error) {
	l, err := s.freshLayout(ctx, k)
	if err != nil {
		return 0, err
	}
	row, err := newRow(l, cells)
	if err != nil {
		return 0, err
	}
	return s.t.Append(ctx, l.title, [][]any{row}, idem, verify)
}

// cellIs is a key check: the cell, as trimmed text, equals want.
func cellIs(want string) func(any) bool {
	return func(v any) bool { return cell([]any{v}, 0) == want }
}

// cellIsInt is a key check on a number (a Telegram ID typed by hand comes
// back as a number).
func cellIsInt(want int64) func(any) bool {
	return func(v any) bool { return cellInt([]any{v}, 0) == want }
}
