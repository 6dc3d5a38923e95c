package systemtest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	tgemu "marketingbot/sim/emulator/telegram"
	"marketingbot/sim/world"
)

func chatGroupMessages(t *testing.T, e *world.Env) []tgemu.TranscriptMessage {
	t.Helper()
	tr, err := e.Telegram.Transcript(e.OperatorsChat, 0)
	if err != nil {
		t.Fatal(err)
	}
	return tr.Messages
}

func chatWaitGroup(t *testing.T, e *world.Env, n int) []tgemu.TranscriptMessage {
	t.Helper()
	deadline := time.Now().Add(chatWait)
	for {
		ms := chatGroupMessages(t, e)
		if len(ms) >= n {
			return ms
		}
		if time.Now().After(deadline) {
			t.Fatalf("operators' group has %d messages, want %d", len(ms), n)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

func chatCallbackData(t *testing.T, markup json.RawMessage, prefix string) string {
	t.Helper()
	var kb struct {
		InlineKeyboard [][]struct {
			CallbackData string `json:"callback_data"`
		} `json:"inline_keyboard"`
	}
	_ = json.Unmarshal(markup, &kb)
	for _, row := range kb.InlineKeyboard {
		for _, b := range row {
			if strings.HasPrefix(b.CallbackData, prefix) {
				return b.CallbackData
			}
		}
	}
	t.Fatalf("no button %q in %s", prefix, markup)
	return ""
}

func chatAppealStatus(e *world.Env, uid int64) []string {
	var out []string
	for _, r := range chatAppealRows(e, uid) {
		out = append(out, world.Cell([][]any{r}, 0, 5))
	}
	return out
}

// keyword → В работе → card in the group → operator reply reaches the user and
// the sheet → "Решено" → the AI answers again in a new appeal row.
func TestChatEscalationRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	const uid = 9101
	e := world.New(t, world.Options{Data: chatAuthorizedData(uid)})
	e.StartAll()
	e.AddUser(uid, "Партнёр1", "")

	e.Send(uid, "Здравствуйте, какая комиссия?")
	e.WaitBotMessages(uid, 1, chatWait)
	e.Send(uid, "Позовите, пожалуйста, живой человек нужен")
	msgs := e.WaitBotMessages(uid, 2, chatWait)
	if !strings.Contains(msgs[1].Text, "Передаю ваш вопрос оператору") {
		t.Fatalf("escalation answer: %q", msgs[1].Text)
	}
	card := chatWaitGroup(t, e, 1)[0]
	if !strings.Contains(card.Text, "Новое обращение") || !strings.Contains(card.Text, "P-0001") || !strings.Contains(card.Text, "какая комиссия") {
		t.Fatalf("card: %q", card.Text)
	}
	// The AI's turn is shown as the partner saw it, not as the model's Markdown.
	if !strings.Contains(card.Text, "ИИ:") || strings.Contains(card.Text, "**") {
		t.Fatalf("card shows the AI turn as raw Markdown (or not at all): %q", card.Text)
	}
	chatEventually(t, func() error {
		if st := chatAppealStatus(e, uid); len(st) != 1 || st[0] != "В работе" {
			return fmt.Errorf("status %v", st)
		}
		return nil
	})
	geminiCalls := len(e.Gemini.Requests(chatGenerateFilter()))

	// While escalated, the user's messages go to the operators, not the AI.
	e.Send(uid, "Уточню: объект в Казани")
	fwd := chatWaitGroup(t, e, 2)[1]
	if !strings.Contains(fwd.Text, "Уточню: объект в Казани") {
		t.Fatalf("forwarded: %q", fwd.Text)
	}

	// The operator takes it and replies to the card.
	take := chatCallbackData(t, card.ReplyMarkup, "op:take:")
	if _, err := e.Telegram.Press(e.Operator.ID, e.OperatorsChat, card.MessageID, take); err != nil {
		t.Fatal(err)
	}
	msgs = e.WaitBotMessages(uid, 3, chatWait)
	if !strings.Contains(msgs[2].Text, "Ольга Оператор подключился") {
		t.Fatalf("operator joined: %q", msgs[2].Text)
	}
	if _, err := e.Telegram.GroupSend(tgemu.GroupMessage{ChatID: e.OperatorsChat, UserID: e.Operator.ID, Text: "Добрый день! Комиссия в Казани — 2,5 %.", ReplyToMessageID: fwd.MessageID}); err != nil {
		t.Fatal(err)
	}
	msgs = e.WaitBotMessages(uid, 4, chatWait)
	if !strings.Contains(msgs[3].Text, "Комиссия в Казани — 2,5 %") {
		t.Fatalf("relayed: %q", msgs[3].Text)
	}
	chatEventually(t, func() error {
		rows := chatAppealRows(e, uid)
		if len(rows) != 1 {
			return fmt.Errorf("%d rows", len(rows))
		}
		h := fmt.Sprint(rows[0][4])
		if !strings.Contains(h, "Оператор Ольга Оператор #o") || !strings.Contains(h, "Уточню: объект в Казани") || world.Cell(rows, 0, 7) != "Ольга Оператор" {
			return fmt.Errorf("history/operator not written: %q / %q", h, world.Cell(rows, 0, 7))
		}
		return nil
	})
	if n := len(e.Gemini.Requests(chatGenerateFilter())); n != geminiCalls {
		t.Fatalf("the AI was called while escalated (%d → %d)", geminiCalls, n)
	}
	chatResolveAndAskAgain(t, e, uid)
}

// chatResolveAndAskAgain presses "Решено" on the card (the third step of
// TestChatEscalationRoundTrip): the user is told, the row and the card say
// so, and the next message is answered by the AI in a new row.
func chatResolveAndAskAgain(t *testing.T, e *world.Env, uid int64) {
	t.Helper()
	// Resolved from the group: the user is told, the row says Решено.
	card := chatGroupMessages(t, e)[0]
	resolve := chatCallbackData(t, card.ReplyMarkup, "op:res:")
	if _, err := e.Telegram.Press(e.Operator.ID, e.OperatorsChat, card.MessageID, resolve); err != nil {
		t.Fatal(err)
	}
	msgs := e.WaitBotMessages(uid, 5, chatWait)
	if !strings.Contains(msgs[4].Text, "Обращение закрыто") {
		t.Fatalf("resolved: %q", msgs[4].Text)
	}
	chatEventually(t, func() error {
		if st := chatAppealStatus(e, uid); len(st) != 1 || st[0] != "Решено" {
			return fmt.Errorf("status %v", st)
		}
		return nil
	})
	chatEventually(t, func() error { // the card is edited after the sheet is written
		if c := chatGroupMessages(t, e)[0]; !strings.Contains(c.Text, "✅ Решено: Ольга Оператор") {
			return fmt.Errorf("card not updated: %q", c.Text)
		}
		return nil
	})

	// Next message: the AI answers again, in a new appeal row.
	e.Send(uid, "Спасибо! А как зафиксировать клиента?")
	e.WaitBotMessages(uid, 6, chatWait)
	chatEventually(t, func() error {
		if st := chatAppealStatus(e, uid); len(st) != 2 || st[1] != "Ответ ИИ" {
			return fmt.Errorf("status %v", st)
		}
		return nil
	})
}

// "Решено" typed into the sheet by hand also closes the appeal.
func TestChatResolvedInSheetReenablesAI(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	const uid = 9102
	e := world.New(t, world.Options{Data: chatAuthorizedData(uid)})
	e.StartAll()
	e.AddUser(uid, "П", "")
	e.Send(uid, "/operator")
	e.WaitBotMessages(uid, 1, chatWait)
	chatEventually(t, func() error {
		if st := chatAppealStatus(e, uid); len(st) != 1 || st[0] != "В работе" {
			return fmt.Errorf("status %v", st)
		}
		return nil
	})
	snap, _ := e.Sheets.Snapshot(e.SpreadsheetID)
	for i := range snap.Sheets {
		if snap.Sheets[i].Title == "Обращения" {
			snap.Sheets[i].Rows[1][5] = "Решено"
		}
	}
	if err := e.Sheets.Load(e.SpreadsheetID, snap); err != nil {
		t.Fatal(err)
	}
	e.Send(uid, "Какая комиссия?")
	msgs := e.WaitBotMessages(uid, 2, chatWait)
	if !strings.Contains(strings.ToLower(msgs[1].Text), "комисс") {
		t.Fatalf("AI did not answer: %q", msgs[1].Text)
	}
	chatEventually(t, func() error {
		if st := chatAppealStatus(e, uid); len(st) != 2 {
			return fmt.Errorf("status %v", st)
		}
		return nil
	})
}
