package analytics

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// nbsp separates thousands and units so that Telegram and PDF never break
// "12 345 678 ₽" across lines.
const nbsp = "\u00a0"

// FormatNumber renders v with the given number of decimals the Russian way:
// a decimal comma and thousands grouped by no-break spaces ("12 345,6").
// A value that rounds to zero is printed without a sign.
func FormatNumber(v float64, decimals int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	decimals = max(decimals, 0)
	s := strconv.FormatFloat(v, 'f', decimals, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, _ := strings.Cut(s, ".")
	if neg && strings.Trim(intPart+frac, "0") == "" {
		neg = false // "-0,0" reads as a glitch
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, d := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteString(nbsp)
		}
		b.WriteRune(d)
	}
	if frac != "" {
		b.WriteByte(',')
		b.WriteString(frac)
	}
	return b.String()
}

// FormatRub renders whole roubles: "12 345 678 ₽".
func FormatRub(rub int64) string {
	return FormatNumber(float64(rub), 0) + nbsp + "₽"
}

// FormatRubPerM2 renders a price per m² rounded to whole roubles: "245 300 ₽/м²".
func FormatRubPerM2(rub float64) string {
	return FormatNumber(rub, 0) + nbsp + "₽/м²"
}

// FormatPercent renders a percentage: "4,2 %", "-4,2 %".
func FormatPercent(v float64, decimals int) string {
	return FormatNumber(v, decimals) + nbsp + "%"
}

// FormatPercentChange renders a change with an explicit sign: "+4,2 %",
// "-4,2 %", and "0,0 %" when it rounds to zero.
func FormatPercentChange(v float64, decimals int) string {
	s := FormatPercent(v, decimals)
	if strings.HasPrefix(s, "-") || strings.Trim(s, "0,"+nbsp+"%") == "" {
		return s
	}
	return "+" + s
}

// FormatArea renders an area with one decimal, dropping ",0": "54,3 м²", "60 м²".
func FormatArea(m2 float64) string {
	return formatTrimmed(m2, 1) + nbsp + "м²"
}

// formatTrimmed is FormatNumber without trailing zero decimals.
func formatTrimmed(v float64, decimals int) string {
	s := FormatNumber(v, decimals)
	if strings.Contains(s, ",") {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ",")
	}
	return s
}

// Plural picks the Russian form of a noun for n: one for 1, 21, 101 ("день"),
// few for 2–4, 22–24 ("дня"), many for 0, 5–20, 25–30 ("дней").
func Plural(n int, one, few, many string) string {
	if n < 0 {
		n = -n
	}
	switch n10, n100 := n%10, n%100; {
	case n10 == 1 && n100 != 11:
		return one
	case n10 >= 2 && n10 <= 4 && (n100 < 12 || n100 > 14):
		return few
	default:
		return many
	}
}

// cleanText makes a hand-edited cell fit one line of the summary or a PDF
// cell: line breaks, tabs and runs of spaces become single spaces.
func cleanText(s string) string { return strings.Join(strings.Fields(s), " ") }

// FormatDate renders a date as people write it in Russia: "15.06.2025".
func FormatDate(t time.Time) string { return t.Format("02.01.2006") }

var monthsShort = [...]string{"янв", "фев", "мар", "апр", "май", "июн", "июл", "авг", "сен", "окт", "ноя", "дек"}

// formatMonthShort renders a chart label: "июл 24".
func formatMonthShort(t time.Time) string {
	return monthsShort[t.Month()-1] + " " + t.Format("06")
}

// formatRooms renders a room count: "студия", "2-комн.".
func formatRooms(rooms int) string {
	if rooms <= 0 {
		return "студия"
	}
	return strconv.Itoa(rooms) + "-комн."
}

// formatRoomsRange renders the segment's rooms: "1–3 комн.", "студии и 1-комн.".
func formatRoomsRange(lo, hi int) string {
	switch {
	case lo == hi:
		return formatRooms(lo)
	case lo <= 0 && hi == 1:
		return "студии и 1-комн."
	case lo <= 0:
		return "студии и 1–" + strconv.Itoa(hi) + " комн."
	default:
		return strconv.Itoa(lo) + "–" + strconv.Itoa(hi) + " комн."
	}
}

// formatAreaRange renders the segment's area bounds: "45–75 м²".
func formatAreaRange(lo, hi float64) string {
	return formatTrimmed(lo, 1) + "–" + FormatArea(hi)
}

// formatThousands renders chart tick labels compactly: "180 тыс.", "1,2 млн".
func formatThousands(v float64) string {
	if math.Abs(v) >= 1e6 {
		return formatTrimmed(v/1e6, 2) + nbsp + "млн"
	}
	return formatTrimmed(v/1e3, 1) + nbsp + "тыс."
}
