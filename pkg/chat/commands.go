package chat

import (
	"context"
	"net/url"

	"github.com/mymmrac/telego"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/telegram/tghtml"
)

const callbackEscalate = "esc"

// miniAppURL opens the Mini App on a screen.
func (s *Service) miniAppURL(screen string) string {
	u := s.o.MiniAppURL
	if screen == "" {
		return u
	}
	parsed, err := url.Parse(u)
	if err != nil {
		return u
	}
	q := parsed.Query()
	q.Set("screen", screen)
	parsed.RawQuery = q.Encode()
	return parsed.String()
}

// menu is the inline keyboard under greetings: Analytics 360 and promotions
// in the Mini App, and a human.
func (s *Service) menu() telego.ReplyMarkup {
	return &telego.InlineKeyboardMarkup{InlineKeyboard: [][]telego.InlineKeyboardButton{
		{{Text: s.tx.MenuAnalyticsButton, WebApp: &telego.WebAppInfo{URL: s.miniAppURL("analytics")}}},
		{{Text: s.tx.MenuPromotionsButton, WebApp: &telego.WebAppInfo{URL: s.miniAppURL("promotions")}}},
		{{Text: s.tx.MenuOperatorButton, CallbackData: callbackEscalate}},
	}}
}

func (s *Service) command(ctx context.Context, uid int64, p domain.Partner, u unit) error {
	id := u.lastID()
	switch command(u.upd[0].Message.Text) {
	case "start":
		_, err := s.sendOnce(ctx, stepRef{uid, id, "reply"}, s.tx.Render(s.tx.StartAuthorized, map[string]any{"Name": tghtml.Escape(firstName(p))}), s.menu())
		return err
	case "analytics":
		kb := &telego.InlineKeyboardMarkup{InlineKeyboard: [][]telego.InlineKeyboardButton{
			{{Text: s.tx.AnalyticsOpenButton, WebApp: &telego.WebAppInfo{URL: s.miniAppURL("analytics")}}}}}
		_, err := s.sendOnce(ctx, stepRef{uid, id, "reply"}, s.tx.AnalyticsInvite, kb)
		return err
	default: // help
		_, err := s.sendOnce(ctx, stepRef{uid, id, "reply"}, s.tx.Help, s.menu())
		return err
	}
}
