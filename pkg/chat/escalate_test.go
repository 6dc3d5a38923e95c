package chat

import (
	"strings"
	"testing"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/history"
)

// escalated runs a keyword message and returns the card posted to the group.
func escalated(t *testing.T, b *bench) sent {
	t.Helper()
	b.handle(b.text(partnerUID, "Позовите оператора, пожалуйста"))
	group := b.sender.to(operatorsChat)
	if len(group) != 1 {
		t.Fatalf("%d messages in the group, want the card", len(group))
	}
	return group[0]
}

func TestKeywordEscalates(t *testing.T) {
	b := authorizedBench(t, nil)
	card := escalated(t, b)

	row, turns := rowOf(t, b, partnerUID)
	if ids(turns) != "user:u101 system:s-esc-101" || row.Status != domain.AppealStatusEscalated {
		t.Fatalf("history %s, status %s", ids(turns), row.Status)
	}
	if turns[1].Text != b.tx.HistoryEscalated {
		t.Fatalf("system line %q", turns[1].Text)
	}
	if got := lastText(t, b, partnerUID); got != b.tx.Escalated {
		t.Fatalf("answer %q", got)
	}
	kb := mustJSON(t, card.markup)
	if !strings.Contains(card.text, "P-0001") || !strings.Contains(card.text, "Позовите оператора") ||
		!strings.Contains(kb, "op:take:7001") || !strings.Contains(kb, "op:res:7001") {
		t.Fatalf("card %q %s", card.text, kb)
	}
	if len(b.gen.calls()) != 0 {
		t.Fatal("the model was called")
	}
}

// While an operator has the appeal the AI is off: texts and media go to
// the group and into the history, the status stays.
func TestEscalatedAppealForwardsToOperators(t *testing.T) {
	b := authorizedBench(t, nil)
	escalated(t, b)
	b.handle(b.text(partnerUID, "Уточню: объект в Казани"))
	b.handle(b.media(partnerUID, "media", `"voice":{"file_id":"v","file_unique_id":"u","duration":3}`))

	group := b.sender.to(operatorsChat)
	if len(group) != 3 || !strings.Contains(group[1].text, "Уточню: объект в Казани") {
		t.Fatalf("group %+v", group)
	}
	if len(b.sender.copies) != 1 || b.sender.copies[0].ChatID.ID != operatorsChat {
		t.Fatalf("the voice message was not copied to the group: %+v", b.sender.copies)
	}
	row, turns := rowOf(t, b, partnerUID)
	if ids(turns) != "user:u101 system:s-esc-101 user:u102 user:u103" || row.Status != domain.AppealStatusEscalated {
		t.Fatalf("history %s, status %s", ids(turns), row.Status)
	}
	if len(b.gen.calls()) != 0 {
		t.Fatal("the model was called while escalated")
	}
}

// Escalated by hand in the sheet: the first forwarded message brings a card.
func TestEscalatedInTheSheetPostsACard(t *testing.T) {
	b := authorizedBench(t, nil)
	b.existing(partnerUID, domain.AppealStatusEscalated)
	b.handle(b.text(partnerUID, "Есть кто?"))
	group := b.sender.to(operatorsChat)
	if len(group) != 2 || !strings.Contains(mustJSON(t, group[1].markup), "op:take:") {
		t.Fatalf("group %+v", group)
	}
	if len(b.gen.calls()) != 0 {
		t.Fatal("the model was called")
	}
}

func TestOperatorReplyReachesTheUser(t *testing.T) {
	b := authorizedBench(t, nil)
	card := escalated(t, b)
	b.handle(b.operatorReply(card.id, "Комиссия в Казани — 2,5 %."))

	if got := lastText(t, b, partnerUID); !strings.Contains(got, "Ольга Оператор") || !strings.Contains(got, "Комиссия в Казани") {
		t.Fatalf("relayed %q", got)
	}
	row, turns := rowOf(t, b, partnerUID)
	last := turns[len(turns)-1]
	if last.Role != history.RoleOperator || last.Author != "Ольга Оператор" || !strings.HasPrefix(last.ID, "o") || row.Operator != "Ольга Оператор" {
		t.Fatalf("history %s (%+v), operator %q", ids(turns), last, row.Operator)
	}
	// A reply to a message that is not about a user goes nowhere.
	before := len(b.sender.msgs)
	b.handle(b.operatorReply(99999, "между собой"))
	if len(b.sender.msgs) != before {
		t.Fatal("a reply to an unknown message was relayed")
	}
}

