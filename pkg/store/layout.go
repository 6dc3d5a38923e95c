package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"marketingbot/pkg/sheets/a1"
)

// layout is where a sheet's fields stand, as its header row (row 1) says.
type layout struct {
	key      SheetKey
	title    string
	header   []string       // row 1 as read, cells as text
	cols     map[string]int // field key → 0-based column, for fields found exactly once
	fields   []Field        // the sheet's schema
	problems []string       // missing, duplicated, ambiguous headers ("Auth: missing "ФИО"")
}

// col is the column of field f, if the header row has it exactly once.
func (l *layout) col(f string) (int, bool) {
	c, ok := l.cols[f]
	return c, ok
}

// field is the schema entry of key (its header as configured).
func (l *layout) field(key string) Field {
	if i := fieldIndex(l.fields, key); i >= 0 {
		return l.fields[i]
	}
	return Field{Key: key, Header: key}
}

// missingColumn is the error of a write to a field the header row lacks.
func (l *layout) missingColumn(f string) error {
	return fmt.Errorf("store: sheet %q has no usable column %q (check the header row; --check names the problem): nothing written",
		l.title, l.field(f).Header)
}

// sameAs reports whether two layouts put every field in the same column.
func (l *layout) sameAs(o *layout) bool {
	if o == nil || len(l.cols) != len(o.cols) || len(l.problems) != len(o.problems) {
		return false
	}
	for f, c := range l.cols {
		if oc, ok := o.cols[f]; !ok || oc != c {
			return false
		}
	}
	return true
}

// parseLayout reads a header row against a sheet's schema.
func parseLayout(key SheetKey, title string, fields []Field, row []any) *layout {
	l := &layout{key: key, title: title, fields: fields, cols: map[string]int{}}
	for _, v := range row {
		l.header = append(l.header, normHeader(cellString(v)))
	}
	for _, f := range fields {
		var at []int
		for c, h := range l.header {
			if h != "" && sameHeader(h, f.Header) {
				at = append(at, c)
			}
		}
		switch {
		case len(at) == 1:
			l.cols[f.Key] = at[0]
		case len(at) == 0:
			l.problems = append(l.problems, fmt.Sprintf("%s: missing %q", title, f.Header))
		default:
			l.problems = append(l.problems, title+": "+l.clash(f, at))
		}
	}
	return l
}

// clash describes several header cells matching one field.
func (l *layout) clash(f Field, at []int) string {
	var letters, spelt []string
	alike := true
	for _, c := range at {
		letters = append(letters, a1.ColumnName(c))
		spelt = append(spelt, fmt.Sprintf("%q (%s)", l.header[c], a1.ColumnName(c)))
		alike = alike && l.header[c] == l.header[at[0]]
	}
	if alike {
		times := "twice"
		if len(at) > 2 {
			times = strconv.Itoa(len(at)) + " times"
		}
		return fmt.Sprintf("%q appears %s (%s)", f.Header, times, strings.Join(letters, ", "))
	}
	return fmt.Sprintf("%q is ambiguous: %s", f.Header, strings.Join(spelt, ", "))
}

// record is a data row read through a layout: cells by field.
type record struct {
	l   *layout
	row []any
}

func (r record) idx(f string) int {
	if c, ok := r.l.col(f); ok {
		return c
	}
	return -1
}

func (r record) str(f string) string    { return cell(r.row, r.idx(f)) }
func (r record) raw(f string) string    { return rawCell(r.row, r.idx(f)) }
func (r record) num(f string) int64     { return cellInt(r.row, r.idx(f)) }
func (r record) float(f string) float64 { return cellFloat(r.row, r.idx(f)) }

// layouts caches each sheet's layout for Options.HeaderTTL. Every read of
// data carries the header row too and refreshes it; writes use the cached
// one, and their guards verify the header cells they rely on.
type layouts struct {
	mu sync.Mutex
	m  map[SheetKey]layoutItem
}

type layoutItem struct {
	l  *layout
	at time.Time
}

