package telegram

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Transcript is a chat as the control API shows it: both directions in
// message_id order, deleted messages included and marked.
type Transcript struct {
	Chat       Chat                `json:"chat"`
	Messages   []TranscriptMessage `json:"messages"`
	ChatAction *ChatAction         `json:"chat_action,omitempty"`
	// Draft is the bot's draft being streamed (sendMessageDraft), until its
	// next message replaces it or it expires (draft.go).
	Draft *TranscriptDraft `json:"draft,omitempty"`
}

// ChatAction is the bot's last sendChatAction, shown until it expires (5 s)
// or the bot sends a message.
type ChatAction struct {
	Action string    `json:"action"`
	Until  time.Time `json:"until"`
}

// TranscriptMessage is one message of a Transcript.
type TranscriptMessage struct {
	MessageID int64 `json:"message_id"`
	// Kind: text, photo, document, contact, or the field of an injected
	// message (sticker, voice, location, …), "other" if none is known.
	Kind    string `json:"kind"`
	FromBot bool   `json:"from_bot"`
	From    Sender `json:"from"`
	// Text is what the recipient sees (tags removed, entities decoded);
	// RawText is the text as the bot sent it when parse_mode changed it.
	Text            string          `json:"text,omitempty"`
	RawText         string          `json:"raw_text,omitempty"`
	Caption         string          `json:"caption,omitempty"`
	RawCaption      string          `json:"raw_caption,omitempty"`
	ParseMode       string          `json:"parse_mode,omitempty"`
	Entities        json.RawMessage `json:"entities,omitempty"`
	CaptionEntities json.RawMessage `json:"caption_entities,omitempty"`
	// ReplyMarkup is the keyboard as sent, inline or not.
	ReplyMarkup json.RawMessage `json:"reply_markup,omitempty"`
	Document    *TranscriptFile `json:"document,omitempty"`
	Photo       *TranscriptFile `json:"photo,omitempty"`
	// Media is a voice note's, audio's or video note's file (Kind says which).
	Media            *TranscriptFile `json:"media,omitempty"`
	Contact          *Contact        `json:"contact,omitempty"`
	ForwardOrigin    json.RawMessage `json:"forward_origin,omitempty"`
	Date             int64           `json:"date"`
	EditDate         int64           `json:"edit_date,omitempty"`
	ReplyToMessageID int64           `json:"reply_to_message_id,omitempty"`
	MessageThreadID  int64           `json:"message_thread_id,omitempty"`
	Deleted          bool            `json:"deleted,omitempty"`
	// SentAt is when the message joined the transcript (emulator time, to
	// the nanosecond; zero after a restore). Draft is the bot's draft this
	// message replaced, as it last was.
	SentAt time.Time        `json:"sent_at,omitzero"`
	Draft  *TranscriptDraft `json:"draft,omitempty"`
}

// TranscriptFile is a document or photo of a TranscriptMessage. URL
// downloads it from the emulator; it is empty when the emulator does not
// hold the file (an injected file_id it never saw).
type TranscriptFile struct {
	FileID   string `json:"file_id"`
	FileName string `json:"file_name,omitempty"`
	MimeType string `json:"mime_type,omitempty"`
	Size     int64  `json:"size,omitempty"`
	Width    int    `json:"width,omitempty"`
	Height   int    `json:"height,omitempty"`
	Duration int    `json:"duration,omitempty"`
	URL      string `json:"url,omitempty"`
}

// Transcript returns the messages of a chat with message_id > after (all
// if after is 0). Edits show in place, so re-read with after 0 to see them.
func (s *Server) Transcript(chatID, after int64) (Transcript, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.transcriptLocked(chatID, after)
}

func (s *Server) transcriptLocked(chatID, after int64) (Transcript, error) {
	c := s.chats[chatID]
	if c == nil {
		return Transcript{}, fmt.Errorf("telegram emulator: chat %d: %w", chatID, ErrNotFound)
	}
	t := Transcript{Chat: c.chat, Messages: []TranscriptMessage{}}
	if c.action != "" && time.Now().Before(c.actionUntil) {
		t.ChatAction = &ChatAction{Action: c.action, Until: c.actionUntil}
	}
	t.Draft = c.transcriptDraft(time.Now())
	for _, m := range c.messages {
		if m.id > after {
			t.Messages = append(t.Messages, s.transcriptMessageLocked(m))
		}
	}
	return t, nil
}

func (s *Server) transcriptMessageLocked(m *message) TranscriptMessage {
	tm := TranscriptMessage{
		MessageID: m.id, Kind: m.kind(), FromBot: m.fromBot, From: m.from,
		Text: m.text, RawText: m.rawText, Caption: m.caption, RawCaption: m.rawCaption,
		ParseMode: m.parseMode, Entities: m.entities, CaptionEntities: m.captionEntities,
		ReplyMarkup: m.markup, Contact: m.contact, ForwardOrigin: m.forwardOrigin,
		Date: m.date, EditDate: m.editDate, ReplyToMessageID: m.replyTo, MessageThreadID: m.threadID, Deleted: m.deleted,
		SentAt: m.at, Draft: m.replacedDraft,
	}
	file := func(r *fileRef) *TranscriptFile {
		if r == nil {
			return nil
		}
		tf := &TranscriptFile{FileID: r.FileID, FileName: r.FileName, MimeType: r.MimeType, Size: r.FileSize, Width: r.Width, Height: r.Height}
		if _, ok := s.files[r.FileID]; ok {
			tf.URL = fileURL(r.FileID)
		}
		return tf
	}
	tm.Document, tm.Photo = file(m.document), file(m.photo)
	tm.Media = s.transcriptMediaLocked(m)
	return tm
}

// WaitTranscript waits until chatID has a message newer than after (or ctx
// ends) and returns the messages newer than after.
func (s *Server) WaitTranscript(ctx context.Context, chatID, after int64) (Transcript, error) {
	for {
		s.mu.Lock()
		t, err := s.transcriptLocked(chatID, after)
		signal := s.chatsSignal
		s.mu.Unlock()
		if err != nil || len(t.Messages) > 0 {
			return t, err
		}
		select {
		case <-ctx.Done():
			return t, nil
		case <-s.ctx.Done():
			return t, nil
		case <-signal:
		}
	}
}
