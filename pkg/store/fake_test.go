package store

import (
	"context"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/sheets"
	"marketingbot/pkg/sheets/a1"
)

// memSheets is an in-memory spreadsheet behind the Transport interface:
// reads and writes of A1 ranges, guards checked like the real transport
// (key cells read right before the write). The hooks run before an
// operation and may fail it.
type memSheets struct {
	mu     sync.Mutex
	sheets map[string][][]any // rows from row 1 (the header)

	beforeUpdate func(g *sheets.Guard, data []sheets.Values) error
	beforeAppend func(sheet string) error

	grid map[string]int // grid columns by sheet (default 26)

	reads, updates, appends, guardReads, structural int
}

var _ Transport = (*memSheets)(nil)

func newMemSheets() *memSheets {
	m := &memSheets{sheets: map[string][][]any{}}
	for title, header := range map[string][]any{
		testTitles.Auth: DefaultHeaders(SheetAuth), testTitles.Appeals: DefaultHeaders(SheetAppeals), testTitles.Queue: DefaultHeaders(SheetQueue),
		testTitles.Listings: DefaultHeaders(SheetListings), testTitles.Promotions: DefaultHeaders(SheetPromotions), testTitles.Knowledge: DefaultHeaders(SheetKnowledge),
		testTitles.Stats:     DefaultHeaders(SheetStats),
		testTitles.Templates: DefaultHeaders(SheetTemplates), testTitles.Holidays: DefaultHeaders(SheetHolidays),
	} {
		m.sheets[title] = [][]any{header}
	}
	return m
}

func (m *memSheets) SpreadsheetID() string { return "mem" }

func (m *memSheets) SheetTitles(context.Context) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for t := range m.sheets {
		out = append(out, t)
	}
	return out, nil
}

func (m *memSheets) Read(_ context.Context, ranges ...string) ([][][]any, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads++
	out := make([][][]any, len(ranges))
	for i, rng := range ranges {
		r, err := a1.Parse(rng)
		if err != nil {
			return nil, err
		}
		out[i] = m.cells(r)
	}
	return out, nil
}

// cells is the part of a sheet in r, trailing empty rows dropped as Google does.
func (m *memSheets) cells(r a1.Range) [][]any {
	rows := m.sheets[r.Sheet]
	var out [][]any
	for n := r.StartRow; n <= len(rows) && (r.EndRow == a1.Unbounded || n <= r.EndRow); n++ {
		row := rows[n-1]
		end := len(row)
		if r.EndCol != a1.Unbounded {
			end = min(end, r.EndCol+1)
		}
		var part []any
		if r.StartCol < end {
			part = slices.Clone(row[r.StartCol:end])
		}
		out = append(out, part)
	}
	for len(out) > 0 && len(out[len(out)-1]) == 0 {
		out = out[:len(out)-1]
	}
	return out
}

