package promo

import (
	"strings"
	"testing"
	"time"

	"github.com/mymmrac/telego"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/tasks"
)

var operator = telego.User{ID: 900001, FirstName: "Ольга", LastName: "Операторова", Username: "olga_op"}

// operatorUnit has SPB1 (a draft for the 3 SPB- partners of 5), DONE
// (already sent) and KEEP (a draft for all).
func operatorUnit(t *testing.T) *unit {
	ps := partners(5)
	for i := range 3 {
		ps[i].Code = "SPB-" + ps[i].Code
	}
	spb := promotion("SPB1", domain.PromotionDraft, time.Time{})
	spb.Title, spb.Audience = "Питер: бонус", "SPB-"
	return newUnit(t, Options{}, []domain.Promotion{spb,
		promotion("DONE", domain.PromotionSent, time.Time{}), promotion("KEEP", domain.PromotionDraft, time.Time{})}, ps)
}

// command hands a group message to the service as the chat's operator handler does.
func (u *unit) command(chat int64, text string) (*telego.Message, bool) {
	u.t.Helper()
	u.messageID++
	msg := &telego.Message{MessageID: 100 + u.messageID, Chat: telego.Chat{ID: chat}, From: &operator, Text: text}
	handled, err := u.svc.HandleOperatorCommand(u.ctx(), msg)
	if err != nil {
		u.t.Fatalf("%q: %v", text, err)
	}
	return msg, handled
}

// reply is the bot's answer to a command message.
func (u *unit) reply(to *telego.Message) (sent, bool) {
	for _, m := range u.sender.to(testGroup) {
		if m.ReplyTo == to.MessageID {
			return m, true
		}
	}
	return sent{}, false
}

func TestOperatorCommandParsing(t *testing.T) {
	tests := []struct {
		chat    int64
		text    string
		handled bool
		want    string // in the reply; "" = no reply
	}{
		{testGroup, "/promo", true, "Использование: /promo"},
		{testGroup, "/PROMO NOPE", true, "«NOPE» не найдена"},
		{testGroup, "/promo DONE", true, "статус «Отправлено»"},
		{testGroup, "  /promo   KEEP  ", true, "получателей: 5"},
		{testGroup, "/promo@our_bot SPB1", true, "Аудитория: SPB- · получателей: 3"},
		{testGroup, "/promo@OUR_BOT SPB1", true, "получателей: 3"},
		{testGroup, "/promo@other_bot SPB1", false, ""},
		{testGroup, "добрый день, коллеги", false, ""},
		{testGroup, "/promote SPB1", false, ""},
		{testGroup, "", false, ""},
		{-100999, "/promo SPB1", false, ""}, // another group
		{operator.ID, "/promo SPB1", false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			u := operatorUnit(t)
			msg, handled := u.command(tc.chat, tc.text)
			if handled != tc.handled {
				t.Fatalf("handled = %v", handled)
			}
			r, ok := u.reply(msg)
			if tc.want == "" {
				if ok || len(u.sender.all()) != 0 {
					t.Errorf("unexpected reply %+v", u.sender.all())
				}
				return
			}
			if !ok || !strings.Contains(r.Text, tc.want) {
				t.Errorf("reply %q (found %v), want %q", r.Text, ok, tc.want)
			}
			if len(u.queue.ofType(tasks.TypePromoBroadcast)) != 0 {
				t.Error("a command started a broadcast without confirmation")
			}
		})
	}
	u := operatorUnit(t)
	if handled, err := u.svc.HandleOperatorCommand(u.ctx(), nil); handled || err != nil {
		t.Errorf("nil message: %v %v", handled, err)
	}
}

