package telegram

import (
	"cmp"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// checkUserText refuses what a Telegram client would not send.
func checkUserText(text string) error {
	switch {
	case strings.TrimSpace(text) == "":
		return fmt.Errorf("telegram emulator: text is empty: %w", ErrInvalid)
	case !utf8.ValidString(text):
		return fmt.Errorf("telegram emulator: text is not UTF-8: %w", ErrInvalid)
	case utf16Len(text) > maxTextLen:
		return fmt.Errorf("telegram emulator: text longer than %d: %w", maxTextLen, ErrInvalid)
	}
	return nil
}

// SendText delivers a text message from the user to the bot in their
// private chat. A user who blocked the bot unblocks it first, as pressing
// "Restart" in a Telegram client does.
func (s *Server) SendText(userID int64, text string) (Sent, error) {
	if err := checkUserText(text); err != nil {
		return Sent{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(userID)
	if err != nil {
		return Sent{}, err
	}
	if u.Blocked {
		s.setBlockedLocked(u, false)
	}
	c := s.chats[userID]
	m := &message{from: u.sender(), date: time.Now().Unix(), text: text, entities: commandEntities(text)}
	return s.userMessageLocked(c, m), nil
}

// userMessageLocked records a user's message and queues its update.
func (s *Server) userMessageLocked(c *chatState, m *message) Sent {
	s.appendLocked(c, m)
	id := s.enqueueLocked("message", m.wire(c, true))
	return Sent{UpdateID: id, MessageID: m.id}
}

var botCommand = regexp.MustCompile(`^/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]{3,32})?`)

// commandEntities marks a leading /command like Telegram does.
func commandEntities(text string) json.RawMessage {
	cmd := botCommand.FindString(text)
	if cmd == "" || (len(cmd) < len(text) && !strings.ContainsRune(" \t\n", rune(text[len(cmd)]))) {
		return nil
	}
	return mustJSON([]entity{{Type: "bot_command", Offset: 0, Length: len(cmd)}})
}

// ShareContact sends a contact card from the user. contactUserID is the
// user the card belongs to: the sender's own id for "share my phone", 0 or
// another id for a forwarded card (which the bot must not accept as the
// sender's phone). phone defaults to that user's phone.
func (s *Server) ShareContact(userID int64, phone string, contactUserID int64) (Sent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(userID)
	if err != nil {
		return Sent{}, err
	}
	contact := &Contact{PhoneNumber: phone, FirstName: "Contact", UserID: contactUserID}
	if owner := s.users[contactUserID]; owner != nil {
		contact.FirstName, contact.LastName = owner.FirstName, owner.LastName
		contact.PhoneNumber = cmp.Or(phone, owner.Phone)
	}
	if contact.PhoneNumber == "" {
		return Sent{}, fmt.Errorf("telegram emulator: contact needs a phone: %w", ErrInvalid)
	}
	if u.Blocked {
		s.setBlockedLocked(u, false)
	}
	m := &message{from: u.sender(), date: time.Now().Unix(), contact: contact}
	return s.userMessageLocked(s.chats[userID], m), nil
}

// EditText edits a text message the user sent earlier in their private
// chat and queues an edited_message update.
func (s *Server) EditText(userID, messageID int64, text string) (Sent, error) {
	if err := checkUserText(text); err != nil {
		return Sent{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.userLocked(userID); err != nil {
		return Sent{}, err
	}
	c := s.chats[userID]
	m := c.live(messageID)
	if m == nil {
		return Sent{}, fmt.Errorf("telegram emulator: message %d in chat %d: %w", messageID, userID, ErrNotFound)
	}
	if m.fromBot || m.from.ID != userID || m.text == "" {
		return Sent{}, fmt.Errorf("telegram emulator: message %d is not a text message of user %d: %w", messageID, userID, ErrInvalid)
	}
	m.text, m.entities, m.editDate = text, commandEntities(text), time.Now().Unix()
	s.signalChatsLocked()
	id := s.enqueueLocked("edited_message", m.wire(c, true))
	return Sent{UpdateID: id, MessageID: messageID}, nil
}

// Press presses the inline button with callback_data data under a bot
// message. chatID is the chat of the message (the user's private chat if 0).
// The message must carry a button with that data, as a real client can
// only send what a button holds; inject a callback_query update through
// InjectUpdate to simulate anything else.
func (s *Server) Press(userID, chatID, messageID int64, data string) (Pressed, error) {
	if chatID == 0 {
		chatID = userID
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(userID)
	if err != nil {
		return Pressed{}, err
	}
	c := s.chats[chatID]
	if c == nil {
		return Pressed{}, fmt.Errorf("telegram emulator: chat %d: %w", chatID, ErrNotFound)
	}
	m := c.live(messageID)
	if m == nil {
		return Pressed{}, fmt.Errorf("telegram emulator: message %d in chat %d: %w", messageID, chatID, ErrNotFound)
	}
	if !m.fromBot {
		return Pressed{}, fmt.Errorf("telegram emulator: message %d was not sent by the bot: %w", messageID, ErrInvalid)
	}
	if !hasCallbackButton(m.markup, data) {
		return Pressed{}, fmt.Errorf("telegram emulator: message %d has no inline button with callback_data %q: %w", messageID, data, ErrInvalid)
	}
	s.seq++
	cb := &CallbackAnswer{ID: strconv.FormatInt(userID, 10) + strconv.FormatInt(1000000+s.seq, 10), UserID: userID, ChatID: chatID, MessageID: messageID, Data: data}
	s.callbacks[cb.ID] = cb
	id := s.enqueueLocked("callback_query", wireCallbackQuery{
		ID: cb.ID, From: u.sender(), Message: m.wire(c, true), Data: data,
		ChatInstance: strconv.FormatUint(uint64(chatID)*2654435761, 10),
	})
	return Pressed{UpdateID: id, CallbackQueryID: cb.ID}, nil
}

func hasCallbackButton(markup json.RawMessage, data string) bool {
	var m struct {
		InlineKeyboard [][]struct {
			CallbackData *string `json:"callback_data"`
		} `json:"inline_keyboard"`
	}
	if json.Unmarshal(markup, &m) != nil {
		return false
	}
	for _, row := range m.InlineKeyboard {
		for _, b := range row {
			if b.CallbackData != nil && *b.CallbackData == data {
				return true
			}
		}
	}
	return false
}

// CallbackAnswer is a pressed button and the bot's answerCallbackQuery.
type CallbackAnswer struct {
	ID        string `json:"id"`
	UserID    int64  `json:"user_id"`
	ChatID    int64  `json:"chat_id"`
	MessageID int64  `json:"message_id"`
	Data      string `json:"data"`
	Answered  bool   `json:"answered"`
	Text      string `json:"text,omitempty"`
	ShowAlert bool   `json:"show_alert,omitempty"`
	URL       string `json:"url,omitempty"`
}

// Callback returns a callback query and how the bot answered it.
func (s *Server) Callback(id string) (CallbackAnswer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cb := s.callbacks[id]
	if cb == nil {
		return CallbackAnswer{}, fmt.Errorf("telegram emulator: callback query %q: %w", id, ErrNotFound)
	}
	return *cb, nil
}

// GroupSend delivers a user's message in a group. A reply carries the
// whole replied-to message in reply_to_message, as Telegram does; that is
// how operators answer the bot's escalation cards.
func (s *Server) GroupSend(g GroupMessage) (Sent, error) {
	if err := checkUserText(g.Text); err != nil {
		return Sent{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chats[g.ChatID]
	if c == nil || c.chat.Type == "private" {
		return Sent{}, fmt.Errorf("telegram emulator: group %d: %w", g.ChatID, ErrNotFound)
	}
	u, err := s.userLocked(g.UserID)
	if err != nil {
		return Sent{}, err
	}
	if g.ReplyToMessageID != 0 && c.live(g.ReplyToMessageID) == nil {
		return Sent{}, fmt.Errorf("telegram emulator: message %d in chat %d: %w", g.ReplyToMessageID, g.ChatID, ErrNotFound)
	}
	thread, err := personThreadLocked(c, g)
	if err != nil {
		return Sent{}, err
	}
	m := &message{from: u.sender(), date: time.Now().Unix(), text: g.Text, entities: commandEntities(g.Text),
		replyTo: g.ReplyToMessageID, threadID: thread}
	return s.userMessageLocked(c, m), nil
}

var messageKinds = map[string]bool{
	"message": true, "edited_message": true, "channel_post": true, "edited_channel_post": true,
	"business_message": true, "edited_business_message": true,
}

// InjectUpdate queues any Update object (without update_id; one given is
// replaced). In a message-carrying update, message_id and date are filled
// in when missing, chat defaults to the sender's private chat and from to
// the private chat's user; a message in a known chat joins its transcript.
func (s *Server) InjectUpdate(update json.RawMessage) (Sent, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(update, &fields); err != nil {
		return Sent{}, fmt.Errorf("telegram emulator: inject update: %v: %w", err, ErrInvalid)
	}
	delete(fields, "update_id")
	if len(fields) != 1 {
		return Sent{}, fmt.Errorf("telegram emulator: inject update: want exactly one field besides update_id, got %d: %w", len(fields), ErrInvalid)
	}
	var kind string
	var payload json.RawMessage
	for k, v := range fields {
		kind, payload = k, v
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if kind == "callback_query" {
		var err error
		if payload, err = s.injectCallbackLocked(payload); err != nil {
			return Sent{}, err
		}
	}
	if !messageKinds[kind] {
		return Sent{UpdateID: s.enqueueLocked(kind, payload)}, nil
	}
	msg, c, m, err := s.completeInjectedLocked(kind, payload)
	if err != nil {
		return Sent{}, err
	}
	var messageID int64
	_ = json.Unmarshal(msg["message_id"], &messageID)
	if c != nil {
		s.appendLocked(c, m)
		return Sent{UpdateID: s.enqueueLocked(kind, m.wire(c, true)), MessageID: messageID}, nil
	}
	return Sent{UpdateID: s.enqueueLocked(kind, msg), MessageID: messageID}, nil
}

// injectCallbackLocked registers an injected callback query so that the
// bot can answer it, as Telegram lets a bot answer every query it receives
// whatever its data: a client can send data no button of ours carries. A
// missing id is generated (Callback finds the answer by id), a missing
// chat_instance filled in.
func (s *Server) injectCallbackLocked(payload json.RawMessage) (json.RawMessage, error) {
	var fields map[string]json.RawMessage
	var q struct {
		ID      string  `json:"id"`
		From    *Sender `json:"from"`
		Data    string  `json:"data"`
		Message *struct {
			MessageID int64 `json:"message_id"`
			Chat      struct {
				ID int64 `json:"id"`
			} `json:"chat"`
		} `json:"message"`
	}
	if json.Unmarshal(payload, &fields) != nil || json.Unmarshal(payload, &q) != nil {
		return nil, fmt.Errorf("telegram emulator: inject update: callback_query is not a CallbackQuery object: %w", ErrInvalid)
	}
	if q.From == nil || q.From.ID == 0 {
		return nil, fmt.Errorf("telegram emulator: inject update: callback_query needs from: %w", ErrInvalid)
	}
	if q.ID == "" {
		s.seq++
		q.ID = strconv.FormatInt(q.From.ID, 10) + strconv.FormatInt(1000000+s.seq, 10)
		fields["id"] = mustJSON(q.ID)
	}
	if s.callbacks[q.ID] != nil {
		return nil, fmt.Errorf("telegram emulator: inject update: callback query id %q is already used: %w", q.ID, ErrInvalid)
	}
	cb := &CallbackAnswer{ID: q.ID, UserID: q.From.ID, Data: q.Data}
	if q.Message != nil {
		cb.ChatID, cb.MessageID = q.Message.Chat.ID, q.Message.MessageID
	}
	if _, ok := fields["chat_instance"]; !ok {
		fields["chat_instance"] = mustJSON(strconv.FormatUint(uint64(cb.ChatID)*2654435761, 10))
	}
	s.callbacks[q.ID] = cb
	return mustJSON(fields), nil
}

// completeInjectedLocked fills the missing parts of an injected Message and,
// if its chat is known, builds the transcript entry.
func (s *Server) completeInjectedLocked(kind string, payload json.RawMessage) (map[string]json.RawMessage, *chatState, *message, error) {
	var msg map[string]json.RawMessage
	var probe struct {
		MessageID       int64           `json:"message_id"`
		MessageThreadID int64           `json:"message_thread_id"`
		From            *Sender         `json:"from"`
		Chat            *Chat           `json:"chat"`
		Date            int64           `json:"date"`
		EditDate        int64           `json:"edit_date"`
		Text            string          `json:"text"`
		Entities        json.RawMessage `json:"entities"`
		Caption         string          `json:"caption"`
		CaptionEntities json.RawMessage `json:"caption_entities"`
		Contact         *Contact        `json:"contact"`
		Document        *wireDocument   `json:"document"`
		Photo           []wirePhotoSize `json:"photo"`
		ReplyTo         *struct {
			MessageID int64 `json:"message_id"`
		} `json:"reply_to_message"`
	}
	if json.Unmarshal(payload, &msg) != nil || json.Unmarshal(payload, &probe) != nil {
		return nil, nil, nil, fmt.Errorf("telegram emulator: inject update: %s is not a Message object: %w", kind, ErrInvalid)
	}
	if probe.Chat == nil {
		if probe.From == nil || probe.From.ID == 0 {
			return nil, nil, nil, fmt.Errorf("telegram emulator: inject update: %s needs chat or from: %w", kind, ErrInvalid)
		}
		chat := Chat{ID: probe.From.ID, Type: "private", FirstName: probe.From.FirstName, LastName: probe.From.LastName, Username: probe.From.Username}
		if c := s.chats[probe.From.ID]; c != nil {
			chat = c.chat
		}
		probe.Chat = &chat
		msg["chat"] = mustJSON(chat)
	}
	c := s.chats[probe.Chat.ID]
	if probe.From == nil && c != nil && c.chat.Type == "private" {
		if u := s.users[c.chat.ID]; u != nil {
			from := u.sender()
			probe.From = &from
			msg["from"] = mustJSON(from)
		}
	}
	if probe.MessageID == 0 {
		if c != nil {
			probe.MessageID = c.nextMessageID + 1
		} else {
			s.orphanMsgIDs[probe.Chat.ID]++
			probe.MessageID = s.orphanMsgIDs[probe.Chat.ID]
		}
		msg["message_id"] = mustJSON(probe.MessageID)
	}
	now := time.Now().Unix()
	if probe.Date == 0 {
		probe.Date = now
		msg["date"] = mustJSON(now)
	}
	if strings.HasPrefix(kind, "edited_") && probe.EditDate == 0 {
		probe.EditDate = now
		msg["edit_date"] = mustJSON(now)
	}
	if c == nil {
		return msg, nil, nil, nil
	}
	m := &message{
		id: probe.MessageID, threadID: probe.MessageThreadID, date: probe.Date, editDate: probe.EditDate,
		text: probe.Text, entities: probe.Entities, caption: probe.Caption, captionEntities: probe.CaptionEntities,
		contact: probe.Contact, raw: msg,
	}
	if probe.From != nil {
		m.from = *probe.From
		m.fromBot = probe.From.ID == s.bot.ID
	}
	if probe.ReplyTo != nil {
		m.replyTo = probe.ReplyTo.MessageID
	}
	if d := probe.Document; d != nil {
		m.document = &fileRef{FileID: d.FileID, FileUniqueID: d.FileUniqueID, FileName: d.FileName, MimeType: d.MimeType, FileSize: d.FileSize}
	}
	if n := len(probe.Photo); n > 0 {
		p := probe.Photo[n-1] // Telegram lists sizes from smallest to largest
		m.photo = &fileRef{FileID: p.FileID, FileUniqueID: p.FileUniqueID, Width: p.Width, Height: p.Height, FileSize: p.FileSize}
	}
	return msg, c, m, nil
}
