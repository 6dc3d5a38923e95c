package systemtest

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/history"
	"marketingbot/sim/demo"
	gememu "marketingbot/sim/emulator/gemini"
	"marketingbot/sim/fixtures"
	"marketingbot/sim/world"
)

const chatWait = 20 * time.Second

// authorized returns partners where user id is already bound (skips the auth dialogue).
func chatAuthorizedData(ids ...int64) *fixtures.Data {
	d := fixtures.Data{Knowledge: demo.Knowledge()}
	for i, id := range ids {
		d.Partners = append(d.Partners, domain.Partner{Code: fmt.Sprintf("P-%04d", i+1), Phone: fmt.Sprintf("+7 900 %07d", i+1),
			FullName: fmt.Sprintf("Партнёров Партнёр%d Иванович", i+1), Status: "authorized", TelegramID: id})
	}
	return &d
}

func chatAppealRows(e *world.Env, uid int64) [][]any {
	var out [][]any
	for _, r := range e.Sheet("Обращения")[1:] {
		if world.Cell([][]any{r}, 0, 3) == fmt.Sprint(uid) {
			out = append(out, r)
		}
	}
	return out
}

func TestChatAuthorizationByOwnContact(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	e := world.New(t, world.Options{})
	e.StartAll()
	u := e.AddUser(7001, "Мария", "+79123456789") // P-0001's phone, typed differently in the sheet
	e.Send(u.ID, "/start")
	msgs := e.WaitBotMessages(u.ID, 1, chatWait)
	if !strings.Contains(string(msgs[0].ReplyMarkup), "request_contact") {
		t.Fatalf("no share-contact keyboard: %s", msgs[0].ReplyMarkup)
	}

	// A forged contact (someone else's card) is refused and nothing is written.
	if _, err := e.Telegram.ShareContact(u.ID, "+79123456789", 424242); err != nil {
		t.Fatal(err)
	}
	msgs = e.WaitBotMessages(u.ID, 2, chatWait)
	if !strings.Contains(msgs[1].Text, "контакт другого человека") {
		t.Fatalf("forged contact answer: %q", msgs[1].Text)
	}
	if row := e.Sheet("Auth")[1]; world.Cell([][]any{row}, 0, 3) != "" || world.Cell([][]any{row}, 0, 4) != "" {
		t.Fatalf("forged contact wrote to the sheet: %v", row)
	}

	if _, err := e.Telegram.ShareContact(u.ID, "+79123456789", u.ID); err != nil {
		t.Fatal(err)
	}
	msgs = e.WaitBotMessages(u.ID, 4, chatWait)
	if !strings.Contains(msgs[2].Text, "Вы авторизованы как партнёр P-0001") {
		t.Fatalf("success answer: %q", msgs[2].Text)
	}
	row := e.Sheet("Auth")[1]
	if row[3] != "authorized" || row[4] != "7001" || world.Cell([][]any{row}, 0, 5) == "" || row[1] != "+7 (912) 345-67-89" {
		t.Fatalf("Auth row: %v", row)
	}
	// The projection the Mini App reads is there.
	chatAuthorizedNowAnswers(t, e, u.ID)
}

func chatAuthorizedNowAnswers(t *testing.T, e *world.Env, uid int64) {
	t.Helper()
	before := len(e.BotMessages(uid))
	e.Send(uid, "Какая комиссия партнёра за сделку?")
	msgs := e.WaitBotMessages(uid, before+1, chatWait)
	if last := msgs[len(msgs)-1].Text; !strings.Contains(strings.ToLower(last), "комисс") {
		t.Fatalf("AI answer does not come from the knowledge base: %q", last)
	}
}

func TestChatUnknownPhoneRefusedAndRateLimited(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	e := world.New(t, world.Options{Settings: map[string]string{"MARKETINGBOT_CHAT_AUTH_FAILURES_PER_HOUR": "2", "MARKETINGBOT_CHAT_SUPPORT_CONTACT": "@support_desk"}})
	e.StartAll()
	u := e.AddUser(7002, "Незнакомец", "+79990001122")
	for i := 0; i < 3; i++ {
		if _, err := e.Telegram.ShareContact(u.ID, "+79990001122", u.ID); err != nil {
			t.Fatal(err)
		}
		e.WaitBotMessages(u.ID, i+1, chatWait)
	}
	msgs := e.BotMessages(u.ID)
	if !strings.Contains(msgs[0].Text, "не найден") || !strings.Contains(msgs[0].Text, "@support_desk") {
		t.Fatalf("refusal: %q", msgs[0].Text)
	}
	if !strings.Contains(msgs[2].Text, "Слишком много попыток") {
		t.Fatalf("third attempt not rate-limited: %q", msgs[2].Text)
	}
}

