package sheets

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	sheetsapi "google.golang.org/api/sheets/v4"
)

func longHistory() string {
	var b strings.Builder
	for b.Len() < 90000 { // ~45,000 Cyrillic characters plus emoji
		b.WriteString("user: привет, подскажите по объекту 🏠\n")
	}
	return truncateUnits(b.String(), 45000)
}

func TestPersistenceRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "book.xlsx")
	long := longHistory()
	const longTitle = "Очень длинное название листа: больше 31 символа"
	data := Spreadsheet{Title: "Продакшн", Sheets: []Sheet{
		{Title: "Обращения", Rows: [][]any{
			{"created_at", "user", "code", "telegram_id", "history", "status"},
			{"2025-01-02 10:00:00", "@anna", "P-1", 123456789012, long, "Новое"},
			{"=not a formula", " leading space", "", true, 2.5},
		}},
		{Title: longTitle, RowCount: 1500, ColumnCount: 30, Rows: [][]any{{"a"}}},
		{Title: longTitle + " (копия)", Rows: [][]any{{"b"}}},
		{Title: "Formulas", Rows: [][]any{{1, 2, 3}}, Formulas: map[string]string{"C1": "=A1+B1", "D1": `=IMPORTXML("http://x","//a")`}},
	}}

	srv, err := New(Options{XLSXPath: path, SpreadsheetID: bookID, SaveDebounce: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Load(bookID, data); err != nil {
		t.Fatal(err)
	}
	e := envFor(t, srv)
	_, err = e.api.Spreadsheets.Values.Update(bookID, "'Обращения'!G2", &sheetsapi.ValueRange{Values: [][]any{{"2025-01-02 10:30:00"}}}).
		ValueInputOption("USER_ENTERED").Do()
	if err != nil {
		t.Fatal(err)
	}
	want, err := srv.Snapshot(bookID)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	reopened, err := New(Options{XLSXPath: path, SpreadsheetID: bookID})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	e2 := envFor(t, reopened)
	got, err := reopened.Snapshot(bookID)
	if err != nil {
		t.Fatal(err)
	}
	deepEqual(t, "snapshot after reopening", got, want)
	vr, err := e2.api.Spreadsheets.Values.Get(bookID, "'Обращения'!G2").ValueRenderOption("UNFORMATTED_VALUE").Do()
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := vr.Values[0][0].(float64); !ok || n < 45659.437 || n > 45659.438 {
		t.Errorf("date cell = %v, want the serial number of 2025-01-02 10:30", vr.Values[0][0])
	}

	// The file is a normal workbook for spreadsheet programs.
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatalf("excelize cannot open the saved file: %v", err)
	}
	defer f.Close()
	names := f.GetSheetList()
	if len(names) != 5 || names[0] != "Обращения" || names[4] != metaSheet {
		t.Errorf("sheet names = %q", names)
	}
	for _, n := range names[:4] {
		if len([]rune(n)) > 31 || strings.ContainsAny(n, ":/") {
			t.Errorf("sheet name %q is not valid in Excel", n)
		}
	}
	if visible, _ := f.GetSheetVisible(metaSheet); visible {
		t.Error("the meta sheet is visible")
	}
	cellText, _ := f.GetCellValue("Обращения", "E2")
	if !strings.HasPrefix(long, cellText) || len(cellText) == 0 {
		t.Error("the long cell in the file is not a prefix of the text")
	}
	if formula, _ := f.GetCellFormula("Formulas", "C1"); formula != "A1+B1" {
		t.Errorf("formula in the file = %q", formula)
	}
}

func TestDebouncedSave(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "book.xlsx")
	e := newEnv(t, Options{XLSXPath: path, SpreadsheetID: bookID, SaveDebounce: 20 * time.Millisecond})
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("file exists before anything was created: %v", err)
	}
	e.load(t, bookID, Spreadsheet{})
	_, err := e.api.Spreadsheets.Values.Update(bookID, "A1", &sheetsapi.ValueRange{Values: [][]any{{"saved"}}}).ValueInputOption("RAW").Do()
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if v := cellInFile(path, "Sheet1", "A1"); v == "saved" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the change was not saved within 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	entries, _ := os.ReadDir(dir)
	for _, en := range entries {
		if en.Name() != "book.xlsx" {
			t.Errorf("stray file %s next to the workbook", en.Name())
		}
	}
}

