package telegram

import (
	"context"
	"encoding/json"
	"time"
)

// sendMessageDraft (Bot API 9.3): a bot streams a partial message to a user
// while it is being generated. Telegram shows it as an ephemeral preview
// (about 30 seconds after its last update); the bot must then send the
// final message with sendMessage, which takes the draft's place. As
// Telegram does, the emulator:
//
//   - accepts private chats only: a group or channel is 400
//     "TEXTDRAFT_PEER_INVALID"; an unknown chat is "chat not found", a user
//     who blocked the bot 403;
//   - wants a non-zero draft_id ("DRAFT_ID_INVALID", the emulator's wording;
//     Telegram documents the rule, not the error text) and validates text,
//     parse_mode and entities exactly as sendMessage does (1–4096 units
//     after parsing, "can't parse entities", "message text is empty");
//   - counts a draft in the flood limits like a message (global and the
//     chat's bucket): Telegram does not document whether drafts count, so
//     the emulator takes the stricter reading;
//   - shows the draft in the chat's transcript ("draft") until the bot's
//     next message in that chat replaces it — that message's "draft" says
//     which draft it replaced — or until DraftTTL passes without an update.
//     An update with the same draft_id continues the draft (Telegram
//     animates it), another id starts a new one.
//
// Drafts are not part of the persisted State: they are ephemeral.

// DraftTTL is how long a draft stays visible after its last update.
const DraftTTL = 30 * time.Second

// TranscriptDraft is a draft as the transcript shows it.
type TranscriptDraft struct {
	DraftID   int64           `json:"draft_id"`
	Text      string          `json:"text"`
	RawText   string          `json:"raw_text,omitempty"`
	ParseMode string          `json:"parse_mode,omitempty"`
	Entities  json.RawMessage `json:"entities,omitempty"`
	// Since is when this draft (this draft_id) was first shown, Updated
	// its last update; Updates counts the calls that showed it.
	Since   time.Time `json:"since"`
	Updated time.Time `json:"updated"`
	Updates int       `json:"updates"`
}

type draftState struct {
	TranscriptDraft
}

func init() {
	botMethods["sendmessagedraft"] = methodSpec{name: "sendMessageDraft", fn: (*Server).sendMessageDraft}
}

func (s *Server) sendMessageDraft(_ context.Context, p *params) (any, *apiError) {
	id, err := p.int64("draft_id")
	if err != nil {
		return nil, badRequest(err.Error())
	}
	text, aerr := formatText(p.str("text"), p.str("parse_mode"), p.str("entities"), "text")
	if aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, aerr := s.targetChatLocked(p, "chat_id")
	if aerr != nil {
		return nil, aerr
	}
	switch {
	case c.chat.Type != "private":
		return nil, badRequest("TEXTDRAFT_PEER_INVALID")
	case id == 0:
		return nil, badRequest("DRAFT_ID_INVALID")
	}
	if aerr := s.takeFloodTokenLocked(c); aerr != nil {
		return nil, aerr
	}
	now := time.Now().UTC()
	d := c.liveDraft(now)
	if d == nil || d.DraftID != id {
		d = &draftState{TranscriptDraft{DraftID: id, Since: now}}
		c.draft = d
	}
	d.Text, d.RawText, d.ParseMode, d.Entities = text.text, text.raw, text.parseMode, text.entities
	d.Updated = now
	d.Updates++
	s.signalChatsLocked()
	return true, nil
}

// liveDraft is the chat's draft unless it expired.
func (c *chatState) liveDraft(now time.Time) *draftState {
	if c.draft == nil || now.Sub(c.draft.Updated) > DraftTTL {
		return nil
	}
	return c.draft
}

// replaceDraft: a bot message in chat c takes the place of its draft.
func (c *chatState) replaceDraft(m *message) {
	if d := c.liveDraft(m.at); d != nil && m.fromBot {
		replaced := d.TranscriptDraft
		m.replacedDraft = &replaced
	}
	if m.fromBot {
		c.draft = nil
	}
}

// transcriptDraft is the draft a transcript shows (nil: none).
func (c *chatState) transcriptDraft(now time.Time) *TranscriptDraft {
	if d := c.liveDraft(now); d != nil {
		td := d.TranscriptDraft
		return &td
	}
	return nil
}
