package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/sheets"
	"marketingbot/pkg/sheets/a1"
)

// Structure is what InitSheets needs of the transport besides reading and
// writing cells: the sheets and their grids, adding sheets and columns.
// *sheets.Client implements it.
type Structure interface {
	Sheets(ctx context.Context) ([]sheets.SheetInfo, error)
	AddSheets(ctx context.Context, titles ...string) error
	AppendColumns(ctx context.Context, sheetID int64, n int) error
}

var _ Structure = (*sheets.Client)(nil)

// InitReport is what InitSheets did and what it left to a person.
type InitReport struct {
	Done     []string // one line per change ("added sheet "Очередь"", "Auth: added headers …")
	Problems []string // headers that appear twice or are ambiguous: a person decides which column is meant
}

// InitSheets makes the spreadsheet fit the contract without touching its
// data: it adds the sheets that are missing, and in every sheet writes the
// headers of the fields it lacks into row 1, in the first columns to the
// right of every column that holds anything (so no column of the team's,
// with or without a header, is claimed), RAW. A second run finds nothing to
// do. Headers that appear twice or are ambiguous are reported, not changed.
func (s *Spreadsheet) InitSheets(ctx context.Context) (InitReport, error) {
	var rep InitReport
	st, ok := s.t.(Structure)
	if !ok {
		return rep, errors.New("store: init sheets: the transport cannot add sheets")
	}
	infos, err := st.Sheets(ctx)
	if err != nil {
		return rep, err
	}
	var missing []string
	for _, k := range SheetKeys {
		if !slices.ContainsFunc(infos, func(i sheets.SheetInfo) bool { return i.Title == s.title(k) }) {
			missing = append(missing, s.title(k))
		}
	}
	if len(missing) > 0 {
		if err := st.AddSheets(ctx, missing...); err != nil {
			return rep, fmt.Errorf("store: init sheets: %w", err)
		}
		for _, t := range missing {
			rep.Done = append(rep.Done, fmt.Sprintf("added sheet %q", t))
		}
		if infos, err = st.Sheets(ctx); err != nil {
			return rep, err
		}
	}
	ranges := make([]string, len(SheetKeys))
	for i, k := range SheetKeys {
		ranges[i] = a1.WholeSheet(s.title(k)).String()
	}
	all, err := s.t.Read(ctx, ranges...)
	if err != nil {
		return rep, fmt.Errorf("store: init sheets: read: %w", err)
	}
	for i, k := range SheetKeys {
		info := infos[slices.IndexFunc(infos, func(in sheets.SheetInfo) bool { return in.Title == s.title(k) })]
		done, problems, err := s.initHeaders(ctx, st, k, info, all[i])
		rep.Done, rep.Problems = append(rep.Done, done...), append(rep.Problems, problems...)
		if err != nil {
			return rep, err
		}
		s.dropLayout(k)
	}
	return rep, nil
}

