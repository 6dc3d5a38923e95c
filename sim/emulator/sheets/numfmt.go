package sheets

import (
	"strconv"
	"strings"

	"marketingbot/sim/emulator/sheets/internal/a1"
)

// Dates live in spreadsheets as serial numbers with a date format. The
// emulator keeps such a number together with the text it is displayed as,
// which it derives from the format when loading a workbook and turns back
// into a format when saving one.

// builtinDateFormats are the date and time formats Excel numbers implicitly.
var builtinDateFormats = map[int]string{
	14: "mm-dd-yy", 15: "d-mmm-yy", 16: "d-mmm", 17: "mmm-yy",
	18: "h:mm AM/PM", 19: "h:mm:ss AM/PM", 20: "h:mm", 21: "h:mm:ss",
	22: "m/d/yy h:mm", 45: "mm:ss", 46: "[h]:mm:ss", 47: "mmss.0",
}

// fmtToken is a piece of a number format: literal text, or the letters of a
// date part ("yyyy", "mm", "PM").
type fmtToken struct {
	text    string
	literal bool
}

// dateLayout converts a spreadsheet number format to a Go time layout; ok is
// false for formats that do not show a date or time.
func dateLayout(code string) (string, bool) {
	if i := strings.IndexByte(code, ';'); i >= 0 {
		code = code[:i]
	}
	if strings.EqualFold(strings.TrimSpace(code), "general") {
		return "", false
	}
	toks, ampm, ok := tokenizeFormat(code)
	if !ok {
		return "", false
	}
	var b strings.Builder
	dateParts := 0
	for i, t := range toks {
		if t.literal {
			b.WriteString(t.text)
			continue
		}
		dateParts++
		b.WriteString(goLayoutPart(toks, i, ampm))
	}
	if dateParts == 0 {
		return "", false
	}
	return b.String(), true
}

// tokenizeFormat splits the first section of a number format into literal
// text and date parts; ampm reports an AM/PM part (12-hour clock). ok is
// false for a format with digit placeholders: a number, not a date.
func tokenizeFormat(code string) (toks []fmtToken, ampm, ok bool) {
	for i := 0; i < len(code); {
		c := code[i]
		switch {
		case c == '"':
			j := strings.IndexByte(code[i+1:], '"')
			if j < 0 {
				j = len(code) - i - 1
			}
			toks = append(toks, fmtToken{text: code[i+1 : i+1+j], literal: true})
			i += j + 2
		case c == '\\' && i+1 < len(code):
			toks = append(toks, fmtToken{text: code[i+1 : i+2], literal: true})
			i += 2
		case c == '[':
			j := strings.IndexByte(code[i:], ']')
			if j < 0 {
				return nil, false, false
			}
			if inner := strings.ToLower(code[i+1 : i+j]); inner == "h" || inner == "hh" {
				toks = append(toks, fmtToken{text: "h"})
			}
			i += j + 1
		case strings.HasPrefix(strings.ToUpper(code[i:]), "AM/PM"):
			ampm = true
			toks = append(toks, fmtToken{text: "PM", literal: false})
			i += 5
		case strings.ContainsRune("yYmMdDhHsS", rune(c)):
			j := i
			for j < len(code) && strings.EqualFold(code[j:j+1], code[i:i+1]) {
				j++
			}
			toks = append(toks, fmtToken{text: strings.ToLower(code[i:j])})
			i = j
		case c == '0' || c == '#' || c == '@' || c == '?' || c == 'E' || c == 'e':
			// Digit placeholders outside a seconds fraction: a number format.
			if c == '0' && len(toks) > 0 && toks[len(toks)-1].literal && toks[len(toks)-1].text == "." {
				toks[len(toks)-1].text += "0"
				i++
				continue
			}
			return nil, false, false
		default:
			toks = append(toks, fmtToken{text: code[i : i+1], literal: true})
			i++
		}
	}
	return toks, ampm, true
}

// goLayoutPart is the Go layout of the date part toks[i].
func goLayoutPart(toks []fmtToken, i int, ampm bool) string {
	t := toks[i]
	short := len(t.text) < 2
	switch t.text[0] {
	case 'y':
		if len(t.text) <= 2 {
			return "06"
		}
		return "2006"
	case 'm':
		if isMinute(toks, i) {
			return map[bool]string{true: "4", false: "04"}[short]
		}
		return [...]string{"1", "01", "Jan", "January"}[min(len(t.text), 4)-1]
	case 'd':
		return [...]string{"2", "02", "Mon", "Monday"}[min(len(t.text), 4)-1]
	case 'h':
		switch {
		case ampm && !short:
			return "03"
		case ampm:
			return "3"
		default:
			return "15"
		}
	case 's':
		return map[bool]string{true: "5", false: "05"}[short]
	case 'P':
		return "PM"
	}
	return ""
}

