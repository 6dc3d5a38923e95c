package telegram

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Forum supergroups. A group put with is_forum keeps its messages in
// topics: createForumTopic posts a forum_topic_created service message whose
// message_id becomes the topic's message_thread_id (1 is the General topic,
// which is no topic a bot may name). Messages in a topic carry
// message_thread_id and is_topic_message, and, when they reply to nothing,
// the topic's creation message as reply_to_message, as Telegram sends them.
// A reply with no message_thread_id lands in the replied-to message's
// topic.
//
// Telegram's answers (Bot API 400 "Bad Request: …"):
//   - a forum method on a chat without topics: "the chat is not a forum";
//   - an empty name: "TOPIC_TITLE_EMPTY"; a name over 128 characters:
//     "TOPIC_TITLE_TOO_LONG" (Telegram's limit is 1–128);
//   - a missing, deleted or General topic given to edit, close, reopen or
//     delete: "TOPIC_ID_INVALID"; closing a closed or reopening an open
//     topic, or an edit that changes nothing: "TOPIC_NOT_MODIFIED";
//   - a send into a missing or deleted topic (or thread 1): "message thread
//     not found"; into a closed topic: "TOPIC_CLOSED" — the emulated bot has
//     no right to write in a closed topic, as a member without the right to
//     manage topics (the strictest case; a person writes there through the
//     control API, as an admin would).
//
// Topics exist only in forums: in other groups message_thread_id is stored
// as given, unchecked (reply threads are not modelled).

// ForumTopic is a topic of a forum supergroup, as the control API shows it
// and as it is persisted.
type ForumTopic struct {
	MessageThreadID   int64  `json:"message_thread_id"`
	Name              string `json:"name"`
	IconColor         int    `json:"icon_color"`
	IconCustomEmojiID string `json:"icon_custom_emoji_id,omitempty"`
	Closed            bool   `json:"closed,omitempty"`
	Deleted           bool   `json:"deleted,omitempty"`
}

// topicIconColors are the colours Telegram allows for a topic icon; a topic
// created without one gets the next of them.
var topicIconColors = []int{0x6FB9F0, 0xFFD67E, 0xCB86DB, 0x8EEE98, 0xFF93B2, 0xFB6F5F}

// maxTopicNameLen is Telegram's limit on a topic name.
const maxTopicNameLen = 128

// generalTopicID is the General topic of every forum.
const generalTopicID = 1

// TopicAction is a person's doing to a topic through the control API.
type TopicAction struct {
	ChatID          int64 `json:"chat_id"`
	MessageThreadID int64 `json:"message_thread_id"`
	// UserID is who does it (the service message's sender); it may be 0
	// for delete, which posts no message.
	UserID int64 `json:"user_id"`
	// Action is close, reopen or delete.
	Action string `json:"action"`
}

// wireChatFullInfo is getChat's ChatFullInfo: the Chat and the fields
// Telegram always sends.
type wireChatFullInfo struct {
	Chat
	AccentColorID    int `json:"accent_color_id"`
	MaxReactionCount int `json:"max_reaction_count"`
}

type wireForumTopic struct {
	MessageThreadID   int64  `json:"message_thread_id"`
	Name              string `json:"name"`
	IconColor         int    `json:"icon_color"`
	IconCustomEmojiID string `json:"icon_custom_emoji_id,omitempty"`
}

func init() {
	for _, m := range []methodSpec{
		{name: "getChat", fn: (*Server).getChat},
		{name: "createForumTopic", fn: (*Server).createForumTopic},
		{name: "editForumTopic", fn: (*Server).editForumTopic},
		{name: "closeForumTopic", fn: (*Server).closeForumTopic},
		{name: "reopenForumTopic", fn: (*Server).reopenForumTopic},
		{name: "deleteForumTopic", fn: (*Server).deleteForumTopic},
	} {
		botMethods[strings.ToLower(m.name)] = m
	}
}

