// Package a1 parses and prints Google Sheets A1 notation ("'Обращения'!D2:F",
// "Auth", "A:C", "2:5") the way the Sheets API reads it.
//
// A Range keeps columns as 0-based indexes (A = 0, as ColumnIndex returns) and
// rows as 1-based sheet row numbers (as written in A1 notation and as
// domain.Partner.Row counts them). Both ends are inclusive. An open side is
// the constant Unbounded in EndCol or EndRow; the start of a range is always a
// concrete cell:
//
//	"Sheet1!A1:B2" → {Sheet1, StartCol 0, StartRow 1, EndCol 1, EndRow 2}
//	"A5:A"         → {"", 0, 5, 0, Unbounded}          rows 5 to the end
//	"A:C"          → {"", 0, 1, 2, Unbounded}          whole columns
//	"2:5"          → {"", 0, 2, Unbounded, 5}          whole rows
//	"Auth"         → {Auth, 0, 1, Unbounded, Unbounded} whole sheet
//
// An empty Sheet means the first sheet of the spreadsheet, as the API treats
// a range without a sheet title. Reversed corners are normalized ("B2:A1" is
// "A1:B2"), so two spellings of one range compare equal with ==.
package a1

import (
	"errors"
	"fmt"
	"strings"
)

// Unbounded marks an open end of a range: EndCol == Unbounded runs to the last
// column of the sheet, EndRow == Unbounded to the last row.
const Unbounded = -1

// Limits of the notation as Google Sheets accepts it.
const (
	// MaxColumns is the number of columns A..ZZZ.
	MaxColumns = 26 + 26*26 + 26*26*26
	// MaxRows bounds row numbers; a spreadsheet holds at most ten million
	// cells, so no row can lie beyond it.
	MaxRows = 10_000_000
)

// ErrInvalidRange is returned (wrapped, with the input) for text that is not
// A1 notation.
var ErrInvalidRange = errors.New("a1: invalid range")

// Range is a rectangle of one sheet; see the package comment for the
// conventions.
type Range struct {
	Sheet    string // sheet title, unquoted; "" = the first sheet
	StartCol int    // 0-based column index
	StartRow int    // 1-based row number
	EndCol   int    // 0-based, inclusive, or Unbounded
	EndRow   int    // 1-based, inclusive, or Unbounded
}

// WholeSheet returns the range covering every cell of sheet.
func WholeSheet(sheet string) Range {
	return Range{Sheet: sheet, StartCol: 0, StartRow: 1, EndCol: Unbounded, EndRow: Unbounded}
}

// IsWholeSheet reports whether r has no bounds at all.
func (r Range) IsWholeSheet() bool { return r.EndCol == Unbounded && r.EndRow == Unbounded }

// String renders r in canonical A1 notation: the sheet title quoted when
// needed, a single cell as "A1", whole columns as "A:C", whole rows as "2:5",
// a whole sheet as its bare title. A whole-sheet range without a sheet title
// has no A1 spelling and renders as "".
func (r Range) String() string {
	if r.IsWholeSheet() {
		if r.Sheet == "" {
			return ""
		}
		return Quote(r.Sheet)
	}
	var b strings.Builder
	if r.Sheet != "" {
		b.WriteString(Quote(r.Sheet))
		b.WriteByte('!')
	}
	switch {
	case r.EndRow == Unbounded:
		if r.StartRow == 1 {
			b.WriteString(ColumnName(r.StartCol))
		} else {
			writeCell(&b, r.StartCol, r.StartRow)
		}
		b.WriteByte(':')
		b.WriteString(ColumnName(r.EndCol))
	case r.EndCol == Unbounded:
		if r.StartCol == 0 {
			fmt.Fprintf(&b, "%d", r.StartRow)
		} else {
			writeCell(&b, r.StartCol, r.StartRow)
		}
		fmt.Fprintf(&b, ":%d", r.EndRow)
	default:
		writeCell(&b, r.StartCol, r.StartRow)
		if r.EndCol != r.StartCol || r.EndRow != r.StartRow {
			b.WriteByte(':')
			writeCell(&b, r.EndCol, r.EndRow)
		}
	}
	return b.String()
}

