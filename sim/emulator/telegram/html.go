package telegram

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// HTMLError is a parse_mode=HTML rejection. Error() reads like the part of
// Telegram's description after "Bad Request: ".
type HTMLError struct {
	Reason string
	// Offset is the byte offset in the input the reason refers to, or -1
	// when Telegram names none (an unclosed tag at the end of the text).
	Offset int
}

func (e *HTMLError) Error() string {
	if e.Offset < 0 {
		return "can't parse entities: " + e.Reason
	}
	return fmt.Sprintf("can't parse entities: %s at byte offset %d", e.Reason, e.Offset)
}

// ErrInvalidUTF8 is Telegram's rejection of text that is not UTF-8.
var ErrInvalidUTF8 = errors.New("strings must be encoded in UTF-8")

// ValidateHTML reports whether Telegram accepts text with parse_mode=HTML,
// returning an *HTMLError (or ErrInvalidUTF8) if not.
//
// It follows the parser of Telegram's Bot API server (tdlib's parse_html):
// supported tags b/strong, i/em, u/ins, s/strike/del, span class="tg-spoiler",
// tg-spoiler, a href, code (class="language-…"), pre, blockquote [expandable],
// tg-emoji emoji-id; tag names are case-insensitive, end tags must match the
// innermost open tag, unknown attributes are ignored; &lt; &gt; &amp; &quot;
// and numeric references are decoded. It is stricter than Telegram in one
// respect: an "&" that does not start one of those references, ended by ";",
// is an error, where Telegram silently keeps it as text. Our converters
// must escape "&" anyway, and a validator that lets sloppy output through
// would hide the bug until a message happens to contain "&lt".
func ValidateHTML(text string) error {
	_, _, err := parseHTML(text)
	return err
}

// entity is a Telegram MessageEntity; offsets and lengths in UTF-16 code units.
type entity struct {
	Type          string  `json:"type"`
	Offset        int     `json:"offset"`
	Length        int     `json:"length"`
	URL           string  `json:"url,omitempty"`
	User          *Sender `json:"user,omitempty"`
	Language      string  `json:"language,omitempty"`
	CustomEmojiID string  `json:"custom_emoji_id,omitempty"`
	// codeLanguage is the class of a <code> tag, which only an enclosing
	// <pre> turns into a language; a lone code entity has none.
	codeLanguage string
	// closed orders entities that cover the same text: the tag closed
	// last is the outer one and sorts first, as in Telegram.
	closed int
}

var supportedTags = map[string]bool{
	"a": true, "b": true, "strong": true, "i": true, "em": true, "s": true, "strike": true, "del": true,
	"u": true, "ins": true, "tg-spoiler": true, "tg-emoji": true, "span": true, "pre": true, "code": true,
	"blockquote": true,
}

type openTag struct {
	name       string
	argument   string
	utf16Start int
	byteStart  int // in the output text
}

// parseHTML returns the visible text of an HTML-formatted message and its
// entities, or the error Telegram would answer with.
func parseHTML(text string) (string, []entity, error) {
	if !utf8.ValidString(text) {
		return "", nil, ErrInvalidUTF8
	}
	p := &htmlParser{text: text}
	p.out.Grow(len(text))
	for p.i < len(text) {
		var err error
		switch {
		case text[p.i] == '&':
			err = p.reference()
		case text[p.i] != '<':
			p.char()
		case p.i+1 < len(text) && text[p.i+1] == '/':
			err = p.endTag()
		default:
			err = p.startTag()
		}
		if err != nil {
			return "", nil, err
		}
	}
	if len(p.stack) > 0 {
		return "", nil, &HTMLError{Reason: fmt.Sprintf("Can't find end tag corresponding to start tag \"%s\"", p.stack[len(p.stack)-1].name), Offset: -1}
	}
	entities := p.entities
	slices.SortStableFunc(entities, func(a, b entity) int {
		return cmp.Or(cmp.Compare(a.Offset, b.Offset), cmp.Compare(b.Length, a.Length), cmp.Compare(b.closed, a.closed))
	})
	return p.out.String(), entities, nil
}