func (s *Server) getChat(_ context.Context, p *params) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, aerr := s.chatParamLocked(p, "chat_id")
	if aerr != nil {
		return nil, aerr
	}
	return wireChatFullInfo{Chat: c.chat, MaxReactionCount: 11}, nil
}

// forumLocked resolves chat_id to a forum supergroup.
func (s *Server) forumLocked(p *params) (*chatState, *apiError) {
	c, aerr := s.chatParamLocked(p, "chat_id")
	if aerr != nil {
		return nil, aerr
	}
	if !c.chat.IsForum {
		return nil, badRequest("the chat is not a forum")
	}
	return c, nil
}

// topicParamLocked resolves message_thread_id to a live topic of c.
// forumTopicLocked finds the forum of chat_id and its topic
// message_thread_id, with Telegram's errors for either.
func (s *Server) forumTopicLocked(p *params) (*chatState, *ForumTopic, *apiError) {
	c, aerr := s.forumLocked(p)
	if aerr != nil {
		return nil, nil, aerr
	}
	t, aerr := topicParamLocked(c, p)
	return c, t, aerr
}

func topicParamLocked(c *chatState, p *params) (*ForumTopic, *apiError) {
	id, err := p.int64("message_thread_id")
	if err != nil {
		return nil, badRequest("TOPIC_ID_INVALID")
	}
	t := c.topics[id]
	if t == nil || t.Deleted {
		return nil, badRequest("TOPIC_ID_INVALID")
	}
	return t, nil
}

func checkTopicName(name string) *apiError {
	switch n := utf16Len(name); {
	case strings.TrimSpace(name) == "":
		return badRequest("TOPIC_TITLE_EMPTY")
	case n > maxTopicNameLen:
		return badRequest("TOPIC_TITLE_TOO_LONG")
	}
	return nil
}

