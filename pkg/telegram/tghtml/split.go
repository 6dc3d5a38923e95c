package tghtml

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Split cuts a Telegram HTML message into parts whose visible text is at most
// limit UTF-16 code units (limit <= 0 means MaxMessageLen; limits below 2 are
// raised to 2 so that any character fits).
//
// A cut is made, in order of preference, at a paragraph break ("\n\n"), a
// line break, the end of a sentence, a space, and only then anywhere between
// two characters — never inside a tag, an entity, a character or a
// <tg-emoji>, and, where possible, not inside a grapheme (combining marks,
// emoji joined with ZWJ). A paragraph or line break is preferred if it leaves
// the part at least a quarter full, a sentence end if half full; otherwise
// the latest boundary of any kind wins.
//
// Elements open at a cut are closed at the end of the part and reopened, with
// the same attributes, at the start of the next. Whitespace at the cut and at
// the edges of each part is dropped (Telegram trims it anyway), parts with no
// visible text are not returned, and entities are re-spelled in canonical
// form. Concatenating the parts' visible text gives the input's visible text
// except for that whitespace.
func Split(html string, limit int) []string {
	if limit <= 0 {
		limit = MaxMessageLen
	}
	limit = max(limit, 2)
	return split(html, limit, limit)
}

// split cuts html into a first part of at most head units and further parts
// of at most limit units (both at least 2).
func split(html string, head, limit int) []string {
	items, tags := flatten(tokenize(html))
	var (
		parts []string
		stack []token // start tags open at pos
	)
	for pos := 0; pos < len(items); {
		room := limit
		if len(parts) == 0 {
			room = head
		}
		cut := findCut(items, tags, pos, room)
		if part := buildPart(stack, items[pos:cut], tags); part != "" {
			parts = append(parts, part)
		}
		stack = applyTags(stack, items[pos:cut], tags)
		pos = cut
	}
	return parts
}

// item is one visible character or one tag. It is kept small and free of
// pointers: a long answer has tens of thousands of them.
type item struct {
	r   rune
	tag int32 // index into the tags slice, -1 for a character
}

func (it item) isTag() bool { return it.tag >= 0 }

func flatten(tokens []token) (items []item, tags []token) {
	n := 0
	for _, tk := range tokens {
		if tk.kind == tokText {
			n += utf8.RuneCountInString(tk.text)
		} else {
			n++
		}
	}
	items = make([]item, 0, n)
	for _, tk := range tokens {
		if tk.kind != tokText {
			items = append(items, item{tag: int32(len(tags))})
			tags = append(tags, tk)
			continue
		}
		for _, r := range tk.text {
			items = append(items, item{r: r, tag: -1})
		}
	}
	return items, tags
}

type boundary int

const (
	boundaryParagraph boundary = iota
	boundaryLine
	boundarySentence
	boundarySpace
	boundaryKinds
)

// findCut returns the index where the part starting at pos ends: len(items)
// when the rest fits.
func findCut(items []item, tags []token, pos, limit int) int {
	var (
		best      [boundaryKinds]int // latest cut before a boundary, 0 = none
		bestLen   [boundaryKinds]int // visible length of the part if cut there
		visible   int                // UTF-16 units since the first non-space character
		started   bool               // a non-space character has been seen
		atomic    int                // depth of elements that must not be cut (tg-emoji)
		lastCut   = -1               // latest index where a hard cut is allowed
		prev      rune
		prevIndex = -1
	)
	for i := pos; i < len(items); i++ {
		it := items[i]
		if it.isTag() {
			if tag := tags[it.tag]; tag.name == "tg-emoji" {
				if tag.kind == tokOpen {
					if atomic == 0 && started {
						lastCut = i
					}
					atomic++
				} else if atomic > 0 {
					atomic--
				}
			}
			continue
		}
		r := it.r
		if !started {
			if unicode.IsSpace(r) {
				continue
			}
			started = true
		} else if atomic == 0 {
			if isBreakableSpace(r) {
				kind := boundarySpace
				switch {
				case r == '\n' && prev == '\n':
					kind = boundaryParagraph
				case r == '\n':
					kind = boundaryLine
				case strings.ContainsRune(".!?…", prev):
					kind = boundarySentence
				}
				// A paragraph break is also a line break and a space, and so on:
				// record it for every weaker kind too.
				for k := kind; k < boundaryKinds; k++ {
					best[k], bestLen[k] = i, visible
				}
				if kind == boundaryParagraph && prevIndex >= pos {
					// Cut before the first newline of the pair so that both
					// are dropped as edge whitespace.
					best[kind] = prevIndex
				}
			}
			if !joinsPrevious(r, prev) {
				lastCut = i
			}
		}
		w := runeUTF16Len(r)
		if visible+w > limit {
			return chooseCut(best, bestLen, lastCut, i, limit)
		}
		visible += w
		prev, prevIndex = r, i
	}
	return len(items)
}