func TestOperatorTakesAndResolves(t *testing.T) {
	b := authorizedBench(t, nil)
	card := escalated(t, b)
	b.handle(b.callback(77, operatorsChat, card.id, "op:take:7001"))
	row, turns := rowOf(t, b, partnerUID)
	if !strings.HasPrefix(ids(turns[len(turns)-1:]), "system:s-take-") || row.Operator != "Ольга Оператор" || row.Status != domain.AppealStatusEscalated {
		t.Fatalf("after take: history %s, row %+v", ids(turns), row)
	}
	if got := lastText(t, b, partnerUID); !strings.Contains(got, "Ольга Оператор") {
		t.Fatalf("joined %q", got)
	}
	if len(b.sender.edits) != 1 || strings.Contains(mustJSON(t, b.sender.edits[0].ReplyMarkup), "op:take") {
		t.Fatalf("card not updated: %+v", b.sender.edits)
	}

	b.handle(b.callback(77, operatorsChat, card.id, "op:res:7001"))
	if row, _ := rowOf(t, b, partnerUID); row.Status != domain.AppealStatusResolved {
		t.Fatalf("status %s", row.Status)
	}
	if got := b.sender.to(partnerUID); got[len(got)-2].text != b.tx.Resolved || got[len(got)-1].text != b.tx.RatingQuestion {
		t.Fatalf("resolved %q, then %q (want the rating question)", got[len(got)-2].text, got[len(got)-1].text)
	}
	// The AI answers again, in a new row.
	b.handle(b.text(partnerUID, "Спасибо! А фиксация?"))
	rows := b.store.rows(partnerUID)
	if len(rows) != 2 || rows[1].Status != domain.AppealStatusAIAnswered || len(b.gen.calls()) != 1 {
		t.Fatalf("rows %+v, %d model calls", rows, len(b.gen.calls()))
	}
}

// Operator buttons count only in the operators' group.
func TestOperatorButtonOutsideTheGroupIgnored(t *testing.T) {
	b := authorizedBench(t, nil)
	escalated(t, b)
	b.handle(b.callback(partnerUID, partnerUID, 5, "op:res:7001"))
	if row, _ := rowOf(t, b, partnerUID); row.Status != domain.AppealStatusEscalated {
		t.Fatalf("status %s", row.Status)
	}
	if b.sender.answers != 1 {
		t.Fatalf("the spinner was not stopped (%d answers)", b.sender.answers)
	}
}

func TestMenuButtonEscalates(t *testing.T) {
	b := authorizedBench(t, nil)
	b.handle(b.text(partnerUID, "/start"))
	menu := mustJSON(t, b.sender.to(partnerUID)[0].markup)
	if !strings.Contains(menu, `"callback_data":"esc"`) || !strings.Contains(menu, "https://example.test/app/?screen=analytics") {
		t.Fatalf("menu %s", menu)
	}
	b.handle(b.callback(partnerUID, partnerUID, 5, callbackEscalate))
	if row, turns := rowOf(t, b, partnerUID); row.Status != domain.AppealStatusEscalated || ids(turns) != "system:s-esc-102" {
		t.Fatalf("status %s, history %s", row.Status, ids(turns))
	}
	// Pressed again: told it is with an operator already, nothing written.
	b.handle(b.callback(partnerUID, partnerUID, 5, callbackEscalate))
	if got := lastText(t, b, partnerUID); got != b.tx.EscalatedAlready {
		t.Fatalf("answer %q", got)
	}
	if len(b.sender.to(operatorsChat)) != 1 {
		t.Fatal("a second card was posted")
	}
}
