package systemtest

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/mymmrac/telego"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/tasks"
	tgemu "marketingbot/sim/emulator/telegram"
	"marketingbot/sim/world"
)

// promoCommand posts text in the operators' group as the operator and hands
// the update to the service, as the chat's operator handler does.
func promoCommand(t *testing.T, p *world.Promo, text string) (*telego.Message, bool) {
	t.Helper()
	if _, err := p.Telegram.GroupSend(tgemu.GroupMessage{ChatID: p.OperatorsChat, UserID: p.Operator.ID, Text: text}); err != nil {
		t.Fatal(err)
	}
	up := p.NextUpdate()
	if up.Message == nil {
		t.Fatalf("update without a message: %+v", up)
	}
	handled, err := p.Svc.HandleOperatorCommand(p.Ctx(30*time.Second), up.Message)
	if err != nil {
		t.Fatalf("%q: %v", text, err)
	}
	return up.Message, handled
}

// promoPress presses an inline button of a bot message in the operators'
// group and hands the callback to the service.
func promoPress(t *testing.T, p *world.Promo, messageID int64, data string) (*telego.CallbackQuery, string) {
	t.Helper()
	pressed, err := p.Telegram.Press(p.Operator.ID, p.OperatorsChat, messageID, data)
	if err != nil {
		t.Fatal(err)
	}
	up := p.NextUpdate()
	if up.CallbackQuery == nil {
		t.Fatalf("update without a callback query: %+v", up)
	}
	handled, err := p.Svc.HandleOperatorCallback(p.Ctx(30*time.Second), up.CallbackQuery)
	if err != nil || !handled {
		t.Fatalf("press %s: handled %v, %v", data, handled, err)
	}
	return up.CallbackQuery, pressed.CallbackQueryID
}

// promoReply is the bot's answer to a command message in the group.
func promoReply(p *world.Promo, to *telego.Message) (tgemu.TranscriptMessage, bool) {
	for _, m := range p.LiveBotMessages(p.OperatorsChat) {
		if m.ReplyToMessageID == int64(to.MessageID) {
			return m, true
		}
	}
	return tgemu.TranscriptMessage{}, false
}

func promoButtons(t *testing.T, markup json.RawMessage) []string {
	t.Helper()
	if len(markup) == 0 {
		return nil
	}
	var kb telego.InlineKeyboardMarkup
	if err := json.Unmarshal(markup, &kb); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, row := range kb.InlineKeyboard {
		for _, b := range row {
			out = append(out, b.CallbackData)
		}
	}
	return out
}

func TestPromoOperatorCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	code := func(i int) string {
		if i < 20 {
			return "SPB-" + string(rune('A'+i))
		}
		return "MSK-" + string(rune('A'+i))
	}
	p := world.NewPromo(t, world.PromoOptions{Partners: 25, Code: code, Promotions: []domain.Promotion{
		{ID: "SPB1", Title: "Питер: бонус", Text: "Бонус для Петербурга", Audience: "SPB-", StartsAt: time.Now().Add(24 * time.Hour), Status: domain.PromotionDraft},
		promoPromotion("DONE", "Уже разослана", domain.PromotionSent, time.Now().Add(-time.Hour)),
		promoPromotion("KEEP", "Передумали", domain.PromotionDraft, time.Time{}),
	}})
	p.StartWorker()
	t.Run("replies", func(t *testing.T) { promoOperatorReplies(t, p) })
	t.Run("dry run and confirm", func(t *testing.T) { promoOperatorConfirm(t, p) })
	t.Run("dismiss", func(t *testing.T) { promoOperatorDismiss(t, p) })
}

func promoOperatorReplies(t *testing.T, p *world.Promo) {
	tests := []struct {
		text    string
		handled bool
		want    string // in the reply; "" = no reply
	}{
		{"/promo", true, "Использование: /promo"},
		{"/promo NOPE", true, "«NOPE» не найдена"},
		{"/promo DONE", true, "статус «Отправлено»"},
		{"/promo@other_bot SPB1", false, ""},
		{"добрый день, коллеги", false, ""},
		{"/promote SPB1", false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			msg, handled := promoCommand(t, p, tc.text)
			if handled != tc.handled {
				t.Fatalf("handled = %v", handled)
			}
			r, ok := promoReply(p, msg)
			if tc.want == "" {
				if ok {
					t.Errorf("unexpected reply %q", r.Text)
				}
				return
			}
			if !ok || !strings.Contains(r.Text, tc.want) || len(promoButtons(t, r.ReplyMarkup)) != 0 {
				t.Errorf("reply %q (found %v), want %q without buttons", r.Text, ok, tc.want)
			}
		})
	}
}

