package systemtest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"marketingbot/pkg/domain"
	"marketingbot/sim/demo"
	tgemu "marketingbot/sim/emulator/telegram"
	"marketingbot/sim/fixtures"
	"marketingbot/sim/world"
)

// Nothing is lost at Telegram's limits on the relays between a partner and
// the operators: a text of the longest size a Telegram client sends (4,096
// UTF-16 units, Cyrillic, emoji, characters HTML escapes) goes through with
// the relay's prefix, in parts, and the history has all of it.

const limitsWait = 30 * time.Second

func limitsData(ids ...int64) *fixtures.Data {
	d := fixtures.Data{Knowledge: demo.Knowledge()}
	for i, id := range ids {
		d.Partners = append(d.Partners, domain.Partner{Code: fmt.Sprintf("P-%04d", i+1), Phone: fmt.Sprintf("+7 900 %07d", i+1),
			FullName: fmt.Sprintf("Лимитов Партнёр%d Иванович", i+1), Status: "authorized", TelegramID: id})
	}
	return &d
}

// limitsEscalated starts a world with an authorized partner whose appeal is
// with the operators, and returns it with the operators' card.
func limitsEscalated(t *testing.T, uid int64) (*world.Env, tgemu.TranscriptMessage) {
	t.Helper()
	e := world.New(t, world.Options{Data: limitsData(uid)})
	e.StartAll()
	e.AddUser(uid, "Партнёр", "")
	e.Send(uid, "Позовите оператора, пожалуйста")
	e.WaitBotText(uid, 0, "Передаю ваш вопрос оператору", limitsWait)
	group := e.WaitBotText(e.OperatorsChat, 0, "Новое обращение", limitsWait)
	return e, group[0]
}

// limitsNoFailureNotice: the partner was never told their message failed.
func limitsNoFailureNotice(t *testing.T, e *world.Env, uid int64) {
	t.Helper()
	for _, m := range e.BotMessages(uid) {
		if strings.Contains(m.Text, "Не получилось обработать ваше сообщение") {
			t.Fatalf("the partner was told their message failed: %q", m.Text)
		}
	}
}

func TestLimitsPartnerLongMessageReachesOperators(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	const uid = 9301
	e, card := limitsEscalated(t, uid)
	for _, n := range []int{4096, 4070} { // both longer than a message with the prefix
		text := world.LimitsText(n, fmt.Sprintf("Длинное%d", n))
		e.Send(uid, text)
		// The relay's prefix makes it longer than a message may be: it
		// arrives in parts, all of it, in order.
		msgs := e.WaitBotText(e.OperatorsChat, card.MessageID, "Лимитов Партнёр1 Иванович (P-0001):"+text, limitsWait)
		if len(msgs) < 2 {
			t.Fatalf("%d-unit text: %d messages in the group, want the card's successors in parts", n, len(msgs))
		}
		for _, m := range msgs {
			if world.UTF16Len(m.Text) > 4096 {
				t.Fatalf("a message of %d units", world.UTF16Len(m.Text))
			}
		}
		e.WaitHistory(uid, limitsWait, func(h string) bool { return strings.Contains(world.NoSpace(h), world.NoSpace(text)) })
		card = msgs[len(msgs)-1]
	}
	limitsNoFailureNotice(t, e, uid)
}

func TestLimitsOperatorLongReplyReachesPartner(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	const uid = 9302
	e, card := limitsEscalated(t, uid)
	before := e.BotMessages(uid)
	last := before[len(before)-1].MessageID
	reply := world.LimitsText(4096, "Ответ")
	op, err := e.Telegram.GroupSend(tgemu.GroupMessage{ChatID: e.OperatorsChat, UserID: e.Operator.ID, Text: reply, ReplyToMessageID: card.MessageID})
	if err != nil {
		t.Fatal(err)
	}
	msgs := e.WaitBotText(uid, last, "Ольга Оператор:"+reply, limitsWait)
	if len(msgs) < 2 {
		t.Fatalf("%d messages, want the reply in parts", len(msgs))
	}
	e.WaitHistory(uid, limitsWait, func(h string) bool { return strings.Contains(world.NoSpace(h), world.NoSpace(reply)) })
	limitsNoFailureNotice(t, e, uid)
	// The operator is not told of a failure either.
	for _, m := range e.ChatMessages(e.OperatorsChat, op.MessageID) {
		if m.FromBot && strings.Contains(m.Text, "Не доставлено") {
			t.Fatalf("the operator was told the reply failed: %q", m.Text)
		}
	}
}

func TestLimitsOperatorCommandLongArgument(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	e := world.New(t, world.Options{Data: limitsData(9303)})
	e.StartAll()
	arg := strings.Join(strings.Fields(world.LimitsText(4089, "Акция")), "_") // one argument
	for world.UTF16Len(arg) < 4089 {                                          // "/promo " + 4089 = 4096 units
		arg += "я"
	}
	cmd, err := e.Telegram.GroupSend(tgemu.GroupMessage{ChatID: e.OperatorsChat, UserID: e.Operator.ID, Text: "/promo " + arg})
	if err != nil {
		t.Fatal(err)
	}
	msgs := e.WaitBotText(e.OperatorsChat, cmd.MessageID, arg, limitsWait)
	if msgs[0].ReplyToMessageID != cmd.MessageID {
		t.Fatalf("the answer does not reply to the command (reply_to %d)", msgs[0].ReplyToMessageID)
	}
}
