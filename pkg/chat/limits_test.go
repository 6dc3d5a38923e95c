package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode"
	"unicode/utf16"

	"github.com/mymmrac/telego"

	"marketingbot/pkg/ai"
	"marketingbot/pkg/history"
	"marketingbot/pkg/tasks"
	"marketingbot/pkg/telegram"
	"marketingbot/pkg/telegram/tghtml"
)

// Nothing is lost at Telegram's limits (the fake Telegram refuses a text
// over 4,096 UTF-16 units as Telegram does): the relays in both directions,
// the AI's answers and the card; what the partner and the operator wrote is
// in the history whatever happens to the relay.

// unitsText is a text of exactly n UTF-16 units: Cyrillic, emoji (two units
// each), characters HTML escapes, paragraph breaks.
func unitsText(n int, seed string) string {
	words := []string{seed, "Партнёр", "получает", "комиссию", "😀", "за", "сделку", "<b>не", "тег</b>", "&", "👍🏽", "в", "срок."}
	var b strings.Builder
	units := 0
	for i := 0; ; i++ {
		w, sep := words[i%len(words)], " "
		if i%37 == 36 {
			sep = "\n\n"
		}
		add := u16(w) + u16(sep)
		if units+add > n {
			break
		}
		b.WriteString(w)
		b.WriteString(sep)
		units += add
	}
	for ; units < n; units++ {
		b.WriteString("я")
	}
	return b.String()
}

func u16(s string) int { return len(utf16.Encode([]rune(s))) }

func noSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

// visible is what a reader of the messages sees, in order.
func visible(ms []sent) string {
	var b strings.Builder
	for _, m := range ms {
		b.WriteString(tghtml.Plain(m.text))
	}
	return b.String()
}

// carries: the messages hold want, in order, each within the limit.
func carries(t *testing.T, ms []sent, want string) {
	t.Helper()
	for i, m := range ms {
		if n := u16(tghtml.Plain(m.text)); n > telegram.MaxTextLen {
			t.Fatalf("message %d has %d units", i, n)
		}
	}
	if !strings.Contains(noSpace(visible(ms)), noSpace(want)) {
		t.Fatalf("the %d messages (%d units) do not carry the %d-unit text", len(ms), u16(visible(ms)), u16(want))
	}
}

// historyHas: the user's appeal history holds want.
func historyHas(t *testing.T, b *bench, want string) []history.Turn {
	t.Helper()
	_, turns := rowOf(t, b, partnerUID)
	var all strings.Builder
	for _, tr := range turns {
		all.WriteString(tr.Text)
	}
	if !strings.Contains(noSpace(all.String()), noSpace(want)) {
		t.Fatalf("the history does not hold the %d-unit text: %s", u16(want), ids(turns))
	}
	return turns
}

func noApology(t *testing.T, b *bench) {
	t.Helper()
	for _, m := range b.sender.to(partnerUID) {
		if m.text == b.tx.ProcessingFailed {
			t.Fatal("the partner was told their message failed")
		}
	}
}

func TestLimitsPartnerTextReachesOperators(t *testing.T) {
	b := authorizedBench(t, nil)
	card := escalated(t, b)
	text := unitsText(4096, "Длинное")
	b.handle(b.text(partnerUID, text))
	group := b.sender.to(operatorsChat)
	if len(group) < 3 || group[0].id != card.id {
		t.Fatalf("%d messages in the group, want the card and the text in parts", len(group))
	}
	carries(t, group[1:], "Иванова Мария Петровна (P-0001):"+text)
	historyHas(t, b, text)
	noApology(t, b)
	// An operator's reply to any part reaches the partner.
	b.handle(b.operatorReply(group[len(group)-1].id, "Принято"))
	if got := lastText(t, b, partnerUID); !strings.Contains(got, "Принято") {
		t.Fatalf("a reply to the last part: %q", got)
	}
}