func cellInFile(path, sheet, cell string) string {
	f, err := excelize.OpenFile(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	v, _ := f.GetCellValue(sheet, cell)
	return v
}

func TestLoadExcelizeExport(t *testing.T) {
	// A workbook as another program writes it: shared strings, typed
	// numbers and booleans, date formats, rich text, shared formulas.
	path := filepath.Join(t.TempDir(), "export.xlsx")
	f := excelize.NewFile()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.SetSheetName("Sheet1", "Auth"))
	for ref, v := range map[string]any{
		"A1": "code", "B1": "phone", "E1": "telegram_id",
		"A2": "P-1", "B2": "79990000001", "E2": 1001, "A3": "P-2", "E3": 1002.5, "H2": true,
	} {
		must(f.SetCellValue("Auth", ref, v))
	}
	must(f.SetCellFormula("Auth", "F2", "SUM(E2:E3)"))
	shared, ref := "shared", "G2:G3"
	must(f.SetCellFormula("Auth", "G2", "E2*2", excelize.FormulaOpts{Type: &shared, Ref: &ref}))
	_, err := f.NewSheet("Обращения")
	must(err)
	must(f.SetCellRichText("Обращения", "A1", []excelize.RichTextRun{{Text: "жирный "}, {Text: "текст"}}))
	code := "dd.mm.yyyy hh:mm:ss"
	style, err := f.NewStyle(&excelize.Style{CustomNumFmt: &code})
	must(err)
	must(f.SetCellFloat("Обращения", "B1", 45659.4375, -1, 64))
	must(f.SetCellStyle("Обращения", "B1", "B1", style))
	dateOnly, err := f.NewStyle(&excelize.Style{NumFmt: 14})
	must(err)
	must(f.SetCellFloat("Обращения", "C1", 45659, -1, 64))
	must(f.SetCellStyle("Обращения", "C1", "C1", dateOnly))
	must(f.SaveAs(path))
	must(f.Close())

	e := newEnv(t, Options{XLSXPath: path, SpreadsheetID: "prod", SaveDebounce: time.Hour})
	snap, err := e.srv.Snapshot("prod")
	if err != nil {
		t.Fatal(err)
	}
	if snap.Title != "export" || len(snap.Sheets) != 2 {
		t.Fatalf("title %q, %d sheets", snap.Title, len(snap.Sheets))
	}
	deepEqual(t, "Auth rows", snap.Sheets[0].Rows, [][]any{
		{"code", "phone", "", "", "telegram_id"},
		{"P-1", "79990000001", "", "", 1001.0, FormulaPlaceholder, FormulaPlaceholder, true},
		{"P-2", "", "", "", 1002.5, "", FormulaPlaceholder},
	})
	deepEqual(t, "formulas", snap.Sheets[0].Formulas, map[string]string{"F2": "=SUM(E2:E3)", "G2": "=E2*2", "G3": "=E3*2"})
	deepEqual(t, "Обращения rows", snap.Sheets[1].Rows, [][]any{{"жирный текст", "02.01.2025 10:30:00", "01-02-25"}})
	if snap.Sheets[0].RowCount != 1000 || snap.Sheets[0].ColumnCount != 26 {
		t.Errorf("grid %d×%d, want Google's default", snap.Sheets[0].RowCount, snap.Sheets[0].ColumnCount)
	}
	vr, err := e.api.Spreadsheets.Values.Get("prod", "'Обращения'!B1:C1").ValueRenderOption("UNFORMATTED_VALUE").Do()
	if err != nil {
		t.Fatal(err)
	}
	deepEqual(t, "dates unformatted", vr.Values, [][]any{row(45659.4375, 45659.0)})
}

