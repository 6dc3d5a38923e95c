package systemtest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/api/option"
	sheetsapi "google.golang.org/api/sheets/v4"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/store"
	sheetsemu "marketingbot/sim/emulator/sheets"
	"marketingbot/sim/fixtures"
	"marketingbot/sim/testutil"
)

// The whole-system tests of the Sheets transport and the store: a private
// redis-server and the Sheets emulator.

const sheetsSID = "test-sheet"

var sheetsMSK = time.FixedZone("MSK", 3*3600)

type sheetsEnv struct {
	emu *fixtures.Sheets
	g   *store.Spreadsheet
	o   fixtures.StoreOptions
}

func sheetsSetup(t *testing.T, d fixtures.Data, quota *sheetsemu.Quota, mod func(*fixtures.StoreOptions)) *sheetsEnv {
	t.Helper()
	r := testutil.StartRedis(t)
	emu := fixtures.StartSheets(t, quota)
	if err := emu.Load(sheetsSID, fixtures.Spreadsheet(sheetsSID, fixtures.DefaultTitles(), d, sheetsMSK)); err != nil {
		t.Fatal(err)
	}
	o := fixtures.EmulatorStoreOptions(emu.URL, sheetsSID, r.Client())
	o.Location = sheetsMSK
	if mod != nil {
		mod(&o)
	}
	return &sheetsEnv{emu: emu, g: fixtures.NewStore(t, o), o: o}
}

func (e *sheetsEnv) sheet(t *testing.T, title string) [][]any {
	t.Helper()
	snap, err := e.emu.Snapshot(sheetsSID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range snap.Sheets {
		if s.Title == title {
			return s.Rows
		}
	}
	t.Fatalf("no sheet %s", title)
	return nil
}

func sheetsCtx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestSheetsCheckNamesMissingSheets(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	e := sheetsSetup(t, fixtures.Data{}, &sheetsemu.Quota{}, nil)
	if err := e.g.Check(sheetsCtx(t)); err != nil {
		t.Fatalf("complete spreadsheet: %v", err)
	}
	o := e.o
	o.Titles.Knowledge = "Нет такого листа"
	o.Registry = nil
	g := fixtures.NewStore(t, o)
	if err := g.Check(sheetsCtx(t)); err == nil || !strings.Contains(err.Error(), `"Нет такого листа"`) {
		t.Fatalf("got %v", err)
	}
}

func TestSheetsAuthorizePartner(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	e := sheetsSetup(t, fixtures.Data{Partners: []domain.Partner{
		{Code: "P-0001", Phone: "+7 (912) 345-67-89", FullName: "Анна Иванова"},
		{Code: "P-0002", Phone: "8 913 000 11 22", FullName: "Борис Петров", Status: "avtorizovan", TelegramID: 42},
	}}, &sheetsemu.Quota{}, nil)
	c := sheetsCtx(t)
	p, found, err := e.g.PartnerByPhone(c, "79123456789")
	if err != nil || !found || p.Code != "P-0001" || p.Row != 2 {
		t.Fatalf("by phone: %+v %v %v", p, found, err)
	}
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, sheetsMSK)
	if _, err := e.g.AuthorizePartner(c, p, 1001, at); err != nil {
		t.Fatal(err)
	}
	rows := e.sheet(t, "Auth")
	if got := rows[1]; got[3] != "authorized" || got[4] != "1001" || got[5] != "2026-11-25 12:00:00" || got[1] != "+7 (912) 345-67-89" {
		t.Fatalf("row: %#v", got)
	}
	legacy, found, err := e.g.PartnerByTelegramID(c, 42)
	if err != nil || !found || !legacy.Authorized() {
		t.Fatalf("legacy status must count as authorized: %+v %v %v", legacy, found, err)
	}
	if err := e.g.SetBotBlocked(c, 42, at); err != nil {
		t.Fatal(err)
	}
	if rows := e.sheet(t, "Auth"); len(rows[2]) < 7 || rows[2][6] != "2026-11-25 12:00:00" {
		t.Fatalf("blocked: %#v", rows[2])
	}
}

func TestSheetsAppealsLifecycleAndFormulaInjection(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	e := sheetsSetup(t, fixtures.Data{}, &sheetsemu.Quota{}, nil)
	c := sheetsCtx(t)
	if _, found, err := e.g.CurrentAppeal(c, 7); err != nil || found {
		t.Fatalf("no appeal yet: %v %v", found, err)
	}
	created := time.Date(2026, 11, 25, 10, 0, 0, 0, sheetsMSK)
	evil := `=IMPORTXML("http://x","//a")`
	a, err := e.g.CreateAppeal(c, domain.Appeal{CreatedAt: created, UserName: "@anna", PartnerCode: "P-1", TelegramID: 7,
		History: evil, Status: domain.AppealStatusNew, UpdatedAt: created}, false)
	if err != nil {
		t.Fatal(err)
	}
	// Idempotent: creating the same (user, created_at) again returns the row.
	again, err := e.g.CreateAppeal(c, domain.Appeal{CreatedAt: created, TelegramID: 7, Status: domain.AppealStatusNew}, true)
	if err != nil || again.Row != a.Row {
		t.Fatalf("second create: %+v %v", again, err)
	}
	cur, found, err := e.g.CurrentAppeal(c, 7)
	if err != nil || !found || cur.History != evil || cur.Status != domain.AppealStatusNew {
		t.Fatalf("current: %+v %v %v", cur, found, err)
	}
	cur.History += "\nещё строка"
	cur.Status = domain.AppealStatusAIAnswered
	cur.UpdatedAt = created.Add(time.Minute)
	if _, err := e.g.UpdateAppeal(c, cur, domain.AppealFieldHistory, domain.AppealFieldStatus); err != nil {
		t.Fatal(err)
	}
	rows := e.sheet(t, "Обращения")
	if len(rows) != 2 {
		t.Fatalf("rows: %d", len(rows))
	}
	if rows[1][4] != evil+"\nещё строка" || rows[1][5] != "Ответ ИИ" || rows[1][3] != "7" {
		t.Fatalf("row: %#v", rows[1])
	}
	snap, _ := e.emu.Snapshot(sheetsSID)
	for _, s := range snap.Sheets {
		if len(s.Formulas) > 0 {
			t.Fatalf("user text became a formula in %s: %v", s.Title, s.Formulas)
		}
	}
}

