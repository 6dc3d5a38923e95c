package tghtml

// MaxCaptionLen is Telegram's limit for the visible text of a caption
// (photos, documents), in UTF-16 code units after entity parsing.
const MaxCaptionLen = 1024

// Cut splits html once: head is the beginning of it that fits limit UTF-16
// code units (cut at the best boundary, as Split cuts), rest is everything
// after it — both valid Telegram HTML on their own (elements open at the cut
// are closed in head and reopened in rest), rest "" when html fits. A
// caption and its continuation: Cut(caption, MaxCaptionLen).
func Cut(html string, limit int) (head, rest string) {
	limit = max(limit, 2)
	items, tags := flatten(tokenize(html))
	cut := findCut(items, tags, 0, limit)
	head = buildPart(nil, items[:cut], tags)
	if cut < len(items) {
		rest = buildPart(applyTags(nil, items[:cut], tags), items[cut:], tags)
	}
	return head, rest
}

// Trim fits html into one message of at most limit UTF-16 code units: a
// text that fits is returned as it is; a longer one is cut at the best
// boundary (see Split) early enough for marker, which is appended as plain
// text, and trimmed reports true. The result is valid Telegram HTML: no tag
// or entity is cut and the elements open at the cut are closed.
func Trim(html string, limit int, marker string) (out string, trimmed bool) {
	if limit <= 0 {
		limit = MaxMessageLen
	}
	if VisibleLen(html) <= limit {
		return html, false
	}
	room := max(limit-utf16Len(marker), 2)
	parts := split(html, room, room)
	if len(parts) == 0 {
		return Escape(marker), true
	}
	return parts[0] + Escape(marker), true
}

// TrimPlain is Trim for plain text (no markup): s itself when it fits in
// limit UTF-16 code units, else its beginning, cut at a boundary, and marker.
func TrimPlain(s string, limit int, marker string) string {
	if utf16Len(s) <= max(limit, 0) {
		return s
	}
	out, _ := Trim(Escape(s), limit, marker)
	return Plain(out)
}
