package sheets

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// The values API answers with up to millions of cells; encoding them
// straight from the grid avoids boxing every value in an interface and going
// through reflection.

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, replacing invalid UTF-8 with
// U+FFFD as encoding/json does.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendFloat appends f as a JSON number the way encoding/json writes it.
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, '0')
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appendCell appends the cell's value rendered with r.
func appendCell(b []byte, c *cell, r render) []byte {
	if c == nil {
		return append(b, '"', '"')
	}
	if r == renderFormula && c.formula != "" {
		return appendString(b, c.formula)
	}
	if r == renderFormatted {
		switch c.k {
		case kindText, kindError:
			return appendString(b, c.s)
		case kindEmpty:
			return append(b, '"', '"')
		case kindNumber:
			if c.s == "" && c.n == math.Trunc(c.n) && math.Abs(c.n) < 1e15 {
				// Whole numbers (ids, prices, counts) are most numbers in
				// our sheets; format them without an intermediate string.
				b = append(b, '"')
				b = strconv.AppendInt(b, int64(c.n), 10)
				return append(b, '"')
			}
		}
		return appendString(b, c.formatted())
	}
	switch c.k {
	case kindText, kindError:
		return appendString(b, c.s)
	case kindNumber:
		return appendFloat(b, c.n)
	case kindBool:
		if c.n != 0 {
			return append(b, "true"...)
		}
		return append(b, "false"...)
	}
	return append(b, '"', '"')
}
