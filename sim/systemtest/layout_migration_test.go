package systemtest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"marketingbot/pkg/app"
	sheetsemu "marketingbot/sim/emulator/sheets"
	"marketingbot/sim/fixtures"
	"marketingbot/sim/world"
)

// layoutOldBotHistory is a history cell as the Python bot left it.
const layoutOldBotHistory = "[2026-02-10 14:03:12] Пользователь (P-0001): Какая комиссия за вторичку?\n" +
	"[2026-02-10 14:03:15] Бот: Стандартная комиссия — 2 %.\n" +
	"👤 Мария: а за эксклюзив?\n🤖 Ассистент: 2,5 %."

// The cut-over from the Python bot on the spreadsheet it left: the seed's
// columns only (Auth A–E, Appeals A–F with the old bot's own headers for
// A–C, Queue without our later columns and with a report the old bot
// delivered), a partner it authorized ("avtorizovan") and an open appeal
// with its history. --init-sheets adds our columns; the partner writes; the
// bot continues the old row: the old history stays byte for byte above the
// new turns and is the AI's context; the old report is not sent again.
func TestLayoutMigrationFromTheOldBot(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	const uid = 9321
	e := world.New(t, world.Options{})
	titles := fixtures.DefaultTitles()
	e.LoadSpreadsheet(sheetsemu.Spreadsheet{Title: "MarketingBot", Sheets: []sheetsemu.Sheet{
		{Title: titles.Auth, Rows: [][]any{{"Код партнера", "Телефон", "ФИО", "STATUS", "Telegram ID"},
			{"P-0001", "+7 (912) 345-67-89", "Иванова Мария", "avtorizovan", float64(uid)}}},
		{Title: titles.Appeals, Rows: [][]any{{"Дата", "Имя", "Код партнера", "Telegram ID", "текст_обращений", "Статус"},
			{"10.02.2026", "Мария", "P-0001", float64(uid), layoutOldBotHistory, "Ответ ИИ"}}},
		{Title: titles.Queue, Rows: [][]any{{"id", "created_at", "object_code", "telegram_id", "requester", "status", "", "", "", "", "result_text"},
			{"old-1", "10.02.2026", "MSK-100001", float64(uid), "P-0001", "DONE", "", "", "", "", "Старый отчёт, доставленный старым ботом"}}},
	}})
	if code, out := layoutRun(t, e, true); code != app.ExitOK {
		t.Fatalf("--init-sheets: exit %d\n%s", code, out)
	}
	e.StartAll()
	e.AddUser(uid, "Мария", "")
	e.Send(uid, "Спасибо! А когда выплата?")
	e.WaitBotMessages(uid, 1, chatWait)
	chatEventually(t, func() error {
		rows := e.Sheet(titles.Appeals)
		if len(rows) != 2 {
			return fmt.Errorf("%d appeal rows, want the old one continued: %v", len(rows)-1, rows)
		}
		h := world.Cell(rows, 1, 4)
		if !strings.HasPrefix(h, layoutOldBotHistory+"\n[") || !strings.Contains(h, "Партнёр #") || !strings.Contains(h, "ИИ #") {
			return fmt.Errorf("history %q", h)
		}
		if world.Cell(rows, 1, 0) != "10.02.2026" || world.Cell(rows, 1, 1) != "Мария" {
			return fmt.Errorf("the old bot's own columns changed: %v", rows[1])
		}
		return nil
	})
	reqs := e.Gemini.Requests(chatGenerateFilter())
	if len(reqs) == 0 || !strings.Contains(string(reqs[len(reqs)-1].Request), "а за эксклюзив") {
		t.Errorf("the AI did not get the old history as context")
	}
	if code, out := layoutRun(t, e, false); code != app.ExitOK {
		t.Errorf("--check after the cut-over: exit %d\n%s", code, out)
	}
	// The old bot's finished request is not delivered a second time.
	time.Sleep(3 * time.Second) // a few scans of the poller (every second)
	for _, m := range e.BotMessages(uid) {
		if strings.Contains(m.Text, "Старый отчёт") {
			t.Errorf("the old bot's report was delivered again: %q", m.Text)
		}
	}
}
