package tghtml

import (
	"strings"
	"testing"
)

func TestCut(t *testing.T) {
	cases := []struct {
		name, html string
		limit      int
		head, rest string
	}{
		{"fits", "<b>коротко</b>", 10, "<b>коротко</b>", ""},
		{"exactly at the limit", "абв😀", 5, "абв😀", ""},
		{"a paragraph break wins", "первый абзац\n\nвторой абзац", 20, "первый абзац", "второй абзац"},
		{
			"a link open at the cut is closed and reopened",
			`<a href="https://e.x/?a=1&amp;b=2">раз два три</a> четыре`,
			8,
			`<a href="https://e.x/?a=1&amp;b=2">раз два</a>`,
			`<a href="https://e.x/?a=1&amp;b=2">три</a> четыре`,
		},
		{"an entity is never torn", "&lt;&lt;&lt;&lt;", 3, "&lt;&lt;&lt;", "&lt;"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			head, rest := Cut(tc.html, tc.limit)
			if head != tc.head || rest != tc.rest {
				t.Fatalf("Cut(%q, %d) = %q, %q; want %q, %q", tc.html, tc.limit, head, rest, tc.head, tc.rest)
			}
			parts := []string{head}
			if rest != "" {
				parts = append(parts, rest)
			}
			for i, p := range parts {
				if err := checkHTML(p); err != nil {
					t.Errorf("part %d: %v", i, err)
				}
			}
			if VisibleLen(head) > tc.limit {
				t.Errorf("head of %d units", VisibleLen(head))
			}
		})
	}
}

func TestTrim(t *testing.T) {
	t.Run("fits: unchanged", func(t *testing.T) {
		in := "<b>" + strings.Repeat("я", 4094) + "😀</b>" // 4096 units
		out, cut := Trim(in, MaxMessageLen, " …")
		if out != in || cut {
			t.Fatalf("changed a text that fits (cut=%v)", cut)
		}
	})
	t.Run("cut at a boundary with the marker", func(t *testing.T) {
		in := strings.Repeat("Слово <b>жирное <i>курсив</i></b> и <code>код &lt; 1</code>. ", 300)
		out, cut := Trim(in, MaxMessageLen, "… (сокращено)")
		if !cut || VisibleLen(out) > MaxMessageLen || !strings.HasSuffix(Plain(out), "… (сокращено)") {
			t.Fatalf("cut=%v, %d units, ends %q", cut, VisibleLen(out), Plain(out)[len(Plain(out))-30:])
		}
		if err := checkHTML(out); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(Plain(in), strings.TrimSuffix(Plain(out), "… (сокращено)")) {
			t.Fatal("the trimmed text is not the beginning of the input")
		}
	})
	t.Run("plain", func(t *testing.T) {
		in := strings.Repeat("<нажмите> & ждите 😀 ", 20)
		out := TrimPlain(in, 200, "…")
		if utf16Len(out) > 200 || !strings.HasSuffix(out, "…") || !strings.HasPrefix(in, strings.TrimSuffix(out, "…")) {
			t.Fatalf("TrimPlain = %q (%d units)", out, utf16Len(out))
		}
		if TrimPlain("коротко", 200, "…") != "коротко" {
			t.Fatal("a short text was changed")
		}
	})
}
