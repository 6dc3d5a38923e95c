package tghtml

import (
	"bufio"
	"bytes"
	"html"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	extast "github.com/yuin/goldmark/extension/ast"
	htmlrenderer "github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// goldmark parsers are safe for concurrent use; building one is not free.
var markdownParser = goldmark.New(goldmark.WithExtensions(extension.Strikethrough)).Parser()

// ThematicBreak is what a Markdown horizontal rule becomes.
const ThematicBreak = "———"

// FromMarkdown converts Markdown as Gemini writes it into an HTML message
// Telegram accepts with parse_mode=HTML. See the package documentation for
// the mapping. The result may exceed MaxMessageLen; pass it to Split.
func FromMarkdown(md string) string {
	md = strings.ToValidUTF8(md, "\uFFFD")
	md = strings.ReplaceAll(md, "\r\n", "\n")
	md = strings.ReplaceAll(md, "\r", "\n")
	md = strings.ReplaceAll(md, "\x00", "\uFFFD")
	src := []byte(md)
	doc := markdownParser.Parse(text.NewReader(src))
	r := &renderer{src: src}
	r.w = bufio.NewWriter(&r.buf)
	r.blocks(doc, 2)
	return serialize(r.b.finish())
}

type renderer struct {
	src []byte
	b   builder
	// buf and w receive goldmark's own text writer, which implements the
	// CommonMark rules for backslash escapes and entity references.
	buf bytes.Buffer
	w   *bufio.Writer
}

func (r *renderer) blocks(parent ast.Node, sep int) {
	first := true
	for c := parent.FirstChild(); c != nil; c = c.NextSibling() {
		if c.Kind() == ast.KindLinkReferenceDefinition {
			continue
		}
		if !first {
			r.b.separate(sep)
		}
		first = false
		r.block(c)
	}
}

func (r *renderer) block(n ast.Node) {
	switch n := n.(type) {
	case *ast.Paragraph, *ast.TextBlock:
		r.inlines(n)
	case *ast.Heading:
		r.b.push("b", "<b>", true)
		r.inlines(n)
		r.b.pop()
	case *ast.ThematicBreak:
		r.b.text(ThematicBreak)
	case *ast.FencedCodeBlock:
		r.b.pre(r.codeLines(n.Lines()), codeLanguage(n.Language(r.src)))
	case *ast.CodeBlock:
		r.b.pre(r.codeLines(n.Lines()), "")
	case *ast.Blockquote:
		r.b.push("blockquote", "<blockquote>", false)
		r.blocks(n, 2)
		r.b.pop()
	case *ast.List:
		r.list(n)
	case *ast.HTMLBlock:
		var s strings.Builder
		s.Write(n.Lines().Value(r.src))
		if n.HasClosure() {
			s.Write(n.ClosureLine.Value(r.src))
		}
		r.lines(s.String())
	default:
		// Blocks of extensions we do not enable: keep whatever text they hold.
		if n.FirstChild() != nil {
			if n.FirstChild().Type() == ast.TypeInline {
				r.inlines(n)
			} else {
				r.blocks(n, 2)
			}
		} else if n.Type() == ast.TypeBlock {
			r.lines(string(n.Lines().Value(r.src)))
		}
	}
}

func (r *renderer) list(l *ast.List) {
	sep := 1
	if !l.IsTight {
		sep = 2
	}
	number := l.Start
	for item := l.FirstChild(); item != nil; item = item.NextSibling() {
		if item != l.FirstChild() {
			r.b.separate(sep)
		}
		marker := "•"
		if l.IsOrdered() {
			marker = strconv.Itoa(number) + "."
			number++
		}
		if item.FirstChild() == nil {
			r.b.text(marker)
			continue
		}
		r.b.text(marker + " ")
		outer := r.b.indent
		r.b.indent = outer + strings.Repeat(" ", utf8.RuneCountInString(marker)+1)
		r.blocks(item, sep)
		r.b.indent = outer
	}
}

func (r *renderer) inlines(parent ast.Node) {
	for c := parent.FirstChild(); c != nil; c = c.NextSibling() {
		r.inline(c)
	}
}

func (r *renderer) inline(n ast.Node) {
	switch n := n.(type) {
	case *ast.Text:
		if n.IsRaw() {
			r.b.text(string(n.Value(r.src)))
		} else {
			r.b.text(r.decode(n.Value(r.src)))
		}
		if n.SoftLineBreak() || n.HardLineBreak() {
			r.b.separate(1)
		}
	case *ast.String:
		if n.IsRaw() || n.IsCode() {
			r.b.text(string(n.Value))
		} else {
			r.b.text(r.decode(n.Value))
		}
	case *ast.CodeSpan:
		var s strings.Builder
		for c := n.FirstChild(); c != nil; c = c.NextSibling() {
			if t, ok := c.(*ast.Text); ok {
				v := t.Value(r.src)
				if bytes.HasSuffix(v, []byte("\n")) {
					v = append(v[:len(v)-1:len(v)-1], ' ')
				}
				s.Write(v)
			}
		}
		r.b.code(s.String())
	case *ast.Emphasis:
		name := "i"
		if n.Level >= 2 {
			name = "b"
		}
		r.b.push(name, "<"+name+">", true)
		r.inlines(n)
		r.b.pop()
	case *ast.Link:
		r.link(n.Destination, func() { r.inlines(n) })
	case *ast.AutoLink:
		dest := n.URL(r.src)
		if n.AutoLinkType == ast.AutoLinkEmail && !bytes.HasPrefix(bytes.ToLower(dest), []byte("mailto:")) {
			dest = append([]byte("mailto:"), dest...)
		}
		label := string(n.Label(r.src))
		r.link(dest, func() { r.b.text(label) })
	case *ast.Image:
		// Telegram cannot show an image inside text: keep its description,
		// linked when the address is one we allow.
		alt := r.plainText(n)
		if alt == "" {
			alt = string(util.URLEscape(n.Destination, true))
		}
		r.link(n.Destination, func() { r.b.text(alt) })
	case *ast.RawHTML:
		var s strings.Builder
		for i := range n.Segments.Len() {
			seg := n.Segments.At(i)
			s.Write(seg.Value(r.src))
		}
		r.lines(s.String())
	default:
		if n.Kind() == extast.KindStrikethrough {
			r.b.push("s", "<s>", true)
			r.inlines(n)
			r.b.pop()
			return
		}
		r.inlines(n)
	}
}

// link renders label inside <a href> when dest is an address Telegram can
// open and we trust; otherwise the label is plain text.
func (r *renderer) link(dest []byte, label func()) {
	href, ok := safeURL(dest)
	if !ok {
		label()
		return
	}
	r.b.push("a", `<a href="`+escapeAttr(href)+`">`, true)
	label()
	r.b.pop()
}

// safeURL resolves Markdown escapes in a link destination and accepts only
// http(s), tg and mailto addresses: javascript:, data: and relative links
// would be refused by Telegram or are unsafe to show.
func safeURL(dest []byte) (string, bool) {
	s := string(util.URLEscape(dest, true))
	u, err := url.Parse(s)
	if err != nil {
		return "", false
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		return s, u.Host != ""
	case "tg":
		return s, u.Host != "" || u.Opaque != ""
	case "mailto":
		return s, u.Opaque != ""
	}
	return "", false
}

// decode applies the CommonMark rules for backslash escapes and entity
// references, using goldmark's HTML writer and undoing its escaping (it only
// ever produces the four entities html.UnescapeString reverses).
func (r *renderer) decode(v []byte) string {
	if bytes.IndexByte(v, '\\') < 0 && bytes.IndexByte(v, '&') < 0 {
		return string(v)
	}
	r.buf.Reset()
	htmlrenderer.DefaultWriter.Write(r.w, v)
	_ = r.w.Flush() // writes to a bytes.Buffer cannot fail
	return html.UnescapeString(r.buf.String())
}

// plainText is the decoded text of n's descendants, for image descriptions.
func (r *renderer) plainText(n ast.Node) string {
	var s strings.Builder
	_ = ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch c := c.(type) {
		case *ast.Text:
			s.WriteString(r.decode(c.Value(r.src)))
			if c.SoftLineBreak() || c.HardLineBreak() {
				s.WriteByte(' ')
			}
		case *ast.String:
			s.Write(c.Value)
		}
		return ast.WalkContinue, nil
	})
	return strings.TrimSpace(s.String())
}

// lines writes source text (raw HTML) line by line so that list indentation
// still applies.
func (r *renderer) lines(s string) {
	for i, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if i > 0 {
			r.b.separate(1)
		}
		r.b.text(line)
	}
}

func (r *renderer) codeLines(lines *text.Segments) string {
	var s strings.Builder
	for i := range lines.Len() {
		seg := lines.At(i)
		s.Write(seg.Value(r.src))
	}
	return strings.TrimRight(s.String(), "\n")
}

// codeLanguage keeps a fenced block's language only when it is a plain
// identifier such as "go", "c++" or "objective-c"; anything else would just
// be noise in the class attribute.
func codeLanguage(info []byte) string {
	lang := string(util.UnescapePunctuations(info))
	if lang == "" || len(lang) > 32 {
		return ""
	}
	for _, c := range []byte(lang) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("+#._-", c) >= 0) {
			return ""
		}
	}
	return lang
}
