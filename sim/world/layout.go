package world

import (
	"context"
	"fmt"
	"maps"
	"time"

	"google.golang.org/api/option"
	sheetsapi "google.golang.org/api/sheets/v4"

	"marketingbot/pkg/config"
	"marketingbot/pkg/sheets/a1"
	"marketingbot/pkg/store"
	sheetsemu "marketingbot/sim/emulator/sheets"
	"marketingbot/sim/fixtures"
)

// Helpers for the spreadsheet laid out like a team's own (the header
// contract, docs/ARCHITECTURE.md §5): load one, take the team's cells to
// compare before and after, find our cells by header, and change the
// layout under running roles the way a person does.

// LoadLayout replaces the spreadsheet with d laid out as l. Call it before
// the roles start.
func (e *Env) LoadLayout(l fixtures.Layout, d fixtures.Data) {
	e.T.Helper()
	if err := e.Sheets.Load(e.SpreadsheetID, fixtures.SpreadsheetIn(e.SpreadsheetID, fixtures.DefaultTitles(), l, d, mustLoc())); err != nil {
		e.T.Fatal(err)
	}
}

// LoadSpreadsheet replaces the spreadsheet with s as given.
func (e *Env) LoadSpreadsheet(s sheetsemu.Spreadsheet) {
	e.T.Helper()
	s.SpreadsheetID = e.SpreadsheetID
	if err := e.Sheets.Load(e.SpreadsheetID, s); err != nil {
		e.T.Fatal(err)
	}
}

// Snapshot is the spreadsheet as the emulator holds it.
func (e *Env) Snapshot() sheetsemu.Spreadsheet {
	e.T.Helper()
	snap, err := e.Sheets.Snapshot(e.SpreadsheetID)
	if err != nil {
		e.T.Fatal(err)
	}
	return snap
}

// TeamCells are the non-empty cells of the team's own columns (l.TeamCols
// of our sheets) and of the team's own sheets, by "Title!A1", formulas
// as "formula: =…". Comparing two of them cell by cell shows whether
// anything of the team's was written.
func (e *Env) TeamCells(l fixtures.Layout) map[string]string {
	e.T.Helper()
	ours := map[string]store.SheetKey{}
	for _, k := range store.SheetKeys {
		ours[fixtures.SheetTitle(fixtures.DefaultTitles(), k)] = k
	}
	out := map[string]string{}
	for _, sh := range e.Snapshot().Sheets {
		k, isOurs := ours[sh.Title]
		var cols map[int]bool
		if isOurs {
			cols = map[int]bool{}
			for _, c := range l.TeamCols(k) {
				cols[c] = true
			}
		}
		for r, row := range sh.Rows {
			for c, v := range row {
				if (cols == nil || cols[c]) && v != nil && fmt.Sprint(v) != "" {
					out[fmt.Sprintf("%s!%s%d", sh.Title, a1.ColumnName(c), r+1)] = fmt.Sprintf("%T %v", v, v)
				}
			}
		}
		for ref, f := range sh.Formulas {
			c := a1.ColumnIndex(trimDigits(ref))
			if cols == nil || cols[c] {
				out[sh.Title+"!"+ref] = "formula: " + f
			}
		}
	}
	return out
}

// DiffCells lists the cells that differ between two TeamCells.
func DiffCells(before, after map[string]string) []string {
	var out []string
	keys := maps.Clone(before)
	maps.Copy(keys, after)
	for k := range keys {
		if before[k] != after[k] {
			out = append(out, fmt.Sprintf("%s: %q → %q", k, before[k], after[k]))
		}
	}
	return out
}

func trimDigits(ref string) string {
	i := len(ref)
	for i > 0 && ref[i-1] >= '0' && ref[i-1] <= '9' {
		i--
	}
	return ref[:i]
}

// LayoutRows are the data rows of sheet k whose field equals value, each
// as field → cell text, read by l's columns.
func (e *Env) LayoutRows(l fixtures.Layout, k store.SheetKey, field, value string) []map[string]string {
	e.T.Helper()
	rows := e.Sheet(fixtures.SheetTitle(fixtures.DefaultTitles(), k))
	var out []map[string]string
	for r := 1; r < len(rows); r++ {
		if Cell(rows, r, l.Col(k, field)) != value {
			continue
		}
		m := map[string]string{}
		for _, f := range store.Schema(k) {
			m[f.Key] = Cell(rows, r, l.Col(k, f.Key))
		}
		out = append(out, m)
	}
	return out
}

// InsertColumn inserts an empty column before column at (0-based) of a
// sheet and gives it a header, through the Sheets API as a person's edit
// in the browser reaches Google: every column from at on moves right.
func (e *Env) InsertColumn(title string, at int, header string) {
	e.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	svc := e.sheetsAPI(ctx)
	var id int64 = -1
	for _, sh := range e.Snapshot().Sheets {
		if sh.Title == title && sh.SheetID != nil {
			id = *sh.SheetID
		}
	}
	if id < 0 {
		e.T.Fatalf("no sheet %q", title)
	}
	req := &sheetsapi.BatchUpdateSpreadsheetRequest{Requests: []*sheetsapi.Request{{InsertDimension: &sheetsapi.InsertDimensionRequest{
		Range: &sheetsapi.DimensionRange{SheetId: id, Dimension: "COLUMNS", StartIndex: int64(at), EndIndex: int64(at + 1)}}}}}
	if _, err := svc.Spreadsheets.BatchUpdate(e.SpreadsheetID, req).Context(ctx).Do(); err != nil {
		e.T.Fatal(err)
	}
	vr := &sheetsapi.ValueRange{Values: [][]any{{header}}}
	if _, err := svc.Spreadsheets.Values.Update(e.SpreadsheetID, a1.Cell(title, at, 1), vr).ValueInputOption("RAW").Context(ctx).Do(); err != nil {
		e.T.Fatal(err)
	}
}

// Settings are the configuration's environment variables as a map.
func (e *Env) Settings() map[string]string { return maps.Clone(e.settings) }

// Titles are the sheet titles of the world's configuration.
func (e *Env) Titles() config.SheetTitles { return fixtures.DefaultTitles() }

// WriteCell writes one cell (0-based column, 1-based row) through the
// Sheets API, RAW, as an operator's edit reaches Google.
func (e *Env) WriteCell(title string, col, row int, value any) {
	e.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	vr := &sheetsapi.ValueRange{Values: [][]any{{value}}}
	svc := e.sheetsAPI(ctx)
	if _, err := svc.Spreadsheets.Values.Update(e.SpreadsheetID, a1.Cell(title, col, row), vr).ValueInputOption("RAW").Context(ctx).Do(); err != nil {
		e.T.Fatal(err)
	}
}

// sheetsAPI is the real Sheets client on the emulator, as a person's
// browser edits reach the spreadsheet.
func (e *Env) sheetsAPI(ctx context.Context) *sheetsapi.Service {
	e.T.Helper()
	svc, err := sheetsapi.NewService(ctx, option.WithEndpoint(e.Sheets.URL+"/"), option.WithoutAuthentication())
	if err != nil {
		e.T.Fatal(err)
	}
	return svc
}