// isMinute tells "m" as minutes from "m" as month: minutes follow hours or
// precede seconds.
func isMinute(toks []fmtToken, i int) bool {
	for j := i - 1; j >= 0; j-- {
		if !toks[j].literal {
			return toks[j].text[0] == 'h'
		}
	}
	for j := i + 1; j < len(toks); j++ {
		if !toks[j].literal {
			return toks[j].text[0] == 's'
		}
	}
	return false
}

// numFmtFor picks the number format that shows a serial date as display,
// recognizing the shapes the emulator produces or loads most often.
func numFmtFor(display string) string {
	shape := []byte(display)
	for i, c := range shape {
		if c >= '0' && c <= '9' {
			shape[i] = '9'
		}
	}
	switch string(shape) {
	case "9999-99-99":
		return "yyyy-mm-dd"
	case "9999-99-99 99:99":
		return "yyyy-mm-dd hh:mm"
	case "99.99.9999":
		return "dd.mm.yyyy"
	case "99.99.9999 99:99":
		return "dd.mm.yyyy hh:mm"
	case "99.99.9999 99:99:99":
		return "dd.mm.yyyy hh:mm:ss"
	case "99:99":
		return "hh:mm"
	case "99:99:99":
		return "hh:mm:ss"
	}
	return "yyyy-mm-dd hh:mm:ss"
}

// shiftFormula moves the relative cell references of a shared formula by
// (dr, dc), as Excel does when it copies the formula to another cell.
func shiftFormula(f string, dr, dc int) string {
	var b strings.Builder
	i := 0
	prevIdent := false // the previous character continues a name
	for i < len(f) {
		c := f[i]
		switch {
		case c == '"' || c == '\'':
			j := i + 1
			for j < len(f) {
				if f[j] == c {
					if j+1 < len(f) && f[j+1] == c {
						j += 2
						continue
					}
					break
				}
				j++
			}
			j = min(j+1, len(f))
			b.WriteString(f[i:j])
			i, prevIdent = j, false
			continue
		case !prevIdent && (c == '$' || isLetter(c)):
			if n, text := shiftRef(f[i:], dr, dc); n > 0 {
				b.WriteString(text)
				i += n
				prevIdent = false
				continue
			}
		}
		b.WriteByte(c)
		prevIdent = isLetter(c) || c >= '0' && c <= '9' || c == '_' || c == '.' || c >= 0x80
		i++
	}
	return b.String()
}

func isLetter(c byte) bool { return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' }

// shiftRef reads a cell reference ($A$1, B7) at the start of s and returns
// its length and shifted text, or 0 when s does not start with one.
func shiftRef(s string, dr, dc int) (int, string) {
	i := 0
	colAbs := i < len(s) && s[i] == '$'
	if colAbs {
		i++
	}
	j := i
	for j < len(s) && isLetter(s[j]) {
		j++
	}
	if j == i || j-i > 3 {
		return 0, ""
	}
	letters := s[i:j]
	rowAbs := j < len(s) && s[j] == '$'
	if rowAbs {
		j++
	}
	k := j
	for k < len(s) && s[k] >= '0' && s[k] <= '9' {
		k++
	}
	if k == j || k-j > 8 {
		return 0, ""
	}
	if k < len(s) && (isLetter(s[k]) || s[k] == '(' || s[k] == '_' || s[k] >= '0' && s[k] <= '9') {
		return 0, ""
	}
	col := a1.ColumnIndex(letters)
	row, _ := strconv.Atoi(s[j:k])
	if !colAbs {
		col += dc
	}
	if !rowAbs {
		row += dr
	}
	if col < 0 || row < 1 {
		return k, "#REF!"
	}
	var b strings.Builder
	if colAbs {
		b.WriteByte('$')
	}
	b.WriteString(a1.ColumnName(col))
	if rowAbs {
		b.WriteByte('$')
	}
	b.WriteString(strconv.Itoa(row))
	return k, b.String()
}
