package gemini

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// Media: inline data parts, what the emulated model "hears" and "sees" in
// them, and structured (JSON) output.
//
// An inline part ({"inlineData":{"mimeType","data"}}, base64 data; the
// REST API's "inline_data" spelling is read too) is validated the way the
// Gemini API does it:
//   - the MIME type must be one Gemini reads (SupportedMIMETypes: Google's
//     lists for images, audio, video and documents); an image type outside
//     the image list gets "* GenerateContentRequest.contents[i].parts[j]
//     .inline_data.mime_type: MIME type must be image/png, image/jpeg,
//     image/webp, image/heic, or image/heif.", any other type
//     "Unsupported MIME type: <type>";
//   - the data must be base64 ("Invalid value at 'contents[i].parts[j]
//     .inline_data.data' (TYPE_BYTES), Base64 decoding failed …");
//   - the bytes must be what the type says (a file's signature): an image
//     that is not gets "Unable to process input image. Please retry or
//     report in https://developers.generativeai.google/guide/troubleshooting",
//     a PDF that is not "The document has no pages.", anything else
//     "Request contains an invalid argument.";
//   - all inline data of a request together at most MaxInlineBytes (100 MB
//     since January 2026), PDFs at most MaxPDFBytes (50 MB): "Request
//     payload size exceeds the limit: N bytes.".
//
// All are 400 INVALID_ARGUMENT. What a file contains is told by the test:
// RegisterMedia keys a text by the SHA-256 of the bytes — the transcript of
// a voice note, the description of a photo or a PDF — and the responder
// then reads it as if the model had heard or seen it: the question it
// answers is the turn's text followed by that content, so an answer can
// come from the knowledge the content mentions. Bytes nobody registered
// hold nothing the model could make out (no content).
//
// Structured output: with responseMimeType application/json and a schema
// (responseJsonSchema or responseSchema) of type object, the answer is an
// object with every property of the schema: a string property named
// "answer" holds the responder's answer, every other string property the
// content of the media, other types their zero value. Without a schema the
// answer is a JSON string, as before.

// Inline data limits of the Gemini API (January 2026).
const (
	MaxInlineBytes = 100 << 20
	MaxPDFBytes    = 50 << 20
)

// SupportedMIMETypes are the inline types the Gemini API reads (its
// documentation's lists for images, audio, video and documents).
var SupportedMIMETypes = []string{
	"image/png", "image/jpeg", "image/webp", "image/heic", "image/heif",
	"audio/wav", "audio/mp3", "audio/mpeg", "audio/aiff", "audio/aac", "audio/ogg", "audio/flac",
	"video/mp4", "video/mpeg", "video/mov", "video/avi", "video/x-flv", "video/mpg", "video/webm", "video/wmv", "video/3gpp",
	"application/pdf", "text/plain", "text/html", "text/css", "text/csv", "text/xml", "text/md", "text/rtf",
}

var imageMIMETypes = []string{"image/png", "image/jpeg", "image/webp", "image/heic", "image/heif"}

// Blob is inline data as the REST API carries it.
type Blob struct {
	MIMEType string `json:"mimeType,omitempty"`
	Data     string `json:"data,omitempty"` // base64
}

// inline returns the part's inline data, whichever spelling it came in.
func (p Part) inline() *Blob {
	if p.InlineData != nil {
		return p.InlineData
	}
	return p.InlineDataSnake
}

// validateMedia checks every inline part of a request (see the package's
// media documentation).
func validateMedia(req GenerateRequest) *apiError {
	if e := checkInlineSize(req); e != nil {
		return e
	}
	for i, c := range req.Contents {
		for j, p := range c.Parts {
			if b := p.inline(); b != nil {
				if _, e := checkBlob(b, fmt.Sprintf("contents[%d].parts[%d]", i, j)); e != nil {
					return e
				}
			}
		}
	}
	return nil
}

