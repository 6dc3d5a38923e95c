package a1

import (
	"errors"
	"fmt"
	"testing"
)

func TestParse(t *testing.T) {
	const U = Unbounded
	tests := []struct {
		in   string
		want Range
		str  string // canonical form; "" = same as in
	}{
		{"Sheet1!A1:B2", Range{"Sheet1", 0, 1, 1, 2}, ""},
		{"Sheet1!A1", Range{"Sheet1", 0, 1, 0, 1}, ""},
		{"Sheet1!A1:A1", Range{"Sheet1", 0, 1, 0, 1}, "Sheet1!A1"},
		{"'Обращения'!D2:F", Range{"Обращения", 3, 2, 5, U}, ""},
		{"Обращения!D2:F", Range{"Обращения", 3, 2, 5, U}, "'Обращения'!D2:F"},
		{"'It''s'!A1", Range{"It's", 0, 1, 0, 1}, ""},
		{"'a!b'!C3", Range{"a!b", 2, 3, 2, 3}, ""},
		{"'База знаний'!A:C", Range{"База знаний", 0, 1, 2, U}, ""},
		{"A:C", Range{"", 0, 1, 2, U}, ""},
		{"A1:C", Range{"", 0, 1, 2, U}, "A:C"},
		{"2:5", Range{"", 0, 2, U, 5}, ""},
		{"5:2", Range{"", 0, 2, U, 5}, "2:5"},
		{"B2:5", Range{"", 1, 2, U, 5}, ""},
		{"A2:5", Range{"", 0, 2, U, 5}, "2:5"},
		{"A5:A", Range{"", 0, 5, 0, U}, ""},
		{"B5:A", Range{"", 0, 5, 1, U}, "A5:B"},
		{"Auth", WholeSheet("Auth"), ""},
		{"'Auth'", WholeSheet("Auth"), "Auth"},
		{"'Очередь'", WholeSheet("Очередь"), ""},
		{"My Sheet", WholeSheet("My Sheet"), "'My Sheet'"},
		{"'A1'", WholeSheet("A1"), ""},
		{"AAAA1", WholeSheet("AAAA1"), ""},
		{"'2024'!A1", Range{"2024", 0, 1, 0, 1}, ""},
		{"a1:b2", Range{"", 0, 1, 1, 2}, "A1:B2"},
		{"sheet1!aa10:zz20", Range{"sheet1", 26, 10, 701, 20}, "sheet1!AA10:ZZ20"},
		{"ZZZ1", Range{"", 18277, 1, 18277, 1}, ""},
		{"B2:A1", Range{"", 0, 1, 1, 2}, "A1:B2"},
		{"A2:B1", Range{"", 0, 1, 1, 2}, "A1:B2"},
		{"C:A", Range{"", 0, 1, 2, U}, "A:C"},
		{"A1", Range{"", 0, 1, 0, 1}, ""},
		{"A01", Range{"", 0, 1, 0, 1}, "A1"},
		{"'R1C1'!A1", Range{"R1C1", 0, 1, 0, 1}, ""},
		{"'Sheet 1'!A10000000", Range{"Sheet 1", 0, 10000000, 0, 10000000}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			wantStr := tt.str
			if wantStr == "" {
				wantStr = tt.in
			}
			if s := got.String(); s != wantStr {
				t.Fatalf("String() = %q, want %q", s, wantStr)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	for _, in := range []string{
		"",
		"'",
		"'unterminated!A1",
		"''!A1",
		"'Sheet'A1",
		"Sheet1!",
		"Sheet1!A",
		"Sheet1!5",
		"Sheet1!A0",
		"Sheet1!AAAA1",
		"Sheet1!A1:B2:C3",
		"Sheet1!A:B5",
		"Sheet1!2:B5",
		"Sheet1!A1:",
		"Sheet1!:A1",
		"Sheet1!A-1",
		"Sheet1!A10000001",
		"Sheet1!A99999999999999999999",
		"It's!A1",
		"a:b!A1",
		"x!y!A1",
		"tab\tname",
	} {
		t.Run(in, func(t *testing.T) {
			r, err := Parse(in)
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want error", in, r)
			}
			if !errors.Is(err, ErrInvalidRange) {
				t.Fatalf("error %v does not wrap ErrInvalidRange", err)
			}
		})
	}
}

func TestColumns(t *testing.T) {
	tests := []struct {
		name  string
		index int
	}{
		{"A", 0}, {"B", 1}, {"Z", 25}, {"AA", 26}, {"AZ", 51}, {"BA", 52},
		{"ZZ", 701}, {"AAA", 702}, {"ZZZ", 18277},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ColumnIndex(tt.name); got != tt.index {
				t.Errorf("ColumnIndex(%q) = %d, want %d", tt.name, got, tt.index)
			}
			if got := ColumnName(tt.index); got != tt.name {
				t.Errorf("ColumnName(%d) = %q, want %q", tt.index, got, tt.name)
			}
		})
	}
	for _, bad := range []string{"", "1", "A1", "AAAA", "Ж"} {
		if got := ColumnIndex(bad); got != -1 {
			t.Errorf("ColumnIndex(%q) = %d, want -1", bad, got)
		}
	}
	if got := ColumnIndex("aa"); got != 26 {
		t.Errorf("ColumnIndex(aa) = %d, want 26", got)
	}
	if got := ColumnName(-1); got != "" {
		t.Errorf("ColumnName(-1) = %q, want empty", got)
	}
	for i := range MaxColumns {
		if got := ColumnIndex(ColumnName(i)); got != i {
			t.Fatalf("round trip of %d gave %d", i, got)
		}
	}
}