// The group refuses the relay for good: the partner's words are in the
// history anyway, with a line saying they did not reach the group; the
// unit is not retried and the partner is not told anything failed.
func TestLimitsRefusedForwardKeepsTheHistory(t *testing.T) {
	b := authorizedBench(t, nil)
	escalated(t, b)
	b.sender.SendMessageFn = func(p *telego.SendMessageParams) error {
		if p.ChatID.ID == operatorsChat {
			return fmt.Errorf("%w: Bad Request: need administrator rights in the channel chat", telegram.ErrRejected)
		}
		return nil
	}
	text := unitsText(2000, "Отказ")
	b.handle(b.text(partnerUID, text))
	turns := historyHas(t, b, text)
	last := turns[len(turns)-1]
	if last.Role != history.RoleSystem || !strings.Contains(last.Text, "не переслано") || !strings.Contains(last.Text, "need administrator rights") {
		t.Fatalf("last line %+v", last)
	}
	if n := len(b.inbox(partnerUID)); n != 0 {
		t.Fatalf("%d updates left in the inbox for a retry", n)
	}
	noApology(t, b)
}

func TestLimitsOperatorReplyReachesPartner(t *testing.T) {
	b := authorizedBench(t, nil)
	card := escalated(t, b)
	before := len(b.sender.to(partnerUID))
	reply := unitsText(4096, "Ответ")
	b.handle(b.operatorReply(card.id, reply))
	msgs := b.sender.to(partnerUID)[before:]
	if len(msgs) < 2 {
		t.Fatalf("%d messages to the partner, want the reply in parts", len(msgs))
	}
	carries(t, msgs, "Ольга Оператор:"+reply)
	historyHas(t, b, reply)
	if n := len(b.sender.to(operatorsChat)); n != 1 {
		t.Fatalf("%d messages in the group, want only the card (no failure notice)", n)
	}
}

// Telegram refuses the relay for good: the operator is told in the group,
// in a reply to their message; the history has the reply and a line; the
// partner is not told their message failed.
func TestLimitsRefusedOperatorReplyToldInTheGroup(t *testing.T) {
	b := authorizedBench(t, nil)
	card := escalated(t, b)
	b.sender.SendMessageFn = func(p *telego.SendMessageParams) error {
		if p.ChatID.ID == partnerUID {
			return fmt.Errorf("%w: Bad Request: PEER_ID_INVALID", telegram.ErrRejected)
		}
		return nil
	}
	it := b.operatorReply(card.id, "Ответ, который не дойдёт")
	b.handle(it)
	group := b.sender.to(operatorsChat)
	notice := group[len(group)-1]
	if len(group) != 2 || !strings.Contains(notice.text, "Не доставлено") || !strings.Contains(notice.text, "PEER_ID_INVALID") || notice.replyTo != b.message {
		t.Fatalf("group %+v (the operator's message is %d)", group, b.message)
	}
	turns := historyHas(t, b, "Ответ, который не дойдёт")
	if last := turns[len(turns)-1]; last.Role != history.RoleSystem || !strings.Contains(last.Text, "не доставлено") {
		t.Fatalf("last line %+v", last)
	}
	noApology(t, b)
}

// The partner blocked the bot: the relay's 403 marks them blocked and the
// operator is told why, in a reply to their message.
func TestLimitsOperatorReplyToBlockedPartner(t *testing.T) {
	b := authorizedBench(t, nil)
	card := escalated(t, b)
	b.sender.SendMessageFn = func(p *telego.SendMessageParams) error {
		if p.ChatID.ID == partnerUID {
			return fmt.Errorf("%w: Forbidden: bot was blocked by the user", telegram.ErrBlocked)
		}
		return nil
	}
	b.handle(b.operatorReply(card.id, "Ответ заблокировавшему"))
	if blocked, _ := b.s.isBlocked(context.Background(), partnerUID); !blocked {
		t.Fatal("the partner is not marked blocked")
	}
	group := b.sender.to(operatorsChat)
	if notice := group[len(group)-1]; !strings.Contains(notice.text, b.tx.OperatorBlockedReason) || notice.replyTo != b.message {
		t.Fatalf("group %+v", group)
	}
	historyHas(t, b, "Ответ заблокировавшему")
}

