package telegram

import (
	"context"
	"errors"
	"fmt"

	"github.com/mymmrac/telego"

	"marketingbot/pkg/telegram/tghtml"
)

// MediaAPI is what SendMedia calls: *Sender, or a feature's fake.
type MediaAPI interface {
	MessageAPI
	SendPhoto(ctx context.Context, p *telego.SendPhotoParams, o Options) (*telego.Message, error)
	SendDocument(ctx context.Context, p *telego.SendDocumentParams, o Options) (*telego.Message, error)
}

// MediaKind is what a Media sends.
type MediaKind int

const (
	MediaDocument MediaKind = iota
	MediaPhoto
)

// Media is a photo or a document with a caption.
type Media struct {
	ChatID int64
	Kind   MediaKind
	File   telego.InputFile
	// Caption is Telegram HTML unless Plain is set; it may be longer than
	// a caption may be (see SendMedia).
	Caption string
	Plain   bool
	// Markup goes with the last message (the media, or the caption's last
	// continuation).
	Markup telego.ReplyMarkup
	// Steps records what left: part 0 is the media, parts 1… the caption's
	// continuation messages.
	Steps Steps
}

// SendMedia sends the media with as much of the caption as fits a caption
// (1,024 units, cut at a boundary like Split), and the rest of the caption
// right after it as text messages (split under 4,096), so that nothing of
// it is lost and the media keeps the beginning of its description. Entities
// Telegram refuses turn the caption plain; should Telegram still call the
// caption too long (it counts differently from us), the media goes without
// a caption and the whole caption follows as text.
func SendMedia(ctx context.Context, api MediaAPI, m Media, o Options) (Sent, error) {
	body := m.Caption
	if m.Plain {
		body = tghtml.Escape(body)
	}
	caption, rest := tghtml.Cut(body, MaxCaptionLen)
	var out Sent
	id, done, err := partSent(ctx, m.Steps, 0)
	if err != nil {
		return out, err
	}
	if !done {
		id, rest, err = sendMediaPart(ctx, api, m, mediaCaption{caption, rest, body}, o, &out)
		if err != nil {
			return out, fmt.Errorf("telegram: send media: %w", err)
		}
		if m.Steps != nil {
			if err := m.Steps.PartDone(ctx, 0, id); err != nil {
				return out, fmt.Errorf("telegram: record media: %w", err)
			}
		}
	}
	out.IDs = append(out.IDs, id)
	if isBlank(rest) {
		return out, nil
	}
	more, err := SendText(ctx, api, Text{ChatID: m.ChatID, Body: rest, Markup: m.Markup, Steps: shifted{m.Steps, 1}}, o)
	out.IDs = append(out.IDs, more.IDs...)
	out.Plain = out.Plain || more.Plain
	return out, err
}

// mediaCaption is a caption as planned: what goes with the media, the rest
// that follows as text, and the whole of it.
type mediaCaption struct{ head, rest, whole string }

// sendMediaPart sends the media with its caption; it returns the message id
// and the caption text still to send as messages.
func sendMediaPart(ctx context.Context, api MediaAPI, m Media, c mediaCaption, o Options, out *Sent) (int, string, error) {
	caption, rest := c.head, c.rest
	plain := m.Plain
	markup := m.Markup
	if !isBlank(rest) {
		markup = nil // the buttons go under the caption's last message
	}
	send := func(caption string) (*telego.Message, error) {
		text, mode := caption, telego.ModeHTML
		if plain || isBlank(caption) {
			text, mode = tghtml.Plain(caption), ""
		}
		return sendOneMedia(ctx, api, m, text, mode, markup, o)
	}
	msg, err := send(caption)
	if errors.Is(err, ErrBadEntities) && !plain {
		plain, out.Plain = true, true
		msg, err = send(caption)
	}
	if errors.Is(err, ErrTooLong) {
		rest = c.whole
		markup = nil
		msg, err = send("")
	}
	if err != nil {
		return 0, rest, err
	}
	return msg.MessageID, rest, nil
}

func sendOneMedia(ctx context.Context, api MediaAPI, m Media, caption, mode string, markup telego.ReplyMarkup, o Options) (*telego.Message, error) {
	if m.Kind == MediaPhoto {
		p := &telego.SendPhotoParams{ChatID: telego.ChatID{ID: m.ChatID}, Photo: m.File, Caption: caption, ParseMode: mode}
		if !nilMarkup(markup) {
			p.ReplyMarkup = markup
		}
		return api.SendPhoto(ctx, p, o)
	}
	p := &telego.SendDocumentParams{ChatID: telego.ChatID{ID: m.ChatID}, Document: m.File, Caption: caption, ParseMode: mode}
	if !nilMarkup(markup) {
		p.ReplyMarkup = markup
	}
	return api.SendDocument(ctx, p, o)
}

func partSent(ctx context.Context, st Steps, part int) (int, bool, error) {
	if st == nil {
		return 0, false, nil
	}
	id, ok, err := st.PartSent(ctx, part)
	if err != nil {
		return 0, false, fmt.Errorf("telegram: send part %d: %w", part, err)
	}
	return id, ok, nil
}

// shifted numbers a text's parts after the parts already sent before it.
type shifted struct {
	st  Steps
	off int
}

func (s shifted) PartSent(ctx context.Context, part int) (int, bool, error) {
	if s.st == nil {
		return 0, false, nil
	}
	return s.st.PartSent(ctx, part+s.off)
}

func (s shifted) PartDone(ctx context.Context, part, id int) error {
	if s.st == nil {
		return nil
	}
	return s.st.PartDone(ctx, part+s.off, id)
}