// initHeaders writes the missing headers of one sheet whose cells are rows:
// what it did, and the headers a person must fix.
func (s *Spreadsheet) initHeaders(ctx context.Context, st Structure, k SheetKey, info sheets.SheetInfo, rows [][]any) (done, problems []string, err error) {
	header := firstRow(rows)
	l := parseLayout(k, info.Title, s.schema[k], header)
	var add []any
	var names []string
	for _, f := range l.fields {
		if _, ok := l.col(f.Key); ok {
			continue
		}
		if slices.ContainsFunc(l.header, func(h string) bool { return sameHeader(h, f.Header) }) {
			continue // appears twice or is ambiguous: reported below
		}
		add = append(add, f.Header)
	}
	for _, p := range l.problems {
		if !strings.Contains(p, ": missing ") {
			problems = append(problems, p)
		}
	}
	if len(add) == 0 {
		return nil, problems, nil
	}
	from := usedWidth(rows)
	if need := from + len(add) - info.Columns; need > 0 {
		if err := st.AppendColumns(ctx, info.ID, need); err != nil {
			return nil, problems, fmt.Errorf("store: init sheets: %s: %w", info.Title, err)
		}
		done = append(done, fmt.Sprintf("%s: added %d columns to the grid", info.Title, need))
	}
	for i, h := range add {
		names = append(names, fmt.Sprintf("%q (%s1)", h, a1.ColumnName(from+i)))
	}
	read := slices.Clone(header)
	g := &sheets.Guard{Sheet: info.Title, Range: headerRange(info.Title), Holds: func(row []any) bool {
		return slices.EqualFunc(trimRow(row), trimRow(read), func(a, b any) bool { return cellString(a) == cellString(b) })
	}}
	data := []sheets.Values{{Range: a1.Row(info.Title, from, from+len(add)-1, 1), Rows: [][]any{add}}}
	added := fmt.Sprintf("%s: added headers %s", info.Title, strings.Join(names, ", "))
	marked := 0
	if at := slices.Index(add, any(l.field(fDeliveredAt).Header)); k == SheetQueue && at >= 0 {
		var fill *sheets.Values
		fill, marked = s.markOldDeliveries(l, rows, from+at, g)
		if fill != nil {
			data = append(data, *fill)
		}
	}
	err = s.t.Update(ctx, g, data...)
	if errors.Is(err, sheets.ErrRowMoved) {
		return done, problems, fmt.Errorf("store: init sheets: %s changed meanwhile (its header row or its rows); nothing written there: run again", info.Title)
	}
	if err != nil {
		return done, problems, fmt.Errorf("store: init sheets: %s: %w", info.Title, err)
	}
	done = append(done, added)
	if marked > 0 {
		done = append(done, fmt.Sprintf("%s: %d finished requests of the bot before marked delivered (delivered_at), so they are not sent again", info.Title, marked))
	}
	return done, problems, nil
}

// markOldDeliveries: when the Queue gets its delivered_at column, the
// finished rows (DONE, ERROR) already in it were the previous bot's, which
// delivered them; without a delivered_at our poller would send every one
// of them again. It returns the cells that mark them (now) in the new
// column col, nothing in the others, and adds to g a check that the status
// column still reads as it was read, so a sort in between refuses the
// write. A Queue without a usable status column has nothing to mark.
func (s *Spreadsheet) markOldDeliveries(l *layout, rows [][]any, col int, g *sheets.Guard) (*sheets.Values, int) {
	sc, ok := l.col(fStatus)
	if !ok || len(rows) < 2 {
		return nil, 0
	}
	data := rows[1:]
	stamp := s.fmtTime(time.Now())
	fill := make([][]any, len(data))
	marked := 0
	for i, row := range data {
		fill[i] = []any{nil}
		if domain.ParseRequestStatus(cell(row, sc)).Final() {
			fill[i][0] = stamp
			marked++
		}
	}
	if marked == 0 {
		return nil, 0
	}
	last := firstDataRow + len(data) - 1
	statuses := make([]string, len(data))
	for i, row := range data {
		statuses[i] = cell(row, sc)
	}
	g.More = append(g.More, sheets.GuardRange{
		Range: a1.Range{Sheet: l.title, StartCol: sc, StartRow: firstDataRow, EndCol: sc, EndRow: last}.String(),
		HoldsRows: func(now [][]any) bool {
			for i, want := range statuses {
				var got string
				if i < len(now) {
					got = cell(now[i], 0)
				}
				if got != want {
					return false
				}
			}
			return true
		}})
	return &sheets.Values{Range: a1.Range{Sheet: l.title, StartCol: col, StartRow: firstDataRow, EndCol: col, EndRow: last}.String(), Rows: fill}, marked
}

// usedWidth is the number of columns up to the last one holding anything.
func usedWidth(rows [][]any) int {
	w := 0
	for _, r := range rows {
		w = max(w, len(trimRow(r)))
	}
	return w
}

// trimRow drops a row's trailing empty cells.
func trimRow(r []any) []any {
	n := len(r)
	for n > 0 && strings.TrimSpace(cellString(r[n-1])) == "" {
		n--
	}
	return r[:n]
}
