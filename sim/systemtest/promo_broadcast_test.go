package systemtest

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/projection"
	tgemu "marketingbot/sim/emulator/telegram"
	"marketingbot/sim/world"
)

// TestPromoBlockedAndFailedRecipients: 5 % blocked the bot, two accounts
// do not exist, and the Bot API has a burst of 502s; a photo promotion.
func TestPromoBlockedAndFailedRecipients(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	const n = 200
	noUser := func(i int) bool { return i == 7 || i == 77 }
	p := world.NewPromo(t, world.PromoOptions{Partners: n, NoUser: noUser, Promotions: []domain.Promotion{{
		ID: "PHOTO", Title: "Фото-акция", Text: "<b>Новые объекты</b> в каталоге", ImageURL: "https://img.example/p.jpg",
		StartsAt: time.Now().Add(-time.Minute), Audience: "all", Status: domain.PromotionScheduled,
	}}})
	blocked := map[int64]bool{}
	for i := 3; i < n; i += 20 {
		pt := p.Partners[i]
		blocked[pt.TelegramID] = true
		p.Block(pt.TelegramID)
		if err := p.Svc.Projection.PutPartner(p.Ctx(time.Second), projection.Partner{TelegramID: pt.TelegramID, Code: pt.Code}, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	// More 502s than the Sender retries in one go: some sends go back to asynq.
	if err := p.Telegram.AddFault(tgemu.Fault{Method: "sendPhoto", Status: 502, Count: 12}); err != nil {
		t.Fatal(err)
	}
	p.StartWorker()

	p.Scan()
	r := p.WaitStatus("PHOTO", domain.PromotionSent, 60*time.Second)
	want := n - len(blocked) - 2
	if sent, failed, nb := world.PromoCellNum(r, 7), world.PromoCellNum(r, 8), world.PromoCellNum(r, 9); sent != want || failed != 2 || nb != len(blocked) {
		t.Errorf("row counters sent/failed/blocked = %d/%d/%d, want %d/2/%d", sent, failed, nb, want, len(blocked))
	}
	promoCheckOutcomes(t, p, noUser, blocked)
	promoCheckBlockedInAuth(t, p, blocked)
	for _, c := range p.Telegram.Calls("sendPhoto") {
		if c.Params["photo"] != "https://img.example/p.jpg" {
			t.Fatalf("sendPhoto with photo %v", c.Params["photo"])
		}
	}
	if got := p.Telegram.Stats().HTTP429; got != 0 {
		t.Errorf("the emulator answered 429 %d times", got)
	}
	note := p.GroupText("завершена", 5*time.Second)
	if !strings.Contains(note.Text, fmt.Sprintf("доставлено %d", want)) || !strings.Contains(note.Text, fmt.Sprintf("заблокировали бота %d", len(blocked))) {
		t.Errorf("finished note: %q", note.Text)
	}
}

// promoCheckOutcomes: one 400 for a missing account, one 403 for a blocked
// one (and their projection dropped), one photo for everyone else.
func promoCheckOutcomes(t *testing.T, p *world.Promo, noUser func(int) bool, blocked map[int64]bool) {
	t.Helper()
	perChat := promoSendsTo(p.Telegram.Calls(""))
	for i, pt := range p.Partners {
		id := strconv.FormatInt(pt.TelegramID, 10)
		switch {
		case noUser(i):
			if perChat[id][400] != 1 || perChat[id][200] != 0 {
				t.Errorf("missing account %s: calls %v, want one 400", id, perChat[id])
			}
		case blocked[pt.TelegramID]:
			if perChat[id][403] != 1 || perChat[id][200] != 0 {
				t.Errorf("blocked %s: calls %v, want exactly one 403 attempt", id, perChat[id])
			}
			if _, ok, _ := p.Svc.Projection.Partner(p.Ctx(time.Second), pt.TelegramID); ok {
				t.Errorf("blocked %s is still in the partners projection", id)
			}
		default:
			msgs := p.LiveBotMessages(pt.TelegramID)
			if len(msgs) != 1 || msgs[0].Kind != "photo" || msgs[0].Photo == nil || msgs[0].Caption != "Новые объекты в каталоге" {
				t.Fatalf("recipient %s: %d messages %+v", id, len(msgs), msgs)
			}
			promoCheckButton(t, msgs[0].ReplyMarkup)
		}
	}
}

var promoFormatGroups = []string{"A-", "B-", "C-", "D-", "E-"}

// TestPromoMessageFormats covers how a promotion becomes a message, and the
// promotions that cannot be sent at all.
func TestPromoMessageFormats(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	long := "<b>Большая акция</b>\n" + strings.Repeat("Подробные условия акции для партнёров сети. ", 30)
	now := time.Now().Add(-time.Minute)
	promos := []domain.Promotion{
		{ID: "LONG", Title: "Длинная", Text: long, ImageURL: "https://img.example/long.png", Audience: "A-", StartsAt: now, Status: domain.PromotionScheduled},
		{ID: "BROKEN", Title: "Сломанный HTML", Text: "<b>Скидка 5% & <подарок>", Audience: "B-", StartsAt: now, Status: domain.PromotionScheduled},
		{ID: "ONLYPHOTO", Title: "Только фото", ImageURL: "https://img.example/only.jpg", Audience: "C-", StartsAt: now, Status: domain.PromotionScheduled},
		{ID: "HTML", Title: "HTML", Text: "<i>Курсив</i> и <a href=\"https://example.com\">ссылка</a>", Audience: "D-", StartsAt: now, Status: domain.PromotionScheduled},
		{ID: "EMPTY", Title: "Пустая", Audience: "E-", StartsAt: now, Status: domain.PromotionScheduled},
	}
	groups := promoFormatGroups
	p := world.NewPromo(t, world.PromoOptions{Partners: 3 * len(groups), Promotions: promos,
		Code: func(i int) string { return groups[i/3] + strconv.Itoa(i) }})
	p.StartWorker()
	p.Scan()
	for _, id := range []string{"LONG", "BROKEN", "ONLYPHOTO", "HTML"} {
		p.WaitStatus(id, domain.PromotionSent, 30*time.Second)
	}
	// (A text of any length can be sent: see TestLimitsPromotions.)
	for _, id := range []string{"EMPTY"} {
		p.WaitStatus(id, domain.PromotionFailed, 30*time.Second)
		p.GroupText("("+id+") не запущена", 5*time.Second)
	}
	promoCheckFormats(t, p)
	for i, pt := range p.Partners {
		if groups[i/3] == "E-" && len(p.LiveBotMessages(pt.TelegramID)) != 0 {
			t.Errorf("%d got a message from a promotion that cannot be sent", pt.TelegramID)
		}
	}

	// The operator fixes the text and schedules it again: a broadcast that
	// sent nothing can start again (its old task is replaced).
	p.SetCell("EMPTY", 2, "Исправленная акция")
	p.SetStatus("EMPTY", domain.PromotionScheduled)
	p.Scan()
	p.WaitStatus("EMPTY", domain.PromotionSent, 30*time.Second)
	for i, pt := range p.Partners {
		if groups[i/3] == "E-" {
			if got := p.PromoCount(pt.TelegramID, "Исправленная акция"); got != 1 {
				t.Errorf("%d got the fixed promotion %d times", pt.TelegramID, got)
			}
		}
	}
}

// promoCheckFormats checks the message each audience group got.
func promoCheckFormats(t *testing.T, p *world.Promo) {
	tests := []struct {
		group string
		check func(t *testing.T, chat int64, m tgemu.TranscriptMessage)
	}{
		{"A-", func(t *testing.T, chat int64, m tgemu.TranscriptMessage) {
			if m.Kind != "text" || !strings.HasPrefix(m.Text, "Большая акция") || m.ParseMode != "HTML" {
				t.Errorf("long text with image: %+v", m)
			}
			if !promoCalled(p, "sendMessage", chat, "link_preview_options", "https://img.example/long.png") {
				t.Error("the image is not the link preview of the long text")
			}
		}},
		{"B-", func(t *testing.T, chat int64, m tgemu.TranscriptMessage) {
			if m.Kind != "text" || m.ParseMode != "" || m.Text != "Скидка 5% & <подарок>" {
				t.Errorf("rejected HTML must arrive as plain text: %+v", m)
			}
		}},
		{"C-", func(t *testing.T, chat int64, m tgemu.TranscriptMessage) {
			if m.Kind != "photo" || m.Caption != "" || m.Photo == nil || !promoCalled(p, "sendPhoto", chat, "photo", "https://img.example/only.jpg") {
				t.Errorf("photo without text: %+v", m)
			}
		}},
		{"D-", func(t *testing.T, chat int64, m tgemu.TranscriptMessage) {
			if m.Kind != "text" || m.Text != "Курсив и ссылка" || m.ParseMode != "HTML" || len(m.Entities) == 0 {
				t.Errorf("HTML text: %+v", m)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.group, func(t *testing.T) {
			for i, pt := range p.Partners {
				if promoFormatGroups[i/3] != tc.group {
					continue
				}
				msgs := p.LiveBotMessages(pt.TelegramID)
				if len(msgs) != 1 {
					t.Fatalf("%d: %d messages", pt.TelegramID, len(msgs))
				}
				tc.check(t, pt.TelegramID, msgs[0])
				promoCheckButton(t, msgs[0].ReplyMarkup)
			}
		})
	}
}
