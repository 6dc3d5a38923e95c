package systemtest

import (
	"fmt"
	"strings"
	"testing"

	"marketingbot/pkg/store"
	"marketingbot/sim/fixtures"
	"marketingbot/sim/world"
)

// A person inserts a column in the middle of our Appeals columns while the
// system runs: the next writes follow the columns to where they moved, and
// nothing lands in the inserted column.
func TestLayoutColumnInsertedWhileRunning(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	const uid = 9311
	e := world.New(t, world.Options{Data: chatAuthorizedData(uid)})
	e.StartAll()
	e.AddUser(uid, "Партнёр", "")
	e.Send(uid, "Здравствуйте, какая комиссия?")
	e.WaitBotMessages(uid, 1, chatWait)
	l := fixtures.DefaultLayout()
	title := e.Titles().Appeals
	chatEventually(t, func() error {
		if rows := e.LayoutRows(l, store.SheetAppeals, "telegram_id", fmt.Sprint(uid)); len(rows) != 1 || rows[0]["status"] != "Ответ ИИ" {
			return fmt.Errorf("appeal rows %v", rows)
		}
		return nil
	})

	// The history column (E) and everything right of it move one to the right.
	at := l.Col(store.SheetAppeals, "history")
	e.InsertColumn(title, at, "Комментарий менеджера")
	moved := fixtures.Layout{Columns: map[store.SheetKey][]fixtures.Column{store.SheetAppeals: append(
		append(append([]fixtures.Column(nil), l.Cols(store.SheetAppeals)[:at]...), fixtures.Column{Header: "Комментарий менеджера"}),
		l.Cols(store.SheetAppeals)[at:]...)}}

	e.Send(uid, "Позовите, пожалуйста, живой человек нужен")
	e.WaitBotMessages(uid, 2, chatWait)
	chatEventually(t, func() error {
		rows := e.LayoutRows(moved, store.SheetAppeals, "telegram_id", fmt.Sprint(uid))
		if len(rows) != 1 || rows[0]["status"] != "В работе" || !strings.Contains(rows[0]["history"], "живой человек") ||
			!strings.Contains(rows[0]["history"], "какая комиссия") {
			return fmt.Errorf("after the insert the row reads %v", rows)
		}
		return nil
	})
	sheet := e.Sheet(title)
	if got := world.Cell(sheet, 0, at); got != "Комментарий менеджера" {
		t.Fatalf("the inserted header is %q", got)
	}
	for r := 1; r < len(sheet); r++ {
		if v := world.Cell(sheet, r, at); v != "" {
			t.Errorf("row %d of the inserted column holds %q", r+1, v)
		}
	}
}
