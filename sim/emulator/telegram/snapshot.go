package telegram

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// StateVersion is the State layout this package writes. Restore refuses
// other versions rather than guess at them.
const StateVersion = 1

// stateFileBudget bounds the file bytes a State carries: the sandbox saves
// about once a second, and a state file of hundreds of megabytes would make
// every save a stall. Newer files win; see budgetFiles.
const stateFileBudget = 20 << 20

// State is everything a person expects to find again after the emulator
// restarts: users, groups and chat transcripts, stored files, the queue of
// updates the bot has not confirmed, callback queries, the bot's commands,
// menu buttons and webhook, and the id counters, so that update_id and
// message_id keep increasing. It is plain JSON (file bytes as base64).
// SaveFile encodes it without HTML escaping; do the same if you encode it
// yourself, since editMessageText compares stored reply markups byte for
// byte and escaping "<" or "&" would change them.
//
// Left out on purpose: the calls log, statistics, faults and flood buckets
// (a restarted emulator starts them fresh), chat actions (they last 5 s),
// webhook delivery errors, and the confirmed updates kept for Redeliver.
type State struct {
	// Version is StateVersion.
	Version      int   `json:"version"`
	NextUpdateID int64 `json:"next_update_id"`
	// Users with their phones and blocked flags.
	Users []User `json:"users"`
	// Chats are the users' private chats and the groups, with transcripts.
	Chats []StateChat `json:"chats"`
	// OrphanMessageIDs numbers injected messages in chats the emulator does
	// not know, by chat id.
	OrphanMessageIDs map[int64]int64 `json:"orphan_message_ids,omitempty"`
	// Files, oldest first. Only the newest files that fit in 20 MB of
	// bytes are kept; FilesDropped counts the others.
	Files        []StateFile `json:"files,omitempty"`
	FilesDropped int         `json:"files_dropped,omitempty"`
	// PendingUpdates are the updates the bot has not confirmed yet, in
	// update_id order.
	PendingUpdates []StateUpdate `json:"pending_updates,omitempty"`
	// AllowedUpdates is the last allowed_updates the bot set.
	AllowedUpdates []string         `json:"allowed_updates,omitempty"`
	Callbacks      []CallbackAnswer `json:"callbacks,omitempty"`
	// CallbackSeq numbers callback query ids, so new ids stay unique.
	CallbackSeq int64                     `json:"callback_seq,omitempty"`
	Commands    []CommandSet              `json:"commands,omitempty"`
	MenuDefault json.RawMessage           `json:"menu_default,omitempty"`
	MenuByChat  map[int64]json.RawMessage `json:"menu_by_chat,omitempty"`
	Webhook     *StateWebhook             `json:"webhook,omitempty"`
}

// StateChat is a chat and its transcript.
type StateChat struct {
	Chat          Chat           `json:"chat"`
	NextMessageID int64          `json:"next_message_id"`
	Messages      []StateMessage `json:"messages,omitempty"`
	// Topics are a forum's topics (deleted ones too), by message_thread_id.
	Topics []ForumTopic `json:"topics,omitempty"`
}

// StateMessage is one message of a transcript, in either direction, with
// everything the emulator knows about it.
type StateMessage struct {
	MessageID       int64  `json:"message_id"`
	MessageThreadID int64  `json:"message_thread_id,omitempty"`
	FromBot         bool   `json:"from_bot,omitempty"`
	From            Sender `json:"from"`
	Date            int64  `json:"date"`
	EditDate        int64  `json:"edit_date,omitempty"`
	// SentAt is when the message joined the transcript; Draft the bot's
	// draft it replaced (absent in files written before drafts).
	SentAt time.Time        `json:"sent_at,omitzero"`
	Draft  *TranscriptDraft `json:"draft,omitempty"`
	// Text is the visible text, RawText the text as sent when parse_mode
	// changed it; likewise Caption and RawCaption.
	Text             string          `json:"text,omitempty"`
	RawText          string          `json:"raw_text,omitempty"`
	Caption          string          `json:"caption,omitempty"`
	RawCaption       string          `json:"raw_caption,omitempty"`
	ParseMode        string          `json:"parse_mode,omitempty"`
	Entities         json.RawMessage `json:"entities,omitempty"`
	CaptionEntities  json.RawMessage `json:"caption_entities,omitempty"`
	ReplyMarkup      json.RawMessage `json:"reply_markup,omitempty"`
	Document         *StateFileRef   `json:"document,omitempty"`
	Photo            *StateFileRef   `json:"photo,omitempty"`
	Contact          *Contact        `json:"contact,omitempty"`
	ReplyToMessageID int64           `json:"reply_to_message_id,omitempty"`
	ForwardOrigin    json.RawMessage `json:"forward_origin,omitempty"`
	Deleted          bool            `json:"deleted,omitempty"`
	// Raw is the whole Message object of an injected update, so fields the
	// emulator does not model survive.
	Raw map[string]json.RawMessage `json:"raw,omitempty"`
	// Extra are a user's voice note, audio or video note, a photo's sizes.
	Extra map[string]json.RawMessage `json:"extra,omitempty"`
}

