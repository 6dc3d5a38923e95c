package telegram

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestValidateHTML(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // error text; "" means valid
	}{
		{name: "plain", in: "Привет, мир"},
		{name: "empty", in: ""},
		{name: "all simple tags", in: "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s><strike>k</strike><del>d</del>"},
		{name: "nested", in: "<b>bold <i>both <u>all</u></i></b>"},
		{name: "upper-case tags", in: "<B>x</b>"},
		{name: "spoilers", in: `<tg-spoiler>a</tg-spoiler><span class="tg-spoiler">b</span>`},
		{name: "link", in: `<a href="https://example.com/?a=1&amp;b=2">link</a>`},
		{name: "link single quotes", in: `<a href='https://example.com'>link</a>`},
		{name: "link unquoted name token", in: `<a href=example.com>link</a>`},
		{name: "extra attributes ignored", in: `<a href="https://x.org" target="_blank">x</a>`},
		{name: "mention", in: `<a href="tg://user?id=123">Ann</a>`},
		{name: "code and pre", in: `<code>x</code><pre>y</pre><pre><code class="language-go">z</code></pre>`},
		{name: "blockquotes", in: "<blockquote>q</blockquote><blockquote expandable>e</blockquote>"},
		{name: "custom emoji", in: `<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>`},
		{name: "entities", in: "a &lt; b &gt; c &amp; d &quot;e&quot; &#65;&#x42; &#128512;"},
		{name: "empty end tag closes", in: "<b>x</>"},
		{name: "space before end of end tag", in: "<b>x</b >"},
		{name: "unsupported tag", in: "<div>x</div>", want: `can't parse entities: Unsupported start tag "div" at byte offset 0`},
		{name: "unsupported tag later", in: "Hi <br> there", want: `can't parse entities: Unsupported start tag "br" at byte offset 3`},
		{name: "self-closing", in: "<b/>", want: `can't parse entities: Unsupported start tag "b/" at byte offset 0`},
		{name: "bare less-than", in: "a < b", want: `can't parse entities: Unsupported start tag "" at byte offset 2`},
		{name: "less-than at end", in: "a <", want: `can't parse entities: Unclosed start tag at byte offset 2`},
		{name: "unclosed start tag", in: "<b", want: `can't parse entities: Unclosed start tag at byte offset 0`},
		{name: "unclosed tag", in: "<b>bold", want: `can't parse entities: Can't find end tag corresponding to start tag "b"`},
		{name: "innermost unclosed", in: "<b><i>x</i>", want: `can't parse entities: Can't find end tag corresponding to start tag "b"`},
		{name: "mismatched nesting", in: "<b><i>x</b></i>", want: `can't parse entities: Unmatched end tag at byte offset 7, expected "</i>", found "</b>"`},
		{name: "unexpected end tag", in: "x</b>", want: `can't parse entities: Unexpected end tag at byte offset 1`},
		{name: "unclosed end tag", in: "<b>x</b", want: `can't parse entities: Unclosed end tag at byte offset 4`},
		{name: "span without class", in: "<span>x</span>", want: `can't parse entities: Tag "span" must have class "tg-spoiler" at byte offset 0`},
		{name: "attribute without value", in: "<a href>x</a>", want: `can't parse entities: Expected equal sign in declaration of an attribute of the tag "a" at byte offset 0`},
		{name: "empty attribute name", in: `<a ="x">y</a>`, want: `can't parse entities: Empty attribute name in the tag "a" at byte offset 0`},
		{name: "unquoted URL", in: `<a href=http://x.org>y</a>`, want: `can't parse entities: Unexpected end of name token at byte offset 8`},
		{name: "unterminated attribute", in: `<a href="x>y</a>`, want: `can't parse entities: Unclosed start tag at byte offset 0`},
		{name: "bare ampersand", in: "Q&A", want: `can't parse entities: Unescaped "&" at byte offset 1`},
		{name: "ampersand space", in: "a & b", want: `can't parse entities: Unescaped "&" at byte offset 2`},
		{name: "unknown named entity", in: "a&nbsp;b", want: `can't parse entities: Unsupported character reference "&nbsp;" at byte offset 1`},
		{name: "entity without semicolon", in: "a &amp b", want: `can't parse entities: Character reference "&amp" is not terminated by ";" at byte offset 2`},
		{name: "upper-case entity", in: "&LT;", want: `can't parse entities: Unsupported character reference "&LT;" at byte offset 0`},
		{name: "zero reference", in: "&#0;", want: `can't parse entities: Unsupported character reference "&#0;" at byte offset 0`},
		{name: "surrogate reference", in: "&#xD800;", want: `can't parse entities: Unsupported character reference "&#xD800;" at byte offset 0`},
		{name: "ampersand in attribute", in: `<a href="https://x.org/?a=1&b=2">x</a>`, want: `can't parse entities: Unescaped "&" at byte offset 27`},
		{name: "bad emoji id", in: `<tg-emoji emoji-id="abc">x</tg-emoji>`, want: `can't parse entities: Invalid custom emoji identifier specified`},
		{name: "byte offsets count bytes", in: "Привет <p>", want: `can't parse entities: Unsupported start tag "p" at byte offset 13`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateHTML(tt.in)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("ValidateHTML(%q) = %v, want nil", tt.in, err)
				}
				return
			}
			var herr *HTMLError
			if !errors.As(err, &herr) {
				t.Fatalf("ValidateHTML(%q) = %v, want *HTMLError", tt.in, err)
			}
			if err.Error() != tt.want {
				t.Errorf("ValidateHTML(%q)\n got %s\nwant %s", tt.in, err, tt.want)
			}
		})
	}
	if err := ValidateHTML("bad \xff byte"); !errors.Is(err, ErrInvalidUTF8) {
		t.Errorf("invalid UTF-8: got %v, want ErrInvalidUTF8", err)
	}
}

