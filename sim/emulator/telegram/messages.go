package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// targetChatLocked resolves a chat_id parameter (a number or @username)
// and refuses private chats whose user blocked the bot.
func (s *Server) targetChatLocked(p *params, key string) (*chatState, *apiError) {
	c, aerr := s.chatParamLocked(p, key)
	if aerr != nil {
		return nil, aerr
	}
	if u := s.users[c.chat.ID]; c.chat.Type == "private" && u != nil && u.Blocked {
		return nil, &apiError{code: http.StatusForbidden, description: "Forbidden: bot was blocked by the user"}
	}
	return c, nil
}

func (s *Server) chatParamLocked(p *params, key string) (*chatState, *apiError) {
	raw := strings.TrimSpace(p.str(key))
	if raw == "" {
		return nil, badRequest(key + " is empty")
	}
	if name, ok := strings.CutPrefix(raw, "@"); ok {
		for _, c := range s.chats {
			if c.chat.Username != "" && strings.EqualFold(c.chat.Username, name) && c.chat.Type != "private" {
				return c, nil
			}
		}
		return nil, badRequest("chat not found")
	}
	id, err := p.int64(key)
	if err != nil {
		return nil, badRequest("chat not found")
	}
	c := s.chats[id]
	if c == nil {
		return nil, badRequest("chat not found")
	}
	return c, nil
}

// replyTargetLocked resolves reply_parameters (Bot API 7+) or the legacy
// reply_to_message_id to a message of chat c.
func (s *Server) replyTargetLocked(c *chatState, p *params) (int64, *apiError) {
	var rp struct {
		MessageID                int64           `json:"message_id"`
		ChatID                   json.RawMessage `json:"chat_id"`
		AllowSendingWithoutReply bool            `json:"allow_sending_without_reply"`
	}
	if raw := p.str("reply_parameters"); raw != "" {
		if err := json.Unmarshal([]byte(raw), &rp); err != nil {
			return 0, badRequest("can't parse reply parameters JSON object")
		}
		if other := strings.Trim(string(rp.ChatID), `"`); other != "" && other != strconv.FormatInt(c.chat.ID, 10) {
			// Replies across chats are quotes the emulator does not model.
			return 0, badRequest("message to be replied not found")
		}
	} else {
		id, err := p.int64("reply_to_message_id")
		if err != nil {
			return 0, badRequest(err.Error())
		}
		rp.MessageID = id
		rp.AllowSendingWithoutReply = p.bool("allow_sending_without_reply")
	}
	if rp.MessageID == 0 {
		return 0, nil
	}
	if c.live(rp.MessageID) == nil {
		if rp.AllowSendingWithoutReply {
			return 0, nil
		}
		return 0, badRequest("message to be replied not found")
	}
	return rp.MessageID, nil
}

func (s *Server) takeFloodTokenLocked(c *chatState) *apiError {
	retry, ok := s.limiter.take(c.chat.ID, c.chat.Type != "private")
	if ok {
		return nil
	}
	return &apiError{code: http.StatusTooManyRequests, description: "Too Many Requests: retry after " + strconv.Itoa(retry), retryAfter: retry}
}

// appendLocked adds a message to a chat's transcript. A bot message ends
// the chat action and replaces the bot's draft, as in Telegram clients.
func (s *Server) appendLocked(c *chatState, m *message) {
	if m.at.IsZero() {
		m.at = time.Now().UTC() // no monotonic reading: it is persisted
	}
	c.add(m)
	c.replaceDraft(m) // a bot message takes the place of the bot's draft (draft.go)
	if m.fromBot {
		c.action = ""
	}
	s.signalChatsLocked()
}