// A unit of an operator's reply given up after repeated failures is
// reported to the operator, never to the partner.
func TestLimitsGivenUpOperatorReplyToldInTheGroup(t *testing.T) {
	b := authorizedBench(t, nil)
	card := escalated(t, b)
	b.sender.SendMessageFn = func(p *telego.SendMessageParams) error {
		if p.ChatID.ID == partnerUID {
			return errors.New("connection reset by peer")
		}
		return nil
	}
	it := b.operatorReply(card.id, "Ответ при сбое сети")
	for i := 0; i < maxAttempts; i++ {
		_ = b.handleErr(it)
	}
	noApology(t, b)
	group := b.sender.to(operatorsChat)
	if notice := group[len(group)-1]; !strings.Contains(notice.text, b.tx.DeliveryReasonRepeatedFails) || notice.replyTo != b.message {
		t.Fatalf("group %+v", group)
	}
	historyHas(t, b, "Ответ при сбое сети")
}

// A command's answer (texts an operator may have made long) goes in parts,
// the menu under the last.
func TestLimitsCommandAnswerInParts(t *testing.T) {
	b := authorizedBench(t, nil)
	help := tghtml.Escape(unitsText(6000, "Справка"))
	b.s.tx.Help = help
	b.handle(b.text(partnerUID, "/help"))
	msgs := b.sender.to(partnerUID)
	if len(msgs) != 2 || msgs[0].markup != nil || msgs[1].markup == nil {
		t.Fatalf("%d messages, markups %v / %v: want two, the menu under the last", len(msgs), msgs[0].markup, msgs[len(msgs)-1].markup)
	}
	carries(t, msgs, tghtml.Plain(help))
}

// limitsAnswer is Markdown of about n characters with bold, links and code
// throughout, and the text a reader sees of it.
func limitsAnswer(n int) (md, seen string) {
	var m, v strings.Builder
	for i := 0; u16(m.String()) < n; i++ {
		fmt.Fprintf(&m, "Пункт %d: **жирный текст %d через границу 😀** и [ссылка %d](https://example.com/%d) и `код %d < 1 && 2`. Конец.\n\n", i, i, i, i, i)
		fmt.Fprintf(&v, "Пункт %d: жирный текст %d через границу 😀 и ссылка %d и код %d < 1 && 2. Конец.\n\n", i, i, i, i)
	}
	return m.String(), v.String()
}

func TestLimitsLongAIAnswerInParts(t *testing.T) {
	for _, n := range []int{4096, 4097, 10000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			b := authorizedBench(t, nil)
			md, seen := limitsAnswer(n)
			b.gen.GenerateFn = func(ai.Request) (string, error) { return md, nil }
			b.handle(b.text(partnerUID, "Расскажите всё"))
			msgs := b.sender.to(partnerUID)
			if want := (u16(seen) + 4095) / 4096; len(msgs) < want {
				t.Fatalf("%d messages, want at least %d", len(msgs), want)
			}
			carries(t, msgs, seen)
			for i, m := range msgs {
				if (m.replyTo != 0) != (i == 0) {
					t.Fatalf("message %d replies to %d", i, m.replyTo)
				}
				if !strings.Contains(m.text, "<b>") || !strings.Contains(m.text, "<a href=") {
					t.Fatalf("message %d lost its formatting", i)
				}
			}
			historyHas(t, b, strings.TrimSpace(md))
		})
	}
}

