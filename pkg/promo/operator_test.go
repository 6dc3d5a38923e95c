package promo_test

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
)

// command posts text in the operators' group as the operator and hands the
// update to the service, as the chat engineer's operator handler does.
func (e *env) command(text string) (*telego.Message, bool) {
	e.t.Helper()
	e.control("POST", "/_emulator/group_send", map[string]any{"chat_id": operatorsChat, "user_id": operatorID, "text": text}, nil)
	up := e.nextUpdate()
	if up.Message == nil {
		e.t.Fatalf("update without a message: %+v", up)
	}
	handled, err := e.svc.HandleOperatorCommand(ctxT(e.t, 30*time.Second), up.Message)
	if err != nil {
		e.t.Fatalf("%q: %v", text, err)
	}
	return up.Message, handled
}

// press presses an inline button of a bot message in the operators' group
// and hands the callback to the service.
func (e *env) press(messageID int64, data string) (*telego.CallbackQuery, string) {
	e.t.Helper()
	var pressed tgemu.Pressed
	e.control("POST", "/_emulator/press", map[string]any{"user_id": operatorID, "chat_id": operatorsChat, "message_id": messageID, "data": data}, &pressed)
	up := e.nextUpdate()
	if up.CallbackQuery == nil {
		e.t.Fatalf("update without a callback query: %+v", up)
	}
	handled, err := e.svc.HandleOperatorCallback(ctxT(e.t, 30*time.Second), up.CallbackQuery)
	if err != nil || !handled {
		e.t.Fatalf("press %s: handled %v, %v", data, handled, err)
	}
	return up.CallbackQuery, pressed.CallbackQueryID
}

// reply is the bot's answer to a command message in the group.
func (e *env) reply(to *telego.Message) (tgemu.TranscriptMessage, bool) {
	for _, m := range e.botMessages(operatorsChat) {
		if m.ReplyToMessageID == int64(to.MessageID) {
			return m, true
		}
	}
	return tgemu.TranscriptMessage{}, false
}

func buttons(t *testing.T, markup json.RawMessage) []string {
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

func TestOperatorCommand(t *testing.T) {
	t.Parallel()
	code := func(i int) string {
		if i < 20 {
			return "SPB-" + string(rune('A'+i))
		}
		return "MSK-" + string(rune('A'+i))
	}
	e := newEnv(t, envOptions{partners: 25, code: code, concurrency: 16, promotions: []domain.Promotion{
		{ID: "SPB1", Title: "Питер: бонус", Text: "Бонус для Петербурга", Audience: "SPB-", StartsAt: time.Now().Add(24 * time.Hour), Status: domain.PromotionDraft},
		promotion("DONE", "Уже разослана", domain.PromotionSent, time.Now().Add(-time.Hour)),
		promotion("KEEP", "Передумали", domain.PromotionDraft, time.Time{}),
	}})

	t.Run("replies", func(t *testing.T) {
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
				msg, handled := e.command(tc.text)
				if handled != tc.handled {
					t.Fatalf("handled = %v", handled)
				}
				r, ok := e.reply(msg)
				if tc.want == "" {
					if ok {
						t.Errorf("unexpected reply %q", r.Text)
					}
					return
				}
				if !ok || !strings.Contains(r.Text, tc.want) || len(buttons(t, r.ReplyMarkup)) != 0 {
					t.Errorf("reply %q (found %v), want %q without buttons", r.Text, ok, tc.want)
				}
			})
		}
	})

	t.Run("dry run and confirm", func(t *testing.T) {
		msg, handled := e.command("/promo@emulator_bot SPB1")
		dry, ok := e.reply(msg)
		if !handled || !ok {
			t.Fatalf("handled %v, reply %v", handled, ok)
		}
		if !strings.Contains(dry.Text, "Аудитория: SPB- · получателей: 20") {
			t.Errorf("dry run %q", dry.Text)
		}
		if b := buttons(t, dry.ReplyMarkup); len(b) != 2 || b[0] != "promo:go:SPB1" || b[1] != "promo:no:SPB1" {
			t.Fatalf("buttons %v", b)
		}
		// A retried task does not post a second dry run.
		if handled, err := e.svc.HandleOperatorCommand(ctxT(t, 10*time.Second), msg); !handled || err != nil {
			t.Fatalf("retry: %v %v", handled, err)
		}
		if n := len(e.botMessages(operatorsChat)); n != 4 {
			t.Errorf("%d bot messages in the group, want 4 (3 replies + 1 dry run)", n)
		}

		q, cbID := e.press(dry.MessageID, "promo:go:SPB1")
		edited := e.groupText("запущена", time.Second)
		if edited.MessageID != dry.MessageID || !strings.Contains(edited.Text, "Ольга Операторова") ||
			!strings.Contains(edited.Text, "Получателей: 20") || len(buttons(t, edited.ReplyMarkup)) != 0 {
			t.Errorf("after confirm: %+v", edited)
		}
		if cb, err := e.tg.Callback(cbID); err != nil || !cb.Answered {
			t.Errorf("callback not answered: %+v %v", cb, err)
		}
		e.waitStatus("SPB1", domain.PromotionSent, 30*time.Second)
		for i, p := range e.partners {
			want := 0
			if i < 20 {
				want = 1
			}
			if got := e.promoCount(p.TelegramID, "Бонус для Петербурга"); got != want {
				t.Errorf("%s got it %d times, want %d", p.Code, got, want)
			}
		}
		e.groupText("«Питер: бонус» завершена: доставлено 20", 5*time.Second)

		// The same press handled again (a retried task): no second broadcast.
		if handled, err := e.svc.HandleOperatorCallback(ctxT(t, 10*time.Second), q); !handled || err != nil {
			t.Fatalf("second press: %v %v", handled, err)
		}
		time.Sleep(2 * time.Second)
		for _, p := range e.partners[:20] {
			if got := e.promoCount(p.TelegramID, "Бонус для Петербурга"); got != 1 {
				t.Fatalf("%s got it %d times after a second press", p.Code, got)
			}
		}

		// Set back to Черновик by hand and asked again: refused.
		e.setStatus("SPB1", domain.PromotionDraft)
		msg, _ = e.command("/promo SPB1")
		if r, ok := e.reply(msg); !ok || !strings.Contains(r.Text, "уже проводилась") {
			t.Errorf("repeat: %q", r.Text)
		}
	})

	t.Run("dismiss", func(t *testing.T) {
		msg, _ := e.command("/promo KEEP")
		dry, ok := e.reply(msg)
		if !ok || !strings.Contains(dry.Text, "получателей: 25") {
			t.Fatalf("dry run %q", dry.Text)
		}
		e.press(dry.MessageID, "promo:no:KEEP")
		edited := e.groupText("не запущена", time.Second)
		if edited.MessageID != dry.MessageID || len(buttons(t, edited.ReplyMarkup)) != 0 {
			t.Errorf("after cancel: %+v", edited)
		}
		if got := cellStr(e.row("KEEP"), 6); got != string(domain.PromotionDraft) {
			t.Errorf("KEEP status %q", got)
		}
		_, err := asynq.NewInspectorFromRedisClient(e.rdb).GetTaskInfo(tasks.QueueBroadcast, "promo:broadcast:KEEP")
		if !errors.Is(err, asynq.ErrTaskNotFound) && !errors.Is(err, asynq.ErrQueueNotFound) {
			t.Errorf("a broadcast task exists for a dismissed promotion: %v", err)
		}
	})
}
