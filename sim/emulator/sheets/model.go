package sheets

import (
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Grid defaults of a new Google sheet.
const (
	DefaultRowCount    = 1000
	DefaultColumnCount = 26
)

// MaxCellChars is Google's limit on the characters of one cell.
const MaxCellChars = 50000

// FormulaPlaceholder is what the emulator shows as the value of a formula it
// cannot compute (every formula written through the API; formulas loaded
// from an .xlsx keep the value the file cached). Google shows the same text
// for a formula calling an unknown function, so a leaked formula is as
// visible here as it would be in the real sheet.
const FormulaPlaceholder = "#NAME?"

type kind uint8

const (
	kindEmpty kind = iota
	kindText
	kindNumber
	kindBool
	kindError // a formula result shown as its text, e.g. FormulaPlaceholder
)

// cell is one value of the grid. The zero cell is empty.
type cell struct {
	// s is the text of a text or error cell; for a number it is the text
	// the number is displayed as when it carries a date format ("" = plain
	// number formatting).
	s string
	n float64 // number; 1/0 for booleans
	// formula is "=…" when the cell holds a formula; the other fields then
	// hold its last computed value.
	formula string
	k       kind
}

func (c *cell) empty() bool { return c.k == kindEmpty && c.formula == "" }

// sheet is one tab. rows holds at most rowCount rows of at most colCount
// cells; missing rows and cells are empty. Values writes change row slices in
// place; structural operations (sort, insert, delete) replace slices instead,
// so that a failed spreadsheets.batchUpdate can restore a shallow copy.
type sheet struct {
	id       int64
	title    string
	rowCount int
	colCount int
	rows     [][]cell
}

func (sh *sheet) at(row, col int) *cell {
	if row < len(sh.rows) && col < len(sh.rows[row]) {
		return &sh.rows[row][col]
	}
	return nil
}

// set stores c at (row, col), growing the storage but not the grid.
func (sh *sheet) set(row, col int, c cell) {
	if row >= len(sh.rows) {
		if c.empty() {
			return
		}
		sh.rows = append(sh.rows, make([][]cell, row+1-len(sh.rows))...)
	}
	r := sh.rows[row]
	if col >= len(r) {
		if c.empty() {
			return
		}
		if col < cap(r) {
			r = r[:col+1]
		} else {
			grown := make([]cell, col+1, max(col+1, 2*cap(r)))
			copy(grown, r)
			r = grown
		}
		sh.rows[row] = r
	}
	r[col] = c
}

// reserve makes room for width cells in row so that a following run of set
// calls does not grow the row cell by cell.
func (sh *sheet) reserve(row, width int) {
	if row >= len(sh.rows) {
		sh.rows = append(sh.rows, make([][]cell, row+1-len(sh.rows))...)
	}
	if r := sh.rows[row]; cap(r) < width {
		grown := make([]cell, len(r), width)
		copy(grown, r)
		sh.rows[row] = grown
	}
}

// trim drops trailing empty cells and rows so that storage follows the data.
func (sh *sheet) trim() {
	for i, r := range sh.rows {
		n := len(r)
		for n > 0 && r[n-1].empty() {
			n--
		}
		if n == 0 {
			sh.rows[i] = nil
		} else if n < len(r) {
			clear(r[n:])
			sh.rows[i] = r[:n]
		}
	}
	n := len(sh.rows)
	for n > 0 && sh.rows[n-1] == nil {
		n--
	}
	clear(sh.rows[n:])
	sh.rows = sh.rows[:n]
}

// trimRows is trim for the rows [from, to) only, used after a write.
func (sh *sheet) trimRows(from, to int) {
	for i := from; i < to && i < len(sh.rows); i++ {
		r := sh.rows[i]
		n := len(r)
		for n > 0 && r[n-1].empty() {
			n--
		}
		if n == 0 {
			sh.rows[i] = nil
		} else if n < len(r) {
			clear(r[n:])
			sh.rows[i] = r[:n]
		}
	}
	n := len(sh.rows)
	for n > 0 && sh.rows[n-1] == nil {
		n--
	}
	clear(sh.rows[n:])
	sh.rows = sh.rows[:n]
}

// dataWidth is the number of columns up to the last non-empty one.
func (sh *sheet) dataWidth() int {
	w := 0
	for _, r := range sh.rows {
		w = max(w, len(r))
	}
	return w
}

// book is one spreadsheet. mu serializes writers as Google does; readers
// share it and see whole requests only.
type book struct {
	mu      sync.RWMutex
	id      string
	title   string
	sheets  []*sheet
	version uint64 // incremented by every change; the saver compares it
}

func (b *book) sheetByTitle(title string) *sheet {
	for _, sh := range b.sheets {
		if sh.title == title {
			return sh
		}
	}
	// Sheet titles are unique regardless of case and Google resolves them
	// that way.
	for _, sh := range b.sheets {
		if strings.EqualFold(sh.title, title) {
			return sh
		}
	}
	return nil
}

func (b *book) sheetByID(id int64) (*sheet, int) {
	for i, sh := range b.sheets {
		if sh.id == id {
			return sh, i
		}
	}
	return nil, -1
}

// newSheetID picks an id the way Google does (a large positive number),
// derived from the title so that ids survive a save and reload; the first
// sheet of a spreadsheet is 0 as in Google.
func (b *book) newSheetID(title string) int64 {
	if len(b.sheets) == 0 {
		return 0
	}
	id := titleID(title)
	for {
		if s, _ := b.sheetByID(id); s == nil {
			return id
		}
		id++
	}
}

// titleID hashes a sheet title (FNV-1a) to a positive sheet id.
func titleID(title string) int64 {
	h := uint32(2166136261)
	for i := 0; i < len(title); i++ {
		h ^= uint32(title[i])
		h *= 16777619
	}
	return int64(h&0x7fffffff) | 1
}

// Render options of the values API.
type render uint8

const (
	renderFormatted render = iota
	renderUnformatted
	renderFormula
)

func parseRender(s string) (render, bool) {
	switch s {
	case "", "FORMATTED_VALUE":
		return renderFormatted, true
	case "UNFORMATTED_VALUE":
		return renderUnformatted, true
	case "FORMULA":
		return renderFormula, true
	}
	return 0, false
}

// formatted is the cell as FORMATTED_VALUE shows it.
func (c *cell) formatted() string {
	switch c.k {
	case kindText, kindError:
		return c.s
	case kindNumber:
		if c.s != "" {
			return c.s
		}
		return formatNumber(c.n)
	case kindBool:
		if c.n != 0 {
			return "TRUE"
		}
		return "FALSE"
	}
	return ""
}

// formatNumber mimics the "automatic" number format: integers in full,
// fractions to at most 15 significant digits, very large or small
// magnitudes in scientific notation ("1.5E+21").
func formatNumber(n float64) string {
	if n == 0 {
		return "0" // not "-0"
	}
	a := math.Abs(n)
	if a != 0 && (a >= 1e15 || a < 1e-9) {
		s := strconv.FormatFloat(n, 'E', -1, 64)
		mant, exp, _ := strings.Cut(s, "E")
		e, _ := strconv.Atoi(exp)
		sign := "+"
		if e < 0 {
			sign, e = "-", -e
		}
		return mant + "E" + sign + strconv.Itoa(e)
	}
	s := strconv.FormatFloat(n, 'f', -1, 64)
	if len(s) > 16 {
		// Binary noise such as 0.30000000000000004 is not shown by Sheets.
		r, _ := strconv.ParseFloat(strconv.FormatFloat(n, 'g', 15, 64), 64)
		s = strconv.FormatFloat(r, 'f', -1, 64)
	}
	return s
}

// inputMode is valueInputOption.
type inputMode uint8

const (
	inputRaw inputMode = iota
	inputUserEntered
)

// cellFromInput converts one JSON value of a write request. ok is false for
// JSON null, which leaves the cell untouched.
func cellFromInput(v any, mode inputMode) (c cell, ok bool) {
	switch v := v.(type) {
	case nil:
		return cell{}, false
	case bool:
		return boolCell(v), true
	case float64:
		return cell{k: kindNumber, n: v}, true
	case string:
		if mode == inputRaw {
			return textCell(v), true
		}
		return parseUserEntered(v), true
	}
	// Objects and arrays are rejected by buildPlan before this point.
	return cell{}, false
}

func textCell(s string) cell {
	if s == "" {
		return cell{}
	}
	return cell{k: kindText, s: s}
}

func boolCell(b bool) cell {
	c := cell{k: kindBool}
	if b {
		c.n = 1
	}
	return c
}

// parseUserEntered reads text as Sheets does when a person types it: "'"
// forces text, "=" starts a formula, numbers, booleans and ISO dates become
// typed values, anything else stays text.
func parseUserEntered(s string) cell {
	switch {
	case s == "":
		return cell{}
	case s[0] == '\'':
		return textCell(s[1:])
	case s[0] == '=' && len(s) > 1:
		return cell{formula: s, k: kindError, s: FormulaPlaceholder}
	}
	t := strings.TrimSpace(s)
	if strings.EqualFold(t, "TRUE") {
		return boolCell(true)
	}
	if strings.EqualFold(t, "FALSE") {
		return boolCell(false)
	}
	if n, ok := parseNumber(t); ok {
		return cell{k: kindNumber, n: n}
	}
	if serial, ok := parseISODate(t); ok {
		return cell{k: kindNumber, n: serial, s: t}
	}
	return textCell(s)
}

// parseNumber accepts plain decimal numbers ("-12", "3.5", ".5", "1e3") and
// nothing that strconv would also take (hex, "Inf", underscores).
func parseNumber(s string) (float64, bool) {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i, digits = i+1, digits+1
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i, digits = i+1, digits+1
		}
	}
	if digits == 0 {
		return 0, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i, exp = i+1, exp+1
		}
		if exp == 0 {
			return 0, false
		}
	}
	if i != len(s) {
		return 0, false
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(n, 0) {
		return 0, false
	}
	return n, true
}

var isoLayouts = []string{"2006-01-02", "2006-01-02 15:04", "2006-01-02 15:04:05"}

// sheetsEpoch is day 0 of spreadsheet serial dates.
var sheetsEpoch = time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)

// parseISODate turns "2024-01-02[ 15:04[:05]]" into a serial date number, as
// Sheets does with dates typed in ISO form (it keeps showing them as typed).
func parseISODate(s string) (float64, bool) {
	if len(s) < 10 || s[4] != '-' {
		return 0, false
	}
	for _, layout := range isoLayouts {
		if len(s) != len(layout) {
			continue
		}
		if t, err := time.Parse(layout, s); err == nil {
			return serialFromTime(t), true
		}
	}
	return 0, false
}

func serialFromTime(t time.Time) float64 {
	return float64(t.Sub(sheetsEpoch)) / float64(24*time.Hour)
}

// tooLong reports whether s exceeds MaxCellChars, counted as Google counts:
// in UTF-16 code units.
func tooLong(s string) bool {
	if len(s) <= MaxCellChars {
		// A UTF-8 string never has more UTF-16 units than bytes.
		return false
	}
	n := 0
	for _, r := range s {
		n++
		if r >= 0x10000 {
			n++
		}
	}
	return n > MaxCellChars
}
