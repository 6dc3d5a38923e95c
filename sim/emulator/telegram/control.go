package telegram

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxWait caps the wait parameter of GET /_emulator/chats/{chat_id}.
const maxWait = 60 * time.Second

func (s *Server) controlRoutes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /_emulator/users", s.handlePutUsers)
	mux.HandleFunc("GET /_emulator/users", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, s.Users()) })
	mux.HandleFunc("POST /_emulator/groups", s.handlePutGroup)
	mux.HandleFunc("GET /_emulator/groups", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, s.Groups()) })
	mux.HandleFunc("POST /_emulator/send", s.handleSend)
	mux.HandleFunc("POST /_emulator/updates", s.handleInjectUpdate)
	mux.HandleFunc("POST /_emulator/contact", s.handleContact)
	mux.HandleFunc("POST /_emulator/edit", s.handleEdit)
	mux.HandleFunc("POST /_emulator/press", s.handlePress)
	mux.HandleFunc("GET /_emulator/callbacks/{id}", s.handleCallback)
	mux.HandleFunc("POST /_emulator/group_send", s.handleGroupSend)
	mux.HandleFunc("POST /_emulator/block", s.handleBlock)
	mux.HandleFunc("GET /_emulator/chats/{chat_id}", s.handleChat)
	mux.HandleFunc("GET /_emulator/chats/{chat_id}/topics", s.handleTopics)
	mux.HandleFunc("POST /_emulator/topics", s.handleTopicAction)
	mux.HandleFunc("GET /_emulator/files/{file_id}", s.handleFile)
	mux.HandleFunc("POST /_emulator/files", s.handlePutFile)
	mux.HandleFunc("POST /_emulator/send_media", s.handleSendMedia)
	mux.HandleFunc("GET /_emulator/initdata", s.handleInitData)
	mux.HandleFunc("POST /_emulator/faults", s.handleAddFault)
	mux.HandleFunc("GET /_emulator/faults", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, s.Faults()) })
	mux.HandleFunc("DELETE /_emulator/faults", func(w http.ResponseWriter, r *http.Request) {
		s.ClearFaults()
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	mux.HandleFunc("GET /_emulator/calls", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Calls(r.URL.Query().Get("method")))
	})
	mux.HandleFunc("GET /_emulator/stats", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, s.Stats()) })
	mux.HandleFunc("POST /_emulator/redeliver", s.handleRedeliver)
	mux.HandleFunc("POST /_emulator/reset", func(w http.ResponseWriter, r *http.Request) {
		s.Reset()
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	mux.HandleFunc("GET /_emulator/bot", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, s.Bot()) })
	mux.HandleFunc("GET /_emulator/menu_button", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, s.MenuButtons()) })
	mux.HandleFunc("GET /_emulator/commands", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, s.Commands()) })
	mux.HandleFunc("GET /_emulator/flood_limits", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, s.FloodLimits()) })
	mux.HandleFunc("POST /_emulator/flood_limits", s.handleFloodLimits)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeControlError(w, fmt.Errorf("no control endpoint %s %s: %w", r.Method, r.URL.Path, ErrNotFound))
	})
	return mux
}

// decodeBody reads a JSON request body strictly: an unknown field is
// almost always a typo in a test, better reported than ignored.
func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxRequestBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode request body: %v: %w", err, ErrInvalid)
	}
	return nil
}

func writeControlError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, ErrInvalid):
		status = http.StatusBadRequest
	}
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

// reply writes v or the error of a control call.
func reply(w http.ResponseWriter, v any, err error) {
	if err != nil {
		writeControlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// userPatch is a user in POST /_emulator/users: absent fields keep their
// current value.
type userPatch struct {
	ID           int64   `json:"id"`
	FirstName    *string `json:"first_name"`
	LastName     *string `json:"last_name"`
	Username     *string `json:"username"`
	Phone        *string `json:"phone"`
	LanguageCode *string `json:"language_code"`
}

func (p userPatch) apply(u *User) {
	for _, f := range []struct {
		dst *string
		src *string
	}{{&u.FirstName, p.FirstName}, {&u.LastName, p.LastName}, {&u.Username, p.Username}, {&u.Phone, p.Phone}, {&u.LanguageCode, p.LanguageCode}} {
		if f.src != nil {
			*f.dst = *f.src
		}
	}
}

func (s *Server) handlePutUsers(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes))
	if err != nil {
		writeControlError(w, fmt.Errorf("read body: %v: %w", err, ErrInvalid))
		return
	}
	bulk := len(bytes.TrimSpace(body)) > 0 && bytes.TrimSpace(body)[0] == '['
	var patches []userPatch
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if bulk {
		err = dec.Decode(&patches)
	} else {
		patches = make([]userPatch, 1)
		err = dec.Decode(&patches[0])
	}
	if err != nil {
		writeControlError(w, fmt.Errorf("decode users: %v: %w", err, ErrInvalid))
		return
	}
	for _, p := range patches {
		if p.ID <= 0 {
			writeControlError(w, fmt.Errorf("user id must be positive, got %d: %w", p.ID, ErrInvalid))
			return
		}
	}
	s.mu.Lock()
	out := make([]User, 0, len(patches))
	for _, p := range patches {
		out = append(out, s.putUserLocked(p.ID, p.apply))
	}
	s.mu.Unlock()
	if bulk {
		writeJSON(w, http.StatusOK, out)
		return
	}
	writeJSON(w, http.StatusOK, out[0])
}

