package tghtml

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"обычный текст", "обычный текст"},
		{"a < b && c > d", "a &lt; b &amp;&amp; c &gt; d"},
		{"&amp; stays literal", "&amp;amp; stays literal"},
		{`"quotes" 'stay'`, `"quotes" 'stay'`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := Escape(tt.in); got != tt.want {
				t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if got := Plain(Escape(tt.in)); got != tt.in {
				t.Errorf("Plain(Escape(%q)) = %q", tt.in, got)
			}
		})
	}
}

func TestEscapeAttr(t *testing.T) {
	if got, want := escapeAttr(`https://x.ru/?a=1&b="2"<>`), `https://x.ru/?a=1&amp;b=&quot;2&quot;&lt;&gt;`; got != want {
		t.Errorf("escapeAttr = %q, want %q", got, want)
	}
}

func TestVisibleLenAndPlain(t *testing.T) {
	tests := []struct {
		name  string
		html  string
		plain string
		len   int
	}{
		{"empty", "", "", 0},
		{"cyrillic counts one unit per letter", "Привет", "Привет", 6},
		{"tags are invisible", `<b>жирный</b> <a href="https://x.ru">ссылка</a>`, "жирный ссылка", 13},
		{"entities count once", "a &lt; b &amp;&amp; &quot;c&quot; &gt;", `a < b && "c" >`, 14},
		{"numeric entities", "&#1055;&#x440;&#X438;", "При", 3},
		{"emoji outside the BMP are two units", "👍", "👍", 2},
		{"emoji sequence", "👨‍👩‍👧", "👨‍👩‍👧", 8},
		{"numeric entity for an emoji", "&#128077;", "👍", 2},
		{"pre with language", `<pre><code class="language-go">x &lt; 1</code></pre>`, "x < 1", 5},
		{"attribute containing >", `<a href="https://x.ru/?q=>">q</a>`, "q", 1},
		{"newlines count", "a\n\nb", "a\n\nb", 4},
		// Malformed input still yields readable text: this is the fallback
		// for messages Telegram rejected.
		{"stray <", "a < b", "a < b", 5},
		{"unsupported named entity is text", "&nbsp;&copy;", "&nbsp;&copy;", 12},
		{"unterminated tag is text", "<b unterminated", "<b unterminated", 15},
		{"surrogate reference is text", "&#xD800;", "&#xD800;", 8},
		{"unbalanced tags are dropped", "<b>a</i>", "a", 1},
		{"invalid UTF-8 becomes U+FFFD", "a\xffb", "a\uFFFDb", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Plain(tt.html); got != tt.plain {
				t.Errorf("Plain(%q) = %q, want %q", tt.html, got, tt.plain)
			}
			if got := VisibleLen(tt.html); got != tt.len {
				t.Errorf("VisibleLen(%q) = %d, want %d", tt.html, got, tt.len)
			}
		})
	}
}

func TestCheckHTML(t *testing.T) {
	// The checker the other tests rely on must itself reject what Telegram
	// rejects.
	valid := []string{
		"",
		"текст",
		`<b>a <i>b</i></b> <a href="https://x.ru?a=1&amp;b=2">c</a>`,
		`<pre><code class="language-go">x &lt; y</code></pre>`,
		`<blockquote>q <b>b</b> <code>c</code></blockquote>`,
		`<tg-spoiler>s</tg-spoiler> <u>u</u> <s>s</s> &#128077;`,
	}
	for _, s := range valid {
		if err := checkHTML(s); err != nil {
			t.Errorf("checkHTML(%q) = %v, want nil", s, err)
		}
	}
	invalid := []string{
		"a < b",
		"a > b",
		"a & b",
		"&nbsp;",
		"<b>a",
		"a</b>",
		"<b><i>a</b></i>",
		"<div>a</div>",
		"<b></b>",
		"<code><b>a</b></code>",
		"<b><code>a</code></b>",
		"<blockquote><blockquote>a</blockquote></blockquote>",
		`<a href="https://x"><a href="https://y">a</a></a>`,
		`<a>no href</a>`,
		`<code class="language-go">a</code>`,
	}
	for _, s := range invalid {
		if err := checkHTML(s); err == nil {
			t.Errorf("checkHTML(%q) = nil, want an error", s)
		}
	}
}

var errInvalidHTML = errors.New("invalid telegram html")

// checkHTML is a strict reading of the Bot API rules for parse_mode=HTML plus
// our own guarantees (no empty elements, no formatting around code). It is
// stricter than Telegram, so passing it means Telegram accepts the message.
func checkHTML(s string) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s in %q", errInvalidHTML, fmt.Sprintf(format, args...), s)
	}
	type frame struct {
		name    string
		content bool
	}
	var stack []frame
	inside := func(names ...string) bool {
		for _, f := range stack {
			for _, n := range names {
				if f.name == n {
					return true
				}
			}
		}
		return false
	}
	markContent := func() {
		for i := range stack {
			stack[i].content = true
		}
	}
	for i := 0; i < len(s); {
		switch c := s[i]; c {
		case '>':
			return fail("bare '>' at %d", i)
		case '&':
			_, n, ok := readEntity(s[i:])
			if !ok {
				return fail("bad entity at %d", i)
			}
			markContent()
			i += n
			continue
		case '<':
			tk, n, ok := readTag(s[i:])
			if !ok {
				return fail("bare '<' at %d", i)
			}
			i += n
			if tk.kind == tokClose {
				if len(stack) == 0 || stack[len(stack)-1].name != tk.name {
					return fail("unmatched </%s>", tk.name)
				}
				if !stack[len(stack)-1].content {
					return fail("empty <%s>", tk.name)
				}
				stack = stack[:len(stack)-1]
				continue
			}
			if inside("code") || inside("pre") && !(tk.name == "code" && stack[len(stack)-1].name == "pre" && !stack[len(stack)-1].content) {
				return fail("<%s> inside code", tk.name)
			}
			switch tk.name {
			case "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "tg-spoiler":
				if tk.text != "<"+tk.name+">" {
					return fail("attributes on <%s>", tk.name)
				}
			case "code", "pre":
				if inside("b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "tg-spoiler", "a") {
					return fail("<%s> inside formatting", tk.name)
				}
				if tk.text != "<"+tk.name+">" && !(tk.name == "code" && strings.HasPrefix(tk.text, `<code class="language-`) && inside("pre")) {
					return fail("attributes on <%s>", tk.name)
				}
			case "a":
				if inside("a") {
					return fail("nested <a>")
				}
				if !strings.HasPrefix(tk.text, `<a href="`) || !strings.HasSuffix(tk.text, `">`) {
					return fail("<a> without href")
				}
			case "tg-emoji":
				if !strings.HasPrefix(tk.text, `<tg-emoji emoji-id="`) {
					return fail("<tg-emoji> without emoji-id")
				}
			case "blockquote":
				if inside("blockquote") {
					return fail("nested <blockquote>")
				}
			default:
				return fail("unsupported <%s>", tk.name)
			}
			stack = append(stack, frame{name: tk.name})
			continue
		}
		markContent()
		i++
	}
	if len(stack) > 0 {
		return fail("unclosed <%s>", stack[len(stack)-1].name)
	}
	return nil
}
