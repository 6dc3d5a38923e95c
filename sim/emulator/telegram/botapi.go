package telegram

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Telegram's limits on visible text, counted here in UTF-16 code units
// (the unit of entity offsets and the stricter of the possible readings).
const (
	maxTextLen     = 4096
	maxCaptionLen  = 1024
	maxCallbackLen = 64 // bytes of callback_data
	// maxCallbackTextLen bounds answerCallbackQuery's text ("0-200
	// characters"); Telegram answers "MESSAGE_TOO_LONG" beyond it.
	maxCallbackTextLen = 200
)

type methodSpec struct {
	name  string // canonical spelling, as logged
	sends bool   // a message-sending method: flood limits and Stats.Sends
	fn    func(s *Server, ctx context.Context, p *params) (any, *apiError)
}

// botMethods is keyed by lower-case name: Telegram matches method names
// case-insensitively.
var botMethods = map[string]methodSpec{}

func init() {
	for _, m := range []methodSpec{
		{name: "getMe", fn: (*Server).getMe},
		{name: "getUpdates", fn: (*Server).getUpdates},
		{name: "setWebhook", fn: (*Server).setWebhook},
		{name: "deleteWebhook", fn: (*Server).deleteWebhook},
		{name: "getWebhookInfo", fn: (*Server).getWebhookInfo},
		{name: "sendMessage", sends: true, fn: (*Server).sendMessage},
		{name: "sendDocument", sends: true, fn: (*Server).sendDocument},
		{name: "sendPhoto", sends: true, fn: (*Server).sendPhoto},
		{name: "copyMessage", sends: true, fn: (*Server).copyMessage},
		{name: "forwardMessage", sends: true, fn: (*Server).forwardMessage},
		{name: "editMessageText", fn: (*Server).editMessageText},
		{name: "editMessageReplyMarkup", fn: (*Server).editMessageReplyMarkup},
		{name: "deleteMessage", fn: (*Server).deleteMessage},
		{name: "sendChatAction", fn: (*Server).sendChatAction},
		{name: "answerCallbackQuery", fn: (*Server).answerCallbackQuery},
		{name: "getFile", fn: (*Server).getFile},
		{name: "setMyCommands", fn: (*Server).setMyCommands},
		{name: "getMyCommands", fn: (*Server).getMyCommands},
		{name: "deleteMyCommands", fn: (*Server).deleteMyCommands},
		{name: "setChatMenuButton", fn: (*Server).setChatMenuButton},
		{name: "getChatMenuButton", fn: (*Server).getChatMenuButton},
	} {
		botMethods[strings.ToLower(m.name)] = m
	}
}

func (s *Server) getMe(context.Context, *params) (any, *apiError) {
	return wireBotUser{Sender: s.bot, CanJoinGroups: true}, nil
}

// ---- updates and webhooks ----

func (s *Server) getUpdates(ctx context.Context, p *params) (any, *apiError) {
	offset, err1 := p.int64("offset")
	limit, err2 := p.int64("limit")
	timeout, err3 := p.int64("timeout")
	allowed, allowedSet, err4 := p.stringList("allowed_updates")
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return nil, badRequest(err.Error())
	}
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	wait := min(time.Duration(max(timeout, 0))*time.Second, s.opts.MaxLongPoll)

	s.mu.Lock()
	if s.webhook.url != "" {
		s.mu.Unlock()
		return nil, &apiError{code: http.StatusConflict, description: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"}
	}
	// A newer getUpdates always wins; the waiting one learns it lost.
	s.endPollLocked("Conflict: terminated by other getUpdates request; make sure that only one bot instance is running")
	slot := &pollSlot{conflict: make(chan struct{})}
	s.poll = slot
	defer func() {
		s.mu.Lock()
		if s.poll == slot {
			s.poll = nil
		}
		s.mu.Unlock()
	}()
	if allowedSet && !slices.Equal(s.allowedUpdates, allowed) {
		s.allowedUpdates = allowed
		s.markDirtyLocked()
	}
	s.confirmLocked(offset)

	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		if s.poll != slot {
			s.mu.Unlock()
			return nil, &apiError{code: http.StatusConflict, description: slot.reason}
		}
		batch := s.deliverableLocked(int(limit))
		signal := s.updatesSignal
		s.mu.Unlock()
		if len(batch) > 0 || wait == 0 {
			return updatesJSON(batch), nil
		}
		select {
		case <-signal:
		case <-slot.conflict:
		case <-timer.C:
			wait = 0 // one last look, then answer
		case <-ctx.Done():
			return updatesJSON(nil), nil
		case <-s.ctx.Done():
			return updatesJSON(nil), nil
		}
		s.mu.Lock()
	}
}