// StateFileRef is what a message knows about its document or photo.
type StateFileRef struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id,omitempty"`
	FileName     string `json:"file_name,omitempty"`
	MimeType     string `json:"mime_type,omitempty"`
	FileSize     int64  `json:"file_size,omitempty"`
	Width        int    `json:"width,omitempty"`
	Height       int    `json:"height,omitempty"`
}

// StateFile is a stored file: its bytes, or the URL the bot sent it by.
type StateFile struct {
	StateFileRef
	FilePath string `json:"file_path,omitempty"`
	URL      string `json:"url,omitempty"`
	Data     []byte `json:"data,omitempty"`
}

// StateUpdate is a queued update, exactly as the bot will receive it.
type StateUpdate struct {
	UpdateID int64           `json:"update_id"`
	Kind     string          `json:"kind"`
	Update   json.RawMessage `json:"update"`
	// Redelivery marks a copy queued by Redeliver, whose update_id may be
	// below the bot's offset.
	Redelivery bool `json:"redelivery,omitempty"`
}

// StateWebhook is the bot's setWebhook.
type StateWebhook struct {
	URL            string `json:"url"`
	SecretToken    string `json:"secret_token,omitempty"`
	MaxConnections int    `json:"max_connections,omitempty"`
}

// Snapshot returns a consistent copy of the state (see State). It shares
// byte slices that the Server never modifies (file bytes, JSON fragments)
// instead of copying them, so treat the result as read-only.
func (s *Server) Snapshot() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snapshotLocked()
}

func (s *Server) snapshotLocked() State {
	st := State{
		Version:        StateVersion,
		NextUpdateID:   s.nextUpdateID,
		Users:          make([]User, 0, len(s.users)),
		Chats:          make([]StateChat, 0, len(s.chats)),
		AllowedUpdates: slices.Clone(s.allowedUpdates),
		CallbackSeq:    s.seq,
		MenuDefault:    s.menuDefault,
	}
	for _, u := range s.users {
		st.Users = append(st.Users, *u)
	}
	slices.SortFunc(st.Users, func(a, b User) int { return cmp.Compare(a.ID, b.ID) })
	for _, c := range s.chats {
		sc := StateChat{Chat: c.chat, NextMessageID: c.nextMessageID, Messages: make([]StateMessage, len(c.messages))}
		for i, m := range c.messages {
			sc.Messages[i] = m.state()
		}
		if len(c.topics) > 0 {
			sc.Topics = c.topicList()
		}
		st.Chats = append(st.Chats, sc)
	}
	slices.SortFunc(st.Chats, func(a, b StateChat) int { return cmp.Compare(a.Chat.ID, b.Chat.ID) })
	if len(s.orphanMsgIDs) > 0 {
		st.OrphanMessageIDs = make(map[int64]int64, len(s.orphanMsgIDs))
		for k, v := range s.orphanMsgIDs {
			st.OrphanMessageIDs[k] = v
		}
	}
	files := make([]*storedFile, 0, len(s.files))
	for _, f := range s.files {
		files = append(files, f)
	}
	kept := budgetFiles(files, stateFileBudget)
	st.FilesDropped = len(files) - len(kept)
	st.Files = make([]StateFile, len(kept))
	for i, f := range kept {
		st.Files[i] = StateFile{StateFileRef: f.ref.state(), FilePath: f.path, URL: f.url, Data: f.data}
	}
	for _, u := range s.pending {
		st.PendingUpdates = append(st.PendingUpdates, StateUpdate{UpdateID: u.id, Kind: u.kind, Update: u.body, Redelivery: u.redelivery})
	}
	for _, cb := range s.callbacks {
		st.Callbacks = append(st.Callbacks, *cb)
	}
	slices.SortFunc(st.Callbacks, func(a, b CallbackAnswer) int { return cmp.Compare(a.ID, b.ID) })
	for _, set := range s.commands {
		st.Commands = append(st.Commands, set)
	}
	slices.SortFunc(st.Commands, func(a, b CommandSet) int {
		return cmp.Compare(string(a.Scope)+"|"+a.LanguageCode, string(b.Scope)+"|"+b.LanguageCode)
	})
	if len(s.menuByChat) > 0 {
		st.MenuByChat = make(map[int64]json.RawMessage, len(s.menuByChat))
		for k, v := range s.menuByChat {
			st.MenuByChat[k] = v
		}
	}
	if s.webhook.url != "" {
		st.Webhook = &StateWebhook{URL: s.webhook.url, SecretToken: s.webhook.secret, MaxConnections: s.webhook.maxConnections}
	}
	return st
}

