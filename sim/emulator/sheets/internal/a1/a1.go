// Package a1 is the Sheets emulator's own reading of A1 notation, written
// from Google's description of it in the Sheets API guide ("Sheet1!A1:B2",
// "Sheet1!A:A", "Sheet1!1:2", "Sheet1!A5:A", "A1:B2", "Sheet1",
// "'My Custom Sheet'!A:A", "'My Custom Sheet'"). It deliberately shares no
// code with the client's parser in pkg/sheets/a1: an emulator that read
// ranges with the client's own code would agree with every mistake the
// client makes. The tests of this package check both against Google's
// published examples.
//
// A Range holds 0-based column indexes and 1-based row numbers, both ends
// inclusive; Unbounded marks a side that runs to the edge of the sheet. An
// empty Sheet is the first sheet of the spreadsheet.
package a1

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Unbounded is the EndCol or EndRow of a range that runs to the last column
// or row of its sheet.
const Unbounded = -1

// Limits Google documents for a spreadsheet.
const (
	// MaxColumns counts the column names A..ZZZ (one, two or three letters).
	MaxColumns = 26 + 26*26 + 26*26*26
	// MaxRows: a spreadsheet holds at most ten million cells, so no row
	// number beyond that can exist.
	MaxRows = 10_000_000
)

// Range is a rectangle on one sheet.
type Range struct {
	Sheet    string // unquoted title; "" = the first sheet
	StartCol int    // 0-based
	StartRow int    // 1-based
	EndCol   int    // 0-based, inclusive, or Unbounded
	EndRow   int    // 1-based, inclusive, or Unbounded
}

// Parse reads one A1 range.
func Parse(text string) (Range, error) {
	r, err := parse(text)
	if err != nil {
		return Range{}, fmt.Errorf("a1 emulator: parse %q: %w", text, err)
	}
	return r, nil
}

func parse(text string) (Range, error) {
	if text == "" {
		return Range{}, errors.New("empty range")
	}
	if text[0] == '\'' {
		title, rest, err := readQuotedTitle(text)
		if err != nil {
			return Range{}, err
		}
		if rest == "" {
			return sheetRange(title), nil
		}
		area, ok := strings.CutPrefix(rest, "!")
		if !ok {
			return Range{}, fmt.Errorf("%q follows the quoted title", rest)
		}
		return areaOnSheet(title, area)
	}
	if title, area, ok := strings.Cut(text, "!"); ok {
		if err := checkUnquotedTitle(title); err != nil {
			return Range{}, err
		}
		return areaOnSheet(title, area)
	}
	// Without "!" Google reads an area of the first sheet when the text is
	// one ("A1:B2"), and otherwise a sheet title ("Sheet1").
	if r, err := readArea(text); err == nil {
		return r, nil
	}
	if err := checkUnquotedTitle(text); err != nil {
		return Range{}, err
	}
	return sheetRange(text), nil
}

func sheetRange(title string) Range {
	return Range{Sheet: title, StartCol: 0, StartRow: 1, EndCol: Unbounded, EndRow: Unbounded}
}

func areaOnSheet(title, area string) (Range, error) {
	r, err := readArea(area)
	r.Sheet = title
	return r, err
}

// readQuotedTitle reads 'title' at the start of text, where a quote inside
// the title is written twice, and returns what follows the closing quote.
func readQuotedTitle(text string) (title, rest string, err error) {
	body := text[1:]
	var b strings.Builder
	for {
		q := strings.IndexByte(body, '\'')
		if q < 0 {
			return "", "", errors.New("quoted sheet title has no closing quote")
		}
		b.WriteString(body[:q])
		body = body[q+1:]
		if !strings.HasPrefix(body, "'") {
			break
		}
		b.WriteByte('\'')
		body = body[1:]
	}
	if b.Len() == 0 {
		return "", "", errors.New("empty sheet title")
	}
	return b.String(), body, nil
}

// checkUnquotedTitle refuses titles that only a quoted spelling can carry:
// the characters of the notation itself and control characters.
func checkUnquotedTitle(title string) error {
	if title == "" {
		return errors.New("empty sheet title")
	}
	if i := strings.IndexFunc(title, func(c rune) bool {
		return c == '\'' || c == '!' || c == ':' || c < 0x20 || c == 0x7f
	}); i >= 0 {
		return fmt.Errorf("sheet title %q needs quotes", title)
	}
	return nil
}

// end is one side of an area: a cell "C7", a column "C" or a row "7"; an
// absent part is -1.
type end struct{ col, row int }

func (e end) isCell() bool   { return e.col >= 0 && e.row >= 0 }
func (e end) isColumn() bool { return e.col >= 0 && e.row < 0 }
func (e end) isRow() bool    { return e.col < 0 && e.row >= 0 }

