package telegram

import (
	"cmp"
	"encoding/json"
	"slices"
	"time"
)

// historyLimit bounds the confirmed updates kept for redelivery.
const historyLimit = 10000

// chatActionTTL is how long Telegram shows a chat action.
const chatActionTTL = 5 * time.Second

type chatState struct {
	chat          Chat
	nextMessageID int64
	messages      []*message // in message_id order
	byID          map[int64]*message
	draft         *draftState // the bot's draft being streamed (draft.go)
	action        string
	actionUntil   time.Time
	topics        map[int64]*ForumTopic // a forum's topics by message_thread_id (forum.go)
}

func newChatState(c Chat) *chatState {
	return &chatState{chat: c, byID: make(map[int64]*message), topics: make(map[int64]*ForumTopic)}
}

func (c *chatState) add(m *message) {
	if m.id == 0 {
		c.nextMessageID++
		m.id = c.nextMessageID
	} else if m.id > c.nextMessageID {
		c.nextMessageID = m.id
	}
	if old := c.byID[m.id]; old != nil {
		// An injected update may reuse an id; the newer content wins.
		c.messages[slices.Index(c.messages, old)] = m
	} else {
		i, _ := slices.BinarySearchFunc(c.messages, m.id, func(x *message, id int64) int { return cmp.Compare(x.id, id) })
		c.messages = slices.Insert(c.messages, i, m)
	}
	c.byID[m.id] = m
}

// live returns the message with id unless it does not exist or was deleted.
func (c *chatState) live(id int64) *message {
	m := c.byID[id]
	if m == nil || m.deleted {
		return nil
	}
	return m
}

// message is one message of a chat transcript, from a user or the bot.
type message struct {
	id              int64
	threadID        int64
	fromBot         bool
	from            Sender
	date            int64
	editDate        int64
	text            string // visible text, after entity parsing
	rawText         string // as sent, when parse_mode changed it
	caption         string
	rawCaption      string
	parseMode       string
	entities        json.RawMessage
	captionEntities json.RawMessage
	markup          json.RawMessage // compact JSON of any keyboard kind
	document        *fileRef
	photo           *fileRef
	contact         *Contact
	replyTo         int64
	forwardOrigin   json.RawMessage
	deleted         bool
	at              time.Time        // when it joined the transcript
	replacedDraft   *TranscriptDraft // the bot's draft it took the place of (draft.go)
	// raw is the Message object of an injected update, kept whole so that
	// fields the emulator does not model (stickers, locations, …) survive.
	raw map[string]json.RawMessage
	// extra are Message fields beside the modelled ones: a voice note,
	// audio or video note, a photo's sizes (media.go).
	extra map[string]json.RawMessage
}

// fileRef is what a message knows about its file; the bytes, if the
// emulator has them, live in Server.files under the same file_id.
type fileRef struct {
	FileID       string
	FileUniqueID string
	FileName     string
	MimeType     string
	FileSize     int64
	Width        int
	Height       int
}

// kind names the content of a message for the transcript.
func (m *message) kind() string {
	switch {
	case m.contact != nil:
		return "contact"
	case m.document != nil:
		return "document"
	case m.photo != nil:
		return "photo"
	case m.text != "":
		return "text"
	}
	for _, k := range []string{"sticker", "voice", "audio", "video", "video_note", "animation", "location", "venue", "poll", "dice", "web_app_data",
		"forum_topic_created", "forum_topic_edited", "forum_topic_closed", "forum_topic_reopened"} {
		if _, ok := m.raw[k]; ok {
			return k
		}
		if _, ok := m.extra[k]; ok {
			return k
		}
	}
	if m.raw != nil {
		return "other"
	}
	return "text"
}

func (m *message) hasInlineKeyboard() bool {
	var probe struct {
		InlineKeyboard json.RawMessage `json:"inline_keyboard"`
	}
	return len(m.markup) > 0 && json.Unmarshal(m.markup, &probe) == nil && len(probe.InlineKeyboard) > 0
}

// wire renders the message as a Bot API Message object. The replied-to
// message is embedded one level deep, as Telegram does.
func (m *message) wire(c *chatState, withReply bool) json.RawMessage {
	var reply json.RawMessage
	if withReply && m.replyTo != 0 {
		if r := c.byID[m.replyTo]; r != nil {
			reply = r.wire(c, false)
		}
	}
	if m.raw != nil {
		fields := make(map[string]json.RawMessage, len(m.raw)+2)
		for k, v := range m.raw {
			fields[k] = v
		}
		if m.text != "" {
			fields["text"] = mustJSON(m.text)
		}
		if m.editDate != 0 {
			fields["edit_date"] = mustJSON(m.editDate)
		}
		if len(m.entities) > 0 {
			fields["entities"] = m.entities
		} else {
			delete(fields, "entities")
		}
		if reply != nil {
			fields["reply_to_message"] = reply
		} else if !withReply {
			delete(fields, "reply_to_message")
		}
		return mustJSON(fields)
	}
	if reply == nil && withReply && c.inTopic(m) {
		// A message in a topic that replies to nothing carries the topic's
		// creation message, as Telegram sends it.
		if root := c.byID[m.threadID]; root != nil && root != m {
			reply = root.wire(c, false)
		}
	}
	from := m.from
	w := wireMessage{
		MessageID:       m.id,
		MessageThreadID: m.threadID,
		From:            &from,
		Date:            m.date,
		Chat:            c.chat,
		ForwardOrigin:   m.forwardOrigin,
		ReplyToMessage:  reply,
		EditDate:        m.editDate,
		Text:            m.text,
		Entities:        m.entities,
		Caption:         m.caption,
		CaptionEntities: m.captionEntities,
		Contact:         m.contact,
		IsTopicMessage:  c.inTopic(m),
	}
	if m.hasInlineKeyboard() {
		// Telegram echoes only inline keyboards; reply keyboards belong to the chat.
		w.ReplyMarkup = m.markup
	}
	if d := m.document; d != nil {
		w.Document = &wireDocument{FileID: d.FileID, FileUniqueID: d.FileUniqueID, FileName: d.FileName, MimeType: d.MimeType, FileSize: d.FileSize}
	}
	if p := m.photo; p != nil {
		w.Photo = []wirePhotoSize{{FileID: p.FileID, FileUniqueID: p.FileUniqueID, Width: p.Width, Height: p.Height, FileSize: p.FileSize}}
	}
	return withExtra(mustJSON(w), m.extra) // media.go
}