// The dry run offers the two buttons; a retried task does not post it twice.
func TestOperatorDryRun(t *testing.T) {
	u := operatorUnit(t)
	msg, _ := u.command(testGroup, "/promo SPB1")
	dry, ok := u.reply(msg)
	if !ok {
		t.Fatal("no dry run")
	}
	for _, b := range []string{`"callback_data":"promo:go:SPB1"`, `"callback_data":"promo:no:SPB1"`} {
		if !strings.Contains(dry.Markup, b) {
			t.Errorf("buttons %s, want %s", dry.Markup, b)
		}
	}
	for _, reply := range []string{"/promo", "/promo DONE"} {
		m, _ := u.command(testGroup, reply)
		if r, _ := u.reply(m); r.Markup != "" {
			t.Errorf("%s: reply with buttons %s", reply, r.Markup)
		}
	}
	if handled, err := u.svc.HandleOperatorCommand(u.ctx(), msg); !handled || err != nil {
		t.Fatalf("retry: %v %v", handled, err)
	}
	if n := len(u.sender.to(testGroup)); n != 3 {
		t.Errorf("%d replies, want 3 (the retry posts nothing)", n)
	}
}

// press hands a button press in the group to the service.
func (u *unit) press(chat int64, data string) bool {
	u.t.Helper()
	q := &telego.CallbackQuery{ID: "cb-" + data, From: operator, Data: data,
		Message: &telego.Message{MessageID: 42, Chat: telego.Chat{ID: chat}}}
	handled, err := u.svc.HandleOperatorCallback(u.ctx(), q)
	if err != nil {
		u.t.Fatalf("press %s: %v", data, err)
	}
	return handled
}

func (u *unit) lastEdit() string {
	u.t.Helper()
	if len(u.sender.edits) == 0 {
		u.t.Fatal("the dry run was not edited")
	}
	e := u.sender.edits[len(u.sender.edits)-1]
	if e.MessageID != 42 || e.ChatID.ID != testGroup || e.ReplyMarkup != nil {
		u.t.Errorf("edit %+v, want message 42 in the group without buttons", e)
	}
	return e.Text
}

// Confirm starts the broadcast with the presser as operator; a second press
// starts nothing more; dismiss starts nothing; foreign data is not ours.
func TestOperatorCallbacks(t *testing.T) {
	u := operatorUnit(t)
	if u.press(testGroup, "report:go:1") {
		t.Error("foreign callback data taken as ours")
	}
	if !u.press(-100999, "promo:go:SPB1") || len(u.sender.edits) != 0 || len(u.queue.tasks) != 0 {
		t.Error("a press outside the operators' group was acted on")
	}
	if !u.press(testGroup, "promo:go:SPB1") {
		t.Fatal("confirm not handled")
	}
	if e := u.lastEdit(); !strings.Contains(e, "запущена (Ольга Операторова)") || !strings.Contains(e, "Получателей: 3") {
		t.Errorf("after confirm: %q", e)
	}
	b := u.queue.ofType(tasks.TypePromoBroadcast)
	if p, _ := tasks.ParsePromoBroadcast(b[0].Task); len(b) != 1 || p.Operator != "Ольга Операторова" {
		t.Fatalf("broadcast tasks %d, operator %q", len(b), p.Operator)
	}
	if got := u.store.row("SPB1").Status; got != domain.PromotionSending {
		t.Errorf("status %q, want Отправляется", got)
	}
	u.press(testGroup, "promo:go:SPB1") // a retried task
	if got := len(u.queue.ofType(tasks.TypePromoBroadcast)); got != 1 {
		t.Errorf("%d broadcasts after a second press", got)
	}
	u.drain(1)
	u.store.setStatus("SPB1", domain.PromotionDraft) // by hand, after it was sent
	u.press(testGroup, "promo:go:SPB1")
	if e := u.lastEdit(); !strings.Contains(e, "уже проводилась") {
		t.Errorf("press after the broadcast: %q", e)
	}

	u.press(testGroup, "promo:no:KEEP")
	if e := u.lastEdit(); !strings.Contains(e, "«Акция KEEP» не запущена") {
		t.Errorf("after dismiss: %q", e)
	}
	if got := u.store.row("KEEP").Status; got != domain.PromotionDraft {
		t.Errorf("KEEP status %q", got)
	}
	if _, err := u.queue.GetTaskInfo("", broadcastTaskID("KEEP")); err == nil {
		t.Error("a broadcast task exists for a dismissed promotion")
	}
	if len(u.sender.answers) != 5 {
		t.Errorf("%d callback queries answered, want 5 (all of ours)", len(u.sender.answers))
	}
	if got := len(u.direct.all()); got != 3 {
		t.Errorf("%d sends, want the 3 SPB- partners once", got)
	}
}