func TestParseHTMLEntities(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		text     string
		entities string
	}{
		{name: "plain", in: "hi", text: "hi", entities: "null"},
		{name: "bold", in: "a <b>bc</b>", text: "a bc", entities: `[{"type":"bold","offset":2,"length":2}]`},
		{name: "nested sorted outer first", in: "<b><i>x</i></b>", text: "x", entities: `[{"type":"bold","offset":0,"length":1},{"type":"italic","offset":0,"length":1}]`},
		{name: "utf16 offsets", in: "😀<b>ж</b>", text: "😀ж", entities: `[{"type":"bold","offset":2,"length":1}]`},
		{name: "decoded entities count once", in: "&lt;<i>&amp;</i>", text: "<&", entities: `[{"type":"italic","offset":1,"length":1}]`},
		{name: "empty tag has no entity", in: "<b></b>x", text: "x", entities: "null"},
		{name: "link", in: `<a href="https://x.org/?a=1&amp;b=2">x</a>`, text: "x", entities: `[{"type":"text_link","offset":0,"length":1,"url":"https://x.org/?a=1\u0026b=2"}]`},
		{name: "link without scheme", in: `<a href="x.org">x</a>`, text: "x", entities: `[{"type":"text_link","offset":0,"length":1,"url":"http://x.org"}]`},
		{name: "unusable link dropped", in: `<a href="javascript:alert(1)">x</a>`, text: "x", entities: "null"},
		{name: "mention", in: `<a href="tg://user?id=42">Ann</a>`, text: "Ann", entities: `[{"type":"text_mention","offset":0,"length":3,"user":{"id":42,"is_bot":false,"first_name":""}}]`},
		{name: "pre with language", in: `<pre><code class="language-go">x := 1</code></pre>`, text: "x := 1", entities: `[{"type":"pre","offset":0,"length":6,"language":"go"}]`},
		{name: "code keeps no language", in: `<code class="language-go">x</code>`, text: "x", entities: `[{"type":"code","offset":0,"length":1}]`},
		{name: "expandable quote", in: "<blockquote expandable>q</blockquote>", text: "q", entities: `[{"type":"expandable_blockquote","offset":0,"length":1}]`},
		{name: "spoiler span", in: `<span class="tg-spoiler">s</span>`, text: "s", entities: `[{"type":"spoiler","offset":0,"length":1}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, entities, err := parseHTML(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if text != tt.text {
				t.Errorf("text = %q, want %q", text, tt.text)
			}
			got, _ := json.Marshal(entities)
			if string(got) != tt.entities {
				t.Errorf("entities\n got %s\nwant %s", got, tt.entities)
			}
		})
	}
}

func FuzzValidateHTML(f *testing.F) {
	for _, s := range []string{"<b>x</b>", "a &amp; b", `<a href="x">y</a>`, "<pre><code class=\"language-go\">x</code></pre>", "<", "&#x1F600;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		text, entities, err := parseHTML(in)
		if err != nil {
			return
		}
		// Accepted text must map to entities that lie inside the visible text.
		n := utf16Len(text)
		for _, e := range entities {
			if e.Offset < 0 || e.Length <= 0 || e.Offset+e.Length > n {
				t.Fatalf("entity %+v outside text of %d units (input %q)", e, n, in)
			}
		}
	})
}