func (s *Spreadsheet) title(k SheetKey) string {
	t := s.o.Titles
	switch k {
	case SheetAuth:
		return t.Auth
	case SheetAppeals:
		return t.Appeals
	case SheetQueue:
		return t.Queue
	case SheetListings:
		return t.Listings
	case SheetPromotions:
		return t.Promotions
	case SheetKnowledge:
		return t.Knowledge
	case SheetStats:
		return t.Stats
	case SheetTemplates:
		return t.Templates
	case SheetHolidays:
		return t.Holidays
	}
	return string(k)
}

// headerRange is a sheet's row 1, spelt the same everywhere so that
// concurrent reads and guards of one batch read it once.
func headerRange(title string) string {
	return a1.Range{Sheet: title, StartCol: 0, StartRow: 1, EndCol: a1.Unbounded, EndRow: 1}.String()
}

// wholeRow is every cell of row n.
func wholeRow(title string, n int) string {
	return a1.Range{Sheet: title, StartCol: 0, StartRow: n, EndCol: a1.Unbounded, EndRow: n}.String()
}

// learn parses a header row just read and makes it the cached layout; a
// change is logged.
func (s *Spreadsheet) learn(k SheetKey, headerRow []any) *layout {
	l := parseLayout(k, s.title(k), s.schema[k], headerRow)
	s.layouts.mu.Lock()
	prev := s.layouts.m[k].l
	s.layouts.m[k] = layoutItem{l: l, at: time.Now()}
	s.layouts.mu.Unlock()
	if prev != nil && !l.sameAs(prev) {
		s.m.headerChanges.WithLabelValues(l.title).Inc()
		s.log.Info("sheet header row changed; columns found again", "sheet", l.title, "problems", strings.Join(l.problems, "; "))
	}
	return l
}

// layout returns a sheet's layout: the cached one within Options.HeaderTTL,
// else its header row read now.
func (s *Spreadsheet) layout(ctx context.Context, k SheetKey) (*layout, error) {
	s.layouts.mu.Lock()
	it, ok := s.layouts.m[k]
	s.layouts.mu.Unlock()
	if ok && time.Since(it.at) < s.o.HeaderTTL {
		return it.l, nil
	}
	return s.freshLayout(ctx, k)
}