func (s *Server) handlePutGroup(w http.ResponseWriter, r *http.Request) {
	var g Group
	if err := decodeBody(r, &g); err != nil {
		writeControlError(w, err)
		return
	}
	chat, err := s.PutGroup(g)
	reply(w, chat, err)
}

func (s *Server) handleSend(w http.ResponseWriter, r *http.Request) {
	var req struct {
		UserID int64  `json:"user_id"`
		Text   string `json:"text"`
	}
	if err := decodeBody(r, &req); err != nil {
		writeControlError(w, err)
		return
	}
	sent, err := s.SendText(req.UserID, req.Text)
	reply(w, sent, err)
}

func (s *Server) handleInjectUpdate(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes))
	if err != nil {
		writeControlError(w, fmt.Errorf("read body: %v: %w", err, ErrInvalid))
		return
	}
	sent, err := s.InjectUpdate(body)
	reply(w, sent, err)
}

func (s *Server) handleContact(w http.ResponseWriter, r *http.Request) {
	var req struct {
		UserID        int64  `json:"user_id"`
		Phone         string `json:"phone"`
		ContactUserID *int64 `json:"contact_user_id"`
	}
	if err := decodeBody(r, &req); err != nil {
		writeControlError(w, err)
		return
	}
	owner := req.UserID
	if req.ContactUserID != nil {
		owner = *req.ContactUserID
	}
	sent, err := s.ShareContact(req.UserID, req.Phone, owner)
	reply(w, sent, err)
}

func (s *Server) handleEdit(w http.ResponseWriter, r *http.Request) {
	var req struct {
		UserID    int64  `json:"user_id"`
		MessageID int64  `json:"message_id"`
		Text      string `json:"text"`
	}
	if err := decodeBody(r, &req); err != nil {
		writeControlError(w, err)
		return
	}
	sent, err := s.EditText(req.UserID, req.MessageID, req.Text)
	reply(w, sent, err)
}

func (s *Server) handlePress(w http.ResponseWriter, r *http.Request) {
	var req struct {
		UserID    int64  `json:"user_id"`
		ChatID    int64  `json:"chat_id"`
		MessageID int64  `json:"message_id"`
		Data      string `json:"data"`
	}
	if err := decodeBody(r, &req); err != nil {
		writeControlError(w, err)
		return
	}
	pressed, err := s.Press(req.UserID, req.ChatID, req.MessageID, req.Data)
	reply(w, pressed, err)
}

func (s *Server) handleCallback(w http.ResponseWriter, r *http.Request) {
	cb, err := s.Callback(r.PathValue("id"))
	reply(w, cb, err)
}

func (s *Server) handleGroupSend(w http.ResponseWriter, r *http.Request) {
	var req GroupMessage
	if err := decodeBody(r, &req); err != nil {
		writeControlError(w, err)
		return
	}
	sent, err := s.GroupSend(req)
	reply(w, sent, err)
}

func (s *Server) handleBlock(w http.ResponseWriter, r *http.Request) {
	var req struct {
		UserID  int64 `json:"user_id"`
		Blocked bool  `json:"blocked"`
	}
	if err := decodeBody(r, &req); err != nil {
		writeControlError(w, err)
		return
	}
	id, err := s.SetBlocked(req.UserID, req.Blocked)
	reply(w, map[string]int64{"update_id": id}, err)
}

