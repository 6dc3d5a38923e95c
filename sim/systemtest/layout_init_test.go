package systemtest

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"marketingbot/pkg/app"
	"marketingbot/pkg/config"
	"marketingbot/pkg/domain"
	"marketingbot/pkg/store"
	sheetsemu "marketingbot/sim/emulator/sheets"
	"marketingbot/sim/fixtures"
	"marketingbot/sim/world"
)

// layoutRun runs a worker binary's command line (--check or --init-sheets)
// in-process against the world and returns its exit code and output.
func layoutRun(t *testing.T, e *world.Env, initSheets bool) (int, string) {
	t.Helper()
	var out bytes.Buffer
	m := &app.Main{Role: config.RoleWorker, ConfigPath: e.ConfigPath, Env: e.Settings(), Stdout: &out, Stderr: &out}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if initSheets {
		return m.RunInitSheets(ctx), out.String()
	}
	return m.Check(ctx), out.String()
}

// layoutTeamSpreadsheet is a team's spreadsheet before migration: Auth
// without our two columns, Appeals without Статус, no Queue sheet, the
// team's own columns and sheet.
func layoutTeamSpreadsheet() fixtures.Layout {
	note := fixtures.Column{Header: "Комментарий", Cell: func(i int) any { return "=SUM(1;2) заметка" }}
	sum := fixtures.Column{Header: "Сумма", Cell: func(i int) any { return float64(i) + 0.25 }}
	return fixtures.Layout{
		Order: []store.SheetKey{store.SheetAuth, store.SheetAppeals, store.SheetListings, store.SheetPromotions, store.SheetKnowledge},
		Columns: map[store.SheetKey][]fixtures.Column{
			store.SheetAuth: {{Field: "partner_code"}, {Field: "phone"}, note, {Field: "status"}, {Field: "telegram_id"}, sum, {Field: "full_name"}},
			store.SheetAppeals: {{Field: "created_at"}, {Field: "user_name"}, {Field: "partner_code"}, {Field: "telegram_id"},
				{Field: "history"}, note, {Field: "updated_at"}, {Field: "operator"}},
		},
		TeamSheets: []sheetsemu.Sheet{{Title: "Сводка", Rows: [][]any{{"Итого", 3.0}}}},
	}
}