// minFill is how full, in quarters of the limit, a part must be for a cut at
// each kind of boundary to be preferred over a weaker one later on: a
// paragraph break at a third of the limit reads better than a space at the
// very end, a sentence end at a tenth does not.
var minFill = [boundaryKinds]int{boundaryParagraph: 1, boundaryLine: 1, boundarySentence: 2, boundarySpace: 0}

func chooseCut(best, bestLen [boundaryKinds]int, lastCut, overflow, limit int) int {
	for k := range boundaryKinds {
		if best[k] > 0 && bestLen[k]*4 >= limit*minFill[k] {
			return best[k]
		}
	}
	// No boundary leaves the part half full: take the latest one at all.
	// boundarySpace records every boundary, so it is the latest.
	if best[boundarySpace] > 0 {
		return best[boundarySpace]
	}
	if lastCut > 0 {
		return lastCut
	}
	return overflow
}

// isBreakableSpace excludes the no-break spaces that people use on purpose
// ("2 %", "10 000").
func isBreakableSpace(r rune) bool {
	switch r {
	case '\u00a0', '\u2007', '\u202f':
		return false
	}
	return unicode.IsSpace(r)
}

// joinsPrevious reports whether r belongs to the same grapheme as prev, so a
// hard cut before r would tear a visible character apart.
func joinsPrevious(r, prev rune) bool {
	if r < 0x300 { // nothing below the combining diacritics joins
		return prev == '\u200d'
	}
	return prev == '\u200d' || r == '\u200d' ||
		unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r) ||
		unicode.Is(unicode.Variation_Selector, r) ||
		r >= 0x1F3FB && r <= 0x1F3FF || // skin tone modifiers
		r >= 0x1F1E6 && r <= 0x1F1FF && prev >= 0x1F1E6 && prev <= 0x1F1FF // flags (pairs are not counted)
}

// applyTags replays the tags of items over the stack of open elements.
// Unbalanced end tags are tolerated: they close the nearest matching element
// or nothing.
func applyTags(stack []token, items []item, tags []token) []token {
	for _, it := range items {
		if !it.isTag() {
			continue
		}
		switch tag := tags[it.tag]; tag.kind {
		case tokOpen:
			stack = append(stack, tag)
		case tokClose:
			for j := len(stack) - 1; j >= 0; j-- {
				if stack[j].name == tag.name {
					stack = stack[:j]
					break
				}
			}
		}
	}
	return stack
}

// buildPart renders items as a standalone message: the elements open at its
// start are reopened, those open at its end are closed, edge whitespace and
// empty elements are dropped.
func buildPart(stack []token, items []item, tags []token) string {
	tokens := make([]token, 0, len(stack)+len(items)/8+8)
	tokens = append(tokens, stack...)
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			tokens = append(tokens, textTok(text.String()))
			text.Reset()
		}
	}
	open := append([]token(nil), stack...)
	for _, it := range items {
		if !it.isTag() {
			text.WriteRune(it.r)
			continue
		}
		flush()
		tag := tags[it.tag]
		if tag.kind == tokOpen {
			open = append(open, tag)
			tokens = append(tokens, tag)
			continue
		}
		// Close every element up to the matching one so the part stays
		// balanced even for sloppy input.
		for j := len(open) - 1; j >= 0; j-- {
			if open[j].name != tag.name {
				continue
			}
			for k := len(open) - 1; k >= j; k-- {
				tokens = append(tokens, closeTag(open[k].name))
			}
			open = open[:j]
			break
		}
	}
	flush()
	for k := len(open) - 1; k >= 0; k-- {
		tokens = append(tokens, closeTag(open[k].name))
	}
	return serialize(dropEmptyElements(trimSpaceTokens(tokens, true, true)))
}
