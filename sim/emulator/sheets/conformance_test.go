package sheets

import (
	"context"
	"net/http"
	"strings"
	"testing"

	sheetsapi "google.golang.org/api/sheets/v4"
)

// These tests drive the emulator with the real google.golang.org/api client,
// so they check the wire protocol (paths, escaping, JSON shapes) as well as
// the behaviour.

const bookID = "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms"

func fixture() Spreadsheet {
	return Spreadsheet{Title: "MarketingBot", Sheets: []Sheet{
		{Title: "Auth", Rows: [][]any{
			{"code", "phone", "name", "status", "telegram_id"},
			{"P-1", "79990000001", "Анна", "authorized", 1001},
			{"P-2", "79990000002", "Борис"},
			{"P-3", "79990000003", "Вера", "avtorizovan", 1003},
		}},
		{Title: "Обращения", Rows: [][]any{
			{"created_at", "user", "code", "telegram_id", "history", "status"},
			{"2025-01-02 10:00:00", "@anna", "P-1", 1001, "user: привет", "Новое"},
		}},
		{Title: "It's", RowCount: 10, ColumnCount: 5},
		{Title: "Flags", Rows: [][]any{{true, false, 2.5, "=not a formula"}}, Formulas: map[string]string{"E1": "=SUM(C1:C1)"}},
	}}
}

func TestSpreadsheetsGet(t *testing.T) {
	e := newEnv(t, Options{})
	e.load(t, bookID, fixture())
	got, err := e.api.Spreadsheets.Get(bookID).Do()
	if err != nil {
		t.Fatal(err)
	}
	if got.SpreadsheetId != bookID || got.Properties.Title != "MarketingBot" {
		t.Errorf("id/title = %q/%q", got.SpreadsheetId, got.Properties.Title)
	}
	type props struct {
		title      string
		index      int64
		rows, cols int64
	}
	var sheets []props
	for _, sh := range got.Sheets {
		p := sh.Properties
		sheets = append(sheets, props{p.Title, p.Index, p.GridProperties.RowCount, p.GridProperties.ColumnCount})
		if p.SheetType != "GRID" {
			t.Errorf("sheet %q type %q", p.Title, p.SheetType)
		}
	}
	deepEqual(t, "sheets", sheets, []props{
		{"Auth", 0, 1000, 26}, {"Обращения", 1, 1000, 26}, {"It's", 2, 10, 5}, {"Flags", 3, 1000, 26},
	})
	if got.Sheets[0].Properties.SheetId != 0 || got.Sheets[1].Properties.SheetId == 0 {
		t.Errorf("sheet ids %d, %d: want 0 for the first sheet and non-zero after", got.Sheets[0].Properties.SheetId, got.Sheets[1].Properties.SheetId)
	}

	t.Run("grid data", func(t *testing.T) {
		got, err := e.api.Spreadsheets.Get(bookID).Ranges("Flags!A1:E1").IncludeGridData(true).Do()
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Sheets) != 1 || len(got.Sheets[0].Data) != 1 {
			t.Fatalf("want one sheet with one grid, got %+v", got.Sheets)
		}
		vals := got.Sheets[0].Data[0].RowData[0].Values
		if len(vals) != 5 {
			t.Fatalf("want 5 cells, got %d", len(vals))
		}
		if vals[0].FormattedValue != "TRUE" || vals[0].EffectiveValue.BoolValue == nil || !*vals[0].EffectiveValue.BoolValue {
			t.Errorf("A1 = %+v", vals[0])
		}
		if vals[2].EffectiveValue.NumberValue == nil || *vals[2].EffectiveValue.NumberValue != 2.5 {
			t.Errorf("C1 = %+v", vals[2])
		}
		if f := vals[4].UserEnteredValue.FormulaValue; f == nil || *f != "=SUM(C1:C1)" {
			t.Errorf("E1 user entered = %+v", vals[4].UserEnteredValue)
		}
	})
}