// budgetFiles returns the files to keep, oldest first: the newest ones
// whose bytes fit in budget together. Files sent by URL cost nothing.
func budgetFiles(files []*storedFile, budget int64) []*storedFile {
	slices.SortFunc(files, func(a, b *storedFile) int { return cmp.Compare(b.seq, a.seq) })
	kept := make([]*storedFile, 0, len(files))
	for _, f := range files {
		if n := int64(len(f.data)); n <= budget {
			budget -= n
			kept = append(kept, f)
		}
	}
	slices.Reverse(kept)
	return kept
}

func (m *message) state() StateMessage {
	sm := StateMessage{
		MessageID: m.id, MessageThreadID: m.threadID, FromBot: m.fromBot, From: m.from,
		Date: m.date, EditDate: m.editDate,
		Text: m.text, RawText: m.rawText, Caption: m.caption, RawCaption: m.rawCaption, ParseMode: m.parseMode,
		Entities: m.entities, CaptionEntities: m.captionEntities, ReplyMarkup: m.markup,
		ReplyToMessageID: m.replyTo, ForwardOrigin: m.forwardOrigin, Deleted: m.deleted,
		SentAt: m.at, Draft: m.replacedDraft,
	}
	if m.document != nil {
		ref := m.document.state()
		sm.Document = &ref
	}
	if m.photo != nil {
		ref := m.photo.state()
		sm.Photo = &ref
	}
	if m.contact != nil {
		c := *m.contact
		sm.Contact = &c
	}
	if m.raw != nil {
		sm.Raw = make(map[string]json.RawMessage, len(m.raw))
		for k, v := range m.raw {
			sm.Raw[k] = v
		}
	}
	if m.extra != nil {
		sm.Extra = make(map[string]json.RawMessage, len(m.extra))
		for k, v := range m.extra {
			sm.Extra[k] = v
		}
	}
	return sm
}

func (r fileRef) state() StateFileRef {
	return StateFileRef(r)
}

func (r StateFileRef) ref() *fileRef {
	return &fileRef{FileID: r.FileID, FileUniqueID: r.FileUniqueID, FileName: r.FileName, MimeType: r.MimeType, FileSize: r.FileSize, Width: r.Width, Height: r.Height}
}

// Restore replaces users, chats, files, pending updates, callback queries,
// commands, menu buttons and the webhook with st. It checks st first and
// changes nothing if st is invalid (the error wraps ErrInvalid). update_id
// never goes back: it continues from the larger of st's counter and the
// Server's, as after Reset. The calls log, statistics, faults and flood
// buckets are left as they are. Restore copies what it keeps from st.
func (s *Server) Restore(st State) error {
	return s.restore(st, true)
}

