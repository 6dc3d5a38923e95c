package domain

import (
	"strconv"
	"strings"
	"time"
)

// SheetTimeLayout is how we write timestamps into the spreadsheet: sortable as
// text and readable by operators.
const SheetTimeLayout = "2006-01-02 15:04:05"

// FormatSheetTime renders t in loc with SheetTimeLayout; the zero time is "".
func FormatSheetTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format(SheetTimeLayout)
}

var sheetTimeLayouts = []string{
	SheetTimeLayout,
	"2006-01-02 15:04",
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02T15:04:05",
	"2006-01-02",
	"02.01.2006 15:04:05",
	"02.01.2006 15:04",
	"02.01.2006",
	"1/2/2006 15:04:05",
	"1/2/2006",
}

// ParseSheetTime reads a timestamp the way people and spreadsheet programs
// leave it in a cell: our layout, RFC 3339, Russian dd.mm.yyyy, US m/d/yyyy,
// or a spreadsheet serial day number. Times without a zone are in loc.
func ParseSheetTime(s string, loc *time.Location) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	if loc == nil {
		loc = time.UTC
	}
	for _, layout := range sheetTimeLayouts {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, true
		}
	}
	// Spreadsheet serial date: days since 1899-12-30, fraction = time of day.
	if f, err := strconv.ParseFloat(strings.ReplaceAll(s, ",", "."), 64); err == nil && f > 20000 && f < 100000 {
		base := time.Date(1899, 12, 30, 0, 0, 0, 0, loc)
		return base.Add(time.Duration(f * 24 * float64(time.Hour))).Round(time.Second), true
	}
	return time.Time{}, false
}
