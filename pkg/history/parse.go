package history

import (
	"strings"
	"time"
)

// header is a parsed header line; author is raw (see cleanAuthor).
type header struct {
	role   Role
	author string
	id     string
	time   time.Time
	text   string // first line of the turn's text
}

// parseHeader reads "[DD.MM.YYYY HH:MM] <Role>[ <author>][ #<id>]: <text>".
func parseHeader(line string, loc *time.Location) (header, bool) {
	if line == "" || line[0] != '[' {
		return header{}, false
	}
	end := strings.IndexByte(line, ']')
	if end < 0 {
		return header{}, false
	}
	t, ok := parseStamp(line[1:end], loc)
	if !ok {
		return header{}, false
	}
	rest := strings.TrimLeft(line[end+1:], " \t")
	role, n := matchRole(rest)
	if n == 0 {
		return header{}, false
	}
	rest = rest[n:]
	// The header ends at the first ':' after the role; authors never contain
	// one, so anything after it is text, whatever it looks like.
	colon := strings.IndexByte(rest, ':')
	if colon < 0 || colon > 0 && rest[0] != ' ' && rest[0] != '\t' && rest[0] != '#' {
		return header{}, false // "ИИшка:" is not the role ИИ
	}
	h := header{role: role, time: t, text: strings.TrimPrefix(rest[colon+1:], " ")}
	mid := strings.TrimSpace(rest[:colon])
	if p := strings.LastIndexByte(mid, '#'); p >= 0 && p+1 < len(mid) && validID(mid[p+1:]) &&
		(p == 0 || mid[p-1] == ' ' || mid[p-1] == '\t') {
		h.id = mid[p+1:]
		mid = mid[:p]
	}
	h.author = mid
	return h, true
}

func matchRole(s string) (Role, int) {
	for _, l := range roleLabels {
		if len(s) >= len(l.label) && strings.EqualFold(s[:len(l.label)], l.label) {
			return l.role, len(l.label)
		}
	}
	return "", 0
}

// parseStamp reads "DD.MM.YYYY HH:MM", tolerating extra spaces and one-digit
// day, month and hour; the date must exist.
func parseStamp(s string, loc *time.Location) (time.Time, bool) {
	date, clock, ok := strings.Cut(strings.TrimSpace(s), " ")
	if !ok {
		return time.Time{}, false
	}
	clock = strings.TrimSpace(clock)
	d, m, ok1 := strings.Cut(date, ".")
	m, y, ok2 := strings.Cut(m, ".")
	hh, mm, ok3 := strings.Cut(clock, ":")
	if !ok1 || !ok2 || !ok3 {
		return time.Time{}, false
	}
	day, ok1 := number(d, 1, 2)
	month, ok2 := number(m, 1, 2)
	year, ok3 := number(y, 4, 4)
	hour, ok4 := number(hh, 1, 2)
	minute, ok5 := number(mm, 2, 2)
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || month < 1 || month > 12 || hour > 23 || minute > 59 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, 0, 0, loc)
	if t.Day() != day || int(t.Month()) != month || t.Year() != year {
		return time.Time{}, false // 31.02 is not a date, not 03.03
	}
	return t, true
}

func number(s string, minDigits, maxDigits int) (int, bool) {
	if len(s) < minDigits || len(s) > maxDigits {
		return 0, false
	}
	n := 0
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// eachHeader calls fn for every header line of cell until fn returns false.
// Only lines starting with '[' are examined, which keeps Contains cheap on a
// 45,000-character cell. Any line break counts, as Parse normalizes them.
func eachHeader(cell string, fn func(header) bool) {
	for i := 0; i < len(cell); {
		end := strings.IndexAny(cell[i:], "\r\n")
		if end < 0 {
			end = len(cell)
		} else {
			end += i
		}
		if cell[i] == '[' {
			if h, ok := parseHeader(cell[i:end], time.UTC); ok && !fn(h) {
				return
			}
		}
		i = end + 1
	}
}

func headerIDs(cell string) map[string]bool {
	ids := make(map[string]bool)
	eachHeader(cell, func(h header) bool {
		if h.id != "" {
			ids[h.id] = true
		}
		return true
	})
	return ids
}