func TestValuesGet(t *testing.T) {
	e := newEnv(t, Options{})
	e.load(t, bookID, fixture())
	tests := []struct {
		name, rng, major, render string
		wantRange                string
		want                     [][]any
	}{
		{name: "whole sheet", rng: "Auth", wantRange: "Auth!A1:Z1000", want: [][]any{
			row("code", "phone", "name", "status", "telegram_id"),
			row("P-1", "79990000001", "Анна", "authorized", "1001"),
			row("P-2", "79990000002", "Борис"),
			row("P-3", "79990000003", "Вера", "avtorizovan", "1003"),
		}},
		{name: "open-ended rows", rng: "Auth!A2:B", wantRange: "Auth!A2:B1000", want: [][]any{
			row("P-1", "79990000001"), row("P-2", "79990000002"), row("P-3", "79990000003"),
		}},
		{name: "quoted cyrillic title", rng: "'Обращения'!D2:F", wantRange: "'Обращения'!D2:F1000", want: [][]any{
			row("1001", "user: привет", "Новое"),
		}},
		{name: "unquoted cyrillic title", rng: "Обращения!A1:B1", wantRange: "'Обращения'!A1:B1", want: [][]any{
			row("created_at", "user"),
		}},
		{name: "title with quote", rng: "'It''s'!A1:B2", wantRange: "'It''s'!A1:B2"},
		{name: "no sheet means first", rng: "A1:B1", wantRange: "Auth!A1:B1", want: [][]any{row("code", "phone")}},
		{name: "whole rows", rng: "Auth!4:4", wantRange: "Auth!A4:Z4", want: [][]any{
			row("P-3", "79990000003", "Вера", "avtorizovan", "1003"),
		}},
		{name: "leading empty row kept, trailing trimmed", rng: "Auth!D3:E10", wantRange: "Auth!D3:E10", want: [][]any{
			row(), row("avtorizovan", "1003"),
		}},
		{name: "empty block has no values", rng: "Auth!A10:C20", wantRange: "Auth!A10:C20"},
		{name: "clipped to grid", rng: "'It''s'!A1:AZ5000", wantRange: "'It''s'!A1:E10"},
		{name: "reversed corners", rng: "Auth!B2:A1", wantRange: "Auth!A1:B2", want: [][]any{row("code", "phone"), row("P-1", "79990000001")}},
		{name: "columns", rng: "Auth!C:D", major: "COLUMNS", wantRange: "Auth!C1:D1000", want: [][]any{
			row("name", "Анна", "Борис", "Вера"), row("status", "authorized", "", "avtorizovan"),
		}},
		{name: "unformatted", rng: "Auth!D1:E4", render: "UNFORMATTED_VALUE", wantRange: "Auth!D1:E4", want: [][]any{
			row("status", "telegram_id"), row("authorized", 1001.0), row(), row("avtorizovan", 1003.0),
		}},
		{name: "formatted booleans and numbers", rng: "Flags!A1:E1", wantRange: "Flags!A1:E1", want: [][]any{
			row("TRUE", "FALSE", "2.5", "=not a formula", FormulaPlaceholder),
		}},
		{name: "unformatted booleans", rng: "Flags!A1:E1", render: "UNFORMATTED_VALUE", wantRange: "Flags!A1:E1", want: [][]any{
			row(true, false, 2.5, "=not a formula", FormulaPlaceholder),
		}},
		{name: "formula rendering", rng: "Flags!A1:E1", render: "FORMULA", wantRange: "Flags!A1:E1", want: [][]any{
			row(true, false, 2.5, "=not a formula", "=SUM(C1:C1)"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			call := e.api.Spreadsheets.Values.Get(bookID, tt.rng)
			if tt.major != "" {
				call.MajorDimension(tt.major)
			}
			if tt.render != "" {
				call.ValueRenderOption(tt.render)
			}
			got, err := call.Do()
			if err != nil {
				t.Fatal(err)
			}
			if got.Range != tt.wantRange {
				t.Errorf("range = %q, want %q", got.Range, tt.wantRange)
			}
			wantMajor := tt.major
			if wantMajor == "" {
				wantMajor = "ROWS"
			}
			if got.MajorDimension != wantMajor {
				t.Errorf("majorDimension = %q, want %q", got.MajorDimension, wantMajor)
			}
			deepEqual(t, "values", got.Values, tt.want)
		})
	}
}

func TestValuesBatchGet(t *testing.T) {
	e := newEnv(t, Options{})
	e.load(t, bookID, fixture())
	got, err := e.api.Spreadsheets.Values.BatchGet(bookID).
		Ranges("Auth!A1:A2", "'Обращения'!F:F", "Auth!Z900:Z901").ValueRenderOption("UNFORMATTED_VALUE").Do()
	if err != nil {
		t.Fatal(err)
	}
	if got.SpreadsheetId != bookID || len(got.ValueRanges) != 3 {
		t.Fatalf("got %+v", got)
	}
	deepEqual(t, "ranges", []string{got.ValueRanges[0].Range, got.ValueRanges[1].Range, got.ValueRanges[2].Range},
		[]string{"Auth!A1:A2", "'Обращения'!F1:F1000", "Auth!Z900:Z901"})
	deepEqual(t, "values[0]", got.ValueRanges[0].Values, [][]any{row("code"), row("P-1")})
	deepEqual(t, "values[1]", got.ValueRanges[1].Values, [][]any{row("status"), row("Новое")})
	if got.ValueRanges[2].Values != nil {
		t.Errorf("values[2] = %v, want none", got.ValueRanges[2].Values)
	}

	_, err = e.api.Spreadsheets.Values.BatchGet(bookID).Ranges("Auth!A1", "Nope!A1").Do()
	wantAPIError(t, err, 400, "Unable to parse range: Nope!A1")
}

func TestValuesUpdate(t *testing.T) {
	e := newEnv(t, Options{})
	e.load(t, bookID, fixture())
	ctx := context.Background()

	t.Run("raw write with nulls and response data", func(t *testing.T) {
		vr := &sheetsapi.ValueRange{Values: [][]any{{"x", nil, 7}, {"", "y"}}}
		got, err := e.api.Spreadsheets.Values.Update(bookID, "'It''s'!A1:C2", vr).
			ValueInputOption("RAW").IncludeValuesInResponse(true).ResponseValueRenderOption("UNFORMATTED_VALUE").Context(ctx).Do()
		if err != nil {
			t.Fatal(err)
		}
		if got.UpdatedRange != "'It''s'!A1:C2" || got.UpdatedRows != 2 || got.UpdatedColumns != 3 || got.UpdatedCells != 4 {
			t.Errorf("response = %+v", got)
		}
		if got.UpdatedData == nil {
			t.Fatal("no updatedData")
		}
		deepEqual(t, "updatedData", got.UpdatedData.Values, [][]any{row("x", "", 7.0), row("", "y")})
	})
	t.Run("single cell anchors a larger block", func(t *testing.T) {
		vr := &sheetsapi.ValueRange{Values: [][]any{{"a", "b"}, {"c", "d"}}}
		got, err := e.api.Spreadsheets.Values.Update(bookID, "'It''s'!D9", vr).ValueInputOption("RAW").Do()
		if err != nil {
			t.Fatal(err)
		}
		if got.UpdatedRange != "'It''s'!D9:E10" {
			t.Errorf("updatedRange = %q", got.UpdatedRange)
		}
	})
	t.Run("columns major", func(t *testing.T) {
		vr := &sheetsapi.ValueRange{MajorDimension: "COLUMNS", Values: [][]any{{"c1r1", "c1r2"}, {"c2r1"}}}
		if _, err := e.api.Spreadsheets.Values.Update(bookID, "'It''s'!A5", vr).ValueInputOption("RAW").Do(); err != nil {
			t.Fatal(err)
		}
		got, err := e.api.Spreadsheets.Values.Get(bookID, "'It''s'!A5:B6").Do()
		if err != nil {
			t.Fatal(err)
		}
		deepEqual(t, "values", got.Values, [][]any{row("c1r1", "c2r1"), row("c1r2")})
	})
	t.Run("body range must match", func(t *testing.T) {
		vr := &sheetsapi.ValueRange{Range: "Auth!B1", Values: [][]any{{"x"}}}
		_, err := e.api.Spreadsheets.Values.Update(bookID, "Auth!A1", vr).ValueInputOption("RAW").Do()
		wantAPIError(t, err, 400, "")
	})
	t.Run("more rows than the range", func(t *testing.T) {
		vr := &sheetsapi.ValueRange{Values: [][]any{{"a"}, {"b"}, {"c"}}}
		_, err := e.api.Spreadsheets.Values.Update(bookID, "Auth!G1:G2", vr).ValueInputOption("RAW").Do()
		wantAPIError(t, err, 400, "Requested writing within range [Auth!G1:G2], but tried writing to row [3]")
	})
	t.Run("more columns than the range", func(t *testing.T) {
		vr := &sheetsapi.ValueRange{Values: [][]any{{"a", "b"}}}
		_, err := e.api.Spreadsheets.Values.Update(bookID, "Auth!G1:G2", vr).ValueInputOption("RAW").Do()
		wantAPIError(t, err, 400, "Requested writing within range [Auth!G1:G2], but tried writing to column [H]")
	})
	t.Run("beyond the grid", func(t *testing.T) {
		vr := &sheetsapi.ValueRange{Values: [][]any{{"late"}}}
		_, err := e.api.Spreadsheets.Values.Update(bookID, "Auth!A1001", vr).ValueInputOption("RAW").Do()
		wantAPIError(t, err, 400, "Range ('Auth'!A1001) exceeds grid limits. Max rows: 1000, max columns: 26")
	})
	t.Run("value input option is required", func(t *testing.T) {
		vr := &sheetsapi.ValueRange{Values: [][]any{{"x"}}}
		_, err := e.api.Spreadsheets.Values.Update(bookID, "Auth!A1", vr).Do()
		wantAPIError(t, err, 400, "'valueInputOption' is required but not specified")
	})
	t.Run("over 50000 characters writes nothing", func(t *testing.T) {
		vr := &sheetsapi.ValueRange{Values: [][]any{{"fits", strings.Repeat("я", MaxCellChars+1)}}}
		_, err := e.api.Spreadsheets.Values.Update(bookID, "Auth!A1", vr).ValueInputOption("RAW").Do()
		wantAPIError(t, err, 400, "Your input contains more than the maximum of 50000 characters in a single cell.")
		if got := e.rows(t, bookID, "Auth")[0][0]; got != "code" {
			t.Errorf("A1 = %v: part of a rejected request was written", got)
		}
	})
	t.Run("exactly 50000 characters fit", func(t *testing.T) {
		long := strings.Repeat("я", MaxCellChars)
		vr := &sheetsapi.ValueRange{Values: [][]any{{long}}}
		if _, err := e.api.Spreadsheets.Values.Update(bookID, "'It''s'!E1", vr).ValueInputOption("RAW").Do(); err != nil {
			t.Fatal(err)
		}
		got, err := e.api.Spreadsheets.Values.Get(bookID, "'It''s'!E1").Do()
		if err != nil {
			t.Fatal(err)
		}
		if got.Values[0][0] != long {
			t.Error("the long cell did not come back intact")
		}
	})
}

func TestValuesBatchUpdate(t *testing.T) {
	e := newEnv(t, Options{})
	e.load(t, bookID, fixture())
	req := &sheetsapi.BatchUpdateValuesRequest{
		ValueInputOption: "RAW",
		Data: []*sheetsapi.ValueRange{
			{Range: "Auth!D3:E3", Values: [][]any{{"authorized", 1002}}},
			{Range: "'Обращения'!F2", Values: [][]any{{"Ответ ИИ"}}},
		},
		IncludeValuesInResponse: true,
	}
	got, err := e.api.Spreadsheets.Values.BatchUpdate(bookID, req).Do()
	if err != nil {
		t.Fatal(err)
	}
	if got.TotalUpdatedCells != 3 || got.TotalUpdatedRows != 2 || got.TotalUpdatedColumns != 3 || got.TotalUpdatedSheets != 2 {
		t.Errorf("totals = %+v", got)
	}
	if len(got.Responses) != 2 || got.Responses[0].UpdatedRange != "Auth!D3:E3" || got.Responses[1].UpdatedRange != "'Обращения'!F2" {
		t.Fatalf("responses = %+v", got.Responses)
	}
	deepEqual(t, "updatedData", got.Responses[0].UpdatedData.Values, [][]any{row("authorized", "1002")})

	t.Run("atomic", func(t *testing.T) {
		req := &sheetsapi.BatchUpdateValuesRequest{
			ValueInputOption: "RAW",
			Data: []*sheetsapi.ValueRange{
				{Range: "Auth!A2", Values: [][]any{{"changed"}}},
				{Range: "Auth!A1001", Values: [][]any{{"beyond"}}},
			},
		}
		_, err := e.api.Spreadsheets.Values.BatchUpdate(bookID, req).Do()
		wantAPIError(t, err, 400, "Range ('Auth'!A1001) exceeds grid limits. Max rows: 1000, max columns: 26")
		if got := e.rows(t, bookID, "Auth")[1][0]; got != "P-1" {
			t.Errorf("A2 = %v after a failed batch", got)
		}
	})
	t.Run("value input option is required", func(t *testing.T) {
		req := &sheetsapi.BatchUpdateValuesRequest{Data: []*sheetsapi.ValueRange{{Range: "Auth!A1", Values: [][]any{{"x"}}}}}
		_, err := e.api.Spreadsheets.Values.BatchUpdate(bookID, req).Do()
		wantAPIError(t, err, 400, "Invalid valueInputOption: INPUT_VALUE_OPTION_UNSPECIFIED")
	})
}

// appendTable is a sheet with gaps inside its table and a footer below.
var appendTable = [][]any{
	{"id", "name", "status"},
	{"1", "Анна", "new"},
	{"2", "", "done"}, // a gap inside the table
	{"", "Вера"},      // another one
	nil,
	{"footer"},
}

// appendTest is a values.append call on a sheet and what it leaves.
type appendTest struct {
	name       string
	sheet      Sheet
	rng        string
	insert     string
	values     [][]any
	wantTable  string
	wantRange  string
	wantRows   [][]any // the sheet afterwards
	wantGrid   int64   // rowCount afterwards
	wantCells  int64
	wantColumn int64
}

// appendTests are values.append calls on a sheet and what they leave.
var appendTests = []appendTest{
	{
		name: "overwrite below the table", sheet: Sheet{Title: "T", Rows: appendTable}, rng: "T!A1", insert: "OVERWRITE",
		values:    [][]any{{"3", "Борис", "new"}},
		wantTable: "T!A1:C4", wantRange: "T!A5:C5", wantGrid: 1000, wantCells: 3, wantColumn: 3,
		wantRows: [][]any{appendTable[0], appendTable[1], appendTable[2], appendTable[3], row("3", "Борис", "new"), row("footer")},
	},
	{
		name: "insert rows pushes what is below", sheet: Sheet{Title: "T", Rows: appendTable}, rng: "T!A:C", insert: "INSERT_ROWS",
		values:    [][]any{{"3", "Борис", "new"}, {"4", "Глеб", "new"}},
		wantTable: "T!A1:C4", wantRange: "T!A5:C6", wantGrid: 1002, wantCells: 6, wantColumn: 3,
		wantRows: [][]any{appendTable[0], appendTable[1], appendTable[2], appendTable[3], row("3", "Борис", "new"), row("4", "Глеб", "new"), {}, row("footer")},
	},
	{
		name: "table found from a range below its start", sheet: Sheet{Title: "T", Rows: appendTable}, rng: "T!A3:C3",
		values:    [][]any{{"3"}},
		wantTable: "T!A1:C4", wantRange: "T!A5", wantGrid: 1000, wantCells: 1, wantColumn: 1,
		wantRows: [][]any{appendTable[0], appendTable[1], appendTable[2], appendTable[3], row("3"), row("footer")},
	},
	{
		name:  "table starting in column B",
		sheet: Sheet{Title: "T", Rows: [][]any{{"", "h1", "h2"}, {"", "a", "b"}}}, rng: "T!A:D",
		values:    [][]any{{"c", "d"}},
		wantTable: "T!B1:C2", wantRange: "T!B3:C3", wantGrid: 1000, wantCells: 2, wantColumn: 2,
		wantRows: [][]any{row("", "h1", "h2"), row("", "a", "b"), row("", "c", "d")},
	},
	{
		name:  "wider than the table",
		sheet: Sheet{Title: "T", Rows: [][]any{{"a"}, {"b"}}}, rng: "T!A1",
		values:    [][]any{{"c", "extra"}},
		wantTable: "T!A1:A2", wantRange: "T!A3:B3", wantGrid: 1000, wantCells: 2, wantColumn: 2,
		wantRows: [][]any{row("a"), row("b"), row("c", "extra")},
	},
	{
		name: "empty sheet", sheet: Sheet{Title: "T"}, rng: "T!A:C", insert: "INSERT_ROWS",
		values:    [][]any{{"first", "row"}},
		wantRange: "T!A1:B1", wantGrid: 1001, wantCells: 2, wantColumn: 2,
		wantRows: [][]any{row("first", "row")},
	},
	{
		name: "empty range of a sheet with data elsewhere", sheet: Sheet{Title: "T", Rows: [][]any{{"x"}}}, rng: "T!C5:D",
		values:    [][]any{{"y"}},
		wantRange: "T!C5", wantGrid: 1000, wantCells: 1, wantColumn: 1,
		wantRows: [][]any{row("x"), {}, {}, {}, row("", "", "y")},
	},
	{
		name:  "full grid grows",
		sheet: Sheet{Title: "T", RowCount: 2, ColumnCount: 1, Rows: [][]any{{"a"}, {"b"}}}, rng: "T", insert: "OVERWRITE",
		values:    [][]any{{"c", "d"}},
		wantTable: "T!A1:A2", wantRange: "T!A3:B3", wantGrid: 3, wantCells: 2, wantColumn: 2,
		wantRows: [][]any{row("a"), row("b"), row("c", "d")},
	},
}

// checkAppend runs one of appendTests.
func checkAppend(t *testing.T, tt appendTest) {
	e := newEnv(t, Options{})
	e.load(t, bookID, Spreadsheet{Sheets: []Sheet{tt.sheet}})
	call := e.api.Spreadsheets.Values.Append(bookID, tt.rng, &sheetsapi.ValueRange{Values: tt.values}).ValueInputOption("RAW")
	if tt.insert != "" {
		call.InsertDataOption(tt.insert)
	}
	got, err := call.Do()
	if err != nil {
		t.Fatal(err)
	}
	if got.TableRange != tt.wantTable {
		t.Errorf("tableRange = %q, want %q", got.TableRange, tt.wantTable)
	}
	u := got.Updates
	if u.SpreadsheetId != bookID || u.UpdatedRange != tt.wantRange || u.UpdatedCells != tt.wantCells ||
		u.UpdatedRows != int64(len(tt.values)) || u.UpdatedColumns != tt.wantColumn {
		t.Errorf("updates = %+v, want range %s, %d cells, %d columns", u, tt.wantRange, tt.wantCells, tt.wantColumn)
	}
	rows := e.rows(t, bookID, "T")
	want := make([][]any, len(tt.wantRows))
	for i, r := range tt.wantRows {
		want[i] = append([]any{}, r...)
	}
	deepEqual(t, "rows", rows, want)
	ss, err := e.api.Spreadsheets.Get(bookID).Do()
	if err != nil {
		t.Fatal(err)
	}
	if n := ss.Sheets[0].Properties.GridProperties.RowCount; n != tt.wantGrid {
		t.Errorf("rowCount = %d, want %d", n, tt.wantGrid)
	}
}

func TestValuesAppend(t *testing.T) {
	for _, tt := range appendTests {
		t.Run(tt.name, func(t *testing.T) { checkAppend(t, tt) })
	}

	t.Run("user entered with returned data", func(t *testing.T) {
		e := newEnv(t, Options{})
		e.load(t, bookID, Spreadsheet{Sheets: []Sheet{{Title: "T", Rows: [][]any{{"n"}}}}})
		got, err := e.api.Spreadsheets.Values.Append(bookID, "T!A1", &sheetsapi.ValueRange{Values: [][]any{{"42"}}}).
			ValueInputOption("USER_ENTERED").IncludeValuesInResponse(true).ResponseValueRenderOption("UNFORMATTED_VALUE").Do()
		if err != nil {
			t.Fatal(err)
		}
		deepEqual(t, "updatedData", got.Updates.UpdatedData.Values, [][]any{row(42.0)})
	})
	t.Run("bad insert option", func(t *testing.T) {
		e := newEnv(t, Options{})
		e.load(t, bookID, Spreadsheet{})
		_, err := e.api.Spreadsheets.Values.Append(bookID, "A1", &sheetsapi.ValueRange{Values: [][]any{{"x"}}}).
			ValueInputOption("RAW").InsertDataOption("SIDEWAYS").Do()
		wantAPIError(t, err, 400, "Invalid value at 'insert_data_option'*")
	})
}

func TestValuesClear(t *testing.T) {
	e := newEnv(t, Options{})
	e.load(t, bookID, fixture())
	got, err := e.api.Spreadsheets.Values.Clear(bookID, "Auth!D:E", &sheetsapi.ClearValuesRequest{}).Do()
	if err != nil {
		t.Fatal(err)
	}
	if got.ClearedRange != "Auth!D1:E1000" {
		t.Errorf("clearedRange = %q", got.ClearedRange)
	}
	deepEqual(t, "Auth", e.rows(t, bookID, "Auth"), [][]any{
		row("code", "phone", "name"), row("P-1", "79990000001", "Анна"),
		row("P-2", "79990000002", "Борис"), row("P-3", "79990000003", "Вера"),
	})

	bc, err := e.api.Spreadsheets.Values.BatchClear(bookID, &sheetsapi.BatchClearValuesRequest{
		Ranges: []string{"Auth!3:4", "'Обращения'"},
	}).Do()
	if err != nil {
		t.Fatal(err)
	}
	deepEqual(t, "clearedRanges", bc.ClearedRanges, []string{"Auth!A3:Z4", "'Обращения'!A1:Z1000"})
	deepEqual(t, "Auth", e.rows(t, bookID, "Auth"), [][]any{row("code", "phone", "name"), row("P-1", "79990000001", "Анна")})
	deepEqual(t, "Обращения", e.rows(t, bookID, "Обращения"), [][]any{})

	_, err = e.api.Spreadsheets.Values.BatchClear(bookID, &sheetsapi.BatchClearValuesRequest{
		Ranges: []string{"Auth!A1", "Nope"},
	}).Do()
	wantAPIError(t, err, 400, "Unable to parse range: Nope")
	if e.rows(t, bookID, "Auth")[0][0] != "code" {
		t.Error("a failed batchClear cleared something")
	}
}

// batchListing is a listings sheet with a blank and a text price.
func batchListing() Spreadsheet {
	return Spreadsheet{Sheets: []Sheet{{Title: "Объекты", Rows: [][]any{
		{"code", "price", "city"},
		{"A-1", 5000000, "Москва"},
		{"A-2", 3500000, "казань"},
		{"A-3", nil, "Ижевск"},
		{"A-4", 7200000, "Анапа"},
		{"A-5", "n/a", "Тверь"},
	}}}}
}

// firstSheetID is the id of the spreadsheet's first sheet.
func firstSheetID(t *testing.T, e *env) int64 {
	ss, err := e.api.Spreadsheets.Get(bookID).Do()
	if err != nil {
		t.Fatal(err)
	}
	return ss.Sheets[0].Properties.SheetId
}

// batchUpdateTest is a batchUpdate on batchListing and the sheet it leaves.
type batchUpdateTest struct {
	name string
	reqs func(id int64) []*sheetsapi.Request
	want [][]any
	grid int64
}

// batchUpdateTests are batchUpdate calls that succeed.
var batchUpdateTests = []batchUpdateTest{
	{
		name: "sort descending by price, blanks last",
		reqs: func(id int64) []*sheetsapi.Request {
			return []*sheetsapi.Request{{SortRange: &sheetsapi.SortRangeRequest{
				Range:     &sheetsapi.GridRange{SheetId: id, StartRowIndex: 1},
				SortSpecs: []*sheetsapi.SortSpec{{DimensionIndex: 1, SortOrder: "DESCENDING"}},
			}}}
		},
		want: [][]any{
			row("code", "price", "city"), row("A-5", "n/a", "Тверь"), row("A-4", 7200000.0, "Анапа"),
			row("A-1", 5000000.0, "Москва"), row("A-2", 3500000.0, "казань"), row("A-3", "", "Ижевск"),
		},
		grid: 1000,
	},
	{
		name: "sort ascending by city ignores case",
		reqs: func(id int64) []*sheetsapi.Request {
			return []*sheetsapi.Request{{SortRange: &sheetsapi.SortRangeRequest{
				Range:     &sheetsapi.GridRange{SheetId: id, StartRowIndex: 1, EndRowIndex: 6, StartColumnIndex: 0, EndColumnIndex: 3},
				SortSpecs: []*sheetsapi.SortSpec{{DimensionIndex: 2, SortOrder: "ASCENDING"}},
			}}}
		},
		want: [][]any{
			row("code", "price", "city"), row("A-4", 7200000.0, "Анапа"), row("A-3", "", "Ижевск"),
			row("A-2", 3500000.0, "казань"), row("A-1", 5000000.0, "Москва"), row("A-5", "n/a", "Тверь"),
		},
		grid: 1000,
	},
	{
		name: "sort a column block leaves other columns",
		reqs: func(id int64) []*sheetsapi.Request {
			return []*sheetsapi.Request{{SortRange: &sheetsapi.SortRangeRequest{
				Range:     &sheetsapi.GridRange{SheetId: id, StartRowIndex: 1, EndRowIndex: 3, StartColumnIndex: 0, EndColumnIndex: 1},
				SortSpecs: []*sheetsapi.SortSpec{{DimensionIndex: 0, SortOrder: "DESCENDING"}},
			}}}
		},
		want: [][]any{
			row("code", "price", "city"), row("A-2", 5000000.0, "Москва"), row("A-1", 3500000.0, "казань"),
			row("A-3", "", "Ижевск"), row("A-4", 7200000.0, "Анапа"), row("A-5", "n/a", "Тверь"),
		},
		grid: 1000,
	},
	{
		name: "sort columns right of the data changes nothing",
		reqs: func(id int64) []*sheetsapi.Request {
			return []*sheetsapi.Request{{SortRange: &sheetsapi.SortRangeRequest{
				Range:     &sheetsapi.GridRange{SheetId: id, StartRowIndex: 0, StartColumnIndex: 4, EndColumnIndex: 6},
				SortSpecs: []*sheetsapi.SortSpec{{DimensionIndex: 5}},
			}}}
		},
		want: [][]any{
			row("code", "price", "city"), row("A-1", 5000000.0, "Москва"), row("A-2", 3500000.0, "казань"),
			row("A-3", "", "Ижевск"), row("A-4", 7200000.0, "Анапа"), row("A-5", "n/a", "Тверь"),
		},
		grid: 1000,
	},
	{
		name: "insert rows after the header, then delete one",
		reqs: func(id int64) []*sheetsapi.Request {
			return []*sheetsapi.Request{
				{InsertDimension: &sheetsapi.InsertDimensionRequest{Range: &sheetsapi.DimensionRange{SheetId: id, Dimension: "ROWS", StartIndex: 1, EndIndex: 3}}},
				{DeleteDimension: &sheetsapi.DeleteDimensionRequest{Range: &sheetsapi.DimensionRange{SheetId: id, Dimension: "ROWS", StartIndex: 4, EndIndex: 5}}},
			}
		},
		want: [][]any{
			row("code", "price", "city"), {}, {}, row("A-1", 5000000.0, "Москва"),
			row("A-3", "", "Ижевск"), row("A-4", 7200000.0, "Анапа"), row("A-5", "n/a", "Тверь"),
		},
		grid: 1001,
	},
	{
		name: "insert a column",
		reqs: func(id int64) []*sheetsapi.Request {
			return []*sheetsapi.Request{
				{InsertDimension: &sheetsapi.InsertDimensionRequest{Range: &sheetsapi.DimensionRange{SheetId: id, Dimension: "COLUMNS", StartIndex: 1, EndIndex: 2}}},
			}
		},
		want: [][]any{
			row("code", "", "price", "city"), row("A-1", "", 5000000.0, "Москва"), row("A-2", "", 3500000.0, "казань"),
			row("A-3", "", "", "Ижевск"), row("A-4", "", 7200000.0, "Анапа"), row("A-5", "", "n/a", "Тверь"),
		},
		grid: 1000,
	},
}

// checkBatchUpdate runs one of batchUpdateTests.
func checkBatchUpdate(t *testing.T, tt batchUpdateTest) {
	e := newEnv(t, Options{})
	e.load(t, bookID, batchListing())
	id := firstSheetID(t, e)
	got, err := e.api.Spreadsheets.BatchUpdate(bookID, &sheetsapi.BatchUpdateSpreadsheetRequest{Requests: tt.reqs(id)}).Do()
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Replies) != len(tt.reqs(id)) {
		t.Errorf("%d replies for %d requests", len(got.Replies), len(tt.reqs(id)))
	}
	deepEqual(t, "rows", e.rows(t, bookID, "Объекты"), tt.want)
	ss, _ := e.api.Spreadsheets.Get(bookID).Do()
	if n := ss.Sheets[0].Properties.GridProperties.RowCount; n != tt.grid {
		t.Errorf("rowCount = %d, want %d", n, tt.grid)
	}
}

