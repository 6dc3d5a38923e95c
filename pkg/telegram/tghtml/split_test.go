package tghtml

import (
	"slices"
	"strings"
	"testing"
	"unicode"
)

// splitCase is one input of Split and the parts it must give.
type splitCase struct {
	name  string
	html  string
	limit int
	want  []string
}

// Where a message is cut: the best boundary within the limit.
var splitBoundaryCases = []splitCase{
	{"short message is one part", "<b>Привет</b>, мир", 100, []string{"<b>Привет</b>, мир"}},
	{"exactly at the limit", "12345", 5, []string{"12345"}},
	{"empty input", "", 10, nil},
	{"whitespace only", " \n\n ", 10, nil},
	{"tags only", "<b></b>", 10, nil},
	{"edge whitespace is trimmed", "\n\n  текст  \n", 100, []string{"текст"}},
	{
		"paragraph break preferred over a later line break",
		"первый абзац\n\nвторой\nтретья строка",
		22,
		[]string{"первый абзац", "второй\nтретья строка"},
	},
	{
		"line break preferred over spaces",
		"строка один\nстрока два три",
		16,
		[]string{"строка один", "строка два три"},
	},
	{
		"sentence end preferred over a later space",
		"Первое предложение. Второе длинное предложение",
		30,
		[]string{"Первое предложение.", "Второе длинное предложение"},
	},
	{
		"space when nothing better",
		"один два три четыре",
		10,
		[]string{"один два", "три четыре"},
	},
	{
		"a boundary too early loses to a later weaker one",
		"a\n\nbbbbbbb ccc dd",
		12,
		[]string{"a\n\nbbbbbbb", "ccc dd"},
	},
}

// What a cut never tears: characters, emoji, entities, tags.
var splitMarkupCases = []splitCase{
	{
		"hard cut inside a long word",
		"ааааааааааааааа",
		6,
		[]string{"аааааа", "аааааа", "ааа"},
	},
	{
		"no-break space is not a boundary",
		"10\u00a0000 руб",
		8,
		[]string{"10\u00a0000", "руб"},
	},
	{
		"emoji are never torn",
		"👍👍👍",
		3,
		[]string{"👍", "👍", "👍"},
	},
	{
		"a skin tone stays with its emoji",
		"👋🏽👋🏽",
		5,
		[]string{"👋🏽", "👋🏽"},
	},
	{
		"entities stay whole",
		"&lt;&lt;&lt;&amp;",
		2,
		[]string{"&lt;&lt;", "&lt;&amp;"},
	},
	{
		"open tags are closed and reopened",
		`<b>жирный <a href="https://example.com/?a=1&amp;b=2">длинная ссылка</a></b>`,
		15,
		[]string{
			`<b>жирный <a href="https://example.com/?a=1&amp;b=2">длинная</a></b>`,
			`<b><a href="https://example.com/?a=1&amp;b=2">ссылка</a></b>`,
		},
	},
	{
		"code block reopened with its language",
		"<pre><code class=\"language-go\">a := 1\nb := 2\nc := 3</code></pre>",
		14,
		[]string{
			"<pre><code class=\"language-go\">a := 1\nb := 2</code></pre>",
			"<pre><code class=\"language-go\">c := 3</code></pre>",
		},
	},
	{
		"no empty element at a cut",
		"текст один\n\n<b>жирный</b>",
		12,
		[]string{"текст один", "<b>жирный</b>"},
	},
	{
		"tg-emoji is not cut",
		`ab<tg-emoji emoji-id="1">👍</tg-emoji>`,
		3,
		[]string{"ab", `<tg-emoji emoji-id="1">👍</tg-emoji>`},
	},
	{
		"limit below 2 is raised",
		"👍a",
		1,
		[]string{"👍", "a"},
	},
}

func TestSplitBoundaries(t *testing.T) { runSplitCases(t, splitBoundaryCases) }

func TestSplitMarkup(t *testing.T) { runSplitCases(t, splitMarkupCases) }

func runSplitCases(t *testing.T, cases []splitCase) {
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			got := Split(tt.html, tt.limit)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Split(%q, %d)\n got: %q\nwant: %q", tt.html, tt.limit, got, tt.want)
			}
			checkParts(t, tt.html, got, max(tt.limit, 2))
		})
	}
}

// Tags that do not nest are balanced in every part. (checkParts does not
// apply: the input itself is not valid HTML.)
func TestSplitSloppyEndTags(t *testing.T) {
	got := Split("<b><i>один два</b> три", 5)
	if want := []string{"<b><i>один</i></b>", "<b><i>два</i></b>", "три"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestSplitDefaultLimit(t *testing.T) {
	html := strings.Repeat("слово ", 1500)
	parts := Split(html, 0)
	if len(parts) != 3 {
		t.Fatalf("got %d parts, want 3", len(parts))
	}
	checkParts(t, html, parts, MaxMessageLen)
}

// checkParts asserts Split's contract: every part is valid Telegram HTML
// within limit with visible text, and together they hold the input's visible
// text except for whitespace at the cuts.
func checkParts(t *testing.T, input string, parts []string, limit int) {
	t.Helper()
	whole := Plain(input)
	var joined strings.Builder
	for i, p := range parts {
		if err := checkHTML(p); err != nil {
			t.Errorf("part %d: %v", i, err)
		}
		if n := VisibleLen(p); n > limit {
			t.Errorf("part %d: visible length %d > limit %d", i, n, limit)
		}
		text := Plain(p)
		if strings.TrimSpace(text) == "" {
			t.Errorf("part %d has no visible text: %q", i, p)
		}
		if !strings.Contains(whole, text) {
			t.Errorf("part %d: visible text %q is not in the input", i, text)
		}
		joined.WriteString(text)
	}
	if a, b := withoutSpace(whole), withoutSpace(joined.String()); a != b {
		t.Errorf("visible text changed:\n input: %q\n parts: %q", a, b)
	}
}

func withoutSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

func BenchmarkSplit(b *testing.B) {
	html := FromMarkdown(strings.Repeat("## Заголовок\n\nТекст **жирный** и `код < 1`, [ссылка](https://example.com). Ещё предложение.\n\n- пункт\n- пункт\n\n", 200))
	b.SetBytes(int64(len(html)))
	for b.Loop() {
		Split(html, MaxMessageLen)
	}
}