func (s *Server) createForumTopic(_ context.Context, p *params) (any, *apiError) {
	name := p.str("name")
	if aerr := checkTopicName(name); aerr != nil {
		return nil, aerr
	}
	color, err := p.int64("icon_color")
	if err != nil {
		return nil, badRequest(err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, aerr := s.forumLocked(p)
	if aerr != nil {
		return nil, aerr
	}
	// Message 1 is the General topic's: created topics come after it.
	c.nextMessageID = max(c.nextMessageID, generalTopicID)
	t := &ForumTopic{MessageThreadID: c.nextMessageID + 1, Name: name, IconColor: int(color), IconCustomEmojiID: p.str("icon_custom_emoji_id")}
	if t.IconColor == 0 {
		t.IconColor = topicIconColors[len(c.topics)%len(topicIconColors)]
	}
	c.topics[t.MessageThreadID] = t
	created := map[string]any{"name": t.Name, "icon_color": t.IconColor}
	if t.IconCustomEmojiID != "" {
		created["icon_custom_emoji_id"] = t.IconCustomEmojiID
	}
	s.serviceMessageLocked(c, t.MessageThreadID, s.bot, "forum_topic_created", created)
	return wireForumTopic{MessageThreadID: t.MessageThreadID, Name: t.Name, IconColor: t.IconColor, IconCustomEmojiID: t.IconCustomEmojiID}, nil
}

func (s *Server) editForumTopic(_ context.Context, p *params) (any, *apiError) {
	name := p.str("name")
	if name != "" {
		if aerr := checkTopicName(name); aerr != nil {
			return nil, aerr
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, t, aerr := s.forumTopicLocked(p)
	if aerr != nil {
		return nil, aerr
	}
	edited := map[string]any{}
	if name != "" && name != t.Name {
		t.Name = name
		edited["name"] = name
	}
	if p.has("icon_custom_emoji_id") && p.str("icon_custom_emoji_id") != t.IconCustomEmojiID {
		t.IconCustomEmojiID = p.str("icon_custom_emoji_id")
		edited["icon_custom_emoji_id"] = t.IconCustomEmojiID
	}
	if len(edited) == 0 {
		return nil, badRequest("TOPIC_NOT_MODIFIED")
	}
	s.serviceMessageLocked(c, t.MessageThreadID, s.bot, "forum_topic_edited", edited)
	return true, nil
}

func (s *Server) closeForumTopic(_ context.Context, p *params) (any, *apiError) {
	return s.setTopicClosed(p, true)
}

func (s *Server) reopenForumTopic(_ context.Context, p *params) (any, *apiError) {
	return s.setTopicClosed(p, false)
}

func (s *Server) setTopicClosed(p *params, closed bool) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, t, aerr := s.forumTopicLocked(p)
	if aerr != nil {
		return nil, aerr
	}
	if t.Closed == closed {
		return nil, badRequest("TOPIC_NOT_MODIFIED")
	}
	t.Closed = closed
	s.serviceMessageLocked(c, t.MessageThreadID, s.bot, closedEvent(closed), map[string]any{})
	return true, nil
}

func closedEvent(closed bool) string {
	if closed {
		return "forum_topic_closed"
	}
	return "forum_topic_reopened"
}

func (s *Server) deleteForumTopic(_ context.Context, p *params) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, t, aerr := s.forumTopicLocked(p)
	if aerr != nil {
		return nil, aerr
	}
	s.deleteTopicLocked(c, t)
	return true, nil
}

// deleteTopicLocked deletes a topic with all its messages.
func (s *Server) deleteTopicLocked(c *chatState, t *ForumTopic) {
	t.Deleted = true
	for _, m := range c.messages {
		if m.threadID == t.MessageThreadID {
			m.deleted = true
		}
	}
	s.signalChatsLocked()
}

// serviceMessageLocked posts a topic service message (forum_topic_created,
// …) from from into topic thread of c and returns it.
func (s *Server) serviceMessageLocked(c *chatState, thread int64, from Sender, event string, payload map[string]any) *message {
	m := &message{fromBot: from.ID == s.bot.ID, from: from, date: time.Now().Unix(), threadID: thread}
	if event == "forum_topic_created" {
		m.id = thread
	} else {
		m.id = c.nextMessageID + 1
	}
	m.raw = map[string]json.RawMessage{
		"message_id": mustJSON(m.id), "message_thread_id": mustJSON(thread), "from": mustJSON(from),
		"date": mustJSON(m.date), "chat": mustJSON(c.chat), "is_topic_message": mustJSON(true),
		event: mustJSON(payload),
	}
	if event != "forum_topic_created" {
		if root := c.byID[thread]; root != nil {
			m.raw["reply_to_message"] = root.wire(c, false)
		}
	}
	s.appendLocked(c, m)
	return m
}

// sendThreadLocked is the topic a bot message in c goes to: thread as
// given, or the replied-to message's topic when thread is 0. In a forum a
// topic must exist (else "message thread not found") and be open (else
// "TOPIC_CLOSED").
func (s *Server) sendThreadLocked(c *chatState, thread, replyTo int64) (int64, *apiError) {
	if !c.chat.IsForum {
		return thread, nil
	}
	if thread == 0 {
		if r := c.byID[replyTo]; replyTo != 0 && r != nil && r.threadID != 0 {
			thread = r.threadID
		} else {
			return 0, nil
		}
	}
	t := c.topics[thread]
	switch {
	case t == nil || t.Deleted:
		return 0, badRequest("message thread not found")
	case t.Closed:
		return 0, badRequest("TOPIC_CLOSED")
	}
	return thread, nil
}

// inTopic reports whether m is a message in a topic of a forum.
func (c *chatState) inTopic(m *message) bool {
	return c.chat.IsForum && m.threadID > generalTopicID && c.topics[m.threadID] != nil
}

// personThreadLocked is the topic a person's group message goes to (a
// person may write in a closed topic, as an admin may).
func personThreadLocked(c *chatState, g GroupMessage) (int64, error) {
	if !c.chat.IsForum {
		return g.MessageThreadID, nil
	}
	thread := g.MessageThreadID
	if thread == 0 && g.ReplyToMessageID != 0 {
		if r := c.byID[g.ReplyToMessageID]; r != nil {
			thread = r.threadID
		}
	}
	if thread == 0 {
		return 0, nil
	}
	if t := c.topics[thread]; t == nil || t.Deleted {
		return 0, fmt.Errorf("telegram emulator: topic %d of chat %d: %w", thread, c.chat.ID, ErrNotFound)
	}
	return thread, nil
}

// Topics lists the topics of a forum (deleted ones included and marked),
// in message_thread_id order.
func (s *Server) Topics(chatID int64) ([]ForumTopic, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chats[chatID]
	if c == nil || c.chat.Type == "private" {
		return nil, fmt.Errorf("telegram emulator: group %d: %w", chatID, ErrNotFound)
	}
	return c.topicList(), nil
}

func (c *chatState) topicList() []ForumTopic {
	out := make([]ForumTopic, 0, len(c.topics))
	for _, t := range c.topics {
		out = append(out, *t)
	}
	slices.SortFunc(out, func(a, b ForumTopic) int { return cmp.Compare(a.MessageThreadID, b.MessageThreadID) })
	return out
}

// ActOnTopic is a person closing, reopening or deleting a topic by hand.
// Closing and reopening post the service message Telegram posts, from that
// person, and queue it as a message update for the bot; deleting removes
// the topic and its messages and tells the bot nothing, as in Telegram.
func (s *Server) ActOnTopic(a TopicAction) (Sent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chats[a.ChatID]
	if c == nil || !c.chat.IsForum {
		return Sent{}, fmt.Errorf("telegram emulator: forum %d: %w", a.ChatID, ErrNotFound)
	}
	t := c.topics[a.MessageThreadID]
	if t == nil || t.Deleted {
		return Sent{}, fmt.Errorf("telegram emulator: topic %d of chat %d: %w", a.MessageThreadID, a.ChatID, ErrNotFound)
	}
	if a.Action == "delete" {
		s.deleteTopicLocked(c, t)
		return Sent{}, nil
	}
	if a.Action != "close" && a.Action != "reopen" {
		return Sent{}, fmt.Errorf("telegram emulator: topic action %q (close, reopen or delete): %w", a.Action, ErrInvalid)
	}
	u, err := s.userLocked(a.UserID)
	if err != nil {
		return Sent{}, err
	}
	closed := a.Action == "close"
	if t.Closed == closed {
		return Sent{}, fmt.Errorf("telegram emulator: topic %d is already %sd (TOPIC_NOT_MODIFIED): %w", t.MessageThreadID, a.Action, ErrInvalid)
	}
	t.Closed = closed
	m := s.serviceMessageLocked(c, t.MessageThreadID, u.sender(), closedEvent(closed), map[string]any{})
	return Sent{UpdateID: s.enqueueLocked("message", m.wire(c, true)), MessageID: m.id}, nil
}

// TopicTranscript is the transcript of one topic of a forum: its messages
// (the creation service message first) with message_id > after.
func (s *Server) TopicTranscript(chatID, thread, after int64) (Transcript, error) {
	t, err := s.Transcript(chatID, after)
	if err != nil {
		return t, err
	}
	msgs := t.Messages[:0]
	for _, m := range t.Messages {
		if m.MessageThreadID == thread {
			msgs = append(msgs, m)
		}
	}
	t.Messages = msgs
	return t, nil
}

func (s *Server) handleTopics(w http.ResponseWriter, r *http.Request) {
	chatID, err := strconv.ParseInt(r.PathValue("chat_id"), 10, 64)
	if err != nil {
		writeControlError(w, fmt.Errorf("chat id %q: %w", r.PathValue("chat_id"), ErrInvalid))
		return
	}
	topics, err := s.Topics(chatID)
	reply(w, topics, err)
}

func (s *Server) handleTopicAction(w http.ResponseWriter, r *http.Request) {
	var req TopicAction
	if err := decodeBody(r, &req); err != nil {
		writeControlError(w, err)
		return
	}
	sent, err := s.ActOnTopic(req)
	reply(w, sent, err)
}