func readEnd(s string) (end, error) {
	e := end{col: -1, row: -1}
	digits := strings.IndexFunc(s, func(c rune) bool { return c < 'A' || c > 'Z' && c < 'a' || c > 'z' })
	if digits < 0 {
		digits = len(s)
	}
	if digits > 0 {
		if e.col = ColumnIndex(s[:digits]); e.col < 0 {
			return e, fmt.Errorf("no column %q", s[:digits])
		}
	}
	if num := s[digits:]; num != "" {
		if strings.Trim(num, "0123456789") != "" {
			return e, fmt.Errorf("bad row %q", num)
		}
		// Leading zeros are harmless ("A007" is A7); past them, more digits
		// than MaxRows has cannot be a row (and would overflow an int).
		significant := strings.TrimLeft(num, "0")
		n, _ := strconv.Atoi(significant)
		if len(significant) > len(strconv.Itoa(MaxRows)) || n < 1 || n > MaxRows {
			return e, fmt.Errorf("no row %d", n)
		}
		e.row = n
	}
	if e.col < 0 && e.row < 0 {
		return e, errors.New("empty reference")
	}
	return e, nil
}

// readArea reads the part after "!": a cell, or two ends joined by ":".
func readArea(s string) (Range, error) {
	left, right, two := strings.Cut(s, ":")
	a, err := readEnd(left)
	if err != nil {
		return Range{}, err
	}
	if !two {
		if !a.isCell() {
			return Range{}, fmt.Errorf("%q alone is not a cell (write A:A or 2:2)", left)
		}
		return Range{StartCol: a.col, StartRow: a.row, EndCol: a.col, EndRow: a.row}, nil
	}
	b, err := readEnd(right)
	if err != nil {
		return Range{}, err
	}
	switch {
	case a.isCell() && b.isCell(): // A1:B2, corners in any order
		return Range{StartCol: min(a.col, b.col), StartRow: min(a.row, b.row), EndCol: max(a.col, b.col), EndRow: max(a.row, b.row)}, nil
	case a.isColumn() && b.isColumn(): // A:C
		return Range{StartCol: min(a.col, b.col), StartRow: 1, EndCol: max(a.col, b.col), EndRow: Unbounded}, nil
	case a.isRow() && b.isRow(): // 1:2
		return Range{StartCol: 0, StartRow: min(a.row, b.row), EndCol: Unbounded, EndRow: max(a.row, b.row)}, nil
	case a.isCell() && b.isColumn(): // A5:A, from row 5 down
		return Range{StartCol: min(a.col, b.col), StartRow: a.row, EndCol: max(a.col, b.col), EndRow: Unbounded}, nil
	case a.isCell() && b.isRow(): // B2:5, from column B rightwards
		return Range{StartCol: a.col, StartRow: min(a.row, b.row), EndCol: Unbounded, EndRow: max(a.row, b.row)}, nil
	}
	return Range{}, fmt.Errorf("%q and %q do not make an area", left, right)
}

// ColumnIndex returns the 0-based index of a column name of one to three
// letters in either case ("A" = 0, "aa" = 26, "ZZZ" = MaxColumns-1), or -1.
func ColumnIndex(name string) int {
	if name == "" || len(name) > 3 {
		return -1
	}
	index := 0
	for i := range len(name) {
		c := name[i] | 0x20 // ASCII lower case
		if c < 'a' || c > 'z' {
			return -1
		}
		index = index*26 + int(c-'a') + 1
	}
	return index - 1
}

// ColumnName is the inverse of ColumnIndex: 0 = "A", 27 = "AB"; "" for a
// negative index.
func ColumnName(index int) string {
	name := ""
	for n := index; n >= 0; n = n/26 - 1 {
		name = string(rune('A'+n%26)) + name
	}
	return name
}

// String writes r the way the API writes ranges in its responses.
func (r Range) String() string {
	var area string
	switch {
	case r.EndCol == Unbounded && r.EndRow == Unbounded:
		if r.Sheet == "" {
			return ""
		}
		return quoteTitle(r.Sheet)
	case r.EndRow == Unbounded: // columns, from a row on
		area = ColumnName(r.StartCol)
		if r.StartRow != 1 {
			area += strconv.Itoa(r.StartRow)
		}
		area += ":" + ColumnName(r.EndCol)
	case r.EndCol == Unbounded: // rows, from a column on
		area = strconv.Itoa(r.StartRow)
		if r.StartCol != 0 {
			area = ColumnName(r.StartCol) + area
		}
		area += ":" + strconv.Itoa(r.EndRow)
	default:
		area = ColumnName(r.StartCol) + strconv.Itoa(r.StartRow)
		if r.EndCol != r.StartCol || r.EndRow != r.StartRow {
			area += ":" + ColumnName(r.EndCol) + strconv.Itoa(r.EndRow)
		}
	}
	if r.Sheet == "" {
		return area
	}
	return quoteTitle(r.Sheet) + "!" + area
}

var (
	// plainTitle: a title Google writes without quotes is a plain ASCII
	// identifier…
	plainTitle = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// …that cannot be taken for a cell in either notation ("A1", "R1C1").
	cellLike = regexp.MustCompile(`^(?:[A-Za-z]{1,3}[0-9]+|[Rr][0-9]*[Cc][0-9]*)$`)
)

// quoteTitle spells a sheet title for use before "!": in single quotes,
// inner quotes doubled, unless it is a plain name.
func quoteTitle(title string) string {
	if plainTitle.MatchString(title) && !cellLike.MatchString(title) {
		return title
	}
	return "'" + strings.ReplaceAll(title, "'", "''") + "'"
}