func updatesJSON(batch []*queuedUpdate) json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, u := range batch {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(u.body)
	}
	b.WriteByte(']')
	return b.Bytes()
}

func (s *Server) setWebhook(_ context.Context, p *params) (any, *apiError) {
	rawURL := strings.TrimSpace(p.str("url"))
	allowed, allowedSet, err := p.stringList("allowed_updates")
	if err != nil {
		return nil, badRequest(err.Error())
	}
	maxConn, err := p.int64("max_connections")
	if err != nil {
		return nil, badRequest(err.Error())
	}
	secret := p.str("secret_token")
	if len(secret) > 256 || !validSecretToken.MatchString(secret) {
		return nil, badRequest("secret token contains unallowed characters")
	}
	if rawURL != "" && !strings.HasPrefix(rawURL, "http://") && !strings.HasPrefix(rawURL, "https://") {
		return nil, badRequest("bad webhook: An HTTPS URL must be provided for webhook")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.bool("drop_pending_updates") {
		s.dropPendingLocked()
	}
	if allowedSet {
		s.allowedUpdates = allowed
	}
	s.setWebhookLocked(webhookState{url: rawURL, secret: secret, maxConnections: int(maxConn)})
	if rawURL != "" {
		s.endPollLocked("Conflict: terminated by setWebhook request")
	}
	return true, nil
}

var validSecretToken = regexp.MustCompile(`^[A-Za-z0-9_-]*$`)

func (s *Server) deleteWebhook(_ context.Context, p *params) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.bool("drop_pending_updates") {
		s.dropPendingLocked()
	}
	s.setWebhookLocked(webhookState{})
	return true, nil
}

func (s *Server) getWebhookInfo(context.Context, *params) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	info := wireWebhookInfo{
		URL:                s.webhook.url,
		PendingUpdateCount: len(s.pending),
		LastErrorDate:      s.webhook.lastErrorDate,
		LastErrorMessage:   s.webhook.lastErrorMessage,
		AllowedUpdates:     s.allowedUpdates,
	}
	if info.URL != "" {
		info.MaxConnections = cmp.Or(s.webhook.maxConnections, 40)
	}
	return info, nil
}

// ---- sending ----

// formatted is message text (or a caption) after parse_mode processing.
type formatted struct {
	text      string // visible text
	raw       string // as sent, if parsing changed it
	parseMode string
	entities  json.RawMessage
}

// formatText applies parse_mode or explicit entities and Telegram's
// length rules. what is "text" or "caption".
func formatText(text, parseMode, entitiesJSON, what string) (formatted, *apiError) {
	f := formatted{text: text, parseMode: parseMode}
	if !utf8.ValidString(text) {
		return f, badRequest("strings must be encoded in UTF-8")
	}
	switch {
	case strings.TrimSpace(entitiesJSON) != "":
		// Explicit entities win over parse_mode, as in Telegram.
		var list []json.RawMessage
		if err := json.Unmarshal([]byte(entitiesJSON), &list); err != nil {
			return f, badRequest("can't parse entities JSON object")
		}
		f.entities, f.parseMode = compactJSON(entitiesJSON), ""
	case strings.EqualFold(parseMode, "HTML"):
		plain, ents, err := parseHTML(text)
		if err != nil {
			return f, badRequest(err.Error())
		}
		f.text, f.raw = plain, text
		if len(ents) > 0 {
			f.entities = mustJSON(ents)
		}
	case parseMode == "" || strings.EqualFold(parseMode, "Markdown") || strings.EqualFold(parseMode, "MarkdownV2"):
		// Markdown is stored as sent, unparsed; see the package documentation.
	default:
		return f, badRequest("unsupported parse_mode")
	}
	n := utf16Len(f.text)
	switch what {
	case "text":
		if strings.TrimSpace(f.text) == "" {
			return f, badRequest("message text is empty")
		}
		if n > maxTextLen {
			return f, badRequest("message is too long")
		}
	case "caption":
		if n > maxCaptionLen {
			return f, badRequest("message caption is too long")
		}
	}
	return f, nil
}

