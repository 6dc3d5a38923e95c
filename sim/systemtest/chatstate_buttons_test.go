package systemtest

import (
	"strconv"
	"strings"
	"testing"

	"marketingbot/pkg/domain"
	"marketingbot/sim/demo"
	tgemu "marketingbot/sim/emulator/telegram"
	"marketingbot/sim/fixtures"
	"marketingbot/sim/world"
)

// A press with data we never issued — here an operator's "resolve" button
// pressed in the partner's own chat, as a modified client can send it — is
// answered with a short notice and does not hold the partner's next
// message: the answer comes long before the two minutes the chat would
// wait for an update that never reaches the inbox (chatWait is 20 s), in
// order after the press, and the worker never gave up waiting on a gap.
func TestChatstateForgedButtonDoesNotHoldTheNextMessage(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	const uid = 9301
	d := &fixtures.Data{Knowledge: demo.Knowledge(), Partners: []domain.Partner{{Code: "P-0001", Phone: "+7 900 000-00-01",
		FullName: "Партнёров Партнёр Иванович", Status: domain.PartnerStatusAuthorized, TelegramID: uid}}}
	c := world.NewChatstate(t, world.Options{Data: d})
	c.AddUser(uid, "П", "")

	c.PressForged(uid, "forged-1", "op:res:9301")
	c.Send(uid, "Какая комиссия партнёра за сделку?")
	msgs := c.WaitBotMessages(uid, 1, chatWait)
	if !strings.Contains(strings.ToLower(msgs[0].Text), "комисс") {
		t.Fatalf("the answer to the text: %q", msgs[0].Text)
	}
	answer, err := c.Telegram.Callback("forged-1")
	if err != nil {
		t.Fatal(err)
	}
	if !answer.Answered || !strings.Contains(answer.Text, "кнопка не работает") {
		t.Fatalf("the press was answered %v with %q", answer.Answered, answer.Text)
	}
	// In the user's order: the press was answered before the text.
	acb, sends := c.Telegram.Calls("answerCallbackQuery"), chatstateSendsTo(c.Telegram.Calls("sendMessage"), uid)
	if len(acb) != 1 || len(sends) == 0 || !acb[0].Time.Before(sends[0].Time) {
		t.Fatalf("answerCallbackQuery %+v, sends to the user %+v", acb, sends)
	}
	// The forged "resolve" did nothing: no appeal was closed, no card touched.
	if n := len(c.BotMessages(c.OperatorsChat)); n != 0 {
		t.Fatalf("%d messages in the operators' group", n)
	}
	if n := c.Metric(c.Worker, "marketingbot_chat_gap_timeouts_total"); n != 0 {
		t.Fatalf("the worker gave up waiting on a gap %v times", n)
	}
}

func chatstateSendsTo(calls []tgemu.Call, chatID int64) []tgemu.Call {
	var out []tgemu.Call
	for _, call := range calls {
		if call.Status == 200 && call.Params["chat_id"] == strconv.FormatInt(chatID, 10) {
			out = append(out, call)
		}
	}
	return out
}