func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	chatID, err := strconv.ParseInt(r.PathValue("chat_id"), 10, 64)
	if err != nil {
		writeControlError(w, fmt.Errorf("chat id %q: %w", r.PathValue("chat_id"), ErrInvalid))
		return
	}
	after, err := queryInt(q.Get("after"))
	if err != nil {
		writeControlError(w, err)
		return
	}
	wait, err := strconv.ParseFloat(cmp.Or(q.Get("wait"), "0"), 64)
	if err != nil || wait < 0 {
		writeControlError(w, fmt.Errorf("wait must be seconds, got %q: %w", q.Get("wait"), ErrInvalid))
		return
	}
	thread, err := queryInt(q.Get("thread"))
	if err != nil {
		writeControlError(w, err)
		return
	}
	var t Transcript
	switch {
	case thread != 0:
		t, err = s.TopicTranscript(chatID, thread, after)
	case wait > 0:
		ctx, cancel := context.WithTimeout(r.Context(), min(time.Duration(wait*float64(time.Second)), maxWait))
		defer cancel()
		t, err = s.WaitTranscript(ctx, chatID, after)
	default:
		t, err = s.Transcript(chatID, after)
	}
	if err != nil {
		writeControlError(w, err)
		return
	}
	base := baseURL(r)
	for i := range t.Messages {
		for _, f := range []*TranscriptFile{t.Messages[i].Document, t.Messages[i].Photo, t.Messages[i].Media} {
			if f != nil && f.URL != "" {
				f.URL = base + f.URL
			}
		}
	}
	writeJSON(w, http.StatusOK, t)
}

func queryInt(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not an integer: %w", s, ErrInvalid)
	}
	return v, nil
}

// baseURL is how the caller reached the emulator, for absolute file URLs.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Server) handleFile(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	f := s.files[r.PathValue("file_id")]
	s.mu.Unlock()
	if f == nil {
		writeControlError(w, fmt.Errorf("file %q: %w", r.PathValue("file_id"), ErrNotFound))
		return
	}
	serveFile(w, r, f)
}

// handlePutFile stores a file sent as multipart field "file", or as the raw
// body with ?name= and the Content-Type header.
func (s *Server) handlePutFile(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxRequestBytes)
	name, contentType := r.URL.Query().Get("name"), r.Header.Get("Content-Type")
	var data []byte
	if strings.HasPrefix(contentType, "multipart/form-data") {
		file, header, err := r.FormFile("file")
		if err != nil {
			writeControlError(w, fmt.Errorf("multipart field \"file\": %v: %w", err, ErrInvalid))
			return
		}
		defer file.Close()
		if data, err = io.ReadAll(file); err != nil {
			writeControlError(w, fmt.Errorf("read file: %v: %w", err, ErrInvalid))
			return
		}
		name, contentType = cmp.Or(name, header.Filename), header.Header.Get("Content-Type")
	} else {
		var err error
		if data, err = io.ReadAll(r.Body); err != nil {
			writeControlError(w, fmt.Errorf("read body: %v: %w", err, ErrInvalid))
			return
		}
	}
	info := s.PutFile(name, contentType, data)
	info.URL = baseURL(r) + info.URL
	writeJSON(w, http.StatusOK, info)
}

func (s *Server) handleInitData(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	userID, err := queryInt(q.Get("user_id"))
	if err != nil {
		writeControlError(w, err)
		return
	}
	authUnix, err := queryInt(q.Get("auth_date"))
	if err != nil {
		writeControlError(w, err)
		return
	}
	var authDate time.Time
	if authUnix != 0 {
		authDate = time.Unix(authUnix, 0)
	}
	initData, err := s.InitData(userID, authDate, q.Get("start_param"))
	reply(w, map[string]string{"init_data": initData}, err)
}

func (s *Server) handleAddFault(w http.ResponseWriter, r *http.Request) {
	var f Fault
	if err := decodeBody(r, &f); err != nil {
		writeControlError(w, err)
		return
	}
	reply(w, map[string]bool{"ok": true}, s.AddFault(f))
}

func (s *Server) handleRedeliver(w http.ResponseWriter, r *http.Request) {
	var req struct {
		FromUpdateID int64 `json:"from_update_id"`
	}
	if err := decodeBody(r, &req); err != nil {
		writeControlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"redelivered": s.Redeliver(req.FromUpdateID)})
}

func (s *Server) handleFloodLimits(w http.ResponseWriter, r *http.Request) {
	var f FloodLimits
	if err := decodeBody(r, &f); err != nil {
		writeControlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s.SetFloodLimits(f))
}