func TestSpreadsheetsBatchUpdate(t *testing.T) {
	for _, tt := range batchUpdateTests {
		t.Run(tt.name, func(t *testing.T) { checkBatchUpdate(t, tt) })
	}
	t.Run("add sheet", testAddSheet)
	t.Run("atomic", testBatchUpdateAtomic)
	t.Run("unknown sheet id", testUnknownSheetID)
}

// testAddSheet: addSheet answers the new sheet's properties, and the sheet is there.
func testAddSheet(t *testing.T) {
	e := newEnv(t, Options{})
	e.load(t, bookID, batchListing())
	got, err := e.api.Spreadsheets.BatchUpdate(bookID, &sheetsapi.BatchUpdateSpreadsheetRequest{Requests: []*sheetsapi.Request{
		{AddSheet: &sheetsapi.AddSheetRequest{Properties: &sheetsapi.SheetProperties{
			Title: "База знаний", GridProperties: &sheetsapi.GridProperties{RowCount: 50, ColumnCount: 3},
		}}},
	}}).Do()
	if err != nil {
		t.Fatal(err)
	}
	p := got.Replies[0].AddSheet.Properties
	if p.Title != "База знаний" || p.Index != 1 || p.SheetId == 0 || p.GridProperties.RowCount != 50 {
		t.Errorf("addSheet reply = %+v", p)
	}
	vr, err := e.api.Spreadsheets.Values.Get(bookID, "'База знаний'").Do()
	if err != nil {
		t.Fatal(err)
	}
	if vr.Range != "'База знаний'!A1:C50" {
		t.Errorf("range = %q", vr.Range)
	}
}

