package domain

import "strings"

// NormalizePhone reduces a phone number as people type it ("+7 (912) 345-67-89",
// "8 912 3456789", "9123456789") to digits in international form; Russian
// numbers become 11 digits starting with 7. ok is false when the input cannot
// be a phone number (too few or too many digits, letters).
func NormalizePhone(s string) (normalized string, ok bool) {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' || r == ' ' || r == '-' || r == '(' || r == ')' || r == '.' || r == '\u00a0' || r == '\t':
			// separators people and spreadsheets add
		default:
			return "", false
		}
	}
	d := b.String()
	switch {
	case len(d) == 11 && d[0] == '8':
		d = "7" + d[1:]
	case len(d) == 10 && d[0] == '9':
		d = "7" + d
	}
	if len(d) < 10 || len(d) > 15 {
		return "", false
	}
	return d, true
}