func TestChatQuickMessagesKeepOrderPerUser(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	const users = 50
	var ids []int64
	for i := 0; i < users; i++ {
		ids = append(ids, int64(8000+i))
	}
	e := world.New(t, world.Options{Data: chatAuthorizedData(ids...)})
	e.StartAll()
	for _, id := range ids {
		e.AddUser(id, "П", "")
	}
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; i <= 5; i++ {
				e.Send(id, fmt.Sprintf("сообщение %d про комиссию", i))
			}
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(60 * time.Second)
	for _, id := range ids {
		// Every message is answered (replies quote the last message they cover).
		for {
			tr, _ := e.Telegram.Transcript(id, 0)
			lastUser, covered := int64(0), int64(0)
			var replyTo []int64
			for _, m := range tr.Messages {
				if !m.FromBot {
					lastUser = m.MessageID
				} else if m.ReplyToMessageID != 0 {
					replyTo = append(replyTo, m.ReplyToMessageID)
					covered = max(covered, m.ReplyToMessageID)
				}
			}
			if covered == lastUser {
				for i := 1; i < len(replyTo); i++ {
					if replyTo[i] <= replyTo[i-1] {
						t.Fatalf("user %d: replies out of order: %v", id, replyTo)
					}
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("user %d: last message %d, answered up to %d", id, lastUser, covered)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// The history holds all five, in order, once each.
	time.Sleep(500 * time.Millisecond) // the last history write follows the last reply
	chatEventually(t, func() error {
		for _, id := range ids {
			rows := chatAppealRows(e, id)
			if len(rows) != 1 {
				return fmt.Errorf("user %d: %d appeal rows", id, len(rows))
			}
			var got []string
			for _, turn := range history.Parse(fmt.Sprint(rows[0][4]), nil) {
				if turn.Role == history.RoleUser {
					got = append(got, turn.Text)
				}
			}
			want := []string{"сообщение 1 про комиссию", "сообщение 2 про комиссию", "сообщение 3 про комиссию", "сообщение 4 про комиссию", "сообщение 5 про комиссию"}
			if strings.Join(got, "|") != strings.Join(want, "|") {
				return fmt.Errorf("user %d history: %q", id, got)
			}
		}
		return nil
	})
}

func chatEventually(t *testing.T, f func() error) {
	t.Helper()
	deadline := time.Now().Add(chatWait)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestChatPromptCarriesSystemHistoryAndKnowledge(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	e := world.New(t, world.Options{Data: chatAuthorizedData(9001)})
	e.StartAll()
	e.AddUser(9001, "П", "")
	e.Send(9001, "Как зафиксировать клиента?")
	e.WaitBotMessages(9001, 1, chatWait)
	chatEventually(t, func() error {
		if rows := chatAppealRows(e, 9001); len(rows) == 1 && strings.Contains(fmt.Sprint(rows[0][4]), "ИИ #a") {
			return nil
		}
		return fmt.Errorf("history not written yet")
	})
	// An operator edits the first turn in the sheet by hand.
	rows := e.Sheet("Обращения")
	cell := fmt.Sprint(rows[1][4])
	edited := strings.Replace(cell, "Как зафиксировать клиента?", "Как зафиксировать клиента? (ОТРЕДАКТИРОВАНО)", 1)
	rows[1][4] = edited
	snap, _ := e.Sheets.Snapshot(e.SpreadsheetID)
	for i := range snap.Sheets {
		if snap.Sheets[i].Title == "Обращения" {
			snap.Sheets[i].Rows = rows
		}
	}
	if err := e.Sheets.Load(e.SpreadsheetID, snap); err != nil {
		t.Fatal(err)
	}
	e.Send(9001, "А сколько действует фиксация?")
	e.WaitBotMessages(9001, 2, chatWait)

	reqs := e.Gemini.Requests(gememu.RequestFilter{Method: gememu.MethodGenerateContent})
	if len(reqs) < 2 {
		t.Fatalf("%d generate requests", len(reqs))
	}
	last, err := reqs[len(reqs)-1].GenerateRequest()
	if err != nil {
		t.Fatal(err)
	}
	sys := last.SystemText()
	for _, want := range []string{"§1.", "§14.", "# База знаний", "[Знание 1]", "# Партнёр", "P-0001"} {
		if !strings.Contains(sys, want) {
			t.Errorf("system instruction lacks %q", want)
		}
	}
	raw, _ := json.Marshal(last.Contents)
	if !strings.Contains(string(raw), "(ОТРЕДАКТИРОВАНО)") {
		t.Errorf("the sheet edit is not in the next request: %s", raw)
	}
	if !strings.Contains(last.LastUserText(), "сколько действует фиксация") {
		t.Errorf("last user text: %q", last.LastUserText())
	}
}

func chatGenerateFilter() gememu.RequestFilter {
	return gememu.RequestFilter{Method: gememu.MethodGenerateContent}
}
