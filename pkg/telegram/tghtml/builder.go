package tghtml

import (
	"strings"
	"unicode"
)

// element is a tag the renderer has entered. It is written lazily, just
// before the first visible text inside it, so Markdown that produces nothing
// (an empty link, "****") never leaves an empty entity behind.
type element struct {
	name   string
	open   string // raw start tag
	inline bool   // formatting that Telegram forbids around code and pre
	noop   bool   // repeats an enclosing element (bold in a bold heading, a nested quote)
	opened bool
}

// builder accumulates tokens for FromMarkdown. Block separators are kept
// pending and written only when more text follows, which yields no leading or
// trailing blank lines and never more than one blank line between blocks.
type builder struct {
	tokens    []token
	stack     []*element
	pendingNL int
	indent    string // list indentation written after every separator newline
	wrote     bool   // visible text has been written
}

// separate asks for n newlines before whatever is written next.
func (b *builder) separate(n int) { b.pendingNL = max(b.pendingNL, n) }

func (b *builder) push(name, open string, inline bool) {
	e := &element{name: name, open: open, inline: inline}
	for _, o := range b.stack {
		if o.name == name {
			e.noop = true
		}
	}
	b.stack = append(b.stack, e)
}

func (b *builder) pop() {
	e := b.stack[len(b.stack)-1]
	b.stack = b.stack[:len(b.stack)-1]
	if e.opened {
		b.tokens = append(b.tokens, closeTag(e.name))
	}
}

func (b *builder) inside(name string) bool {
	for _, e := range b.stack {
		if e.name == name && !e.noop {
			return true
		}
	}
	return false
}

func (b *builder) flushNewlines() {
	if b.pendingNL > 0 && b.wrote {
		b.appendText(strings.Repeat("\n", b.pendingNL) + b.indent)
	}
	b.pendingNL = 0
}

// openUpTo writes the start tags of pending elements, stopping at the first
// inline one when stopAtInline is set.
func (b *builder) openUpTo(stopAtInline bool) {
	for _, e := range b.stack {
		if stopAtInline && e.inline {
			return
		}
		if !e.opened && !e.noop {
			b.tokens = append(b.tokens, openTag(e.name, e.open))
			e.opened = true
		}
	}
}

// closeInline ends the inline formatting currently written so that code or
// pre can follow; the elements stay on the stack and reopen before the next
// text.
func (b *builder) closeInline() {
	for i := len(b.stack) - 1; i >= 0 && b.stack[i].inline; i-- {
		if e := b.stack[i]; e.opened {
			b.tokens = append(b.tokens, closeTag(e.name))
			e.opened = false
		}
	}
}

func (b *builder) appendText(s string) {
	if n := len(b.tokens); n > 0 && b.tokens[n-1].kind == tokText {
		b.tokens[n-1].text += s
		return
	}
	b.tokens = append(b.tokens, textTok(s))
}

// text writes visible text inside the current elements.
func (b *builder) text(s string) {
	if s == "" {
		return
	}
	b.flushNewlines()
	b.openUpTo(false)
	b.appendText(s)
	b.wrote = true
}

// code writes an inline code span. Telegram allows no formatting around
// code, so enclosing bold/italic/… are closed and reopened after it.
func (b *builder) code(s string) {
	if s == "" {
		return
	}
	if b.inside("a") {
		// Telegram does not allow code inside a link; keeping the link is
		// worth more than the monospace.
		b.text(s)
		return
	}
	b.flushNewlines()
	b.closeInline()
	b.openUpTo(true)
	b.tokens = append(b.tokens, openTag("code", "<code>"), textTok(s), closeTag("code"))
	b.wrote = true
}

// pre writes a code block; its newlines are content, never indented.
func (b *builder) pre(s, language string) {
	if s == "" {
		return
	}
	b.flushNewlines()
	b.closeInline()
	b.openUpTo(true)
	b.tokens = append(b.tokens, openTag("pre", "<pre>"))
	if language != "" {
		b.tokens = append(b.tokens, openTag("code", `<code class="language-`+escapeAttr(language)+`">`))
	}
	b.tokens = append(b.tokens, textTok(s))
	if language != "" {
		b.tokens = append(b.tokens, closeTag("code"))
	}
	b.tokens = append(b.tokens, closeTag("pre"))
	b.wrote = true
}

// finish closes what is still open and returns tokens without edge
// whitespace and without empty elements.
func (b *builder) finish() []token {
	for len(b.stack) > 0 {
		b.pop()
	}
	// Leading spaces are dropped too, except where they are code indentation.
	trimLeft := true
	for _, tk := range b.tokens {
		if tk.kind == tokText {
			break
		}
		if tk.name == "pre" || tk.name == "code" {
			trimLeft = false
		}
	}
	return dropEmptyElements(trimSpaceTokens(b.tokens, trimLeft, true))
}

// trimSpaceTokens removes whitespace from the visible start and/or end of a
// token list, looking through the tags that surround it.
func trimSpaceTokens(tokens []token, left, right bool) []token {
	if right {
		for i := len(tokens) - 1; i >= 0; i-- {
			if tokens[i].kind != tokText {
				continue
			}
			tokens[i].text = strings.TrimRightFunc(tokens[i].text, unicode.IsSpace)
			if tokens[i].text != "" {
				break
			}
		}
	}
	if left {
		for i := range tokens {
			if tokens[i].kind != tokText {
				continue
			}
			tokens[i].text = strings.TrimLeftFunc(tokens[i].text, unicode.IsSpace)
			if tokens[i].text != "" {
				break
			}
		}
	}
	out := tokens[:0]
	for _, tk := range tokens {
		if tk.kind != tokText || tk.text != "" {
			out = append(out, tk)
		}
	}
	return out
}

// dropEmptyElements removes elements without visible text inside. Telegram
// has no use for them and some clients choke on zero-length entities. The
// input must be balanced.
func dropEmptyElements(tokens []token) []token {
	type frame struct {
		at      int // index of the start tag in out
		content bool
	}
	out := make([]token, 0, len(tokens))
	var stack []frame
	for _, tk := range tokens {
		switch tk.kind {
		case tokOpen:
			stack = append(stack, frame{at: len(out)})
			out = append(out, tk)
		case tokClose:
			f := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if !f.content {
				out = out[:f.at]
				continue
			}
			out = append(out, tk)
			if len(stack) > 0 {
				stack[len(stack)-1].content = true
			}
		case tokText:
			if tk.text == "" {
				continue
			}
			out = append(out, tk)
			if len(stack) > 0 {
				stack[len(stack)-1].content = true
			}
		}
	}
	return out
}
