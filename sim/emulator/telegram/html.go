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
	var (
		out      strings.Builder
		entities []entity
		stack    []openTag
		u16      int // UTF-16 length of out so far
		n        = len(text)
	)
	out.Grow(len(text))
	for i := 0; i < n; {
		c := text[i]
		if c == '&' {
			r, next, err := decodeHTMLEntity(text, i)
			if err != nil {
				return "", nil, err
			}
			out.WriteRune(r)
			u16 += utf16.RuneLen(r)
			i = next
			continue
		}
		if c != '<' {
			out.WriteByte(c)
			if utf8.RuneStart(c) {
				u16++
				if c >= 0xf0 { // four-byte sequence: a surrogate pair in UTF-16
					u16++
				}
			}
			i++
			continue
		}

		begin := i
		i++
		if i < n && text[i] == '/' {
			if len(stack) == 0 {
				return "", nil, &HTMLError{Reason: "Unexpected end tag", Offset: begin}
			}
			i++
			for i < n && !isHTMLSpace(text[i]) && text[i] != '>' {
				i++
			}
			endName := text[begin+2 : i]
			for i < n && isHTMLSpace(text[i]) {
				i++
			}
			if i == n || text[i] != '>' {
				return "", nil, &HTMLError{Reason: "Unclosed end tag", Offset: begin}
			}
			i++
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			// "</>" closes whatever is open, as in Telegram.
			if endName != "" && endName != top.name {
				return "", nil, &HTMLError{Reason: fmt.Sprintf("Unmatched end tag at byte offset %d, expected \"</%s>\", found \"</%s>\"", begin, top.name, endName), Offset: -1}
			}
			if u16 > top.utf16Start {
				var err error
				entities, err = closeEntity(entities, top, u16, out.String())
				if err != nil {
					return "", nil, err
				}
			}
			continue
		}

		for i < n && !isHTMLSpace(text[i]) && text[i] != '>' {
			i++
		}
		if i == n {
			return "", nil, &HTMLError{Reason: "Unclosed start tag", Offset: begin}
		}
		name := strings.ToLower(text[begin+1 : i])
		if !supportedTags[name] {
			return "", nil, &HTMLError{Reason: fmt.Sprintf("Unsupported start tag \"%s\"", name), Offset: begin}
		}
		argument := ""
		for {
			for i < n && isHTMLSpace(text[i]) {
				i++
			}
			if i == n {
				return "", nil, &HTMLError{Reason: "Unclosed start tag", Offset: begin}
			}
			if text[i] == '>' {
				i++
				break
			}
			attrBegin := i
			for i < n && !isHTMLSpace(text[i]) && !strings.ContainsRune("=>/\"'", rune(text[i])) {
				i++
			}
			attr := text[attrBegin:i]
			if attr == "" {
				return "", nil, &HTMLError{Reason: fmt.Sprintf("Empty attribute name in the tag \"%s\"", name), Offset: begin}
			}
			for i < n && isHTMLSpace(text[i]) {
				i++
			}
			if i == n || text[i] != '=' {
				if name == "blockquote" && attr == "expandable" {
					argument = "1"
					continue
				}
				return "", nil, &HTMLError{Reason: fmt.Sprintf("Expected equal sign in declaration of an attribute of the tag \"%s\"", name), Offset: begin}
			}
			i++
			for i < n && isHTMLSpace(text[i]) {
				i++
			}
			if i == n {
				return "", nil, &HTMLError{Reason: fmt.Sprintf("Unclosed start tag \"%s\"", name), Offset: begin}
			}
			var value string
			if q := text[i]; q != '"' && q != '\'' {
				// An unquoted value is an HTML name token: letters, digits, '.', '-'.
				tokenBegin := i
				for i < n && (isASCIIAlnum(text[i]) || text[i] == '.' || text[i] == '-') {
					i++
				}
				value = strings.ToLower(text[tokenBegin:i])
				if i < n && !isHTMLSpace(text[i]) && text[i] != '>' {
					return "", nil, &HTMLError{Reason: "Unexpected end of name token", Offset: tokenBegin}
				}
			} else {
				i++
				var v strings.Builder
				for i < n && text[i] != q {
					if text[i] == '&' {
						r, next, err := decodeHTMLEntity(text, i)
						if err != nil {
							return "", nil, err
						}
						v.WriteRune(r)
						i = next
						continue
					}
					v.WriteByte(text[i])
					i++
				}
				if i < n {
					i++ // closing quote
				}
				value = v.String()
			}
			if i == n {
				return "", nil, &HTMLError{Reason: "Unclosed start tag", Offset: begin}
			}
			switch {
			case name == "a" && attr == "href":
				argument = value
			case name == "code" && attr == "class" && strings.HasPrefix(value, "language-"):
				argument = value[len("language-"):]
			case name == "span" && attr == "class" && strings.HasPrefix(value, "tg-"):
				argument = value[len("tg-"):]
			case name == "tg-emoji" && attr == "emoji-id":
				argument = value
			case name == "blockquote" && attr == "expandable":
				argument = "1"
			}
		}
		if name == "span" && argument != "spoiler" {
			return "", nil, &HTMLError{Reason: `Tag "span" must have class "tg-spoiler"`, Offset: begin}
		}
		stack = append(stack, openTag{name: name, argument: argument, utf16Start: u16, byteStart: out.Len()})
	}
	if len(stack) > 0 {
		return "", nil, &HTMLError{Reason: fmt.Sprintf("Can't find end tag corresponding to start tag \"%s\"", stack[len(stack)-1].name), Offset: -1}
	}
	slices.SortStableFunc(entities, func(a, b entity) int {
		return cmp.Or(cmp.Compare(a.Offset, b.Offset), cmp.Compare(b.Length, a.Length), cmp.Compare(b.closed, a.closed))
	})
	return out.String(), entities, nil
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