func (s *Server) sendMessage(_ context.Context, p *params) (any, *apiError) {
	text, aerr := formatText(p.str("text"), p.str("parse_mode"), p.str("entities"), "text")
	if aerr != nil {
		return nil, aerr
	}
	markup, aerr := parseReplyMarkup(p.str("reply_markup"))
	if aerr != nil {
		return nil, aerr
	}
	return s.postBotMessage(p, func(m *message) (*storedFile, *apiError) {
		m.text, m.rawText, m.parseMode, m.entities = text.text, text.raw, text.parseMode, text.entities
		m.markup = markup
		return nil, nil
	})
}

func (s *Server) sendDocument(_ context.Context, p *params) (any, *apiError) {
	return s.sendFile(p, "document", "documents")
}

func (s *Server) sendPhoto(_ context.Context, p *params) (any, *apiError) {
	return s.sendFile(p, "photo", "photos")
}

func (s *Server) sendFile(p *params, field, kind string) (any, *apiError) {
	caption, aerr := formatText(p.str("caption"), p.str("parse_mode"), p.str("caption_entities"), "caption")
	if aerr != nil {
		return nil, aerr
	}
	markup, aerr := parseReplyMarkup(p.str("reply_markup"))
	if aerr != nil {
		return nil, aerr
	}
	// Decode uploads before taking the lock; lookups of file_ids need it.
	var fresh *storedFile
	ref := p.str(field)
	upload := p.files[field]
	if name, ok := strings.CutPrefix(ref, "attach://"); ok {
		upload = p.files[name]
	}
	switch {
	case upload != nil:
		f, err := newUploadedFile(kind, upload.name, upload.contentType, upload.data)
		if err != nil {
			return nil, badRequest("IMAGE_PROCESS_FAILED")
		}
		fresh = f
	case ref == "":
		return nil, badRequest("there is no " + field + " in the request")
	case strings.HasPrefix(ref, "http://") || strings.HasPrefix(ref, "https://"):
		fresh = newURLFile(kind, ref)
	}
	return s.postBotMessage(p, func(m *message) (*storedFile, *apiError) {
		m.caption, m.rawCaption, m.parseMode, m.captionEntities = caption.text, caption.raw, caption.parseMode, caption.entities
		m.markup = markup
		f := fresh
		if f == nil {
			if f = s.files[ref]; f == nil {
				return nil, badRequest("wrong file identifier/HTTP URL specified")
			}
		}
		fileRef := f.ref
		if kind == "photos" {
			m.photo = &fileRef
		} else {
			m.document = &fileRef
		}
		return fresh, nil
	})
}

// postBotMessage appends a bot message to the chat named by chat_id after
// the checks every sending method shares: the chat exists and has not
// blocked the bot, the replied-to message exists, the flood limits allow
// it. fill sets the content under the lock and may return a new file,
// which is stored only if the message is sent.
func (s *Server) postBotMessage(p *params, fill func(*message) (*storedFile, *apiError)) (any, *apiError) {
	thread, err := p.int64("message_thread_id")
	if err != nil {
		return nil, badRequest(err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, aerr := s.targetChatLocked(p, "chat_id")
	if aerr != nil {
		return nil, aerr
	}
	replyTo, aerr := s.replyTargetLocked(c, p)
	if aerr != nil {
		return nil, aerr
	}
	if thread, aerr = s.sendThreadLocked(c, thread, replyTo); aerr != nil {
		return nil, aerr
	}
	m := &message{fromBot: true, from: s.bot, date: time.Now().Unix(), threadID: thread, replyTo: replyTo}
	newFile, aerr := fill(m)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := s.takeFloodTokenLocked(c); aerr != nil {
		return nil, aerr
	}
	if newFile != nil {
		s.addFileLocked(newFile)
	}
	s.appendLocked(c, m)
	return m.wire(c, true), nil
}