// checkInlineSize refuses a request whose inline data is over the limits,
// from the lengths of the base64 text (before decoding anything).
func checkInlineSize(req GenerateRequest) *apiError {
	total, pdf := 0, 0
	for _, c := range req.Contents {
		for _, p := range c.Parts {
			b := p.inline()
			if b == nil {
				continue
			}
			n := base64.StdEncoding.DecodedLen(len(b.Data)) - strings.Count(b.Data[max(0, len(b.Data)-2):], "=")
			total += n
			if normalMIME(b.MIMEType) == "application/pdf" {
				pdf += n
			}
		}
	}
	switch {
	case total > MaxInlineBytes:
		return errInvalidArgument(fmt.Sprintf("Request payload size exceeds the limit: %d bytes.", MaxInlineBytes))
	case pdf > MaxPDFBytes:
		return errInvalidArgument(fmt.Sprintf("Request payload size exceeds the limit: %d bytes.", MaxPDFBytes))
	}
	return nil
}

func normalMIME(t string) string {
	t, _, _ = strings.Cut(strings.ToLower(strings.TrimSpace(t)), ";")
	return strings.TrimSpace(t)
}

// checkBlob validates one inline part and returns its bytes.
func checkBlob(b *Blob, field string) ([]byte, *apiError) {
	t := normalMIME(b.MIMEType)
	switch {
	case t == "":
		return nil, errInvalidArgument(fmt.Sprintf("* GenerateContentRequest.%s.inline_data.mime_type: mime_type is required.\n", field))
	case strings.HasPrefix(t, "image/") && !slices.Contains(imageMIMETypes, t):
		return nil, errInvalidArgument(fmt.Sprintf("* GenerateContentRequest.%s.inline_data.mime_type: MIME type must be image/png, image/jpeg, image/webp, image/heic, or image/heif.\n", field))
	case !slices.Contains(SupportedMIMETypes, t):
		return nil, errInvalidArgument("Unsupported MIME type: " + t)
	}
	data, err := base64.StdEncoding.DecodeString(b.Data)
	if err != nil {
		return nil, errInvalidArgument(fmt.Sprintf("Invalid value at '%s.inline_data.data' (TYPE_BYTES), Base64 decoding failed for %q", field, clip(b.Data, 40)))
	}
	if !looksLike(t, data) {
		switch {
		case strings.HasPrefix(t, "image/"):
			return nil, errInvalidArgument("Unable to process input image. Please retry or report in https://developers.generativeai.google/guide/troubleshooting")
		case t == "application/pdf":
			return nil, errInvalidArgument("The document has no pages.")
		}
		return nil, errInvalidArgument("Request contains an invalid argument.")
	}
	return data, nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// looksLike reports whether data starts with the signature of its type.
// Types without a simple signature (text, some video containers) pass.
func looksLike(t string, data []byte) bool {
	has := func(off int, sig string) bool {
		return len(data) >= off+len(sig) && string(data[off:off+len(sig)]) == sig
	}
	switch t {
	case "image/jpeg":
		return has(0, "\xff\xd8\xff")
	case "image/png":
		return has(0, "\x89PNG\r\n\x1a\n")
	case "image/webp":
		return has(0, "RIFF") && has(8, "WEBP")
	case "image/heic", "image/heif", "video/mp4", "video/mov", "video/3gpp":
		return has(4, "ftyp")
	case "application/pdf":
		return bytes.Contains(data[:min(len(data), 1024)], []byte("%PDF-"))
	case "audio/ogg":
		return has(0, "OggS")
	case "audio/wav":
		return has(0, "RIFF") && has(8, "WAVE")
	case "audio/flac":
		return has(0, "fLaC")
	case "audio/aiff":
		return has(0, "FORM")
	case "audio/mp3", "audio/mpeg":
		return has(0, "ID3") || len(data) > 1 && data[0] == 0xff && data[1]&0xe0 == 0xe0
	case "audio/aac":
		return len(data) > 1 && data[0] == 0xff && data[1]&0xf0 == 0xf0
	}
	return len(data) > 0
}

// MediaHash is the registry key of a file's bytes (hex SHA-256).
func MediaHash(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// RegisterMedia says what the bytes contain (a transcript, a description):
// the responder reads it as if the model had heard or seen it.
func (s *Server) RegisterMedia(data []byte, content string) string {
	h := MediaHash(data)
	s.RegisterMediaHash(h, content)
	return h
}

// RegisterMediaHash is RegisterMedia by the hex SHA-256 of the bytes.
func (s *Server) RegisterMediaHash(hash, content string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state.media == nil {
		s.state.media = map[string]string{}
	}
	s.state.media[strings.ToLower(hash)] = content
}

// MediaRegistry lists the registered contents by hash.
func (s *Server) MediaRegistry() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.state.media))
	for k, v := range s.state.media {
		out[k] = v
	}
	return out
}