// testBatchUpdateAtomic: a batch with a failing request changes nothing.
func testBatchUpdateAtomic(t *testing.T) {
	e := newEnv(t, Options{})
	e.load(t, bookID, batchListing())
	id := firstSheetID(t, e)
	_, err := e.api.Spreadsheets.BatchUpdate(bookID, &sheetsapi.BatchUpdateSpreadsheetRequest{Requests: []*sheetsapi.Request{
		{InsertDimension: &sheetsapi.InsertDimensionRequest{Range: &sheetsapi.DimensionRange{SheetId: id, Dimension: "ROWS", StartIndex: 1, EndIndex: 2}}},
		{AddSheet: &sheetsapi.AddSheetRequest{Properties: &sheetsapi.SheetProperties{Title: "New"}}},
		{AddSheet: &sheetsapi.AddSheetRequest{Properties: &sheetsapi.SheetProperties{Title: "new"}}},
	}}).Do()
	wantAPIError(t, err, 400, `Invalid requests[2].addSheet: A sheet with the name "new" already exists. Please enter another name.`)
	ss, _ := e.api.Spreadsheets.Get(bookID).Do()
	if len(ss.Sheets) != 1 || ss.Sheets[0].Properties.GridProperties.RowCount != 1000 {
		t.Errorf("after a failed batch: %d sheets, %d rows", len(ss.Sheets), ss.Sheets[0].Properties.GridProperties.RowCount)
	}
	deepEqual(t, "rows", e.rows(t, bookID, "Объекты"), [][]any{
		row("code", "price", "city"), row("A-1", 5000000.0, "Москва"), row("A-2", 3500000.0, "казань"),
		row("A-3", "", "Ижевск"), row("A-4", 7200000.0, "Анапа"), row("A-5", "n/a", "Тверь"),
	})
}