// htmlParser is the state of one parseHTML run: the input read up to i,
// the visible text so far and the tags still open.
type htmlParser struct {
	text     string
	i        int // next byte of text to read
	out      strings.Builder
	u16      int // UTF-16 length of out so far
	entities []entity
	stack    []openTag
}

func (p *htmlParser) skipSpace() {
	for p.i < len(p.text) && isHTMLSpace(p.text[p.i]) {
		p.i++
	}
}

// char copies one byte of plain text.
func (p *htmlParser) char() {
	c := p.text[p.i]
	p.out.WriteByte(c)
	if utf8.RuneStart(c) {
		p.u16++
		if c >= 0xf0 { // four-byte sequence: a surrogate pair in UTF-16
			p.u16++
		}
	}
	p.i++
}

// reference decodes a character reference ("&lt;") into the text.
func (p *htmlParser) reference() error {
	r, next, err := decodeHTMLEntity(p.text, p.i)
	if err != nil {
		return err
	}
	p.out.WriteRune(r)
	p.u16 += utf16.RuneLen(r)
	p.i = next
	return nil
}

// endTag reads "</name>", which must close the innermost open tag.
func (p *htmlParser) endTag() error {
	text, n, begin := p.text, len(p.text), p.i
	if len(p.stack) == 0 {
		return &HTMLError{Reason: "Unexpected end tag", Offset: begin}
	}
	p.i += 2
	for p.i < n && !isHTMLSpace(text[p.i]) && text[p.i] != '>' {
		p.i++
	}
	endName := text[begin+2 : p.i]
	p.skipSpace()
	if p.i == n || text[p.i] != '>' {
		return &HTMLError{Reason: "Unclosed end tag", Offset: begin}
	}
	p.i++
	top := p.stack[len(p.stack)-1]
	p.stack = p.stack[:len(p.stack)-1]
	// "</>" closes whatever is open, as in Telegram.
	if endName != "" && endName != top.name {
		return &HTMLError{Reason: fmt.Sprintf("Unmatched end tag at byte offset %d, expected \"</%s>\", found \"</%s>\"", begin, top.name, endName), Offset: -1}
	}
	if p.u16 > top.utf16Start {
		var err error
		p.entities, err = closeEntity(p.entities, top, p.u16, p.out.String())
		return err
	}
	return nil
}

// startTag reads "<name attr=value …>" and opens the tag.
func (p *htmlParser) startTag() error {
	text, n, begin := p.text, len(p.text), p.i
	p.i++
	for p.i < n && !isHTMLSpace(text[p.i]) && text[p.i] != '>' {
		p.i++
	}
	if p.i == n {
		return &HTMLError{Reason: "Unclosed start tag", Offset: begin}
	}
	name := strings.ToLower(text[begin+1 : p.i])
	if !supportedTags[name] {
		return &HTMLError{Reason: fmt.Sprintf("Unsupported start tag \"%s\"", name), Offset: begin}
	}
	argument := ""
	for {
		p.skipSpace()
		if p.i == n {
			return &HTMLError{Reason: "Unclosed start tag", Offset: begin}
		}
		if text[p.i] == '>' {
			p.i++
			break
		}
		attr, value, err := p.attribute(name, begin)
		if err != nil {
			return err
		}
		if arg, ok := tagArgument(name, attr, value); ok {
			argument = arg
		}
	}
	if name == "span" && argument != "spoiler" {
		return &HTMLError{Reason: `Tag "span" must have class "tg-spoiler"`, Offset: begin}
	}
	p.stack = append(p.stack, openTag{name: name, argument: argument, utf16Start: p.u16, byteStart: p.out.Len()})
	return nil
}