// restore builds the new state outside the lock and swaps it in. Without
// clone it takes ownership of st's byte slices (LoadFile's freshly decoded
// State has no other owner).
func (s *Server) restore(st State, clone bool) error {
	r, err := buildRestored(st, clone)
	if err != nil {
		return fmt.Errorf("telegram emulator: restore state: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users, s.chats, s.orphanMsgIDs = r.users, r.chats, r.orphanMsgIDs
	s.files, s.filesByPath = make(map[string]*storedFile, len(r.files)), make(map[string]*storedFile, len(r.files))
	for _, f := range r.files {
		s.addFileLocked(f)
	}
	s.nextUpdateID = max(s.nextUpdateID, r.nextUpdateID)
	s.pending, s.history, s.allowedUpdates = r.pending, nil, r.allowedUpdates
	s.callbacks, s.seq = r.callbacks, max(s.seq, r.seq)
	s.commands, s.menuDefault, s.menuByChat = r.commands, r.menuDefault, r.menuByChat
	s.setWebhookLocked(r.webhook)
	if r.webhook.url != "" {
		s.endPollLocked("Conflict: terminated by setWebhook request")
	}
	s.signalUpdatesLocked()
	s.signalChatsLocked()
	return nil
}

// restored is a State turned into the Server's own structures.
type restored struct {
	users          map[int64]*User
	chats          map[int64]*chatState
	orphanMsgIDs   map[int64]int64
	files          []*storedFile // oldest first
	nextUpdateID   int64
	pending        []*queuedUpdate
	allowedUpdates []string
	callbacks      map[string]*CallbackAnswer
	seq            int64
	commands       map[string]CommandSet
	menuDefault    json.RawMessage
	menuByChat     map[int64]json.RawMessage
	webhook        webhookState
}

// buildRestored checks st and converts it. Every JSON fragment is checked
// because the Server embeds them in its answers unparsed: one bad fragment
// would break every getUpdates or transcript that touches it.
func buildRestored(st State, clone bool) (*restored, error) {
	if st.Version != StateVersion {
		return nil, fmt.Errorf("state version %d, want %d: %w", st.Version, StateVersion, ErrInvalid)
	}
	raw := rawJSON{clone: clone}.check
	r := &restored{
		users:        make(map[int64]*User, len(st.Users)),
		chats:        make(map[int64]*chatState, len(st.Chats)),
		orphanMsgIDs: make(map[int64]int64, len(st.OrphanMessageIDs)),
		nextUpdateID: st.NextUpdateID,
		callbacks:    make(map[string]*CallbackAnswer, len(st.Callbacks)),
		seq:          st.CallbackSeq,
		commands:     make(map[string]CommandSet, len(st.Commands)),
		menuByChat:   make(map[int64]json.RawMessage, len(st.MenuByChat)),
	}
	for _, step := range []func() error{
		func() error { return r.restoreUsers(st.Users) },
		func() error { return r.restoreChats(st.Chats, raw) },
		func() error { return r.restoreFiles(st.Files, clone) },
		func() error { return r.restorePending(st.PendingUpdates, raw) },
		func() error { return r.restoreCallbacks(st.Callbacks) },
		func() error { return r.restoreCommands(st.Commands, raw) },
		func() error { return r.restoreMenus(st.MenuDefault, st.MenuByChat, raw) },
	} {
		if err := step(); err != nil {
			return nil, err
		}
	}
	for _, u := range r.users {
		// A user without a private chat would break every send to them.
		if r.chats[u.ID] == nil {
			r.chats[u.ID] = newChatState(u.privateChat())
		}
	}
	for k, v := range st.OrphanMessageIDs {
		r.orphanMsgIDs[k] = v
	}
	r.allowedUpdates = slices.Clone(st.AllowedUpdates)
	if w := st.Webhook; w != nil && w.URL != "" {
		r.webhook = webhookState{url: w.URL, secret: w.SecretToken, maxConnections: w.MaxConnections}
	}
	return r, nil
}

// rawJSON checks a JSON fragment of a State: empty and null become nil,
// anything else must be valid JSON and is copied when clone is set (the
// State's bytes stay the caller's).
type rawJSON struct{ clone bool }

// rawCheck is rawJSON.check, as the restore steps take it.
type rawCheck = func(what string, b json.RawMessage) (json.RawMessage, error)

func (c rawJSON) check(what string, b json.RawMessage) (json.RawMessage, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		return nil, nil
	}
	if !json.Valid(b) {
		return nil, fmt.Errorf("%s is not valid JSON: %w", what, ErrInvalid)
	}
	if c.clone {
		return bytes.Clone(b), nil
	}
	return b, nil
}

func (r *restored) restoreUsers(users []User) error {
	for _, u := range users {
		if u.ID <= 0 {
			return fmt.Errorf("user id must be positive, got %d: %w", u.ID, ErrInvalid)
		}
		if r.users[u.ID] != nil {
			return fmt.Errorf("user %d twice: %w", u.ID, ErrInvalid)
		}
		r.users[u.ID] = &u
	}
	return nil
}

func (r *restored) restoreChats(chats []StateChat, raw rawCheck) error {
	for _, sc := range chats {
		id := sc.Chat.ID
		switch {
		case id == 0:
			return fmt.Errorf("chat id 0: %w", ErrInvalid)
		case r.chats[id] != nil:
			return fmt.Errorf("chat %d twice: %w", id, ErrInvalid)
		case sc.Chat.Type == "private" && id < 0, sc.Chat.Type != "private" && sc.Chat.Type != "group" && sc.Chat.Type != "supergroup":
			return fmt.Errorf("chat %d: type %q: %w", id, sc.Chat.Type, ErrInvalid)
		}
		c := newChatState(sc.Chat)
		c.nextMessageID = sc.NextMessageID
		c.messages = make([]*message, 0, len(sc.Messages))
		for _, sm := range sc.Messages {
			m, err := restoreMessage(sm, raw)
			if err != nil {
				return fmt.Errorf("chat %d: message %d: %w", id, sm.MessageID, err)
			}
			if c.byID[m.id] != nil {
				return fmt.Errorf("chat %d: message %d twice: %w", id, m.id, ErrInvalid)
			}
			c.byID[m.id] = m
			c.messages = append(c.messages, m)
			c.nextMessageID = max(c.nextMessageID, m.id)
		}
		slices.SortFunc(c.messages, func(a, b *message) int { return cmp.Compare(a.id, b.id) })
		for _, t := range sc.Topics {
			// A group whose topics were turned off keeps them, as Telegram does.
			if t.MessageThreadID <= generalTopicID || c.topics[t.MessageThreadID] != nil || sc.Chat.Type == "private" {
				return fmt.Errorf("chat %d: topic %d: in a private chat, General, or twice: %w", id, t.MessageThreadID, ErrInvalid)
			}
			c.topics[t.MessageThreadID] = &t
		}
		r.chats[id] = c
	}
	return nil
}

func (r *restored) restoreFiles(files []StateFile, clone bool) error {
	seen := make(map[string]bool, len(files))
	for i, sf := range files {
		if sf.FileID == "" || seen[sf.FileID] {
			return fmt.Errorf("file %d: empty or repeated file_id %q: %w", i, sf.FileID, ErrInvalid)
		}
		seen[sf.FileID] = true
		f := &storedFile{ref: *sf.ref(), path: sf.FilePath, url: sf.URL, data: sf.Data}
		switch {
		case f.url != "":
			f.data = nil
		case clone || f.data == nil:
			// JSON drops an empty file's bytes; nil data would mean "sent by URL".
			f.data = append([]byte{}, f.data...)
		}
		r.files = append(r.files, f)
	}
	return nil
}

func (r *restored) restorePending(updates []StateUpdate, raw rawCheck) error {
	for _, su := range updates {
		u, err := restoreUpdate(su, raw)
		if err != nil {
			return fmt.Errorf("pending update %d: %w", su.UpdateID, err)
		}
		if n := len(r.pending); n > 0 && r.pending[n-1].id > u.id {
			return fmt.Errorf("pending update %d after %d: updates must be in update_id order: %w", u.id, r.pending[n-1].id, ErrInvalid)
		}
		r.pending = append(r.pending, u)
		r.nextUpdateID = max(r.nextUpdateID, u.id)
	}
	return nil
}

func (r *restored) restoreCallbacks(callbacks []CallbackAnswer) error {
	for _, cb := range callbacks {
		if cb.ID == "" || r.callbacks[cb.ID] != nil {
			return fmt.Errorf("empty or repeated callback query id %q: %w", cb.ID, ErrInvalid)
		}
		r.callbacks[cb.ID] = &cb
	}
	return nil
}

func (r *restored) restoreCommands(sets []CommandSet, raw rawCheck) error {
	for _, set := range sets {
		scope, err := raw("command scope", set.Scope)
		if err != nil {
			return err
		}
		commands, err := raw("commands", set.Commands)
		if err != nil {
			return err
		}
		if scope == nil {
			scope = json.RawMessage(`{"type":"default"}`)
		}
		scope = compactJSON(string(scope))
		r.commands[string(scope)+"|"+set.LanguageCode] = CommandSet{Scope: scope, LanguageCode: set.LanguageCode, Commands: commands}
	}
	return nil
}

func (r *restored) restoreMenus(menuDefault json.RawMessage, byChat map[int64]json.RawMessage, raw rawCheck) error {
	var err error
	if r.menuDefault, err = raw("default menu button", menuDefault); err != nil {
		return err
	}
	for id, b := range byChat {
		if r.menuByChat[id], err = raw(fmt.Sprintf("menu button of chat %d", id), b); err != nil {
			return err
		}
		if r.menuByChat[id] == nil {
			delete(r.menuByChat, id)
		}
	}
	return nil
}

func restoreMessage(sm StateMessage, raw rawCheck) (*message, error) {
	if sm.MessageID <= 0 {
		return nil, fmt.Errorf("message id must be positive: %w", ErrInvalid)
	}
	m := &message{
		id: sm.MessageID, threadID: sm.MessageThreadID, fromBot: sm.FromBot, from: sm.From,
		date: sm.Date, editDate: sm.EditDate,
		text: sm.Text, rawText: sm.RawText, caption: sm.Caption, rawCaption: sm.RawCaption, parseMode: sm.ParseMode,
		replyTo: sm.ReplyToMessageID, deleted: sm.Deleted, at: sm.SentAt, replacedDraft: sm.Draft,
	}
	var err error
	for _, f := range []struct {
		name string
		dst  *json.RawMessage
		src  json.RawMessage
	}{
		{"entities", &m.entities, sm.Entities},
		{"caption_entities", &m.captionEntities, sm.CaptionEntities},
		{"reply_markup", &m.markup, sm.ReplyMarkup},
		{"forward_origin", &m.forwardOrigin, sm.ForwardOrigin},
	} {
		if *f.dst, err = raw(f.name, f.src); err != nil {
			return nil, err
		}
	}
	if sm.Document != nil {
		m.document = sm.Document.ref()
	}
	if sm.Photo != nil {
		m.photo = sm.Photo.ref()
	}
	if sm.Contact != nil {
		c := *sm.Contact
		m.contact = &c
	}
	if sm.Raw != nil {
		m.raw = make(map[string]json.RawMessage, len(sm.Raw))
		for k, v := range sm.Raw {
			b, err := raw("raw."+k, v)
			if err != nil {
				return nil, err
			}
			if b == nil {
				b = json.RawMessage("null")
			}
			m.raw[k] = b
		}
	}
	for k, v := range sm.Extra {
		b, err := raw("extra."+k, v)
		if err != nil {
			return nil, err
		}
		if b != nil {
			if m.extra == nil {
				m.extra = make(map[string]json.RawMessage, len(sm.Extra))
			}
			m.extra[k] = b
		}
	}
	return m, nil
}

func restoreUpdate(su StateUpdate, raw rawCheck) (*queuedUpdate, error) {
	body, err := raw("update", su.Update)
	if err != nil {
		return nil, err
	}
	var probe map[string]json.RawMessage
	if body == nil || json.Unmarshal(body, &probe) != nil {
		return nil, fmt.Errorf("update is not a JSON object: %w", ErrInvalid)
	}
	var id int64
	if json.Unmarshal(probe["update_id"], &id) != nil || id != su.UpdateID || id <= 0 {
		return nil, fmt.Errorf("update_id in the update does not match %d: %w", su.UpdateID, ErrInvalid)
	}
	if _, ok := probe[su.Kind]; !ok || su.Kind == "update_id" {
		return nil, fmt.Errorf("kind %q is not a field of the update: %w", su.Kind, ErrInvalid)
	}
	return &queuedUpdate{id: id, kind: su.Kind, body: body, redelivery: su.Redelivery}, nil
}