func (m *memSheets) Update(ctx context.Context, g *sheets.Guard, data ...sheets.Values) error {
	if m.beforeUpdate != nil {
		if err := m.beforeUpdate(g, data); err != nil {
			return err
		}
	}
	if g != nil {
		if err := m.checkGuard(ctx, g); err != nil {
			return err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.updates++
	for _, d := range data {
		r, err := a1.Parse(d.Range)
		if err != nil {
			return err
		}
		for i, cells := range d.Rows {
			for j, v := range cells {
				if v != nil { // JSON null: the cell is left as it is
					m.set(r.Sheet, r.StartRow+i, r.StartCol+j, v)
				}
			}
		}
	}
	return nil
}

// checkGuard reads a guard's ranges and judges them as the transport does:
// the header row first (ErrColumnsMoved), then the key cells (ErrRowMoved).
func (m *memSheets) checkGuard(ctx context.Context, g *sheets.Guard) error {
	m.guardReads++
	if g.Header != nil {
		rows, err := m.Read(ctx, g.Header.Range)
		if err != nil {
			return err
		}
		if !guardHolds(*g.Header, rows[0]) {
			return sheets.ErrColumnsMoved
		}
	}
	keys := append([]sheets.GuardRange{{Range: g.Range, Holds: g.Holds}}, g.More...)
	for _, k := range keys {
		rows, err := m.Read(ctx, k.Range)
		if err != nil {
			return err
		}
		if !guardHolds(k, rows[0]) {
			return sheets.ErrRowMoved
		}
	}
	return nil
}

func (m *memSheets) set(sheet string, row, col int, v any) {
	rows := m.sheets[sheet]
	for len(rows) < row {
		rows = append(rows, nil)
	}
	for len(rows[row-1]) <= col {
		rows[row-1] = append(rows[row-1], "")
	}
	rows[row-1][col] = v
	m.sheets[sheet] = rows
}

func (m *memSheets) Append(_ context.Context, sheet string, rows [][]any, _ string, _ sheets.VerifyFunc) (int, error) {
	if m.beforeAppend != nil {
		if err := m.beforeAppend(sheet); err != nil {
			return 0, err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.appends++
	first := len(m.sheets[sheet]) + 1
	for _, r := range rows {
		m.sheets[sheet] = append(m.sheets[sheet], slices.Clone(r))
	}
	return first, nil
}

// sortRows reorders a sheet's data rows as a person sorting it would.
func (m *memSheets) sortRows(sheet string, less func(a, b []any) int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	slices.SortStableFunc(m.sheets[sheet][1:], less)
}

func (m *memSheets) rows(sheet string) [][]any {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.sheets[sheet])
}

var testTitles = Titles{Auth: "Auth", Appeals: "Обращения", Queue: "Очередь", Listings: "Объекты", Promotions: "Акции", Knowledge: "База знаний", Stats: "Статистика",
	Templates: "Шаблоны", Holidays: "Праздники"}

var msk = time.FixedZone("MSK", 3*3600)

func newTestStore(t *testing.T, mem *memSheets, mod func(*Options)) *Spreadsheet {
	t.Helper()
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { rdb.Close() })
	o := Options{Titles: testTitles, Location: msk, Redis: rdb, KeyPrefix: "test:",
		Registry: prometheus.NewRegistry(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if mod != nil {
		mod(&o)
	}
	s, err := New(mem, o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// insertColumn inserts an empty column before column at (0-based) with a
// header, as a person inserting a column does: every cell from at on moves
// one to the right.
func (m *memSheets) insertColumn(sheet string, at int, header string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rows := m.sheets[sheet]
	for i, r := range rows {
		if len(r) < at {
			continue
		}
		var v any = ""
		if i == 0 {
			v = header
		}
		rows[i] = slices.Insert(slices.Clone(r), at, v)
	}
}

// setRows replaces a sheet.
func (m *memSheets) setRows(sheet string, rows [][]any) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sheets[sheet] = rows
}

func testutilCounter(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

var _ Structure = (*memSheets)(nil)

// Sheets lists the sheets in title order, each with a 1000×cols grid
// (grid[title], default 26).
func (m *memSheets) Sheets(context.Context) ([]sheets.SheetInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []sheets.SheetInfo
	for title := range m.sheets {
		cols := 26
		if c, ok := m.grid[title]; ok {
			cols = c
		}
		out = append(out, sheets.SheetInfo{ID: int64(crc32.ChecksumIEEE([]byte(title))), Title: title, Rows: 1000, Columns: cols})
	}
	slices.SortFunc(out, func(a, b sheets.SheetInfo) int { return strings.Compare(a.Title, b.Title) })
	return out, nil
}

func (m *memSheets) AddSheets(_ context.Context, titles ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.structural++
	for _, t := range titles {
		if _, ok := m.sheets[t]; ok {
			return fmt.Errorf("A sheet with the name %q already exists", t)
		}
		m.sheets[t] = nil
	}
	return nil
}

func (m *memSheets) AppendColumns(_ context.Context, id int64, n int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.structural++
	for title := range m.sheets {
		if int64(crc32.ChecksumIEEE([]byte(title))) == id {
			if m.grid == nil {
				m.grid = map[string]int{}
			}
			if _, ok := m.grid[title]; !ok {
				m.grid[title] = 26
			}
			m.grid[title] += n
		}
	}
	return nil
}

func guardHolds(g sheets.GuardRange, rows [][]any) bool {
	if g.HoldsRows != nil {
		return g.HoldsRows(rows)
	}
	return g.Holds(firstRow(rows))
}