// parseReplyMarkup checks a reply_markup parameter the way Telegram rejects
// the common mistakes, and returns it as compact JSON.
func parseReplyMarkup(raw string) (json.RawMessage, *apiError) {
	if strings.TrimSpace(raw) == "" {
		return nil, nil
	}
	var markup struct {
		InlineKeyboard [][]map[string]json.RawMessage `json:"inline_keyboard"`
		Keyboard       [][]json.RawMessage            `json:"keyboard"`
		RemoveKeyboard bool                           `json:"remove_keyboard"`
		ForceReply     bool                           `json:"force_reply"`
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal([]byte(raw), &fields) != nil || json.Unmarshal([]byte(raw), &markup) != nil {
		return nil, badRequest("can't parse reply keyboard markup JSON object")
	}
	_, inline := fields["inline_keyboard"]
	_, keyboard := fields["keyboard"]
	if !inline && !keyboard && !markup.RemoveKeyboard && !markup.ForceReply {
		return nil, badRequest("can't parse reply keyboard markup JSON object")
	}
	for _, row := range markup.InlineKeyboard {
		for _, button := range row {
			var text string
			if json.Unmarshal(button["text"], &text) != nil || text == "" {
				return nil, badRequest("can't parse inline keyboard button: Text must be non-empty")
			}
			actions := 0
			for _, k := range []string{"url", "callback_data", "web_app", "login_url", "switch_inline_query", "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text", "callback_game", "pay"} {
				if _, ok := button[k]; ok {
					actions++
				}
			}
			if actions != 1 {
				return nil, badRequest("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
			}
			if data, ok := button["callback_data"]; ok {
				var s string
				if json.Unmarshal(data, &s) != nil || len(s) == 0 || len(s) > maxCallbackLen {
					return nil, badRequest("BUTTON_DATA_INVALID")
				}
			}
		}
	}
	for _, row := range markup.Keyboard {
		for _, button := range row {
			var text string
			var obj struct {
				Text string `json:"text"`
			}
			if (json.Unmarshal(button, &text) != nil || text == "") && (json.Unmarshal(button, &obj) != nil || obj.Text == "") {
				return nil, badRequest("can't parse keyboard button: Text must be non-empty")
			}
		}
	}
	return compactJSON(raw), nil
}

func compactJSON(raw string) json.RawMessage {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(raw)); err != nil {
		return json.RawMessage(raw)
	}
	return b.Bytes()
}

// ---- editing and deleting ----

func (s *Server) editMessageText(_ context.Context, p *params) (any, *apiError) {
	text, aerr := formatText(p.str("text"), p.str("parse_mode"), p.str("entities"), "text")
	if aerr != nil {
		return nil, aerr
	}
	markup, aerr := parseReplyMarkup(p.str("reply_markup"))
	if aerr != nil {
		return nil, aerr
	}
	return s.editBotMessage(p, func(m *message) *apiError {
		if m.text == "" && (m.document != nil || m.photo != nil) {
			return badRequest("there is no text in the message to edit")
		}
		if m.text == text.text && bytes.Equal(m.entities, text.entities) && bytes.Equal(m.markup, markup) {
			return notModified()
		}
		m.text, m.rawText, m.parseMode, m.entities, m.markup = text.text, text.raw, text.parseMode, text.entities, markup
		return nil
	})
}

func (s *Server) editMessageReplyMarkup(_ context.Context, p *params) (any, *apiError) {
	markup, aerr := parseReplyMarkup(p.str("reply_markup"))
	if aerr != nil {
		return nil, aerr
	}
	return s.editBotMessage(p, func(m *message) *apiError {
		if bytes.Equal(m.markup, markup) {
			return notModified()
		}
		m.markup = markup
		return nil
	})
}

func notModified() *apiError {
	return badRequest("message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message")
}

// editBotMessage applies change to a message the bot sent and returns the
// edited Message. Without reply_markup an edit removes the inline keyboard,
// as in Telegram, which is why change always receives the new markup.
func (s *Server) editBotMessage(p *params, change func(*message) *apiError) (any, *apiError) {
	if p.str("inline_message_id") != "" {
		return nil, badRequest("inline messages are not supported by the emulator")
	}
	id, err := p.int64("message_id")
	if err != nil || id == 0 {
		return nil, badRequest("message identifier is not specified")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, aerr := s.targetChatLocked(p, "chat_id")
	if aerr != nil {
		return nil, aerr
	}
	m := c.live(id)
	if m == nil {
		return nil, badRequest("message to edit not found")
	}
	if !m.fromBot {
		return nil, badRequest("message can't be edited")
	}
	if aerr := change(m); aerr != nil {
		return nil, aerr
	}
	m.editDate = time.Now().Unix()
	s.signalChatsLocked()
	return m.wire(c, true), nil
}

func (s *Server) deleteMessage(_ context.Context, p *params) (any, *apiError) {
	id, err := p.int64("message_id")
	if err != nil || id == 0 {
		return nil, badRequest("message identifier is not specified")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, aerr := s.targetChatLocked(p, "chat_id")
	if aerr != nil {
		return nil, aerr
	}
	m := c.live(id)
	if m == nil {
		return nil, badRequest("message to delete not found")
	}
	m.deleted = true
	s.signalChatsLocked()
	return true, nil
}

// ---- copying and forwarding ----

func (s *Server) copyMessage(_ context.Context, p *params) (any, *apiError) {
	var caption *formatted
	if p.has("caption") {
		f, aerr := formatText(p.str("caption"), p.str("parse_mode"), p.str("caption_entities"), "caption")
		if aerr != nil {
			return nil, aerr
		}
		caption = &f
	}
	markup, aerr := parseReplyMarkup(p.str("reply_markup"))
	if aerr != nil {
		return nil, aerr
	}
	id, _, aerr := s.relayMessage(p, "copy", func(src *message, m *message) *apiError {
		extra := relayedExtra(src) // media.go: voice notes, audio, video notes, a photo's sizes
		if src.text == "" && src.document == nil && src.photo == nil && src.contact == nil && extra == nil {
			return badRequest("message can't be copied")
		}
		m.extra = extra
		m.text, m.rawText, m.entities = src.text, src.rawText, src.entities
		m.caption, m.rawCaption, m.captionEntities = src.caption, src.rawCaption, src.captionEntities
		m.parseMode, m.document, m.photo, m.contact = src.parseMode, src.document, src.photo, src.contact
		if caption != nil && m.text == "" {
			m.caption, m.rawCaption, m.captionEntities, m.parseMode = caption.text, caption.raw, caption.entities, caption.parseMode
		}
		m.markup = markup
		return nil
	})
	if aerr != nil {
		return nil, aerr
	}
	return wireMessageID{MessageID: id}, nil
}

func (s *Server) forwardMessage(_ context.Context, p *params) (any, *apiError) {
	_, out, aerr := s.relayMessage(p, "forward", func(src *message, m *message) *apiError {
		extra := relayedExtra(src) // media.go: voice notes, audio, video notes, a photo's sizes
		if src.text == "" && src.document == nil && src.photo == nil && src.contact == nil && extra == nil {
			return badRequest("message can't be forwarded")
		}
		m.extra = extra
		m.text, m.rawText, m.entities = src.text, src.rawText, src.entities
		m.caption, m.rawCaption, m.captionEntities = src.caption, src.rawCaption, src.captionEntities
		m.parseMode, m.document, m.photo, m.contact = src.parseMode, src.document, src.photo, src.contact
		m.forwardOrigin = mustJSON(map[string]any{"type": "user", "date": src.date, "sender_user": src.from})
		if src.forwardOrigin != nil {
			m.forwardOrigin = src.forwardOrigin
		}
		return nil
	})
	if aerr != nil {
		return nil, aerr
	}
	return out, nil
}

// relayMessage implements copyMessage and forwardMessage: a bot message in
// chat_id whose content comes from message_id in from_chat_id. It returns
// the new message's id and wire form.
func (s *Server) relayMessage(p *params, verb string, fill func(src, m *message) *apiError) (int64, json.RawMessage, *apiError) {
	srcID, err := p.int64("message_id")
	if err != nil || srcID == 0 {
		return 0, nil, badRequest("message identifier is not specified")
	}
	thread, err := p.int64("message_thread_id")
	if err != nil {
		return 0, nil, badRequest(err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	from, aerr := s.chatParamLocked(p, "from_chat_id")
	if aerr != nil {
		return 0, nil, aerr
	}
	c, aerr := s.targetChatLocked(p, "chat_id")
	if aerr != nil {
		return 0, nil, aerr
	}
	src := from.live(srcID)
	if src == nil {
		return 0, nil, badRequest("message to " + verb + " not found")
	}
	replyTo, aerr := s.replyTargetLocked(c, p)
	if aerr != nil {
		return 0, nil, aerr
	}
	if thread, aerr = s.sendThreadLocked(c, thread, replyTo); aerr != nil {
		return 0, nil, aerr
	}
	m := &message{fromBot: true, from: s.bot, date: time.Now().Unix(), threadID: thread, replyTo: replyTo}
	if aerr := fill(src, m); aerr != nil {
		return 0, nil, aerr
	}
	if aerr := s.takeFloodTokenLocked(c); aerr != nil {
		return 0, nil, aerr
	}
	s.appendLocked(c, m)
	return m.id, m.wire(c, true), nil
}

// ---- chat actions, callback queries, files ----

var chatActions = map[string]bool{
	"typing": true, "upload_photo": true, "record_video": true, "upload_video": true, "record_voice": true,
	"upload_voice": true, "upload_document": true, "choose_sticker": true, "find_location": true,
	"record_video_note": true, "upload_video_note": true,
}

func (s *Server) sendChatAction(_ context.Context, p *params) (any, *apiError) {
	action := p.str("action")
	if !chatActions[action] {
		return nil, badRequest("wrong parameter action in request")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, aerr := s.targetChatLocked(p, "chat_id")
	if aerr != nil {
		return nil, aerr
	}
	c.action, c.actionUntil = action, time.Now().Add(chatActionTTL)
	s.signalChatsLocked()
	return true, nil
}

func (s *Server) answerCallbackQuery(_ context.Context, p *params) (any, *apiError) {
	if utf16Len(p.str("text")) > maxCallbackTextLen {
		return nil, badRequest("MESSAGE_TOO_LONG")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cb := s.callbacks[p.str("callback_query_id")]
	if cb == nil || cb.Answered {
		return nil, badRequest("query is too old and response timeout expired or query ID is invalid")
	}
	cb.Answered, cb.Text, cb.ShowAlert, cb.URL = true, p.str("text"), p.bool("show_alert"), p.str("url")
	s.signalChatsLocked()
	return true, nil
}

func (s *Server) getFile(_ context.Context, p *params) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.files[p.str("file_id")]
	if f == nil {
		return nil, badRequest("wrong file_id or the file is temporarily unavailable")
	}
	if fileTooBig(f) { // media.go: the 20 MB bot download limit
		return nil, badRequest("file is too big")
	}
	return wireFile{FileID: f.ref.FileID, FileUniqueID: f.ref.FileUniqueID, FileSize: f.ref.FileSize, FilePath: f.path}, nil
}

// ---- commands and the menu button ----

func validCommand(c string) bool {
	if len(c) == 0 || len(c) > 32 {
		return false
	}
	for _, r := range c {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

func commandKey(p *params) (json.RawMessage, string, string) {
	scope := json.RawMessage(`{"type":"default"}`)
	if raw := strings.TrimSpace(p.str("scope")); raw != "" {
		scope = compactJSON(raw)
	}
	lang := p.str("language_code")
	return scope, lang, string(scope) + "|" + lang
}

func (s *Server) setMyCommands(_ context.Context, p *params) (any, *apiError) {
	var commands []struct {
		Command     string `json:"command"`
		Description string `json:"description"`
	}
	if err := json.Unmarshal([]byte(p.str("commands")), &commands); err != nil {
		return nil, badRequest("can't parse commands JSON object")
	}
	if len(commands) > 100 {
		return nil, badRequest("too many commands specified")
	}
	for _, c := range commands {
		if !validCommand(c.Command) {
			return nil, badRequest("BOT_COMMAND_INVALID")
		}
		if n := utf16Len(strings.TrimSpace(c.Description)); n == 0 || n > 256 {
			return nil, badRequest("BOT_COMMAND_DESCRIPTION_INVALID")
		}
	}
	scope, lang, key := commandKey(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.markDirtyLocked()
	if len(commands) == 0 {
		delete(s.commands, key)
		return true, nil
	}
	s.commands[key] = CommandSet{Scope: scope, LanguageCode: lang, Commands: mustJSON(commands)}
	return true, nil
}

func (s *Server) getMyCommands(_ context.Context, p *params) (any, *apiError) {
	_, _, key := commandKey(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	if set, ok := s.commands[key]; ok {
		return set.Commands, nil
	}
	return json.RawMessage("[]"), nil
}

func (s *Server) deleteMyCommands(_ context.Context, p *params) (any, *apiError) {
	_, _, key := commandKey(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.markDirtyLocked()
	delete(s.commands, key)
	return true, nil
}

func (s *Server) setChatMenuButton(_ context.Context, p *params) (any, *apiError) {
	button := json.RawMessage(`{"type":"default"}`)
	if raw := strings.TrimSpace(p.str("menu_button")); raw != "" {
		var b struct {
			Type   string `json:"type"`
			Text   string `json:"text"`
			WebApp *struct {
				URL string `json:"url"`
			} `json:"web_app"`
		}
		if err := json.Unmarshal([]byte(raw), &b); err != nil {
			return nil, badRequest("can't parse menu button JSON object")
		}
		switch b.Type {
		case "default", "commands":
		case "web_app":
			if b.Text == "" || b.WebApp == nil || b.WebApp.URL == "" {
				return nil, badRequest("can't parse menu button: text and web_app.url are required")
			}
		default:
			return nil, badRequest("unsupported menu button type")
		}
		button = compactJSON(raw)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.markDirtyLocked()
	if !p.has("chat_id") {
		s.menuDefault = button
		return true, nil
	}
	c, aerr := s.chatParamLocked(p, "chat_id")
	if aerr != nil {
		return nil, aerr
	}
	if c.chat.Type != "private" {
		return nil, badRequest("the chat must be a private chat")
	}
	s.menuByChat[c.chat.ID] = button
	return true, nil
}

func (s *Server) getChatMenuButton(_ context.Context, p *params) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.has("chat_id") {
		c, aerr := s.chatParamLocked(p, "chat_id")
		if aerr != nil {
			return nil, aerr
		}
		if b, ok := s.menuByChat[c.chat.ID]; ok {
			return b, nil
		}
	}
	if s.menuDefault != nil {
		return s.menuDefault, nil
	}
	return json.RawMessage(`{"type":"default"}`), nil
}
