package a1_test

import (
	"testing"

	client "marketingbot/pkg/sheets/a1"
	"marketingbot/sim/emulator/sheets/internal/a1"
)

const u = a1.Unbounded

// googleExamples are the examples of A1 notation in Google's Sheets API
// guide ("Key concepts", A1 notation), with the cells each one names.
var googleExamples = []struct {
	in   string
	want a1.Range
}{
	{"Sheet1!A1:B2", a1.Range{Sheet: "Sheet1", StartCol: 0, StartRow: 1, EndCol: 1, EndRow: 2}}, // the first two cells in the top two rows
	{"Sheet1!A:A", a1.Range{Sheet: "Sheet1", StartCol: 0, StartRow: 1, EndCol: 0, EndRow: u}},   // all cells in the first column
	{"Sheet1!1:2", a1.Range{Sheet: "Sheet1", StartCol: 0, StartRow: 1, EndCol: u, EndRow: 2}},   // all cells in the first two rows
	{"Sheet1!A5:A", a1.Range{Sheet: "Sheet1", StartCol: 0, StartRow: 5, EndCol: 0, EndRow: u}},  // the first column from row 5 onward
	{"A1:B2", a1.Range{Sheet: "", StartCol: 0, StartRow: 1, EndCol: 1, EndRow: 2}},              // the first visible sheet
	{"Sheet1", a1.Range{Sheet: "Sheet1", StartCol: 0, StartRow: 1, EndCol: u, EndRow: u}},       // all cells of Sheet1
	{"'Jon''s_Data'!A1:D5", a1.Range{Sheet: "Jon's_Data", StartCol: 0, StartRow: 1, EndCol: 3, EndRow: 5}},
	{"'My Custom Sheet'!A:A", a1.Range{Sheet: "My Custom Sheet", StartCol: 0, StartRow: 1, EndCol: 0, EndRow: u}},
	{"'My Custom Sheet'", a1.Range{Sheet: "My Custom Sheet", StartCol: 0, StartRow: 1, EndCol: u, EndRow: u}},
	// The guide's tip: unquoted A1 is a cell of the first sheet, quoted 'A1'
	// the sheet named A1.
	{"A1", a1.Range{Sheet: "", StartCol: 0, StartRow: 1, EndCol: 0, EndRow: 1}},
	{"'A1'", a1.Range{Sheet: "A1", StartCol: 0, StartRow: 1, EndCol: u, EndRow: u}},
}

// moreRanges are spellings this system writes or that probe the edges:
// cyrillic titles, lower case, reversed corners, the last column and row.
var moreRanges = []string{
	"'Обращения'!D2:F", "Обращения!D2:F", "'База знаний'!A:C", "A:C", "A1:C", "2:5", "5:2",
	"B2:5", "A2:5", "B5:A", "Auth", "'Auth'", "My Sheet", "AAAA1", "'2024'!A1", "a1:b2",
	"sheet1!aa10:zz20", "ZZZ1", "B2:A1", "A2:B1", "C:A", "A01", "A0007", "'R1C1'!A1",
	"'Sheet 1'!A10000000", "'a!b'!C3", "'It''s'!A1", "Sheet1!A1:A1",
}

// notRanges must be refused by both.
var notRanges = []string{
	"", "'", "'unterminated!A1", "''!A1", "'Sheet'A1", "Sheet1!", "Sheet1!A", "Sheet1!5",
	"Sheet1!A0", "Sheet1!A1:", "Sheet1!:A1", "Sheet1!A1:B2:C3", "Sheet1!AAAA1", "Sheet1!A10000001",
	"Sheet1!A99999999999999999999", "Sheet1!A:B5", "Sheet1!5:A1", "It's!A1", "a:b!A1", "!A1",
	"Sheet1!A-1", "Sheet1!A+1", "Sheet1!A 1", "tab\there",
}

