package tghtml

import (
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxMessageLen is Telegram's limit for the visible text of one message, in
// UTF-16 code units. Callers pass it to Split.
const MaxMessageLen = 4096

// Escape makes s safe as text in a Telegram HTML message: &, < and > become
// entities. Quotes are left alone because Telegram only needs them escaped
// inside attribute values (see escapeAttr).
func Escape(s string) string {
	if !strings.ContainsAny(s, "&<>") {
		return s
	}
	return textEscaper.Replace(s)
}

var (
	textEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	attrEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")
)

func escapeAttr(s string) string { return attrEscaper.Replace(s) }

// VisibleLen is the length of the message as Telegram counts it against
// MaxMessageLen: UTF-16 code units of the visible text.
func VisibleLen(html string) int {
	n := 0
	for _, tk := range tokenize(html) {
		if tk.kind == tokText {
			n += utf16Len(tk.text)
		}
	}
	return n
}

// Plain returns the visible text of html: tags removed, entities decoded. It
// is the fallback sent without parse_mode when Telegram rejects the entities,
// so it accepts malformed input too: anything that does not parse as a tag or
// an entity is kept as text.
func Plain(html string) string {
	var b strings.Builder
	for _, tk := range tokenize(html) {
		if tk.kind == tokText {
			b.WriteString(tk.text)
		}
	}
	return b.String()
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += runeUTF16Len(r)
	}
	return n
}

func runeUTF16Len(r rune) int {
	if n := utf16.RuneLen(r); n > 0 {
		return n
	}
	return 1 // invalid UTF-8 is sent as U+FFFD
}

type tokenKind uint8

const (
	tokText  tokenKind = iota // text holds decoded visible text
	tokOpen                   // text holds the raw start tag, name its lower-case name
	tokClose                  // name holds the lower-case name
)

// token is one piece of a Telegram HTML message. The renderer produces
// tokens and the splitter consumes them, so both agree on what is visible.
type token struct {
	kind tokenKind
	name string
	text string
}

func openTag(name, raw string) token { return token{kind: tokOpen, name: name, text: raw} }
func closeTag(name string) token     { return token{kind: tokClose, name: name} }
func textTok(s string) token         { return token{kind: tokText, text: s} }

// serialize writes tokens back as HTML. Text is escaped here and nowhere
// else, so no text can be escaped twice or not at all.
func serialize(tokens []token) string {
	var b strings.Builder
	for _, tk := range tokens {
		switch tk.kind {
		case tokText:
			b.WriteString(Escape(tk.text))
		case tokOpen:
			b.WriteString(tk.text)
		case tokClose:
			b.WriteString("</")
			b.WriteString(tk.name)
			b.WriteByte('>')
		}
	}
	return b.String()
}

// tokenize reads a Telegram HTML message the way Telegram does for valid
// input and leniently for invalid input: a '<' that does not start a
// well-formed tag and a '&' that does not start a supported entity are text.
// Adjacent text is merged into one token.
func tokenize(s string) []token {
	var (
		tokens []token
		text   strings.Builder
	)
	flush := func() {
		if text.Len() > 0 {
			tokens = append(tokens, textTok(text.String()))
			text.Reset()
		}
	}
	for i := 0; i < len(s); {
		switch s[i] {
		case '<':
			if tk, n, ok := readTag(s[i:]); ok {
				flush()
				tokens = append(tokens, tk)
				i += n
				continue
			}
		case '&':
			if r, n, ok := readEntity(s[i:]); ok {
				text.WriteRune(r)
				i += n
				continue
			}
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		text.WriteRune(r) // invalid bytes become U+FFFD, as Telegram sees them
		i += n
	}
	flush()
	return tokens
}

// readTag parses "<name attr=\"v\">" or "</name>" at the start of s.
func readTag(s string) (token, int, bool) {
	i := 1
	closing := false
	if i < len(s) && s[i] == '/' {
		closing = true
		i++
	}
	start := i
	for i < len(s) && isTagNameByte(s[i], i == start) {
		i++
	}
	if i == start {
		return token{}, 0, false
	}
	name := strings.ToLower(s[start:i])
	// Attributes: skip to the closing '>' honouring quoted values, which may
	// contain '>' themselves.
	var quote byte
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '<':
			return token{}, 0, false
		case c == '>':
			if closing {
				return closeTag(name), i + 1, true
			}
			return openTag(name, s[:i+1]), i + 1, true
		}
	}
	return token{}, 0, false
}

func isTagNameByte(c byte, first bool) bool {
	if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
		return true
	}
	return !first && (c >= '0' && c <= '9' || c == '-')
}

// readEntity decodes the entities Telegram supports at the start of s: the
// four named ones and numeric references to valid code points.
func readEntity(s string) (rune, int, bool) {
	for _, e := range namedEntities {
		if strings.HasPrefix(s, e.name) {
			return e.r, len(e.name), true
		}
	}
	if len(s) < 4 || s[1] != '#' {
		return 0, 0, false
	}
	end := strings.IndexByte(s, ';')
	if end < 3 || end > 12 {
		return 0, 0, false
	}
	digits, base := s[2:end], 10
	if digits[0] == 'x' || digits[0] == 'X' {
		digits, base = digits[1:], 16
	}
	if digits == "" || digits[0] == '+' || digits[0] == '-' {
		return 0, 0, false
	}
	v, err := strconv.ParseUint(digits, base, 32)
	if err != nil || v == 0 || v > utf8.MaxRune || v >= 0xD800 && v <= 0xDFFF {
		return 0, 0, false
	}
	return rune(v), end + 1, true
}

var namedEntities = []struct {
	name string
	r    rune
}{{"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}}
