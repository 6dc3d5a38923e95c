package domain_test

import (
	"strings"
	"testing"

	"marketingbot/pkg/domain"
)

// phoneSeparators are the characters NormalizePhone skips.
const phoneSeparators = "+ -().\u00a0\t"

// FuzzNormalizePhone checks NormalizePhone against its contract on arbitrary
// input: it never panics; what it accepts is 10–15 ASCII digits, a fixed
// point (normalizing the output again gives the output); the output is the
// input's digits, except that a Russian trunk-prefix number (11 digits
// starting with 8) and a 10-digit number starting with 9 become 11 digits
// starting with 7; the same number typed in the usual Russian shapes
// ("+7 (912) 345-67-89", "8 912 345 67 89", "79123456789") normalizes to the
// same value; and input with anything besides digits and separators is
// refused.
func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{
		"+7 (912) 345-67-89", "8 912 3456789", "9123456789", "79123456789", "89123456789",
		"+7\u00a0912\t345.67.89", "+44 20 7946 0958", "+1 (212) 555-0100", "123456789012345",
		"1234567890123456", "123456789", "", "+", "8", "8 (800) 555-35-35", "+7 912 345-67-8x",
		"+7 912 345 67 89 доб. 12", "٧٩١٢٣٤٥٦٧٨٩", "７９１２３４５６７８９", "+7+7+7 912 345 67 89",
		"\xff\xfe", "89999999999", "99999999999", "0000000000", "(((8)))9123456789",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, ok := domain.NormalizePhone(s)

		// The input's digits, or "invalid" when it holds anything else.
		var digits strings.Builder
		clean := true
		for _, r := range s {
			switch {
			case r >= '0' && r <= '9':
				digits.WriteRune(r)
			case strings.ContainsRune(phoneSeparators, r):
			default:
				clean = false
			}
		}
		d := digits.String()

		if !ok {
			if out != "" {
				t.Fatalf("NormalizePhone(%q) = %q, false: a refusal must return \"\"", s, out)
			}
			if clean {
				// Only the length can make a clean input fail.
				if n := len(expected(d)); n >= 10 && n <= 15 {
					t.Fatalf("NormalizePhone(%q) refused %d digits %q", s, n, d)
				}
			}
			return
		}
		if !clean {
			t.Fatalf("NormalizePhone(%q) = %q accepted input with characters other than digits and separators", s, out)
		}
		if len(out) < 10 || len(out) > 15 {
			t.Fatalf("NormalizePhone(%q) = %q: %d digits, want 10–15", s, out, len(out))
		}
		for i := 0; i < len(out); i++ {
			if out[i] < '0' || out[i] > '9' {
				t.Fatalf("NormalizePhone(%q) = %q: not all ASCII digits", s, out)
			}
		}
		if want := expected(d); out != want {
			t.Fatalf("NormalizePhone(%q) = %q, want %q (digits %q)", s, out, want, d)
		}
		again, ok2 := domain.NormalizePhone(out)
		if !ok2 || again != out {
			t.Fatalf("not idempotent: NormalizePhone(%q) = %q, NormalizePhone(%q) = %q, %v", s, out, out, again, ok2)
		}

		// A Russian number is the same number however it is typed.
		if len(out) == 11 && out[0] == '7' {
			n := out[1:]
			for _, typed := range []string{
				"+7 (" + n[:3] + ") " + n[3:6] + "-" + n[6:8] + "-" + n[8:],
				"8 " + n[:3] + " " + n[3:],
				"8(" + n[:3] + ")" + n[3:6] + " " + n[6:8] + " " + n[8:],
				"+7" + n,
				"7" + n,
				"+7\u00a0" + n[:3] + "\t" + n[3:6] + "." + n[6:],
			} {
				if got, ok := domain.NormalizePhone(typed); !ok || got != out {
					t.Fatalf("NormalizePhone(%q) = %q, %v; want %q like NormalizePhone(%q)", typed, got, ok, out, s)
				}
			}
			if n[0] == '9' { // a mobile number typed without any prefix
				if got, ok := domain.NormalizePhone(n); !ok || got != out {
					t.Fatalf("NormalizePhone(%q) = %q, %v; want %q", n, got, ok, out)
				}
			}
		}
	})
}

// expected is the documented normalization of a digit string.
func expected(d string) string {
	switch {
	case len(d) == 11 && d[0] == '8':
		return "7" + d[1:]
	case len(d) == 10 && d[0] == '9':
		return "7" + d
	}
	return d
}
