package telegram

import (
	"context"
	"errors"

	"github.com/mymmrac/telego"

	"marketingbot/pkg/telegram/tghtml"
)

// EditAPI is what EditText calls: *Sender, or a feature's fake.
type EditAPI interface {
	EditMessageText(ctx context.Context, p *telego.EditMessageTextParams) error
}

// Edit replaces the text (and buttons) of a message the bot sent.
type Edit struct {
	ChatID    int64
	MessageID int
	// Body is Telegram HTML unless Plain is set.
	Body  string
	Plain bool
	// Markup replaces the buttons; nil removes them.
	Markup *telego.InlineKeyboardMarkup
	// Marker ends a trimmed text ("" = DefaultTrimMarker).
	Marker string
}

// EditText edits a message within the limits: an edit is one message, so a
// text over 4,096 units is trimmed at a boundary and ended with the marker
// (and trimmed harder, once, should Telegram still call it too long);
// entities Telegram refuses are sent again as plain text. "Not modified"
// and "message to edit not found" come back as ErrNotModified and
// ErrMessageGone for the caller to shrug off.
func EditText(ctx context.Context, api EditAPI, e Edit) error {
	body := e.Body
	if e.Plain {
		body = tghtml.Escape(body)
	}
	marker := e.Marker
	if marker == "" {
		marker = DefaultTrimMarker
	}
	text, _ := tghtml.Trim(body, MaxTextLen, marker)
	err := editOnce(ctx, api, e, text, e.Plain)
	if errors.Is(err, ErrBadEntities) && !e.Plain {
		err = editOnce(ctx, api, e, text, true)
	}
	if errors.Is(err, ErrTooLong) {
		shorter, _ := tghtml.Trim(text, tghtml.VisibleLen(text)*3/4, marker)
		err = editOnce(ctx, api, e, shorter, e.Plain)
	}
	return err
}

func editOnce(ctx context.Context, api EditAPI, e Edit, html string, plain bool) error {
	p := &telego.EditMessageTextParams{ChatID: telego.ChatID{ID: e.ChatID}, MessageID: e.MessageID, Text: html, ParseMode: telego.ModeHTML,
		LinkPreviewOptions: &telego.LinkPreviewOptions{IsDisabled: true}}
	if plain {
		p.Text, p.ParseMode = tghtml.Plain(html), ""
	}
	if e.Markup != nil {
		p.ReplyMarkup = e.Markup
	}
	return api.EditMessageText(ctx, p)
}