func writeCell(b *strings.Builder, col, row int) {
	b.WriteString(ColumnName(col))
	fmt.Fprintf(b, "%d", row)
}

// Cell renders the single cell at the 0-based column col and 1-based row of
// sheet, e.g. Cell("Auth", 4, 7) == "Auth!E7".
func Cell(sheet string, col, row int) string {
	return Range{Sheet: sheet, StartCol: col, StartRow: row, EndCol: col, EndRow: row}.String()
}

// Row renders the columns fromCol..toCol (0-based, inclusive) of one 1-based
// row, e.g. Row("Auth", 0, 6, 5) == "Auth!A5:G5".
func Row(sheet string, fromCol, toCol, row int) string {
	if toCol < fromCol {
		fromCol, toCol = toCol, fromCol
	}
	return Range{Sheet: sheet, StartCol: fromCol, StartRow: row, EndCol: toCol, EndRow: row}.String()
}

// ColumnIndex converts a column name ("A", "z", "AA", "ZZZ") to its 0-based
// index; it returns -1 for anything that is not a column name within ZZZ.
func ColumnIndex(name string) int {
	if name == "" || len(name) > 3 {
		return -1
	}
	n := 0
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'A' && c <= 'Z':
			n = n*26 + int(c-'A') + 1
		case c >= 'a' && c <= 'z':
			n = n*26 + int(c-'a') + 1
		default:
			return -1
		}
	}
	return n - 1
}

// ColumnName converts a 0-based column index to its name (0 → "A",
// 26 → "AA"); negative indexes yield "".
func ColumnName(index int) string {
	if index < 0 {
		return ""
	}
	var buf [16]byte // enough for any int
	i := len(buf)
	for n := index + 1; n > 0; n = (n - 1) / 26 {
		i--
		buf[i] = byte('A' + (n-1)%26)
	}
	return string(buf[i:])
}

// Quote returns title as it must appear before "!" in A1 notation: bare when
// it consists of ASCII letters, digits and underscores and cannot be mistaken
// for a cell or row reference, otherwise in single quotes with embedded
// quotes doubled:
//
//	Quote("Sheet1") == "Sheet1"
//	Quote("It's")   == "'It''s'"
//	Quote("A1")     == "'A1'"
func Quote(title string) string {
	if isPlainTitle(title) {
		return title
	}
	return "'" + strings.ReplaceAll(title, "'", "''") + "'"
}

func isPlainTitle(t string) bool {
	if t == "" || t[0] >= '0' && t[0] <= '9' {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return !looksLikeReference(t)
}

// looksLikeReference reports whether t could be read as a cell in A1 style
// ("AB12") or R1C1 style ("R1C1", "RC"), which Sheets only accepts quoted.
func looksLikeReference(t string) bool {
	letters := 0
	for letters < len(t) && isLetter(t[letters]) {
		letters++
	}
	if letters >= 1 && letters <= 3 && letters < len(t) && allDigits(t[letters:]) {
		return true
	}
	u := strings.ToUpper(t)
	if u[0] != 'R' {
		return false
	}
	c := strings.IndexByte(u, 'C')
	return c > 0 && allDigits(u[1:c]) && allDigits(u[c+1:])
}

func isLetter(c byte) bool { return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Parse reads A1 notation. See the package comment for the accepted forms;
// anything else yields an error wrapping ErrInvalidRange.
func Parse(s string) (Range, error) {
	r, reason := parse(s)
	if reason != "" {
		return Range{}, fmt.Errorf("%w %q: %s", ErrInvalidRange, s, reason)
	}
	return r, nil
}

func parse(s string) (Range, string) {
	if s == "" {
		return Range{}, "empty"
	}
	if s[0] == '\'' {
		title, rest, ok := unquote(s)
		if !ok {
			return Range{}, "unterminated quoted sheet title"
		}
		if title == "" {
			return Range{}, "empty sheet title"
		}
		if rest == "" {
			return WholeSheet(title), ""
		}
		if rest[0] != '!' {
			return Range{}, "text after the quoted sheet title"
		}
		return parseAreaOf(title, rest[1:])
	}
	if i := strings.IndexByte(s, '!'); i >= 0 {
		title := s[:i]
		if reason := checkBareTitle(title); reason != "" {
			return Range{}, reason
		}
		return parseAreaOf(title, s[i+1:])
	}
	if r, reason := parseArea(s); reason == "" {
		return r, ""
	}
	if reason := checkBareTitle(s); reason != "" {
		return Range{}, reason
	}
	return WholeSheet(s), ""
}

func parseAreaOf(title, area string) (Range, string) {
	r, reason := parseArea(area)
	if reason != "" {
		return Range{}, reason
	}
	r.Sheet = title
	return r, ""
}

// unquote reads a quoted title at the start of s and returns the title and
// what follows the closing quote.
func unquote(s string) (title, rest string, ok bool) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		if s[i] != '\'' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '\'' {
			b.WriteByte('\'')
			i++
			continue
		}
		return b.String(), s[i+1:], true
	}
	return "", "", false
}