// queuedUpdate is an update waiting for confirmation, or a confirmed one
// kept for redelivery.
type queuedUpdate struct {
	id   int64
	kind string // message, edited_message, callback_query, …
	body []byte // the whole Update object
	// redelivery marks a copy queued again by /_emulator/redeliver. Its id
	// is below the bot's offset, so it is confirmed only after it has been
	// handed out once, or the offset rule would drop it unseen.
	redelivery bool
	handedOut  bool
}

// enqueueLocked assigns the next update_id to an update whose single field
// kind holds payload, and queues it.
func (s *Server) enqueueLocked(kind string, payload any) int64 {
	s.nextUpdateID++
	id := s.nextUpdateID
	body := mustJSON(map[string]any{"update_id": id, kind: payload})
	s.pending = append(s.pending, &queuedUpdate{id: id, kind: kind, body: body})
	s.signalUpdatesLocked()
	return id
}

// confirmLocked applies getUpdates' offset: updates below it are confirmed.
// A negative offset keeps only the last -offset updates.
func (s *Server) confirmLocked(offset int64) {
	switch {
	case offset == 0:
		return
	case offset < 0:
		keep := int(min(-offset, int64(len(s.pending))))
		for _, u := range s.pending[:len(s.pending)-keep] {
			s.archiveLocked(u)
		}
		s.pending = slices.Clone(s.pending[len(s.pending)-keep:])
		return
	}
	kept := s.pending[:0]
	for _, u := range s.pending {
		if u.id < offset && (!u.redelivery || u.handedOut) {
			s.archiveLocked(u)
			continue
		}
		kept = append(kept, u)
	}
	clear(s.pending[len(kept):])
	s.pending = kept
}

// dropPendingLocked confirms every pending update (drop_pending_updates).
func (s *Server) dropPendingLocked() {
	for _, u := range s.pending {
		s.archiveLocked(u)
	}
	s.pending = nil
}

// confirmOneLocked confirms a single update delivered by webhook.
func (s *Server) confirmOneLocked(u *queuedUpdate) {
	if i := slices.Index(s.pending, u); i >= 0 {
		s.pending = slices.Delete(s.pending, i, i+1)
		s.archiveLocked(u)
	}
}

func (s *Server) archiveLocked(u *queuedUpdate) {
	s.markDirtyLocked() // it leaves the pending queue
	if u.redelivery {
		return // the original is already in the history
	}
	s.history = append(s.history, u)
	if len(s.history) >= 2*historyLimit {
		s.history = slices.Clone(s.history[len(s.history)-historyLimit:])
	}
}

// deliverableLocked drops pending updates of kinds the bot did not ask for
// and returns up to limit of the rest, marking them handed out.
func (s *Server) deliverableLocked(limit int) []*queuedUpdate {
	kept := s.pending[:0]
	for _, u := range s.pending {
		if !s.allowedLocked(u.kind) {
			s.archiveLocked(u)
			continue
		}
		kept = append(kept, u)
	}
	clear(s.pending[len(kept):])
	s.pending = kept
	out := s.pending[:min(limit, len(s.pending))]
	for _, u := range out {
		u.handedOut = true
	}
	return slices.Clone(out)
}

// defaultExcludedUpdates are the kinds Telegram withholds unless allowed_updates names them.
var defaultExcludedUpdates = map[string]bool{"chat_member": true, "message_reaction": true, "message_reaction_count": true}

func (s *Server) allowedLocked(kind string) bool {
	if len(s.allowedUpdates) == 0 {
		return !defaultExcludedUpdates[kind]
	}
	return slices.Contains(s.allowedUpdates, kind)
}

// redeliverLocked queues again every confirmed update with id >= from that
// is not pending, keeping pending in update_id order.
func (s *Server) redeliverLocked(from int64) int {
	pendingIDs := make(map[int64]bool, len(s.pending))
	for _, u := range s.pending {
		pendingIDs[u.id] = true
	}
	n := 0
	for _, u := range s.history {
		if u.id < from || pendingIDs[u.id] {
			continue
		}
		s.pending = append(s.pending, &queuedUpdate{id: u.id, kind: u.kind, body: u.body, redelivery: true})
		n++
	}
	if n > 0 {
		slices.SortStableFunc(s.pending, func(a, b *queuedUpdate) int { return cmp.Compare(a.id, b.id) })
		s.signalUpdatesLocked()
	}
	return n
}

func (s *Server) signalUpdatesLocked() {
	s.markDirtyLocked()
	close(s.updatesSignal)
	s.updatesSignal = make(chan struct{})
}

func (s *Server) signalChatsLocked() {
	s.markDirtyLocked()
	close(s.chatsSignal)
	s.chatsSignal = make(chan struct{})
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		// Only values built by this package are marshalled; failure is a bug.
		panic("telegram emulator: marshal: " + err.Error())
	}
	return b
}