// sheetsSortAppeals sorts the Appeals data rows by column D descending, as a
// person would in the spreadsheet UI.
func sheetsSortAppeals(t *testing.T, e *sheetsEnv, descending bool) {
	t.Helper()
	svc, err := sheetsapi.NewService(context.Background(), option.WithEndpoint(e.emu.URL+"/"), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	ss, err := svc.Spreadsheets.Get(sheetsSID).Do()
	if err != nil {
		t.Fatal(err)
	}
	var sheetID int64
	for _, s := range ss.Sheets {
		if s.Properties.Title == "Обращения" {
			sheetID = s.Properties.SheetId
		}
	}
	order := "ASCENDING"
	if descending {
		order = "DESCENDING"
	}
	_, err = svc.Spreadsheets.BatchUpdate(sheetsSID, &sheetsapi.BatchUpdateSpreadsheetRequest{Requests: []*sheetsapi.Request{{
		SortRange: &sheetsapi.SortRangeRequest{
			Range:     &sheetsapi.GridRange{SheetId: sheetID, StartRowIndex: 1, StartColumnIndex: 0, EndColumnIndex: 8, ForceSendFields: []string{"SheetId"}},
			SortSpecs: []*sheetsapi.SortSpec{{DimensionIndex: 3, SortOrder: order, ForceSendFields: []string{"DimensionIndex"}}},
		},
	}}}).Do()
	if err != nil {
		t.Fatal(err)
	}
}

func TestSheetsSortBetweenWritesNeverHitsWrongRow(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	e := sheetsSetup(t, fixtures.Data{}, &sheetsemu.Quota{}, nil)
	c := sheetsCtx(t)
	base := time.Date(2026, 11, 25, 10, 0, 0, 0, sheetsMSK)
	var appeals []domain.Appeal
	for i, id := range []int64{101, 102, 103} {
		a, err := e.g.CreateAppeal(c, domain.Appeal{CreatedAt: base.Add(time.Duration(i) * time.Second), TelegramID: id,
			History: "start", Status: domain.AppealStatusNew, UpdatedAt: base}, false)
		if err != nil {
			t.Fatal(err)
		}
		appeals = append(appeals, a)
	}
	first := appeals[0]
	first.History = "start\nпервая запись"
	if _, err := e.g.UpdateAppeal(c, first, domain.AppealFieldHistory); err != nil {
		t.Fatal(err)
	}
	sheetsSortAppeals(t, e, true) // 103, 102, 101: user 101's row moved from 2 to 4
	// The write still carries the old row number (2, now user 103's row).
	first.History = "start\nпервая запись\nвторая запись"
	moved, err := e.g.UpdateAppeal(c, first, domain.AppealFieldHistory)
	if err != nil {
		t.Fatal(err)
	}
	if moved.Row != 4 {
		t.Fatalf("row after sort: %d", moved.Row)
	}
	rows := e.sheet(t, "Обращения")
	for _, r := range rows[1:] {
		want := "start"
		if r[3] == "101" {
			want = "start\nпервая запись\nвторая запись"
		}
		if r[4] != want {
			t.Fatalf("user %v history %q, want %q", r[3], r[4], want)
		}
	}
	cur, found, err := e.g.CurrentAppeal(c, 101)
	if err != nil || !found || cur.Row != 4 {
		t.Fatalf("current after sort: %+v %v", cur, err)
	}
}

func TestSheetsQueueRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	e := sheetsSetup(t, fixtures.Data{}, &sheetsemu.Quota{}, nil)
	c := sheetsCtx(t)
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, sheetsMSK)
	r, err := e.g.AppendRequest(c, domain.AnalyticsRequest{ID: "id-1", CreatedAt: now, ObjectCode: "MSK-100001", TelegramID: 5, Requester: "P-1", Status: domain.RequestStatusNew, UpdatedAt: now})
	if err != nil || r.Row != 2 {
		t.Fatalf("append: %+v %v", r, err)
	}
	if again, err := e.g.AppendRequest(c, domain.AnalyticsRequest{ID: "id-1"}); err != nil || again.Row != 2 || again.ObjectCode != "MSK-100001" {
		t.Fatalf("idempotent append: %+v %v", again, err)
	}
	r.Status, r.ResultText, r.UpdatedAt = domain.RequestStatusDone, "=1+1 итог", now.Add(time.Minute)
	if _, err := e.g.UpdateRequest(c, r, domain.RequestFieldStatus, domain.RequestFieldResultText); err != nil {
		t.Fatal(err)
	}
	got, err := e.g.Request(c, "id-1")
	if err != nil || got.Status != domain.RequestStatusDone || got.ResultText != "=1+1 итог" {
		t.Fatalf("request: %+v %v", got, err)
	}
	if _, err := e.g.Request(c, "nope"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
}