func promoOperatorConfirm(t *testing.T, p *world.Promo) {
	msg, handled := promoCommand(t, p, "/promo@emulator_bot SPB1")
	dry, ok := promoReply(p, msg)
	if !handled || !ok {
		t.Fatalf("handled %v, reply %v", handled, ok)
	}
	if !strings.Contains(dry.Text, "Аудитория: SPB- · получателей: 20") {
		t.Errorf("dry run %q", dry.Text)
	}
	if b := promoButtons(t, dry.ReplyMarkup); len(b) != 2 || b[0] != "promo:go:SPB1" || b[1] != "promo:no:SPB1" {
		t.Fatalf("buttons %v", b)
	}
	// A retried task does not post a second dry run.
	if handled, err := p.Svc.HandleOperatorCommand(p.Ctx(10*time.Second), msg); !handled || err != nil {
		t.Fatalf("retry: %v %v", handled, err)
	}
	if n := len(p.LiveBotMessages(p.OperatorsChat)); n != 4 {
		t.Errorf("%d bot messages in the group, want 4 (3 replies + 1 dry run)", n)
	}

	q, cbID := promoPress(t, p, dry.MessageID, "promo:go:SPB1")
	edited := p.GroupText("запущена", time.Second)
	if edited.MessageID != dry.MessageID || !strings.Contains(edited.Text, p.Operator.FirstName+" "+p.Operator.LastName) ||
		!strings.Contains(edited.Text, "Получателей: 20") || len(promoButtons(t, edited.ReplyMarkup)) != 0 {
		t.Errorf("after confirm: %+v", edited)
	}
	if cb, err := p.Telegram.Callback(cbID); err != nil || !cb.Answered {
		t.Errorf("callback not answered: %+v %v", cb, err)
	}
	p.WaitStatus("SPB1", domain.PromotionSent, 30*time.Second)
	promoCheckSPB(t, p, "")
	p.GroupText("«Питер: бонус» завершена: доставлено 20", 5*time.Second)

	// The same press handled again (a retried task): no second broadcast.
	if handled, err := p.Svc.HandleOperatorCallback(p.Ctx(10*time.Second), q); !handled || err != nil {
		t.Fatalf("second press: %v %v", handled, err)
	}
	time.Sleep(2 * time.Second)
	promoCheckSPB(t, p, " after a second press")

	// Set back to Черновик by hand and asked again: refused.
	p.SetStatus("SPB1", domain.PromotionDraft)
	msg, _ = promoCommand(t, p, "/promo SPB1")
	if r, ok := promoReply(p, msg); !ok || !strings.Contains(r.Text, "уже проводилась") {
		t.Errorf("repeat: %q", r.Text)
	}
}

// promoCheckSPB: the 20 SPB- partners got the promotion once, the others not.
func promoCheckSPB(t *testing.T, p *world.Promo, when string) {
	t.Helper()
	for i, pt := range p.Partners {
		want := 0
		if i < 20 {
			want = 1
		}
		if got := p.PromoCount(pt.TelegramID, "Бонус для Петербурга"); got != want {
			t.Fatalf("%s got it %d times%s, want %d", pt.Code, got, when, want)
		}
	}
}

func promoOperatorDismiss(t *testing.T, p *world.Promo) {
	msg, _ := promoCommand(t, p, "/promo KEEP")
	dry, ok := promoReply(p, msg)
	if !ok || !strings.Contains(dry.Text, "получателей: 25") {
		t.Fatalf("dry run %q", dry.Text)
	}
	promoPress(t, p, dry.MessageID, "promo:no:KEEP")
	edited := p.GroupText("не запущена", time.Second)
	if edited.MessageID != dry.MessageID || len(promoButtons(t, edited.ReplyMarkup)) != 0 {
		t.Errorf("after cancel: %+v", edited)
	}
	if got := world.PromoCellStr(p.Row("KEEP"), 6); got != string(domain.PromotionDraft) {
		t.Errorf("KEEP status %q", got)
	}
	_, err := asynq.NewInspectorFromRedisClient(p.RedisClient()).GetTaskInfo(tasks.QueueBroadcast, "promo:broadcast:KEEP")
	if !errors.Is(err, asynq.ErrTaskNotFound) && !errors.Is(err, asynq.ErrQueueNotFound) {
		t.Errorf("a broadcast task exists for a dismissed promotion: %v", err)
	}
}