// --check names every missing sheet and header and exits 1; --init-sheets
// adds them without touching a cell of the team's, prints what it did, and
// a second run does nothing; --check is then OK.
func TestLayoutCheckAndInitSheets(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	e := world.New(t, world.Options{})
	l := layoutTeamSpreadsheet()
	e.LoadLayout(l, fixtures.Data{
		Partners: []domain.Partner{{Code: "P-1", Phone: "79123456789", FullName: "Анна", Status: "avtorizovan", TelegramID: 42}},
		Appeals:  [][]any{{"2026-01-10 12:00:00", "@old", "P-1", "42", "старый лог бота", "Решено", "2026-01-10 12:05:00", ""}},
	})
	code, out := layoutRun(t, e, false)
	want := `sheets: missing sheet "Очередь"; missing sheet "Статистика"; missing sheet "Шаблоны"; missing sheet "Праздники"; Auth: missing "authorized_at"; Auth: missing "bot_blocked_at"; Auth: missing "operators_topic_id"; ` +
		`Обращения: missing "Статус"; Обращения: missing "escalated_at"; Обращения: missing "first_response_at"; Обращения: missing "resolved_at"; ` +
		`Обращения: missing "Оценка"; Обращения: missing "Комментарий к оценке"`
	if code != app.ExitFail || !strings.HasPrefix(out, "FAIL worker: ") || !strings.Contains(out, want) || strings.Count(out, "\n") != 1 {
		t.Fatalf("--check: exit %d\n%s\nwant exit 1 and one line with\n%s", code, out, want)
	}

	before := e.TeamCells(l)
	beforeSnap := e.Snapshot()
	code, out = layoutRun(t, e, true)
	for _, line := range []string{
		`worker --init-sheets: added sheet "Очередь"`,
		`worker --init-sheets: added sheet "Шаблоны"`,
		`worker --init-sheets: added sheet "Праздники"`,
		`worker --init-sheets: Auth: added headers "authorized_at" (H1), "bot_blocked_at" (I1), "operators_topic_id" (J1)`,
		`worker --init-sheets: Обращения: added headers "Статус" (I1), "escalated_at" (J1), "first_response_at" (K1), "resolved_at" (L1), "Оценка" (M1), "Комментарий к оценке" (N1)`,
		`worker --init-sheets: Очередь: added headers "id" (A1), "created_at" (B1)`,
		`worker --init-sheets: added sheet "Статистика"`,
		`worker --init-sheets: Статистика: added headers "Дата" (A1)`,
		`worker --init-sheets: Шаблоны: added headers "Ключ" (A1), "Название" (B1), "Текст" (C1)`,
		`worker --init-sheets: Праздники: added headers "Дата" (A1), "Название" (B1)`,
		`OK worker --init-sheets: spreadsheet e2e: 10 changes`,
	} {
		if !strings.Contains(out, line) {
			t.Errorf("--init-sheets output lacks %q:\n%s", line, out)
		}
	}
	if code != app.ExitOK {
		t.Fatalf("--init-sheets: exit %d\n%s", code, out)
	}
	if diff := world.DiffCells(before, e.TeamCells(l)); len(diff) > 0 {
		t.Errorf("--init-sheets changed the team's cells:\n%s", strings.Join(diff, "\n"))
	}
	layoutSameData(t, beforeSnap, e.Snapshot())

	writes := e.Sheets.Stats().Writes
	if code, out = layoutRun(t, e, true); code != app.ExitOK || !strings.Contains(out, "nothing to do") || e.Sheets.Stats().Writes != writes {
		t.Errorf("second --init-sheets: exit %d, %d writes\n%s", code, e.Sheets.Stats().Writes-writes, out)
	}
	if code, out = layoutRun(t, e, false); code != app.ExitOK {
		t.Errorf("--check after --init-sheets: exit %d\n%s", code, out)
	}

	// A header typed twice is for a person to sort out: named, exit 1.
	e.WriteCell(e.Titles().Listings, 20, 1, "City")
	if code, out = layoutRun(t, e, true); code != app.ExitFail || !strings.Contains(out, `Объекты: "city" is ambiguous: "city" (C), "City" (U)`) {
		t.Errorf("--init-sheets with a header typed twice: exit %d\n%s", code, out)
	}
}

// layoutSameData: every row below the header of every sheet that existed
// is exactly as it was.
func layoutSameData(t *testing.T, before, after sheetsemu.Spreadsheet) {
	t.Helper()
	for _, b := range before.Sheets {
		for _, a := range after.Sheets {
			if a.Title != b.Title {
				continue
			}
			if len(b.Rows) > 1 && !reflect.DeepEqual(a.Rows[1:], b.Rows[1:]) {
				t.Errorf("%s: the data rows changed:\n%v\n→\n%v", a.Title, b.Rows[1:], a.Rows[1:])
			}
			if !reflect.DeepEqual(a.Formulas, b.Formulas) {
				t.Errorf("%s: formulas changed: %v → %v", a.Title, b.Formulas, a.Formulas)
			}
		}
	}
}

// A new spreadsheet (one empty sheet) gets all our sheets with our headers.
func TestLayoutInitSheetsOnANewSpreadsheet(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	e := world.New(t, world.Options{})
	e.LoadSpreadsheet(sheetsemu.Spreadsheet{Title: "Новая", Sheets: []sheetsemu.Sheet{{Title: "Sheet1"}}})
	code, out := layoutRun(t, e, true)
	if code != app.ExitOK || strings.Count(out, "added sheet") != len(store.SheetKeys) {
		t.Fatalf("--init-sheets: exit %d\n%s", code, out)
	}
	for _, k := range store.SheetKeys {
		rows := e.Sheet(fixtures.SheetTitle(e.Titles(), k))
		if len(rows) != 1 || !reflect.DeepEqual(rows[0], store.DefaultHeaders(k)) {
			t.Errorf("%s: %v", k, rows)
		}
	}
	if code, out = layoutRun(t, e, false); code != app.ExitOK {
		t.Errorf("--check: exit %d\n%s", code, out)
	}
}
