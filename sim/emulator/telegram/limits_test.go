package telegram_test

import (
	"strings"
	"testing"

	"github.com/mymmrac/telego"
	tu "github.com/mymmrac/telego/telegoutil"

	"marketingbot/sim/emulator/telegram"
)

// Telegram's limits as Telegram counts them: UTF-16 code units of the
// visible text after entity parsing (an emoji outside the BMP is two; tags
// are not counted, an entity is one character).
func TestTelegoTextLimits(t *testing.T) {
	e := start(t, telegram.Options{})
	e.addUser(t, 1001, "Anna")
	ctx := ctxT(t)
	emoji2048 := strings.Repeat("😀", 2048) // 4096 units, 2048 runes
	html4096 := "<b>" + strings.Repeat("&amp;", 2000) + "</b><a href=\"https://example.com\">" + strings.Repeat("ж", 2096) + "</a>"
	tests := []struct {
		name    string
		params  *telego.SendMessageParams
		wantErr string
	}{
		{"4096 units of emoji", tu.Message(tu.ID(1001), emoji2048), ""},
		{"4097 units of emoji", tu.Message(tu.ID(1001), emoji2048+"ж"), "Bad Request: message is too long"},
		{"4096 visible units of HTML", tu.Message(tu.ID(1001), html4096).WithParseMode(telego.ModeHTML), ""},
		{"4097 visible units of HTML", tu.Message(tu.ID(1001), html4096+"!").WithParseMode(telego.ModeHTML), "Bad Request: message is too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.bot.SendMessage(ctx, tt.params)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}

	m, err := e.bot.SendMessage(ctx, tu.Message(tu.ID(1001), "исходный"))
	if err != nil {
		t.Fatal(err)
	}
	edit := func(text string) error {
		_, err := e.bot.EditMessageText(ctx, &telego.EditMessageTextParams{ChatID: tu.ID(1001), MessageID: m.MessageID, Text: text})
		return err
	}
	if err := edit(emoji2048 + "ж"); err == nil || !strings.Contains(err.Error(), "message is too long") {
		t.Fatalf("edit to 4097 units: %v", err)
	}
	if err := edit(emoji2048); err != nil {
		t.Fatalf("edit to 4096 units: %v", err)
	}
}

func TestTelegoCaptionLimit(t *testing.T) {
	e := start(t, telegram.Options{})
	e.addUser(t, 1001, "Anna")
	ctx := ctxT(t)
	caption1024 := "<i>" + strings.Repeat("😀", 500) + strings.Repeat("я", 24) + "</i>"
	photo := func(caption string) error {
		_, err := e.bot.SendPhoto(ctx, tu.Photo(tu.ID(1001), tu.FileFromURL("https://example.com/a.png")).WithCaption(caption).WithParseMode(telego.ModeHTML))
		return err
	}
	if err := photo(caption1024); err != nil {
		t.Fatalf("caption of 1024 units: %v", err)
	}
	if err := photo(caption1024 + "я"); err == nil || !strings.Contains(err.Error(), "Bad Request: message caption is too long") {
		t.Fatalf("caption of 1025 units: %v", err)
	}
}

func TestTelegoCallbackTextLimit(t *testing.T) {
	e := start(t, telegram.Options{})
	e.addUser(t, 1001, "Anna")
	ctx := ctxT(t)
	m, err := e.bot.SendMessage(ctx, tu.Message(tu.ID(1001), "кнопки").WithReplyMarkup(
		tu.InlineKeyboard(tu.InlineKeyboardRow(tu.InlineKeyboardButton("Да").WithCallbackData("yes")))))
	if err != nil {
		t.Fatal(err)
	}
	answer := func(text string) error {
		p, err := e.srv.Press(1001, 0, int64(m.MessageID), "yes")
		if err != nil {
			t.Fatal(err)
		}
		return e.bot.AnswerCallbackQuery(ctx, &telego.AnswerCallbackQueryParams{CallbackQueryID: p.CallbackQueryID, Text: text})
	}
	if err := answer(strings.Repeat("😀", 100) + "я"); err == nil || !strings.Contains(err.Error(), "Bad Request: MESSAGE_TOO_LONG") {
		t.Fatalf("201 units: %v", err)
	}
	if err := answer(strings.Repeat("😀", 100)); err != nil {
		t.Fatalf("200 units: %v", err)
	}
}