func TestLimitsTruncatedAnswerEndsAtSentenceWithNote(t *testing.T) {
	b := authorizedBench(t, nil)
	b.gen.AnswerFn = func(ai.Request) (ai.Answer, error) {
		return ai.Answer{Text: "Комиссия — 3 %. Её платят после сделки! Для Казани условия такие:\n\n- ставка 2,5 %\n- выплата в теч", FinishReason: "MAX_TOKENS"}, nil
	}
	b.handle(b.text(partnerUID, "Какая комиссия?"))
	// The last complete line (a list item) stays; the cut one goes.
	want := "Комиссия — 3 %. Её платят после сделки! Для Казани условия такие:\n\n• ставка 2,5 %\n\n" + b.tx.AITruncatedNote
	if got := lastText(t, b, partnerUID); got != want {
		t.Fatalf("answer %q, want %q", got, want)
	}
	row, turns := rowOf(t, b, partnerUID)
	if ids(turns) != "user:u101 ai:a101 system:s-cut-101" || !strings.HasSuffix(turns[1].Text, "- ставка 2,5 %\n\n"+b.tx.AITruncatedNote) ||
		turns[2].Text != b.tx.HistoryAITruncated || row.Status != "Ответ ИИ" {
		t.Fatalf("history %s %q, status %s", ids(turns), turns[1].Text, row.Status)
	}
	if n := len(b.gen.calls()); n != 1 {
		t.Fatalf("%d model calls", n)
	}
}