// mediaContent is what the model makes of the inline parts of the last
// user turn: the registered contents, one a line ("" for none).
func (s *Server) mediaContent(req GenerateRequest) string {
	var out []string
	for i := len(req.Contents) - 1; i >= 0; i-- {
		c := req.Contents[i]
		if c.Role != "" && c.Role != roleUser {
			continue
		}
		s.mu.Lock()
		for _, p := range c.Parts {
			if b := p.inline(); b != nil {
				if data, err := base64.StdEncoding.DecodeString(b.Data); err == nil {
					if text := s.state.media[MediaHash(data)]; text != "" {
						out = append(out, text)
					}
				}
			}
		}
		s.mu.Unlock()
		break
	}
	return strings.Join(out, "\n")
}

// answer is the responder's answer to req, media included, shaped as the
// schema asks; structured says it is a JSON object already.
func (s *Server) answer(req GenerateRequest) (text string, structured bool) {
	content := s.mediaContent(req)
	heard := req
	if content != "" {
		// The question is the turn's text followed by what the media holds.
		heard = withQuestion(req, content)
	}
	answer := Respond(heard)
	cfg := req.GenerationConfig
	if cfg == nil || !strings.HasPrefix(cfg.ResponseMIMEType, "application/json") {
		return answer, false
	}
	schema := cfg.ResponseJSONSchema
	if len(schema) == 0 {
		schema = cfg.ResponseSchema
	}
	obj, ok := fillSchema(schema, content, answer)
	if !ok {
		return answer, false
	}
	b, _ := json.Marshal(obj)
	return string(b), true
}

// withQuestion makes the last user turn's text end with content (the
// request is copied, not changed).
func withQuestion(req GenerateRequest, content string) GenerateRequest {
	out := req
	out.Contents = slices.Clone(req.Contents)
	for i := len(out.Contents) - 1; i >= 0; i-- {
		c := out.Contents[i]
		if c.Role != "" && c.Role != roleUser {
			continue
		}
		parts := append(slices.Clone(c.Parts), Part{Text: content})
		out.Contents[i] = Content{Role: c.Role, Parts: parts}
		return out
	}
	return out
}

// fillSchema builds the object a schema of type object describes.
func fillSchema(raw json.RawMessage, content, answer string) (map[string]any, bool) {
	var schema struct {
		Type       string                     `json:"type"`
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if json.Unmarshal(raw, &schema) != nil || !strings.EqualFold(schema.Type, "object") || len(schema.Properties) == 0 {
		return nil, false
	}
	obj := map[string]any{}
	for name, p := range schema.Properties {
		var prop struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(p, &prop)
		switch strings.ToLower(prop.Type) {
		case "string":
			obj[name] = content
			if name == "answer" {
				obj[name] = answer
			}
		case "integer", "number":
			obj[name] = 0
		case "boolean":
			obj[name] = false
		case "array":
			obj[name] = []any{}
		default:
			obj[name] = map[string]any{}
		}
	}
	return obj, true
}

// mediaRoutes serves the registry:
//
//	POST /_emulator/media  {"sha256": hex, "text": …} or {"data": base64, "text": …} → {"sha256"}
//	GET  /_emulator/media  → {"<sha256>": "text", …}
func (s *Server) mediaRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /_emulator/media", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			SHA256 string `json:"sha256"`
			Data   string `json:"data"`
			Text   string `json:"text"`
		}
		if err := decodeControl(r, &req); err != nil {
			controlError(w, http.StatusBadRequest, err.Error())
			return
		}
		hash := strings.ToLower(req.SHA256)
		if req.Data != "" {
			data, err := base64.StdEncoding.DecodeString(req.Data)
			if err != nil {
				controlError(w, http.StatusBadRequest, "data is not base64: "+err.Error())
				return
			}
			hash = MediaHash(data)
		}
		if b, err := hex.DecodeString(hash); err != nil || len(b) != sha256.Size {
			controlError(w, http.StatusBadRequest, "give data (base64) or sha256 (64 hex digits)")
			return
		}
		s.RegisterMediaHash(hash, req.Text)
		writeJSON(w, http.StatusOK, map[string]string{"sha256": hash})
	})
	mux.HandleFunc("GET /_emulator/media", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.MediaRegistry())
	})
}