// freshLayout reads a sheet's header row now (concurrent callers share one
// read).
func (s *Spreadsheet) freshLayout(ctx context.Context, k SheetKey) (*layout, error) {
	v, err, _ := s.cache.sf.Do("layout:"+string(k), func() (any, error) {
		t := s.title(k)
		rows, err := s.t.Read(ctx, headerRange(t))
		if err != nil {
			return nil, fmt.Errorf("store: read the header row of %s: %w", t, err)
		}
		return s.learn(k, firstRow(rows[0])), nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*layout), nil
}

// dropLayout makes a sheet's layout stale: the next write reads the header
// row (and the change is counted against the old one).
func (s *Spreadsheet) dropLayout(k SheetKey) {
	s.layouts.mu.Lock()
	if it, ok := s.layouts.m[k]; ok {
		s.layouts.m[k] = layoutItem{l: it.l}
	}
	s.layouts.mu.Unlock()
}

// readSheet reads a whole sheet: row 1 gives the layout, the rest are the
// data rows (data[i] is sheet row firstDataRow+i).
func (s *Spreadsheet) readSheet(ctx context.Context, k SheetKey) (*layout, [][]any, error) {
	t := s.title(k)
	rows, err := s.t.Read(ctx, a1.WholeSheet(t).String())
	if err != nil {
		return nil, nil, fmt.Errorf("store: read %s: %w", t, err)
	}
	l := s.learn(k, firstRow(rows[0]))
	var data [][]any
	if len(rows[0]) > 1 {
		data = rows[0][1:]
	}
	return l, data, nil
}

// readRow reads row n with the header row (one request) and returns it as
// a record.
func (s *Spreadsheet) readRow(ctx context.Context, k SheetKey, n int) (record, error) {
	t := s.title(k)
	rows, err := s.t.Read(ctx, headerRange(t), wholeRow(t, n))
	if err != nil {
		return record{}, fmt.Errorf("store: read %s row %d: %w", t, n, err)
	}
	return record{l: s.learn(k, firstRow(rows[0])), row: firstRow(rows[1])}, nil
}

// readColumns reads the data rows of a few fields only (with the header row,
// in one request). If the header shows the fields elsewhere than the cached
// layout said, they are read again where they are now. Row i of the result
// is sheet row firstDataRow+i, cells in the order of fields.
func (s *Spreadsheet) readColumns(ctx context.Context, k SheetKey, fields ...string) ([][]any, error) {
	t := s.title(k)
	l, err := s.layout(ctx, k)
	for attempt := 0; err == nil && attempt < 3; attempt++ {
		ranges := []string{headerRange(t)}
		for _, f := range fields {
			c, ok := l.col(f)
			if !ok {
				return nil, l.missingColumn(f)
			}
			ranges = append(ranges, a1.Range{Sheet: t, StartCol: c, StartRow: firstDataRow, EndCol: c, EndRow: a1.Unbounded}.String())
		}
		var got [][][]any
		if got, err = s.t.Read(ctx, ranges...); err != nil {
			return nil, fmt.Errorf("store: read %s: %w", t, err)
		}
		now := s.learn(k, firstRow(got[0]))
		if !sameColumns(l, now, fields) {
			l = now // the columns moved between the cached header and this read
			continue
		}
		return zipColumns(got[1:]), nil
	}
	if err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("store: the columns of %s keep moving", t)
}

func sameColumns(a, b *layout, fields []string) bool {
	for _, f := range fields {
		ca, oka := a.col(f)
		cb, okb := b.col(f)
		if oka != okb || ca != cb {
			return false
		}
	}
	return true
}

// zipColumns turns per-field columns (each a list of one-cell rows) into
// rows of those fields.
func zipColumns(cols [][][]any) [][]any {
	n := 0
	for _, c := range cols {
		n = max(n, len(c))
	}
	rows := make([][]any, n)
	for i := range rows {
		rows[i] = make([]any, len(cols))
		for j, c := range cols {
			if i < len(c) && len(c[i]) > 0 {
				rows[i][j] = c[i][0]
			}
		}
	}
	return rows
}

// Problems lists what keeps the spreadsheet from being used: missing
// sheets, and by sheet the headers that are missing, appear more than once
// or are ambiguous (`Обращения: missing "Статус"`). It costs two read
// requests. err is a failure to read at all.
func (s *Spreadsheet) Problems(ctx context.Context) ([]string, error) {
	titles, err := s.t.SheetTitles(ctx)
	if err != nil {
		return nil, err
	}
	var problems []string
	var present []SheetKey
	for _, k := range SheetKeys {
		if slices.Contains(titles, s.title(k)) {
			present = append(present, k)
		} else {
			problems = append(problems, fmt.Sprintf("missing sheet %q", s.title(k)))
		}
	}
	if len(present) == 0 {
		return problems, nil
	}
	ranges := make([]string, len(present))
	for i, k := range present {
		ranges[i] = headerRange(s.title(k))
	}
	rows, err := s.t.Read(ctx, ranges...)
	if err != nil {
		return nil, fmt.Errorf("store: read the header rows: %w", err)
	}
	for i, k := range present {
		problems = append(problems, s.learn(k, firstRow(rows[i])).problems...)
	}
	return problems, nil
}

// Columns finds the fields of sheet k (titled title) in a header row the
// way the store does, with headers h (nil: the defaults): field key →
// 0-based column for every field found exactly once, and the problems
// (missing, appearing twice, ambiguous). Tools that read a snapshot of the
// spreadsheet (the sandbox) use it to agree with the store.
func Columns(k SheetKey, title string, h Headers, headerRow []any) (map[string]int, []string, error) {
	schema, err := resolveSchema(h)
	if err != nil {
		return nil, nil, err
	}
	l := parseLayout(k, title, schema[k], headerRow)
	return l.cols, l.problems, nil
}