func TestEndAtSentence(t *testing.T) {
	cases := []struct{ in, want string }{
		{"Первое. Второе предложение обрыва", "Первое."},
		{"Вопрос? Ответ!» И ещё", "Вопрос? Ответ!»"},
		{"**Жирное.** Обрыв на", "**Жирное.**"},
		{"Строка один\nСтрока два\nобры", "Строка один\nСтрока два"},
		{"Вот список:\n\n- первый пункт\n- втор", "Вот список:\n\n- первый пункт"},
		{"Вот список:\n- обры", "Вот список…"},
		{"Одно длинное предложение без конца", "Одно длинное предложение без…"},
		{"Версия 2.5 уже", "Версия 2.5…"},
		{"слово", "слово…"},
	}
	for _, tc := range cases {
		if got := endAtSentence(tc.in); got != tc.want {
			t.Errorf("endAtSentence(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// An empty or refused answer gets a defined reply and a history line
// naming the reason; the model is asked once.
func TestLimitsNoAnswerGetsDefinedReply(t *testing.T) {
	cases := []struct {
		answer ai.Answer
		reply  func(b *bench) string
		reason string
	}{
		{ai.Answer{FinishReason: "SAFETY"}, func(b *bench) string { return b.tx.AIBlocked }, "SAFETY"},
		{ai.Answer{Text: "Начало цитаты", FinishReason: "RECITATION"}, func(b *bench) string { return b.tx.AIBlocked }, "RECITATION"},
		{ai.Answer{FinishReason: "PROHIBITED_CONTENT"}, func(b *bench) string { return b.tx.AIBlocked }, "PROHIBITED_CONTENT"},
		{ai.Answer{FinishReason: "BLOCKLIST"}, func(b *bench) string { return b.tx.AIBlocked }, "BLOCKLIST"},
		{ai.Answer{FinishReason: "SPII"}, func(b *bench) string { return b.tx.AIBlocked }, "SPII"},
		{ai.Answer{FinishReason: "OTHER"}, func(b *bench) string { return b.tx.AIBlocked }, "OTHER"},
		{ai.Answer{BlockReason: "SAFETY"}, func(b *bench) string { return b.tx.AIBlocked }, "запрос заблокирован: SAFETY"},
		{ai.Answer{FinishReason: "STOP"}, func(b *bench) string { return b.tx.AIEmpty }, "пустой ответ"},
		{ai.Answer{FinishReason: "MAX_TOKENS"}, func(b *bench) string { return b.tx.AIEmpty }, "пустой ответ"},
		{ai.Answer{Text: "[](https://example.com)", FinishReason: "STOP"}, func(b *bench) string { return b.tx.AIEmpty }, "пустой ответ"},
	}
	for _, tc := range cases {
		t.Run(tc.reason+"/"+tc.answer.FinishReason, func(t *testing.T) {
			b := authorizedBench(t, nil)
			b.gen.AnswerFn = func(ai.Request) (ai.Answer, error) { return tc.answer, nil }
			b.handle(b.text(partnerUID, "Вопрос"))
			if got := lastText(t, b, partnerUID); got != tc.reply(b) {
				t.Fatalf("reply %q", got)
			}
			row, turns := rowOf(t, b, partnerUID)
			if ids(turns) != "user:u101 system:s-na-101" || !strings.Contains(turns[1].Text, "ИИ не дал ответа ("+tc.reason+")") || row.Status != "Новое" {
				t.Fatalf("history %s %q, status %s", ids(turns), turns[1].Text, row.Status)
			}
			if n := len(b.gen.calls()); n != 1 {
				t.Fatalf("%d model calls", n)
			}
		})
	}
}

// The card fits one message with its buttons however long the history
// (the oldest turns go), the edits keep the status line, and a long message
// that asked for a human follows the card in full.
func TestLimitsCardFitsAndLongRequestFollows(t *testing.T) {
	b := authorizedBench(t, nil)
	var turns []history.Turn
	for i := range 20 {
		turns = append(turns, history.Turn{ID: fmt.Sprintf("u%d", i), Role: history.RoleUser, Time: b.now, Text: unitsText(290, fmt.Sprintf("Старое%d", i))})
	}
	b.existing(partnerUID, "Ответ ИИ", turns...)
	long := unitsText(4096, "Оператор") // the first word asks for a human
	b.handle(b.text(partnerUID, long))
	group := b.sender.to(operatorsChat)
	if len(group) < 3 || group[0].markup == nil {
		t.Fatalf("%d messages in the group, want the card and the request in parts: %+v", len(group), group)
	}
	if n := u16(tghtml.Plain(group[0].text)); n > cardRoom {
		t.Fatalf("card of %d units", n)
	}
	carries(t, group[1:], long)

	// The take button on a card of 4,096 units: the edit keeps the status line.
	full := unitsText(4096, "Карточка")
	q, _ := json.Marshal(full)
	raw := json.RawMessage(fmt.Sprintf(`{"update_id":0,"callback_query":{"id":"cb1","from":{"id":77,"is_bot":false,"first_name":"Ольга","last_name":"Оператор"},"chat_instance":"ci","data":"op:take:7001","message":{"message_id":%d,"date":1,"chat":{"id":%d,"type":"supergroup"},"text":%s}}}`,
		group[0].id, operatorsChat, q))
	b.handle(b.payload(tasks.TypeChatCallback, 77, tasks.KindCallback, raw))
	edits := b.sender.edits
	if len(edits) != 1 || !strings.HasSuffix(tghtml.Plain(edits[0].Text), "В работе: Ольга Оператор") ||
		!strings.Contains(tghtml.Plain(edits[0].Text), b.tx.TrimmedMarker) {
		t.Fatalf("card edit %+v", edits)
	}
}

// telegramLimits answers like Telegram (as *telegram.Sender classifies it)
// for a text over limit UTF-16 code units of visible text, or one with
// nothing visible.
func telegramLimits(text, mode string, limit int) error {
	visible := text
	if mode == telego.ModeHTML {
		visible = tghtml.Plain(text)
	}
	switch {
	case strings.TrimSpace(visible) == "":
		return fmt.Errorf("%w: Bad Request: message text is empty", telegram.ErrRejected)
	case len(utf16.Encode([]rune(visible))) > limit:
		return fmt.Errorf("%w: Bad Request: message is too long", telegram.ErrTooLong)
	}
	return nil
}