func TestHelpers(t *testing.T) {
	tests := []struct{ got, want string }{
		{Cell("Auth", 4, 7), "Auth!E7"},
		{Cell("Обращения", 3, 2), "'Обращения'!D2"},
		{Cell("", 26, 1), "AA1"},
		{Row("Auth", 0, 6, 5), "Auth!A5:G5"},
		{Row("Auth", 6, 0, 5), "Auth!A5:G5"},
		{Row("Очередь", 0, 10, 12), "'Очередь'!A12:K12"},
		{Quote("Sheet1"), "Sheet1"},
		{Quote("Sheet_1"), "Sheet_1"},
		{Quote("It's"), "'It''s'"},
		{Quote("A1"), "'A1'"},
		{Quote("abc123"), "'abc123'"},
		{Quote("abcd123"), "abcd123"},
		{Quote("RC"), "'RC'"},
		{Quote("R2C"), "'R2C'"},
		{Quote("Rome"), "Rome"},
		{Quote("1st"), "'1st'"},
		{Quote("My Sheet"), "'My Sheet'"},
		{Quote("База знаний"), "'База знаний'"},
		{WholeSheet("Auth").String(), "Auth"},
		{WholeSheet("").String(), ""},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

func TestErrorMentionsInput(t *testing.T) {
	_, err := Parse("Sheet1!Q")
	if err == nil || !errors.Is(err, ErrInvalidRange) {
		t.Fatalf("err = %v", err)
	}
	const want = `a1: invalid range "Sheet1!Q"`
	if got := err.Error(); len(got) < len(want) || got[:len(want)] != want {
		t.Errorf("error %q does not start with %q", got, want)
	}
}

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"Sheet1!A1:B2", "'Обращения'!D2:F", "'It''s'!A1", "A:C", "2:5", "A5:A",
		"Auth", "Sheet1!A1", "a1:zz9", "ZZZ1", "B2:A1", "B2:5", "'A1'", "''",
		"'a!b'!A1", "x!y", "A1:B2:C3", "R1C1", "1", "'",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidRange) {
				t.Fatalf("Parse(%q) error %v does not wrap ErrInvalidRange", s, err)
			}
			return
		}
		printed := r.String()
		again, err := Parse(printed)
		if err != nil {
			t.Fatalf("Parse(%q) = %+v printed as %q, which does not parse: %v", s, r, printed, err)
		}
		if again != r {
			t.Fatalf("Parse(%q) = %+v, printed %q, parsed back as %+v", s, r, printed, again)
		}
	})
}