// AddFault makes the next f.Count calls of f.Method fail (see Fault).
func (s *Server) AddFault(f Fault) error {
	if f.Method == "" {
		return fmt.Errorf("telegram emulator: fault needs a method or \"*\": %w", ErrInvalid)
	}
	if f.Status < 400 || f.Status > 599 {
		return fmt.Errorf("telegram emulator: fault status must be 4xx or 5xx, got %d: %w", f.Status, ErrInvalid)
	}
	if f.Method != "*" {
		spec, ok := botMethods[strings.ToLower(f.Method)]
		if !ok {
			return fmt.Errorf("telegram emulator: fault for unknown method %q: %w", f.Method, ErrInvalid)
		}
		f.Method = spec.name
	}
	s.recorder.addFault(f)
	return nil
}

// Faults lists the faults still armed.
func (s *Server) Faults() []Fault {
	s.recorder.mu.Lock()
	defer s.recorder.mu.Unlock()
	out := make([]Fault, 0, len(s.recorder.faults))
	for _, f := range s.recorder.faults {
		out = append(out, *f)
	}
	return out
}

// ClearFaults disarms every fault.
func (s *Server) ClearFaults() { s.recorder.clearFaults() }

// Calls returns the calls log (the last 10,000 Bot API calls), oldest
// first, optionally only those of one method.
func (s *Server) Calls(method string) []Call {
	if spec, ok := botMethods[strings.ToLower(method)]; ok {
		method = spec.name
	}
	return s.recorder.list(method)
}

// Stats returns the call counters.
func (s *Server) Stats() Stats { return s.recorder.snapshot() }

// FloodLimits returns the limits in force.
func (s *Server) FloodLimits() FloodLimits { return s.limiter.current() }

// SetFloodLimits replaces the limits (zero fields of enabled limits take
// the defaults) and refills every bucket. It returns the limits in force.
func (s *Server) SetFloodLimits(f FloodLimits) FloodLimits {
	if f.Enabled {
		f = f.withDefaults()
	}
	s.limiter.reset(f)
	return f
}

// Redeliver queues again every confirmed update with update_id >=
// fromUpdateID (of the last 10,000 confirmed), unchanged, as Telegram does
// when it is unsure a delivery arrived. It returns how many were queued.
func (s *Server) Redeliver(fromUpdateID int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.redeliverLocked(fromUpdateID)
}

// Reset forgets users, chats, files, updates, the webhook, commands, menu
// buttons, faults, the calls log and statistics, and refills the flood
// buckets. update_id keeps increasing, so a bot that survives the reset
// does not mistake new updates for confirmed ones.
func (s *Server) Reset() {
	s.mu.Lock()
	s.resetLocked()
	s.signalUpdatesLocked()
	s.signalChatsLocked()
	s.signalWebhookLocked()
	s.mu.Unlock()
	s.recorder.reset()
	s.limiter.reset(s.limiter.current())
}

// BotInfo describes the emulated bot without revealing its token.
type BotInfo struct {
	ID        int64  `json:"id"`
	Username  string `json:"username"`
	FirstName string `json:"first_name"`
	// TokenHint is the token's bot id and last four characters.
	TokenHint string `json:"token_hint"`
}

// Bot describes the emulated bot.
func (s *Server) Bot() BotInfo {
	tok := s.opts.Token
	prefix, _, _ := strings.Cut(tok, ":")
	return BotInfo{ID: s.bot.ID, Username: s.bot.Username, FirstName: s.bot.FirstName, TokenHint: prefix + ":…" + tok[max(0, len(tok)-4):]}
}

// MenuButtons is what setChatMenuButton installed.
type MenuButtons struct {
	Default json.RawMessage            `json:"default"`
	Chats   map[string]json.RawMessage `json:"chats"`
}

// MenuButtons returns the default and per-chat menu buttons.
func (s *Server) MenuButtons() MenuButtons {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := MenuButtons{Default: s.menuDefault, Chats: make(map[string]json.RawMessage, len(s.menuByChat))}
	if out.Default == nil {
		out.Default = json.RawMessage(`{"type":"default"}`)
	}
	for id, b := range s.menuByChat {
		out.Chats[strconv.FormatInt(id, 10)] = b
	}
	return out
}

// Commands returns every command list the bot set, by scope and language.
func (s *Server) Commands() []CommandSet {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]CommandSet, 0, len(s.commands))
	for _, c := range s.commands {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b CommandSet) int {
		return strings.Compare(string(a.Scope)+a.LanguageCode, string(b.Scope)+b.LanguageCode)
	})
	return out
}