// checkBareTitle rejects unquoted titles that the API would misread: the
// quote, "!" and ":" characters belong to the notation itself.
func checkBareTitle(t string) string {
	if t == "" {
		return "empty sheet title"
	}
	for _, c := range t {
		switch {
		case c == '\'' || c == '!' || c == ':':
			return fmt.Sprintf("sheet title with %q must be quoted", c)
		case c < ' ' || c == 0x7f:
			return "control character in sheet title"
		}
	}
	return ""
}

// ref is one side of an area: a cell ("B7"), a column ("B") or a row ("7").
type ref struct {
	col, row int // -1 when absent
}

func parseRef(s string) (ref, bool) {
	i := 0
	for i < len(s) && isLetter(s[i]) {
		i++
	}
	r := ref{col: -1, row: -1}
	if i > 0 {
		if r.col = ColumnIndex(s[:i]); r.col < 0 {
			return ref{}, false
		}
	}
	if i < len(s) {
		digits := s[i:]
		if !allDigits(digits) {
			return ref{}, false
		}
		n := 0
		for j := 0; j < len(digits); j++ {
			n = n*10 + int(digits[j]-'0')
			if n > MaxRows {
				return ref{}, false
			}
		}
		if n == 0 {
			return ref{}, false
		}
		r.row = n
	}
	return r, r.col >= 0 || r.row >= 0
}

func (r ref) isCell() bool { return r.col >= 0 && r.row >= 0 }
func (r ref) isCol() bool  { return r.col >= 0 && r.row < 0 }
func (r ref) isRow() bool  { return r.col < 0 && r.row >= 0 }

func parseArea(s string) (Range, string) {
	first, second, two := strings.Cut(s, ":")
	a, ok := parseRef(first)
	if !ok {
		return Range{}, fmt.Sprintf("bad reference %q", first)
	}
	if !two {
		if !a.isCell() {
			return Range{}, "a single column or row needs a second side, as in A:A or 2:2"
		}
		return Range{StartCol: a.col, StartRow: a.row, EndCol: a.col, EndRow: a.row}, ""
	}
	b, ok := parseRef(second)
	if !ok {
		return Range{}, fmt.Sprintf("bad reference %q", second)
	}
	switch {
	case a.isCell() && b.isCell():
		return Range{
			StartCol: min(a.col, b.col), StartRow: min(a.row, b.row),
			EndCol: max(a.col, b.col), EndRow: max(a.row, b.row),
		}, ""
	case a.isCol() && b.isCol():
		return Range{StartCol: min(a.col, b.col), StartRow: 1, EndCol: max(a.col, b.col), EndRow: Unbounded}, ""
	case a.isRow() && b.isRow():
		return Range{StartCol: 0, StartRow: min(a.row, b.row), EndCol: Unbounded, EndRow: max(a.row, b.row)}, ""
	case a.isCell() && b.isCol():
		// "A5:C": columns A..C from row 5 down to the end of the sheet.
		return Range{StartCol: min(a.col, b.col), StartRow: a.row, EndCol: max(a.col, b.col), EndRow: Unbounded}, ""
	case a.isCell() && b.isRow():
		// "B2:5": rows 2..5 from column B to the last column.
		return Range{StartCol: a.col, StartRow: min(a.row, b.row), EndCol: Unbounded, EndRow: max(a.row, b.row)}, ""
	}
	return Range{}, fmt.Sprintf("cannot combine %q with %q", first, second)
}