// attribute reads one attr=value of the tag name that starts at begin. The
// only attribute without a value is blockquote's expandable.
func (p *htmlParser) attribute(name string, begin int) (attr, value string, err error) {
	text, n := p.text, len(p.text)
	attrBegin := p.i
	for p.i < n && !isHTMLSpace(text[p.i]) && !strings.ContainsRune("=>/\"'", rune(text[p.i])) {
		p.i++
	}
	attr = text[attrBegin:p.i]
	if attr == "" {
		return "", "", &HTMLError{Reason: fmt.Sprintf("Empty attribute name in the tag \"%s\"", name), Offset: begin}
	}
	p.skipSpace()
	if p.i == n || text[p.i] != '=' {
		if name == "blockquote" && attr == "expandable" {
			return attr, "", nil
		}
		return "", "", &HTMLError{Reason: fmt.Sprintf("Expected equal sign in declaration of an attribute of the tag \"%s\"", name), Offset: begin}
	}
	p.i++
	p.skipSpace()
	if p.i == n {
		return "", "", &HTMLError{Reason: fmt.Sprintf("Unclosed start tag \"%s\"", name), Offset: begin}
	}
	if value, err = p.attributeValue(); err != nil {
		return "", "", err
	}
	if p.i == n {
		return "", "", &HTMLError{Reason: "Unclosed start tag", Offset: begin}
	}
	return attr, value, nil
}

// attributeValue reads a quoted value (character references decoded) or an
// unquoted one, which is an HTML name token: letters, digits, '.', '-'.
func (p *htmlParser) attributeValue() (string, error) {
	text, n := p.text, len(p.text)
	q := text[p.i]
	if q != '"' && q != '\'' {
		tokenBegin := p.i
		for p.i < n && (isASCIIAlnum(text[p.i]) || text[p.i] == '.' || text[p.i] == '-') {
			p.i++
		}
		if p.i < n && !isHTMLSpace(text[p.i]) && text[p.i] != '>' {
			return "", &HTMLError{Reason: "Unexpected end of name token", Offset: tokenBegin}
		}
		return strings.ToLower(text[tokenBegin:p.i]), nil
	}
	p.i++
	var v strings.Builder
	for p.i < n && text[p.i] != q {
		if text[p.i] == '&' {
			r, next, err := decodeHTMLEntity(text, p.i)
			if err != nil {
				return "", err
			}
			v.WriteRune(r)
			p.i = next
			continue
		}
		v.WriteByte(text[p.i])
		p.i++
	}
	if p.i < n {
		p.i++ // closing quote
	}
	return v.String(), nil
}

// tagArgument picks the attributes Telegram reads; others are ignored.
func tagArgument(name, attr, value string) (string, bool) {
	switch {
	case name == "a" && attr == "href":
		return value, true
	case name == "code" && attr == "class" && strings.HasPrefix(value, "language-"):
		return value[len("language-"):], true
	case name == "span" && attr == "class" && strings.HasPrefix(value, "tg-"):
		return value[len("tg-"):], true
	case name == "tg-emoji" && attr == "emoji-id":
		return value, true
	case name == "blockquote" && attr == "expandable":
		return "1", true
	}
	return "", false
}

// closeEntity appends the entity of a closed tag, merging <pre> and
// <code class="language-x"> around the same text into one pre entity with
// a language, as Telegram does.
func closeEntity(entities []entity, tag openTag, u16 int, out string) ([]entity, error) {
	e := entity{Offset: tag.utf16Start, Length: u16 - tag.utf16Start, closed: len(entities)}
	var same *entity // the previous entity if it covers exactly the same text
	if n := len(entities); n > 0 && entities[n-1].Offset == e.Offset && entities[n-1].Length == e.Length {
		same = &entities[n-1]
	}
	switch tag.name {
	case "b", "strong":
		e.Type = "bold"
	case "i", "em":
		e.Type = "italic"
	case "u", "ins":
		e.Type = "underline"
	case "s", "strike", "del":
		e.Type = "strikethrough"
	case "tg-spoiler", "span":
		e.Type = "spoiler"
	case "blockquote":
		e.Type = "blockquote"
		if tag.argument == "1" {
			e.Type = "expandable_blockquote"
		}
	case "tg-emoji":
		id, err := strconv.ParseInt(tag.argument, 10, 64)
		if err != nil || id <= 0 {
			return nil, &HTMLError{Reason: "Invalid custom emoji identifier specified", Offset: -1}
		}
		e.Type, e.CustomEmojiID = "custom_emoji", tag.argument
	case "code":
		if same != nil && same.Type == "pre" && tag.argument != "" {
			same.Language = tag.argument
			return entities, nil
		}
		e.Type, e.codeLanguage = "code", tag.argument
	case "pre":
		if same != nil && same.Type == "code" && same.codeLanguage != "" {
			same.Type, same.Language = "pre", same.codeLanguage
			same.closed = e.closed
			return entities, nil
		}
		e.Type = "pre"
	case "a":
		link := tag.argument
		if link == "" {
			link = out[tag.byteStart:]
		}
		if id, ok := mentionUserID(link); ok {
			e.Type, e.User = "text_mention", &Sender{ID: id}
			break
		}
		link, ok := checkLink(link)
		if !ok {
			// Telegram keeps the text and drops a link it cannot use.
			return entities, nil
		}
		e.Type, e.URL = "text_link", link
	}
	return append(entities, e), nil
}

