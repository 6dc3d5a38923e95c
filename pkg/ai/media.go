package ai

import (
	"encoding/json"
	"errors"
	"strings"

	"google.golang.org/genai"
)

// Media in a request and structured answers about it. A voice note, a
// photo or a PDF goes to the model as an inline part (Blob: MIME type and
// bytes) of the turn it belongs to. Since January 2026 the Gemini API takes
// up to 100 MB of inline data in a request (PDFs up to 50 MB); Telegram
// lets a bot download at most 20 MB, so everything a partner can send fits
// inline and the Files API is never needed.
//
// One call both understands the media and answers: the request asks for
// JSON of a given shape (Request.JSONSchema, sent as responseMimeType
// application/json with responseJsonSchema), e.g. {transcript, answer} for
// a voice note; ParseMediaAnswer reads it back, and defines what happens
// when the model did not write the JSON it was asked for.

// ErrRejected: Gemini refused the request as invalid (400 INVALID_ARGUMENT
// other than a refused API key) — for a request with media, the media: a
// type it does not take, a file it cannot read ("Unable to process input
// image.", "The document has no pages."). Generate returns it together
// with ErrUnavailable (so a text turn still gets the fallback); it is never
// retried. RejectionMessage gives Gemini's words.
var ErrRejected = errors.New("ai: request rejected")

// Blob is an inline part: a file's bytes and its IANA MIME type.
type Blob struct {
	MIMEType string
	Data     []byte
}

// partsOf is the parts of a turn: its media first, then its text (Google
// advises the prompt after a single image). Empty parts are left out.
func partsOf(t Turn) []*genai.Part {
	var parts []*genai.Part
	for _, m := range t.Media {
		if len(m.Data) > 0 {
			parts = append(parts, &genai.Part{InlineData: &genai.Blob{MIMEType: m.MIMEType, Data: m.Data}})
		}
	}
	if strings.TrimSpace(t.Text) != "" {
		parts = append(parts, &genai.Part{Text: t.Text})
	}
	return parts
}

// outputConfig applies the request's own output settings.
func outputConfig(cfg *genai.GenerateContentConfig, req Request) {
	if req.JSONSchema != nil {
		cfg.ResponseMIMEType = "application/json"
		cfg.ResponseJsonSchema = req.JSONSchema
	}
	if req.MaxOutputTokens > 0 {
		cfg.MaxOutputTokens = int32(req.MaxOutputTokens)
	}
}

// isRejected: a 400 that is not about the API key.
func isRejected(err error) bool {
	var apiErr genai.APIError
	return errors.As(err, &apiErr) && apiErr.Code == 400 && !keyRefused(apiErr)
}

// RejectionMessage is Gemini's message of an ErrRejected error ("" for
// other errors).
func RejectionMessage(err error) string {
	var apiErr genai.APIError
	if !errors.Is(err, ErrRejected) || !errors.As(err, &apiErr) {
		return ""
	}
	return strings.TrimSpace(apiErr.Message)
}

// AnswerField is the property of a media schema that holds the answer.
const AnswerField = "answer"

// MediaSchema is the JSON Schema of a structured answer about media: an
// object with the string contentField ("transcript", "description"),
// written first, and the string "answer".
func MediaSchema(contentField, contentDescription, answerDescription string) map[string]any {
	return map[string]any{
		"type": "object",
		"properties": map[string]any{
			contentField: map[string]any{"type": "string", "description": contentDescription},
			AnswerField:  map[string]any{"type": "string", "description": answerDescription},
		},
		"required":         []string{contentField, AnswerField},
		"propertyOrdering": []string{contentField, AnswerField},
	}
}

// MediaAnswer is a structured answer read back.
type MediaAnswer struct {
	// Content is what the model heard or saw (a transcript, a description).
	Content string
	// Answer is the reply to the partner.
	Answer string
	// Malformed: the text was not the JSON object asked for. Content and
	// Answer then hold what could be read: the string values of a cut or
	// broken object, as far as they go, or — when the model wrote plain
	// text instead — the whole text as the answer and no content.
	Malformed bool
}

// ParseMediaAnswer reads a structured answer (see MediaAnswer for text that
// is not the JSON asked for). A Markdown code fence around the JSON is
// tolerated.
func ParseMediaAnswer(text, contentField string) MediaAnswer {
	body := unfence(strings.TrimSpace(text))
	var obj map[string]any
	if err := json.Unmarshal([]byte(body), &obj); err == nil {
		content, okC := obj[contentField].(string)
		answer, okA := obj[AnswerField].(string)
		return MediaAnswer{Content: strings.TrimSpace(content), Answer: strings.TrimSpace(answer), Malformed: !okC || !okA}
	}
	if !strings.HasPrefix(body, "{") {
		return MediaAnswer{Answer: strings.TrimSpace(text), Malformed: true}
	}
	fields := partialObject(body)
	return MediaAnswer{Content: strings.TrimSpace(fields[contentField]), Answer: strings.TrimSpace(fields[AnswerField]), Malformed: true}
}

// unfence removes a ```json … ``` fence around s.
func unfence(s string) string {
	if !strings.HasPrefix(s, "```") {
		return s
	}
	s = strings.TrimPrefix(s, "```")
	if i := strings.IndexByte(s, '\n'); i >= 0 && !strings.HasPrefix(strings.TrimSpace(s[:i]), "{") {
		s = s[i+1:] // the language tag
	}
	return strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "```"))
}

// partialObject reads the string members of a JSON object that may be cut
// off (the output cap) or broken further on: key by key, as long as the
// values are strings; the last value may be unterminated.
func partialObject(s string) map[string]string {
	out := map[string]string{}
	p := &scanner{s: s}
	if !p.take('{') {
		return out
	}
	for {
		if p.take('}') || p.done() {
			return out
		}
		key, complete := p.str()
		if !complete || !p.take(':') {
			return out
		}
		if !p.peek('"') {
			return out // not a string: we do not guess further
		}
		val, complete := p.str()
		out[key] = val
		if !complete || !p.take(',') {
			return out
		}
	}
}

type scanner struct {
	s string
	i int
}

func (p *scanner) skip() {
	for p.i < len(p.s) && strings.ContainsRune(" \t\r\n", rune(p.s[p.i])) {
		p.i++
	}
}

func (p *scanner) done() bool { p.skip(); return p.i >= len(p.s) }

func (p *scanner) peek(c byte) bool { p.skip(); return p.i < len(p.s) && p.s[p.i] == c }

func (p *scanner) take(c byte) bool {
	if p.peek(c) {
		p.i++
		return true
	}
	return false
}

// str reads a JSON string at the cursor; complete is false when the text
// ends inside it (what was read is returned, a cut escape dropped).
func (p *scanner) str() (string, bool) {
	if !p.take('"') {
		return "", false
	}
	start := p.i
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case '\\':
			p.i += 2
			continue
		case '"':
			raw := p.s[start:p.i]
			p.i++
			return decodeJSONString(raw), true
		}
		p.i++
	}
	raw := p.s[start:min(p.i, len(p.s))]
	return decodeJSONString(raw), false
}

// decodeJSONString decodes the inside of a JSON string, dropping a cut
// escape sequence at its end.
func decodeJSONString(raw string) string {
	for cut := 0; cut <= 6 && cut <= len(raw); cut++ {
		var v string
		if json.Unmarshal([]byte(`"`+raw[:len(raw)-cut]+`"`), &v) == nil {
			return v
		}
	}
	return ""
}