func TestCorruptFileIsNotOverwritten(t *testing.T) {
	path := filepath.Join(t.TempDir(), "book.xlsx")
	if err := os.WriteFile(path, []byte("not a workbook"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{XLSXPath: path, SpreadsheetID: bookID}); err == nil {
		t.Fatal("New accepted a corrupt file")
	}
	if data, _ := os.ReadFile(path); string(data) != "not a workbook" {
		t.Error("the corrupt file was changed")
	}
	if _, err := New(Options{XLSXPath: path}); err == nil {
		t.Error("New accepted XLSXPath without SpreadsheetID")
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "book.xlsx")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk full")
	err := writeFileAtomic(path, func(w io.Writer) error {
		_, _ = w.Write([]byte("half of the new"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if data, _ := os.ReadFile(path); string(data) != "old" {
		t.Errorf("after a failed write the file holds %q", data)
	}
	if err := writeFileAtomic(path, func(w io.Writer) error {
		_, err := w.Write([]byte("new"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(path); string(data) != "new" {
		t.Errorf("file holds %q", data)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
}

func TestDeleteRemovesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "book.xlsx")
	srv, err := New(Options{XLSXPath: path, SpreadsheetID: bookID, SaveDebounce: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Load(bookID, Spreadsheet{}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	srv, err = New(Options{XLSXPath: path, SpreadsheetID: bookID, SaveDebounce: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	srv.Reset()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("file still there after reset: %v", err)
	}
}

func TestXLSXSheetNames(t *testing.T) {
	got := xlsxSheetNames([]string{
		"Auth", "a/b:c", "'quoted'", "Очень длинное название листа больше тридцати одного",
		"Очень длинное название листа больше тридцати одного!", "AUTH", metaSheet, "",
	})
	want := []string{
		"Auth", "a_b_c", "quoted", "Очень длинное название листа бо",
		"Очень длинное название листа ~2", "AUTH~2", metaSheet + "~2", "Sheet",
	}
	deepEqual(t, "names", got, want)
}

func TestDateLayout(t *testing.T) {
	tests := []struct {
		code, want string
		ok         bool
	}{
		{"yyyy-mm-dd", "2006-01-02", true},
		{"dd.mm.yyyy hh:mm:ss", "02.01.2006 15:04:05", true},
		{"m/d/yy h:mm", "1/2/06 15:04", true},
		{"h:mm AM/PM", "3:04 PM", true},
		{`[$-419]dd mmmm yyyy"г."`, "02 January 2006г.", true},
		{"mm:ss", "04:05", true},
		{"General", "", false},
		{"0.00", "", false},
		{"#,##0 ₽", "", false},
		{"@", "", false},
	}
	for _, tt := range tests {
		got, ok := dateLayout(tt.code)
		if ok != tt.ok || got != tt.want {
			t.Errorf("dateLayout(%q) = %q, %v; want %q, %v", tt.code, got, ok, tt.want, tt.ok)
		}
	}
}

func TestShiftFormula(t *testing.T) {
	tests := []struct {
		in     string
		dr, dc int
		want   string
	}{
		{"E2*2", 1, 0, "E3*2"},
		{"SUM($A$1:B2)", 2, 1, "SUM($A$1:C4)"},
		{"$A1+A$1", 1, 1, "$A2+B$1"},
		{`IF(A1="B2",LOG10(A1),Sheet2!C3)`, 1, 0, `IF(A2="B2",LOG10(A2),Sheet2!C4)`},
		{"'My A1'!A1", 1, 0, "'My A1'!A2"},
		{"A1", -1, 0, "#REF!"},
	}
	for _, tt := range tests {
		if got := shiftFormula(tt.in, tt.dr, tt.dc); got != tt.want {
			t.Errorf("shiftFormula(%q, %d, %d) = %q, want %q", tt.in, tt.dr, tt.dc, got, tt.want)
		}
	}
}
