package telegram

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// maxRequestBytes is Telegram's upload limit for bots (50 MB) plus room
// for the other fields.
const maxRequestBytes = 50<<20 + 1<<20

// params are a Bot API call's parameters however they arrived: JSON body,
// form, multipart or query string. Values are strings as in a form; an
// object or array parameter (reply_markup, entities, …) is its JSON text,
// which is also how Telegram reads such fields from a form.
type params struct {
	values map[string]string
	files  map[string]*upload
}

type upload struct {
	name        string
	contentType string
	data        []byte
}

// parseParams reads the parameters of a Bot API request.
func parseParams(r *http.Request) (*params, error) {
	p := &params{values: make(map[string]string)}
	for k, vs := range r.URL.Query() {
		if len(vs) > 0 {
			p.values[k] = vs[0]
		}
	}
	if r.Method != http.MethodPost || r.Body == nil {
		return p, nil
	}
	ct, ctParams, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, fmt.Errorf("read body: %w", err)
		}
		if len(bytes.TrimSpace(body)) == 0 {
			return p, nil
		}
		if err := p.addJSON(body); err != nil {
			return nil, err
		}
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return nil, fmt.Errorf("parse form: %w", err)
		}
		for k, vs := range r.PostForm {
			if len(vs) > 0 {
				p.values[k] = vs[0]
			}
		}
	case "multipart/form-data":
		if err := p.addMultipart(multipart.NewReader(r.Body, ctParams["boundary"])); err != nil {
			return nil, err
		}
	default:
		// No or an odd Content-Type: take a JSON object or a query string,
		// whichever the body is.
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, fmt.Errorf("read body: %w", err)
		}
		body = bytes.TrimSpace(body)
		if len(body) > 0 && body[0] == '{' {
			return p, p.addJSON(body)
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, fmt.Errorf("parse body: %w", err)
		}
		for k, vs := range form {
			p.values[k] = vs[0]
		}
	}
	return p, nil
}

func (p *params) addJSON(body []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return fmt.Errorf("parse json body: %w", err)
	}
	for k, raw := range fields {
		raw = bytes.TrimSpace(raw)
		switch {
		case bytes.Equal(raw, []byte("null")):
		case len(raw) > 0 && raw[0] == '"':
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return fmt.Errorf("parse json field %s: %w", k, err)
			}
			p.values[k] = s
		default:
			p.values[k] = string(raw)
		}
	}
	return nil
}

func (p *params) addMultipart(mr *multipart.Reader) error {
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read multipart: %w", err)
		}
		data, err := io.ReadAll(part)
		if err != nil {
			return fmt.Errorf("read multipart field %s: %w", part.FormName(), err)
		}
		if part.FileName() == "" {
			p.values[part.FormName()] = string(data)
			continue
		}
		if p.files == nil {
			p.files = make(map[string]*upload)
		}
		p.files[part.FormName()] = &upload{name: part.FileName(), contentType: part.Header.Get("Content-Type"), data: data}
	}
}

// paramsFromJSON is the body of a webhook reply, which carries a method call.
func paramsFromJSON(body []byte) (*params, error) {
	p := &params{values: make(map[string]string)}
	return p, p.addJSON(body)
}

func (p *params) str(key string) string { return p.values[key] }

func (p *params) has(key string) bool {
	_, ok := p.values[key]
	return ok
}

// int64 parses an integer parameter; absent parameters are 0. JSON numbers
// written as floats with an integral value are accepted like Telegram does.
func (p *params) int64(key string) (int64, error) {
	s := strings.TrimSpace(p.values[key])
	if s == "" {
		return 0, nil
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<62 {
		return int64(f), nil
	}
	return 0, fmt.Errorf("field %q must be an integer", key)
}

func (p *params) bool(key string) bool {
	switch strings.ToLower(strings.TrimSpace(p.values[key])) {
	case "true", "1":
		return true
	}
	return false
}

// stringList parses a JSON array of strings (allowed_updates).
func (p *params) stringList(key string) ([]string, bool, error) {
	s, ok := p.values[key]
	if !ok {
		return nil, false, nil
	}
	var list []string
	if err := json.Unmarshal([]byte(s), &list); err != nil {
		return nil, true, fmt.Errorf("field %q must be a JSON array of strings", key)
	}
	return list, true, nil
}

// logged renders the parameters for the calls log: scalars as strings,
// object and array parameters as JSON, uploaded files as their name and size.
func (p *params) logged() map[string]any {
	out := make(map[string]any, len(p.values)+len(p.files))
	for k, v := range p.values {
		if t := strings.TrimSpace(v); len(t) > 0 && (t[0] == '{' || t[0] == '[') && json.Valid([]byte(t)) {
			out[k] = json.RawMessage(t)
			continue
		}
		out[k] = v
	}
	for k, f := range p.files {
		out[k] = map[string]any{"upload": f.name, "size": len(f.data), "content_type": f.contentType}
	}
	return out
}