// testUnknownSheetID: a request naming no sheet of the spreadsheet fails.
func testUnknownSheetID(t *testing.T) {
	e := newEnv(t, Options{})
	e.load(t, bookID, batchListing())
	_, err := e.api.Spreadsheets.BatchUpdate(bookID, &sheetsapi.BatchUpdateSpreadsheetRequest{Requests: []*sheetsapi.Request{
		{SortRange: &sheetsapi.SortRangeRequest{Range: &sheetsapi.GridRange{SheetId: 12345}}},
	}}).Do()
	wantAPIError(t, err, 400, "Invalid requests[0].sortRange: No grid with id: 12345")
}

func TestErrors(t *testing.T) {
	e := newEnv(t, Options{})
	e.load(t, bookID, fixture())
	tests := []struct {
		name    string
		call    func() error
		code    int
		message string
	}{
		{"unknown sheet", func() error {
			_, err := e.api.Spreadsheets.Values.Get(bookID, "Nope!A1").Do()
			return err
		}, 400, "Unable to parse range: Nope!A1"},
		{"bad notation", func() error {
			_, err := e.api.Spreadsheets.Values.Get(bookID, "Auth!A0:B").Do()
			return err
		}, 400, "Unable to parse range: Auth!A0:B"},
		{"read outside the grid", func() error {
			_, err := e.api.Spreadsheets.Values.Get(bookID, "'It''s'!F1").Do()
			return err
		}, 400, "Range ('It''s'!F1) exceeds grid limits. Max rows: 10, max columns: 5"},
		{"unknown spreadsheet", func() error {
			_, err := e.api.Spreadsheets.Values.Get("nope", "A1").Do()
			return err
		}, 404, "Requested entity was not found."},
		{"unknown spreadsheet get", func() error {
			_, err := e.api.Spreadsheets.Get("nope").Do()
			return err
		}, 404, "Requested entity was not found."},
		{"bad render option", func() error {
			_, err := e.api.Spreadsheets.Values.Get(bookID, "A1").ValueRenderOption("PRETTY").Do()
			return err
		}, 400, "Invalid value at 'value_render_option'*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantAPIError(t, tt.call(), tt.code, tt.message)
		})
	}

	t.Run("injected 503", func(t *testing.T) {
		if err := e.srv.InjectFault(Fault{Status: http.StatusServiceUnavailable, Count: 1, Methods: []string{MethodValuesGet}}); err != nil {
			t.Fatal(err)
		}
		_, err := e.api.Spreadsheets.Get(bookID).Do() // other method: unaffected
		if err != nil {
			t.Fatalf("spreadsheets.get: %v", err)
		}
		_, err = e.api.Spreadsheets.Values.Get(bookID, "A1").Do()
		wantAPIError(t, err, 503, "The service is currently unavailable.")
		if _, err = e.api.Spreadsheets.Values.Get(bookID, "A1").Do(); err != nil {
			t.Errorf("second request after a count-1 fault: %v", err)
		}
		if st := e.srv.Stats(); st.HTTP5xxInjected != 1 {
			t.Errorf("http_5xx_injected = %d, want 1", st.HTTP5xxInjected)
		}
	})
}