func mentionUserID(link string) (int64, bool) {
	u, err := url.Parse(link)
	if err != nil || u.Scheme != "tg" || u.Host != "user" {
		return 0, false
	}
	id, err := strconv.ParseInt(u.Query().Get("id"), 10, 64)
	return id, err == nil && id > 0
}

// checkLink approximates Telegram's link check: http(s), tg and ton links
// with a host; a link without scheme gets http://.
func checkLink(link string) (string, bool) {
	link = strings.TrimSpace(link)
	if link == "" {
		return "", false
	}
	if !strings.Contains(link, "://") && !strings.HasPrefix(strings.ToLower(link), "tg:") {
		link = "http://" + link
	}
	u, err := url.Parse(link)
	if err != nil {
		return "", false
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https", "ton":
		return link, u.Host != ""
	case "tg":
		return link, true
	}
	return "", false
}

// decodeHTMLEntity decodes the character reference starting at text[pos] == '&'.
func decodeHTMLEntity(text string, pos int) (rune, int, error) {
	n := len(text)
	end := pos + 1
	var r rune
	valid := true
	if end < n && text[end] == '#' {
		end++
		digits := end
		if end < n && text[end] == 'x' {
			end++
			digits = end
			for end < n && isHexDigit(text[end]) && end-pos < 10 {
				end++
			}
			v, err := strconv.ParseUint(text[digits:end], 16, 32)
			valid = err == nil
			r = rune(v)
		} else {
			for end < n && text[end] >= '0' && text[end] <= '9' && end-pos < 10 {
				end++
			}
			v, err := strconv.ParseUint(text[digits:end], 10, 32)
			valid = err == nil
			r = rune(v)
		}
		valid = valid && r > 0 && r < 0x10ffff && !(r >= 0xd800 && r <= 0xdfff)
	} else {
		for end < n && isASCIIAlpha(text[end]) {
			end++
		}
		if end == pos+1 {
			return 0, 0, &HTMLError{Reason: `Unescaped "&"`, Offset: pos}
		}
		switch text[pos+1 : end] {
		case "lt":
			r = '<'
		case "gt":
			r = '>'
		case "amp":
			r = '&'
		case "quot":
			r = '"'
		default:
			valid = false
		}
	}
	if end >= n || text[end] != ';' {
		if valid {
			return 0, 0, &HTMLError{Reason: fmt.Sprintf("Character reference \"%s\" is not terminated by \";\"", text[pos:end]), Offset: pos}
		}
		return 0, 0, &HTMLError{Reason: `Unescaped "&"`, Offset: pos}
	}
	if !valid {
		return 0, 0, &HTMLError{Reason: fmt.Sprintf("Unsupported character reference \"%s\"", text[pos:end+1]), Offset: pos}
	}
	return r, end + 1, nil
}

// isHTMLSpace matches tdlib's is_space (its NUL terminator is our end of input).
func isHTMLSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v'
}

func isASCIIAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

func isASCIIAlnum(c byte) bool { return isASCIIAlpha(c) || c >= '0' && c <= '9' }

func isHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'f'
}

// utf16Len is the length of s in UTF-16 code units, the unit of Telegram's
// entity offsets and, in this emulator, of its length limits.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}
