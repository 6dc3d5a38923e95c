package tghtml_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"marketingbot/pkg/telegram/tghtml"
	"marketingbot/sim/emulator/telegram"
)

// markdownSeeds are the shapes Gemini produces plus the corners of CommonMark
// that have bitten Markdown-to-Telegram converters before.
var markdownSeeds = []string{
	"## Заголовок\n\nТекст **жирный** и *курсив*, `код < 1` и [ссылка](https://example.com).",
	"1. раз\n   - два **три**\n     - четыре\n2. пять\n\n> цитата\n> > вложенная",
	"```go\nif a < b && c > d {}\n```\n\n    отступ\n\n---",
	"<div>raw & html</div> <b>жирный?</b> &amp; &copy; &#0; &#xD800; \\*",
	"**жирный `код` [ссылка `код`](tg://resolve?domain=x)** ~~зачёркнуто~~",
	"[javascript](javascript:alert(1)) ![картинка](https://example.com/a.png) <mailto:a@b.c>",
	"***a** b*  \nc\\\nd\n\n* * *\n\n- \n-",
	"👍🏽 🇷🇺 👨‍👩‍👧 \u200d\u0301 \u00a0",
	"> ```\n> code in quote\n> ```\n\n- ```\n  code in list\n  ```",
	"**[`x`](https://a.b)**`y`**z**",
	"a\r\nb\rc\x00\xff",
	"[a]: https://example.com\n\n[a]",
}

func FuzzFromMarkdown(f *testing.F) {
	for _, s := range markdownSeeds {
		f.Add(s, uint16(50))
	}
	for _, md := range tghtml.MarkdownInputs() {
		f.Add(md, uint16(7))
	}
	f.Fuzz(func(t *testing.T, md string, limit uint16) {
		html := tghtml.FromMarkdown(md)
		tghtml.CheckRendered(t, html)
		n := int(limit)%tghtml.MaxMessageLen + 2
		parts := tghtml.Split(html, n)
		tghtml.CheckParts(t, html, parts, n)
		for _, p := range parts {
			validateWithEmulator(t, p)
		}
		validateWithEmulator(t, html)
	})
}

func FuzzSplit(f *testing.F) {
	f.Add("Привет, мир. Это тест!\n\nВторой абзац с кодом x < y.", []byte{7, 0, 40, 3, 1, 4, 9, 2, 17, 1}, uint16(12))
	f.Add("👍🏽👍🇷🇺 слово слово", []byte{0, 8, 16, 1, 24, 5, 2}, uint16(3))
	f.Add(strings.Repeat("длинное_слово_без_пробелов", 10), []byte{6, 200, 1}, uint16(40))
	f.Add("a&b<c>d\"e'f", []byte{0, 0, 0, 8, 1, 1, 1}, uint16(2))
	f.Add(`<b>жирный <a href="https://example.com">ссылка</a></b>`, []byte{}, uint16(5))
	f.Fuzz(func(t *testing.T, text string, shape []byte, limit uint16) {
		n := int(limit)%tghtml.MaxMessageLen + 2
		html := generateHTML(text, shape)
		if err := tghtml.CheckHTML(html); err != nil {
			t.Fatalf("generator produced invalid HTML: %v", err)
		}
		parts := tghtml.Split(html, n)
		tghtml.CheckParts(t, html, parts, n)
		for _, p := range parts {
			validateWithEmulator(t, p)
		}
		// Text that happens to be valid Telegram HTML is split as is.
		if tghtml.CheckHTML(text) == nil {
			tghtml.CheckParts(t, text, tghtml.Split(text, n), n)
		}
		// Telegram accepts more than our checker (empty elements, code inside
		// bold); such input must still split into messages it accepts.
		if telegram.ValidateHTML(text) == nil {
			for _, p := range tghtml.Split(text, n) {
				validateWithEmulator(t, p)
				if l := tghtml.VisibleLen(p); l > n {
					t.Errorf("part %q: visible length %d > %d", p, l, n)
				}
			}
		}
	})
}

// validateWithEmulator checks html with the Telegram emulator's parser,
// which follows the Bot API server's own.
func validateWithEmulator(t *testing.T, html string) {
	t.Helper()
	if err := telegram.ValidateHTML(html); err != nil {
		t.Errorf("Telegram would reject %q: %v", html, err)
	}
}

// generateHTML builds a valid Telegram HTML message from fuzz input: shape
// decides the structure (tags, code, breaks), text supplies the characters.
func generateHTML(text string, shape []byte) string {
	text = strings.ToValidUTF8(text, "\uFFFD")
	var (
		b     strings.Builder
		stack []string
	)
	has := func(name string) bool {
		for _, s := range stack {
			if s == name {
				return true
			}
		}
		return false
	}
	take := func(n int) string {
		i := 0
		for ; n > 0 && i < len(text); n-- {
			_, size := utf8.DecodeRuneInString(text[i:])
			i += size
		}
		s := text[:i]
		text = text[i:]
		return s
	}
	// Elements are written only around text so none is empty.
	openWith := func(name, tag, content string) {
		if content == "" {
			return
		}
		b.WriteString(tag)
		b.WriteString(tghtml.Escape(content))
		b.WriteString("</" + name + ">")
	}
	inline := []struct{ name, tag string }{
		{"b", "<b>"}, {"i", "<i>"}, {"u", "<u>"}, {"s", "<s>"},
		{"tg-spoiler", "<tg-spoiler>"}, {"a", `<a href="https://example.com/?q=1&amp;x=&quot;">`},
		{"blockquote", "<blockquote>"}, {"strong", "<strong>"},
	}
	for _, c := range shape {
		switch op, arg := c%8, int(c/8); op {
		case 0: // open an element around the next text
			e := inline[arg%len(inline)]
			if has(e.name) || e.name == "blockquote" && len(stack) > 0 {
				continue
			}
			content := take(arg%7 + 1)
			if content == "" {
				continue
			}
			b.WriteString(e.tag)
			b.WriteString(tghtml.Escape(content))
			stack = append(stack, e.name)
		case 1: // close the innermost element
			if len(stack) > 0 {
				b.WriteString("</" + stack[len(stack)-1] + ">")
				stack = stack[:len(stack)-1]
			}
		case 2: // code span, only outside formatting
			if len(stack) == 0 || len(stack) == 1 && stack[0] == "blockquote" {
				openWith("code", "<code>", take(arg%9+1))
			}
		case 3: // code block
			if len(stack) == 0 {
				if arg%2 == 0 {
					openWith("pre", "<pre>", take(arg+1))
				} else if content := take(arg + 1); content != "" {
					b.WriteString(`<pre><code class="language-go">` + tghtml.Escape(content) + "</code></pre>")
				}
			}
		case 4:
			b.WriteString("\n\n")
		case 5:
			b.WriteString("\n")
		case 6:
			b.WriteString(". ")
		default:
			b.WriteString(tghtml.Escape(take(arg + 1)))
		}
	}
	b.WriteString(tghtml.Escape(text))
	for i := len(stack) - 1; i >= 0; i-- {
		b.WriteString("</" + stack[i] + ">")
	}
	return b.String()
}
