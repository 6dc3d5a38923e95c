package history

import (
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Role says who wrote a turn.
type Role string

const (
	RoleUser     Role = "user"     // the partner, "Партнёр"
	RoleAI       Role = "ai"       // Gemini, "ИИ"
	RoleOperator Role = "operator" // a human operator, "Оператор"
	RoleSystem   Role = "system"   // the bot itself (escalation, status changes), "Система"
	RoleLegacy   Role = "legacy"   // text before the first header, kept verbatim
)

// Turn is one message of the conversation.
type Turn struct {
	ID     string // unique within the appeal; [A-Za-z0-9_-]+, empty only in hand-typed lines
	Role   Role
	Author string    // operator's name; optional
	Time   time.Time // always set; years 0–9999 (the format has four digits)
	Text   string
}

const (
	// CellLimit is the most characters (UTF-16 code units) a Google Sheets
	// cell holds.
	CellLimit = 50000
	// RolloverLimit is where the history moves to a continuation row, with
	// room to spare for a hand edit.
	RolloverLimit = 45000
	// TruncatedMarker ends the text of a single turn that was too large for
	// an empty cell.
	TruncatedMarker = " […текст обрезан: не поместился в ячейку]"
	// maxAuthorLen keeps a pasted paragraph in the author field from eating
	// the cell.
	maxAuthorLen = 100
	timeLayout   = "02.01.2006 15:04"
)

var roleLabels = []struct {
	role  Role
	label string
}{
	{RoleUser, "Партнёр"},
	{RoleUser, "Партнер"}, // typed without ё; read only
	{RoleAI, "ИИ"},
	{RoleOperator, "Оператор"},
	{RoleSystem, "Система"},
}

func label(r Role) string {
	for _, l := range roleLabels {
		if l.role == r {
			return l.label
		}
	}
	return "Система" // unknown roles are the bot's own notes
}

// Len counts characters as Google Sheets does against CellLimit: UTF-16 code
// units.
func Len(s string) int {
	n := 0
	for _, r := range s {
		if l := utf16.RuneLen(r); l > 0 {
			n += l
		} else {
			n++
		}
	}
	return n
}

// FormatTurn renders one turn: a header line and indented continuation
// lines. A RoleLegacy turn is its text, verbatim.
func FormatTurn(t Turn, loc *time.Location) string {
	var b strings.Builder
	writeTurn(&b, t, loc, true)
	return b.String()
}

// Format renders a whole cell. A RoleLegacy turn is written verbatim only in
// first place, where Parse puts it; anywhere else it would swallow the turns
// after it, so it gets a Система header instead.
func Format(turns []Turn, loc *time.Location) string {
	var b strings.Builder
	for i, t := range turns {
		if i > 0 {
			b.WriteByte('\n')
		}
		writeTurn(&b, t, loc, i == 0)
	}
	return b.String()
}

func writeTurn(b *strings.Builder, t Turn, loc *time.Location, legacyOK bool) {
	text := normalizeNewlines(t.Text)
	if t.Role == RoleLegacy && legacyOK {
		b.WriteString(text)
		return
	}
	if loc == nil {
		loc = time.UTC
	}
	b.WriteByte('[')
	b.WriteString(t.Time.In(loc).Format(timeLayout))
	b.WriteString("] ")
	b.WriteString(label(t.Role))
	if a := cleanAuthor(t.Author); a != "" {
		b.WriteByte(' ')
		b.WriteString(a)
	}
	if id := cleanID(t.ID); id != "" {
		b.WriteString(" #")
		b.WriteString(id)
	}
	b.WriteByte(':')
	first, rest, more := strings.Cut(text, "\n")
	if first != "" {
		b.WriteByte(' ')
		b.WriteString(first)
	}
	for more {
		var line string
		line, rest, more = strings.Cut(rest, "\n")
		b.WriteByte('\n')
		if line != "" {
			b.WriteString("  ")
			b.WriteString(line)
		}
	}
}

// Parse reads a cell back into turns. It never fails: what is not a header
// continues the previous turn or, before the first header, is legacy text.
func Parse(cell string, loc *time.Location) []Turn {
	if loc == nil {
		loc = time.UTC
	}
	cell = normalizeNewlines(cell)
	var (
		turns   []Turn
		text    strings.Builder
		inTurn  bool
		started bool // a line was read (distinguishes "" from one empty line)
	)
	finish := func() {
		switch {
		case inTurn:
			turns[len(turns)-1].Text = text.String()
		case strings.TrimSpace(text.String()) != "":
			turns = append(turns, Turn{Role: RoleLegacy, Text: text.String()})
		}
		text.Reset()
	}
	for rest, more := cell, cell != ""; more; {
		var line string
		line, rest, more = strings.Cut(rest, "\n")
		if h, ok := parseHeader(line, loc); ok {
			finish()
			turns = append(turns, Turn{ID: h.id, Role: h.role, Author: cleanAuthor(h.author), Time: h.time})
			inTurn, started = true, true
			text.WriteString(h.text)
			continue
		}
		if started {
			text.WriteByte('\n')
		}
		started = true
		if inTurn {
			line = strings.TrimPrefix(line, "  ")
		}
		text.WriteString(line)
	}
	finish()
	return turns
}

// Contains reports whether a turn with this id is in the cell. It looks only
// at header lines, so neither "#u10" for "#u1" nor an id quoted inside a
// message counts.
func Contains(cell, id string) bool {
	id = cleanID(id)
	if id == "" {
		return false
	}
	// Only lines that contain "#id" can be its header: find them with the
	// fast substring search and parse just those.
	needle := "#" + id
	for off := 0; off < len(cell); {
		i := strings.Index(cell[off:], needle)
		if i < 0 {
			return false
		}
		i += off
		start := strings.LastIndexAny(cell[:i], "\r\n") + 1
		end := strings.IndexAny(cell[i:], "\r\n")
		if end < 0 {
			end = len(cell)
		} else {
			end += i
		}
		if h, ok := parseHeader(cell[start:end], time.UTC); ok && h.id == id {
			return true
		}
		off = end + 1 // the rest of this line is text; skipping it keeps the scan linear
	}
	return false
}

// Append adds turns to the end of cell, skipping those whose ID is already
// in it (or earlier in turns): writing the same turns twice, as a retried
// task does, changes nothing. Turns without an ID cannot be recognised and
// are always added. added lists the turns that were written.
func Append(cell string, turns []Turn, loc *time.Location) (out string, added []Turn) {
	ids := headerIDs(cell)
	var b strings.Builder
	if strings.TrimSpace(cell) != "" {
		b.WriteString(cell)
	}
	for _, t := range turns {
		if id := cleanID(t.ID); id != "" {
			if ids[id] {
				continue
			}
			ids[id] = true
		}
		first := b.Len() == 0
		if !first {
			b.WriteByte('\n')
		}
		writeTurn(&b, t, loc, first)
		added = append(added, t)
	}
	if len(added) == 0 {
		return cell, nil
	}
	return b.String(), added
}

// Recent returns the latest turns whose formatted length (with the newlines
// between them) fits in budget characters, oldest first: the conversation
// context for the AI. The last turn is always returned; if it alone is over
// budget its text is cut from the front and starts with "…". Only a budget
// smaller than a bare header yields more than budget.
func Recent(turns []Turn, budget int) []Turn {
	if len(turns) == 0 {
		return nil
	}
	start, used := len(turns), 0
	for i := len(turns) - 1; i >= 0; i-- {
		n := Len(FormatTurn(turns[i], time.UTC)) // the zone does not change the length
		if i < len(turns)-1 {
			n++
		}
		if used+n > budget {
			break
		}
		start, used = i, used+n
	}
	if start < len(turns) {
		return slices.Clone(turns[start:])
	}
	last := turns[len(turns)-1]
	runes := []rune(normalizeNewlines(last.Text))
	// The longest tail that fits: shorter tails never format longer.
	k := searchFirst(len(runes), func(k int) bool {
		t := last
		t.Text = "…" + string(runes[k:])
		return Len(FormatTurn(t, time.UTC)) <= budget
	})
	last.Text = "…" + string(runes[k:])
	return []Turn{last}
}

// SplitForRollover decides which of turns go into cell and which start a
// continuation row, keeping their order, so that Append(cell, appendHere)
// stays within limit characters (RolloverLimit when limit <= 0). Turns whose
// ID is already in cell are in neither list. When a turn does not fit into
// an empty cell even alone — the last resort — its text is cut at the end
// and marked with TruncatedMarker, so nothing blocks the conversation; this
// is the only way SplitForRollover loses text.
func SplitForRollover(cell string, turns []Turn, limit int, loc *time.Location) (appendHere, continuation []Turn) {
	if limit <= 0 {
		limit = RolloverLimit
	}
	ids := headerIDs(cell)
	used := 0
	if strings.TrimSpace(cell) != "" {
		used = Len(cell)
	}
	overflow := false
	for _, t := range turns {
		if id := cleanID(t.ID); id != "" {
			if ids[id] {
				continue
			}
			ids[id] = true
		}
		if overflow {
			continuation = append(continuation, t)
			continue
		}
		first := used == 0
		n := formattedLen(t, loc, first)
		switch {
		case used+n <= limit:
			appendHere = append(appendHere, t)
			used += n
		case first:
			t = truncateToFit(t, limit, loc)
			appendHere = append(appendHere, t)
			used += formattedLen(t, loc, true)
		default:
			overflow = true
			continuation = append(continuation, t)
		}
	}
	return appendHere, continuation
}

// formattedLen is what appending t adds to a cell: its text plus the newline
// before it unless it is first.
func formattedLen(t Turn, loc *time.Location, first bool) int {
	var b strings.Builder
	writeTurn(&b, t, loc, first)
	if first {
		return Len(b.String())
	}
	return Len(b.String()) + 1
}

func truncateToFit(t Turn, limit int, loc *time.Location) Turn {
	runes := []rune(normalizeNewlines(t.Text))
	// The longest head that fits: searchFirst finds the first length that
	// does not, counting down from the full text.
	cut := func(k int) Turn {
		c := t
		c.Text = string(runes[:k]) + TruncatedMarker
		return c
	}
	over := searchFirst(len(runes), func(i int) bool {
		return formattedLen(cut(len(runes)-i), loc, true) <= limit
	})
	return cut(len(runes) - over)
}

// searchFirst returns the smallest i in [0, n] for which ok(i) holds, given
// that ok is monotonic; n when none does.
func searchFirst(n int, ok func(int) bool) int {
	lo, hi := 0, n
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if ok(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

func normalizeNewlines(s string) string {
	if !strings.Contains(s, "\r") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

// cleanAuthor makes a name safe for a header line: one line, no '#' or ':'
// (they delimit the id and the text), no surrounding spaces, bounded length.
func cleanAuthor(s string) string {
	if s == "" {
		return ""
	}
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '#' || r == ':':
			return -1
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029':
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > maxAuthorLen {
		s = strings.TrimSpace(string([]rune(s)[:maxAuthorLen]))
	}
	return s
}

// cleanID replaces every character outside [A-Za-z0-9_-] with '_'.
func cleanID(id string) string {
	if validID(id) {
		return id
	}
	return strings.Map(func(r rune) rune {
		if isIDByte(r) {
			return r
		}
		return '_'
	}, id)
}

func validID(id string) bool {
	for i := range len(id) {
		if !isIDByte(rune(id[i])) {
			return false
		}
	}
	return true
}

func isIDByte(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-'
}
