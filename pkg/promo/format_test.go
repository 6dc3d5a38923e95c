package promo

import (
	"strings"
	"testing"
	"time"

	"github.com/mymmrac/telego"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/telegram"
)

// How a promotion becomes a message: a photo with a caption when the text
// fits one, else a text with the image as its link preview; Telegram
// rejecting the HTML or the image switches the whole broadcast over.
func TestMessageFormats(t *testing.T) {
	long := "<b>Большая акция</b>\n" + strings.Repeat("Условия акции. ", 100)
	tests := []struct {
		name        string
		text, image string
		fail        func(s sent) error
		want        []sent // what each of the two recipients gets (Markup not compared)
		flag        string // the broadcast's fallback remembered in its state
	}{
		{name: "html text", text: "<i>Курсив</i>",
			want: []sent{{Text: "<i>Курсив</i>", ParseMode: telego.ModeHTML}}},
		{name: "photo with caption", text: "<b>Новые объекты</b>", image: "https://img.example/p.jpg",
			want: []sent{{Text: "<b>Новые объекты</b>", Photo: "https://img.example/p.jpg", ParseMode: telego.ModeHTML}}},
		{name: "photo only", image: "https://img.example/only.jpg",
			want: []sent{{Photo: "https://img.example/only.jpg"}}},
		{name: "too long for a caption", text: long, image: "https://img.example/long.png",
			want: []sent{{Text: long, ParseMode: telego.ModeHTML, Preview: "https://img.example/long.png"}}},
		{name: "html rejected", text: "<b>Скидка 5% & <подарок>",
			fail: func(s sent) error {
				if s.ParseMode == telego.ModeHTML {
					return telegram.ErrBadEntities
				}
				return nil
			},
			want: []sent{{Text: "Скидка 5% & <подарок>"}}, flag: "plain"},
		{name: "image rejected", text: "Текст", image: "https://img.example/bad.jpg",
			fail: func(s sent) error {
				if s.Photo != "" {
					return apiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
				}
				return nil
			},
			want: []sent{{Text: "Текст", ParseMode: telego.ModeHTML, Preview: "https://img.example/bad.jpg"}}, flag: "nophoto"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := promotion("P1", domain.PromotionScheduled, time.Time{})
			p.Text, p.ImageURL = tc.text, tc.image
			u := newUnit(t, Options{}, []domain.Promotion{p}, partners(2))
			u.direct.Fail = tc.fail
			u.scan()
			u.drain(1)
			for i := range 2 {
				got := u.direct.to(firstUser + int64(i))
				if len(got) != 1 {
					t.Fatalf("recipient %d got %d messages", i, len(got))
				}
				checkMessage(t, got[0], tc.want[0])
			}
			if tc.flag != "" {
				if v, _ := u.rdb.HGet(u.ctx(), u.svc.stateKey("P1"), tc.flag).Result(); v != "1" {
					t.Errorf("fallback %s not remembered for the broadcast", tc.flag)
				}
				// The recipient served second went the fallback way at once.
				if got := len(u.direct.all()); got != 3 {
					t.Errorf("%d calls for two recipients, want 3 (one refused)", got)
				}
			}
		})
	}
}

func checkMessage(t *testing.T, got, want sent) {
	t.Helper()
	if got.Text != want.Text || got.Photo != want.Photo || got.ParseMode != want.ParseMode || got.Preview != want.Preview {
		t.Errorf("sent text %.40q photo %q mode %q preview %q, want %.40q %q %q %q",
			got.Text, got.Photo, got.ParseMode, got.Preview, want.Text, want.Photo, want.ParseMode, want.Preview)
	}
	// One button opening the Mini App's promotions screen.
	if !strings.Contains(got.Markup, `"web_app":{"url":"`+testAppURL+`?screen=promotions"}`) || strings.Count(got.Markup, `"text"`) != 1 {
		t.Errorf("reply_markup %s", got.Markup)
	}
}