func TestGoogleExamples(t *testing.T) {
	for _, tt := range googleExamples {
		t.Run(tt.in, func(t *testing.T) {
			got, err := a1.Parse(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("emulator: Parse(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
			c, err := client.Parse(tt.in)
			if err != nil || fromClient(c) != tt.want {
				t.Errorf("client: Parse(%q) = %+v, %v; want %+v", tt.in, c, err, tt.want)
			}
		})
	}
}

// TestAgreesWithClient checks that the emulator and the client read and
// write every range alike, so the emulator answers what Google would for
// each range the client sends.
func TestAgreesWithClient(t *testing.T) {
	var inputs []string
	for _, ex := range googleExamples {
		inputs = append(inputs, ex.in)
	}
	inputs = append(append(inputs, moreRanges...), notRanges...)
	for _, in := range inputs {
		t.Run(in, func(t *testing.T) { agree(t, in) })
	}
	for _, in := range notRanges {
		if _, err := a1.Parse(in); err == nil {
			t.Errorf("emulator accepts %q", in)
		}
	}
}

func FuzzAgreesWithClient(f *testing.F) {
	for _, ex := range googleExamples {
		f.Add(ex.in)
	}
	for _, in := range append(moreRanges, notRanges...) {
		f.Add(in)
	}
	f.Fuzz(agree)
}

func agree(t *testing.T, in string) {
	got, err := a1.Parse(in)
	c, cerr := client.Parse(in)
	if (err == nil) != (cerr == nil) {
		t.Fatalf("Parse(%q): emulator error %v, client error %v", in, err, cerr)
	}
	if err != nil {
		return
	}
	if fromClient(c) != got {
		t.Fatalf("Parse(%q): emulator %+v, client %+v", in, got, c)
	}
	if got.String() != c.String() {
		t.Fatalf("String of %q: emulator %q, client %q", in, got.String(), c.String())
	}
}

func fromClient(c client.Range) a1.Range {
	return a1.Range{Sheet: c.Sheet, StartCol: c.StartCol, StartRow: c.StartRow, EndCol: c.EndCol, EndRow: c.EndRow}
}

func TestColumns(t *testing.T) {
	for _, tt := range []struct {
		name  string
		index int
	}{{"A", 0}, {"Z", 25}, {"AA", 26}, {"AZ", 51}, {"BA", 52}, {"ZZ", 701}, {"AAA", 702}, {"ZZZ", a1.MaxColumns - 1}} {
		if got := a1.ColumnIndex(tt.name); got != tt.index {
			t.Errorf("ColumnIndex(%q) = %d, want %d", tt.name, got, tt.index)
		}
		if got := a1.ColumnName(tt.index); got != tt.name {
			t.Errorf("ColumnName(%d) = %q, want %q", tt.index, got, tt.name)
		}
	}
	for _, bad := range []string{"", "AAAA", "A1", "@", "[", "é"} {
		if got := a1.ColumnIndex(bad); got != -1 {
			t.Errorf("ColumnIndex(%q) = %d, want -1", bad, got)
		}
	}
	if got := a1.ColumnName(-1); got != "" {
		t.Errorf("ColumnName(-1) = %q", got)
	}
	for i := range a1.MaxColumns {
		name := a1.ColumnName(i)
		if a1.ColumnIndex(name) != i || client.ColumnName(i) != name || client.ColumnIndex(name) != i {
			t.Fatalf("column %d: emulator %q, client %q", i, name, client.ColumnName(i))
		}
	}
	if a1.MaxColumns != client.MaxColumns || a1.MaxRows != client.MaxRows {
		t.Errorf("limits: emulator %d×%d, client %d×%d", a1.MaxColumns, a1.MaxRows, client.MaxColumns, client.MaxRows)
	}
}

// TestString checks how titles are quoted in responses: bare only for
// plain names that cannot be read as a cell.
func TestString(t *testing.T) {
	for _, tt := range []struct {
		r    a1.Range
		want string
	}{
		{a1.Range{Sheet: "Sheet1", StartCol: 0, StartRow: 1, EndCol: 1, EndRow: 2}, "Sheet1!A1:B2"},
		{a1.Range{Sheet: "My Custom Sheet", StartCol: 0, StartRow: 1, EndCol: 0, EndRow: u}, "'My Custom Sheet'!A:A"},
		{a1.Range{Sheet: "Jon's_Data", StartCol: 0, StartRow: 1, EndCol: 3, EndRow: 5}, "'Jon''s_Data'!A1:D5"},
		{a1.Range{Sheet: "A1", StartCol: 0, StartRow: 1, EndCol: u, EndRow: u}, "'A1'"},
		{a1.Range{Sheet: "RC", StartCol: 2, StartRow: 3, EndCol: 2, EndRow: 3}, "'RC'!C3"},
		{a1.Range{Sheet: "r1c2", StartCol: 2, StartRow: 3, EndCol: 2, EndRow: 3}, "'r1c2'!C3"},
		{a1.Range{Sheet: "RCX", StartCol: 2, StartRow: 3, EndCol: 2, EndRow: 3}, "RCX!C3"},
		{a1.Range{Sheet: "ABCD1", StartCol: 2, StartRow: 3, EndCol: 2, EndRow: 3}, "ABCD1!C3"},
		{a1.Range{Sheet: "_x", StartCol: 0, StartRow: 2, EndCol: u, EndRow: 5}, "_x!2:5"},
		{a1.Range{Sheet: "2024", StartCol: 1, StartRow: 2, EndCol: u, EndRow: 5}, "'2024'!B2:5"},
		{a1.Range{Sheet: "Очередь", StartCol: 1, StartRow: 7, EndCol: 2, EndRow: u}, "'Очередь'!B7:C"},
		{a1.Range{StartCol: 0, StartRow: 1, EndCol: u, EndRow: u}, ""},
	} {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.r, got, tt.want)
		}
		c := client.Range{Sheet: tt.r.Sheet, StartCol: tt.r.StartCol, StartRow: tt.r.StartRow, EndCol: tt.r.EndCol, EndRow: tt.r.EndRow}
		if got := c.String(); got != tt.want {
			t.Errorf("client %+v.String() = %q, want %q", c, got, tt.want)
		}
	}
}
