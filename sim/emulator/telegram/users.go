package telegram

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// User is a simulated Telegram user. Its private chat with the bot has the
// same id.
type User struct {
	ID           int64  `json:"id"`
	FirstName    string `json:"first_name"`
	LastName     string `json:"last_name,omitempty"`
	Username     string `json:"username,omitempty"`
	Phone        string `json:"phone,omitempty"`
	LanguageCode string `json:"language_code,omitempty"`
	// Blocked: the user has blocked the bot (see SetBlocked).
	Blocked bool `json:"blocked"`
}

func (u *User) sender() Sender {
	return Sender{ID: u.ID, FirstName: u.FirstName, LastName: u.LastName, Username: u.Username, LanguageCode: u.LanguageCode}
}

func (u *User) privateChat() Chat {
	return Chat{ID: u.ID, Type: "private", FirstName: u.FirstName, LastName: u.LastName, Username: u.Username}
}

// Group is a simulated group or supergroup the bot is a member of.
type Group struct {
	ID       int64  `json:"id"` // negative, as in Telegram
	Title    string `json:"title"`
	IsForum  bool   `json:"is_forum,omitempty"`
	Username string `json:"username,omitempty"`
}

// Sent identifies the update and message a simulated user action produced.
type Sent struct {
	UpdateID  int64 `json:"update_id"`
	MessageID int64 `json:"message_id,omitempty"`
}

// Pressed identifies the callback_query update of a button press.
type Pressed struct {
	UpdateID        int64  `json:"update_id"`
	CallbackQueryID string `json:"callback_query_id"`
}

// GroupMessage is a user's text message in a group, optionally a reply.
type GroupMessage struct {
	ChatID           int64  `json:"chat_id"`
	UserID           int64  `json:"user_id"`
	Text             string `json:"text"`
	ReplyToMessageID int64  `json:"reply_to_message_id,omitempty"`
	MessageThreadID  int64  `json:"message_thread_id,omitempty"`
}

// PutUsers creates users or replaces their profile fields; the blocked
// state of an existing user is kept. FirstName defaults to "User <id>".
func (s *Server) PutUsers(users ...User) ([]User, error) {
	for _, u := range users {
		if u.ID <= 0 {
			return nil, fmt.Errorf("telegram emulator: put user: id must be positive, got %d: %w", u.ID, ErrInvalid)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]User, 0, len(users))
	for _, in := range users {
		out = append(out, s.putUserLocked(in.ID, func(u *User) {
			blocked := u.Blocked
			*u = in
			u.Blocked = blocked
		}))
	}
	return out, nil
}

// putUserLocked creates or updates a user and keeps its private chat in step.
func (s *Server) putUserLocked(id int64, update func(*User)) User {
	u := s.users[id]
	if u == nil {
		u = &User{ID: id}
		s.users[id] = u
	}
	update(u)
	u.ID = id
	s.markDirtyLocked()
	if strings.TrimSpace(u.FirstName) == "" {
		u.FirstName = "User " + strconv.FormatInt(id, 10)
	}
	if c := s.chats[id]; c != nil {
		c.chat = u.privateChat()
	} else {
		s.chats[id] = newChatState(u.privateChat())
	}
	return *u
}

// Users lists the simulated users by id.
func (s *Server) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]User, 0, len(s.users))
	for _, u := range s.users {
		out = append(out, *u)
	}
	slices.SortFunc(out, func(a, b User) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// PutGroup creates or updates a group. A forum, or an id below
// -1000000000000 (Telegram's supergroup range), makes it a supergroup.
func (s *Server) PutGroup(g Group) (Chat, error) {
	if g.ID >= 0 {
		return Chat{}, fmt.Errorf("telegram emulator: put group: id must be negative, got %d: %w", g.ID, ErrInvalid)
	}
	if strings.TrimSpace(g.Title) == "" {
		g.Title = "Group " + strconv.FormatInt(-g.ID, 10)
	}
	chat := Chat{ID: g.ID, Type: "group", Title: g.Title, Username: g.Username, IsForum: g.IsForum}
	if g.IsForum || g.ID < -1000000000000 {
		chat.Type = "supergroup"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.chats[g.ID]; c != nil {
		c.chat = chat
	} else {
		s.chats[g.ID] = newChatState(chat)
	}
	s.signalChatsLocked()
	return chat, nil
}

// Groups lists the simulated groups.
func (s *Server) Groups() []Chat {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Chat
	for _, c := range s.chats {
		if c.chat.Type != "private" {
			out = append(out, c.chat)
		}
	}
	slices.SortFunc(out, func(a, b Chat) int { return cmp.Compare(b.ID, a.ID) })
	return out
}

func (s *Server) userLocked(id int64) (*User, error) {
	u := s.users[id]
	if u == nil {
		return nil, fmt.Errorf("telegram emulator: user %d: %w", id, ErrNotFound)
	}
	return u, nil
}

// SetBlocked makes the user block or unblock the bot and queues the
// my_chat_member update Telegram sends (member -> kicked and back). It
// returns 0 if nothing changed.
func (s *Server) SetBlocked(userID int64, blocked bool) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(userID)
	if err != nil {
		return 0, err
	}
	if u.Blocked == blocked {
		return 0, nil
	}
	return s.setBlockedLocked(u, blocked), nil
}

func (s *Server) setBlockedLocked(u *User, blocked bool) int64 {
	u.Blocked = blocked
	member := wireChatMember{Status: "member", User: s.bot}
	zero := int64(0)
	kicked := wireChatMember{Status: "kicked", User: s.bot, UntilDate: &zero}
	update := wireChatMemberUpdated{Chat: u.privateChat(), From: u.sender(), Date: time.Now().Unix(), OldChatMember: member, NewChatMember: kicked}
	if !blocked {
		update.OldChatMember, update.NewChatMember = kicked, member
	}
	s.signalChatsLocked()
	return s.enqueueLocked("my_chat_member", update)
}

// messageKinds are the update fields that carry a Message.
