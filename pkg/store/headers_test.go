package store

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/sheets"
)

// A team's Auth sheet: its own columns around ours, ours in another order,
// headers typed with other case and spaces.
var teamAuthHeader = []any{"Регион", " telegram id ", "Код партнера", "Комментарий", "ФИО", "bot_blocked_at", "STATUS", "Телефон", "Сумма", "AUTHORIZED_AT"}

func teamAuthRow(code, phone, region string) []any {
	return []any{region, "", code, "=HYPERLINK(\"x\")", "Анна " + code, "", "", phone, 1500.5, ""}
}

// Fields are read and written by header wherever their columns stand; the
// team's columns are never written.
func TestFieldsFoundByHeaderAnywhere(t *testing.T) {
	mem := newMemSheets()
	mem.setRows(testTitles.Auth, [][]any{teamAuthHeader,
		teamAuthRow("P-1", "+7 (912) 345-67-89", "Москва"), teamAuthRow("P-2", "8 913 000 11 22", "Казань")})
	s := newTestStore(t, mem, nil)
	ctx := testCtx(t)
	p, found, err := s.PartnerByPhone(ctx, "79130001122")
	if err != nil || !found || p.Code != "P-2" || p.FullName != "Анна P-2" || p.Row != 3 {
		t.Fatalf("by phone: %+v %v %v", p, found, err)
	}
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, msk)
	if _, err := s.AuthorizePartner(ctx, p, 1002, at); err != nil {
		t.Fatal(err)
	}
	if err := s.SetBotBlocked(ctx, 1002, at); err != nil {
		t.Fatal(err)
	}
	want := teamAuthRow("P-2", "8 913 000 11 22", "Казань")
	want[1], want[5], want[6], want[9] = "1002", "2026-11-25 12:00:00", "authorized", "2026-11-25 12:00:00"
	if got := mem.rows(testTitles.Auth)[2]; !reflect.DeepEqual(got, want) {
		t.Errorf("P-2's row\n got %#v\nwant %#v", got, want)
	}
	if got := mem.rows(testTitles.Auth)[1]; !reflect.DeepEqual(got, teamAuthRow("P-1", "+7 (912) 345-67-89", "Москва")) {
		t.Errorf("P-1's row changed: %#v", got)
	}
}

// An appended row has our values under our headers and nothing (nil: the
// cell is skipped) in the team's columns.
func TestAppendLeavesTheTeamsColumnsEmpty(t *testing.T) {
	mem := newMemSheets()
	mem.setRows(testTitles.Queue, [][]any{{"Заметка", "status", "id", "Итог", "telegram_id", "object_code", "created_at", "updated_at", "requester", "report_url", "error", "delivered_at", "result_text"}})
	s := newTestStore(t, mem, nil)
	ctx := testCtx(t)
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, msk)
	r, err := s.AppendRequest(ctx, domain.AnalyticsRequest{ID: "id-1", CreatedAt: now, ObjectCode: "MSK-1", TelegramID: 7, Status: domain.RequestStatusNew})
	if err != nil || r.Row != 2 {
		t.Fatalf("append: %+v %v", r, err)
	}
	row := mem.rows(testTitles.Queue)[1]
	if row[0] != nil || row[3] != nil {
		t.Errorf("the team's cells of the new row: %#v %#v, want nil (left alone)", row[0], row[3])
	}
	if row[1] != "NEW" || row[2] != "id-1" || row[4] != "7" || row[5] != "MSK-1" {
		t.Errorf("new row: %#v", row)
	}
	r.Status, r.ResultText = domain.RequestStatusDone, "готово"
	if _, err := s.UpdateRequest(ctx, r, domain.RequestFieldStatus, domain.RequestFieldResultText); err != nil {
		t.Fatal(err)
	}
	got, err := s.Request(ctx, "id-1")
	if err != nil || got.Status != domain.RequestStatusDone || got.ResultText != "готово" || got.ObjectCode != "MSK-1" {
		t.Errorf("read back: %+v %v", got, err)
	}
	if row := mem.rows(testTitles.Queue)[1]; row[0] != nil || row[3] != nil {
		t.Errorf("the team's cells after the update: %#v", row)
	}
}

// A column inserted between ours after the layout was cached: the guard sees
// the header changed, nothing is written, the header row is read again and
// the write lands in the right column; nothing lands in the new column.
func TestWriteFollowsAColumnInsertedBetweenOurs(t *testing.T) {
	mem := newMemSheets()
	s := newTestStore(t, mem, func(o *Options) { o.HeaderTTL = time.Hour })
	ctx := testCtx(t)
	a := createAppeals(t, s, 101)[0] // the layout is cached now
	mem.insertColumn(testTitles.Appeals, 4, "Комментарий")
	writes := 0
	mem.beforeUpdate = func(*sheets.Guard, []sheets.Values) error { writes++; return nil }
	a.History, a.Status = "start\nдальше", domain.AppealStatusAIAnswered
	if _, err := s.UpdateAppeal(ctx, a, domain.AppealFieldHistory, domain.AppealFieldStatus); err != nil {
		t.Fatal(err)
	}
	row := mem.rows(testTitles.Appeals)[1]
	if row[4] != "" || row[5] != "start\nдальше" || row[6] != "Ответ ИИ" {
		t.Errorf("row after the insert: %#v; want the new column E empty, history in F, status in G", row)
	}
	if writes != 2 || mem.updates != 1 {
		t.Errorf("%d write attempts, %d writes; want the first refused and the second written", writes, mem.updates)
	}
	if n := testutilCounter(t, s.m.headerChanges.WithLabelValues(testTitles.Appeals)); n != 1 {
		t.Errorf("header_changes_total %v, want 1", n)
	}
}

// A read that shows the header changed uses it at once.
func TestReadsFollowTheHeader(t *testing.T) {
	mem := newMemSheets()
	s := newTestStore(t, mem, func(o *Options) { o.HeaderTTL = time.Hour })
	ctx := testCtx(t)
	a := createAppeals(t, s, 101)[0]
	mem.insertColumn(testTitles.Appeals, 0, "Номер")
	mem.insertColumn(testTitles.Appeals, 5, "Тема")
	cur, found, err := s.CurrentAppeal(ctx, 101)
	if err != nil || !found || cur.History != "start" || !cur.CreatedAt.Equal(a.CreatedAt) || cur.Status != domain.AppealStatusNew {
		t.Fatalf("current after two inserts: %+v %v %v", cur, found, err)
	}
	s.idx.replace(ctx, idxAppeals, nil) // force an index rebuild by columns
	if cur, found, err = s.CurrentAppeal(ctx, 101); err != nil || !found || cur.Row != 2 {
		t.Fatalf("current after a rebuild: %+v %v %v", cur, found, err)
	}
}

// A field whose column is missing reads as empty; a write of it fails naming
// the sheet and the header, and nothing is written. Clearing a missing
// column is nothing to do.
func TestMissingColumn(t *testing.T) {
	mem := newMemSheets()
	mem.setRows(testTitles.Auth, [][]any{{"Код партнера", "Телефон", "STATUS", "Telegram ID"},
		{"P-1", "79123456789", "authorized", "42"}})
	s := newTestStore(t, mem, nil)
	ctx := testCtx(t)
	p, found, err := s.PartnerByTelegramID(ctx, 42)
	if err != nil || !found || p.FullName != "" || !p.BotBlockedAt.IsZero() {
		t.Fatalf("partner: %+v %v %v", p, found, err)
	}
	err = s.SetBotBlocked(ctx, 42, time.Now())
	if err == nil || !strings.Contains(err.Error(), `sheet "Auth" has no usable column "bot_blocked_at"`) || mem.updates != 0 {
		t.Fatalf("write of a missing column: %v, %d writes", err, mem.updates)
	}
	if err := s.SetBotBlocked(ctx, 42, time.Time{}); err != nil || mem.updates != 0 {
		t.Errorf("clearing a missing column: %v, %d writes; want nothing to do", err, mem.updates)
	}
	if _, err := s.AuthorizePartner(ctx, p, 43, time.Now()); err == nil || !strings.Contains(err.Error(), `"authorized_at"`) || mem.updates != 0 {
		t.Errorf("authorize without authorized_at: %v, %d writes", err, mem.updates)
	}
}

func TestProblems(t *testing.T) {
	mem := newMemSheets()
	mem.setRows(testTitles.Auth, [][]any{{"Код партнера", "Телефон", "ФИО", "STATUS", "Telegram ID", "authorized_at", "bot_blocked_at", "operators_topic_id", "y", "z", "Telegram ID"}})
	mem.setRows(testTitles.Appeals, [][]any{{"created_at", "Пользователь", "Код партнера", "Telegram ID", "текст_обращений", "updated_at", "Оператор",
		"escalated_at", "first_response_at", "resolved_at", "Оценка", "Комментарий к оценке"}})
	mem.setRows(testTitles.Queue, [][]any{{"id", "created_at", "object_code", "telegram_id", "requester", "status", "STATUS ", "updated_at", "report_url", "error", "delivered_at", "result_text"}})
	delete(mem.sheets, testTitles.Knowledge)
	s := newTestStore(t, mem, nil)
	got, err := s.Problems(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`missing sheet "База знаний"`,
		`Auth: "Telegram ID" appears twice (E, K)`,
		`Обращения: missing "Статус"`,
		`Очередь: "status" is ambiguous: "status" (F), "STATUS" (G)`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problems\n got %q\nwant %q", got, want)
	}
	err = s.Check(testCtx(t))
	if err == nil || err.Error() != "sheets: "+strings.Join(want, "; ") {
		t.Errorf("check: %v", err)
	}
	// The duplicated field is unusable: reads give nothing, writes fail.
	if _, err := s.UpdateAppeal(testCtx(t), domain.Appeal{Row: 2, TelegramID: 1}, domain.AppealFieldStatus); err == nil || mem.updates != 0 {
		t.Errorf("write to a sheet without Статус: %v", err)
	}
}

func TestHeaderMatching(t *testing.T) {
	for _, tc := range []struct {
		cell, header string
		want         bool
	}{
		{"Telegram ID", "Telegram ID", true},
		{"  telegram id\u00a0", "Telegram ID", true},
		{"СТАТУС", "Статус", true},
		{"Telegram  ID", "Telegram ID", false},
		{"Telegram_ID", "Telegram ID", false},
		{"", "Статус", false},
	} {
		if got := sameHeader(tc.cell, tc.header); got != tc.want {
			t.Errorf("sameHeader(%q, %q) = %v", tc.cell, tc.header, got)
		}
	}
}

// Configured header names replace the defaults; a typo in a field or two
// fields with one header are refused when the store is built.
func TestConfiguredHeaders(t *testing.T) {
	mem := newMemSheets()
	mem.setRows(testTitles.Auth, [][]any{{"Код", "Моб. телефон", "ФИО", "STATUS", "TG", "authorized_at", "bot_blocked_at"},
		{"P-1", "79123456789", "Анна", "", "77"}})
	s := newTestStore(t, mem, func(o *Options) {
		o.Headers = Headers{SheetAuth: {fPartnerCode: "Код", fPhone: "Моб. телефон", fTelegramID: " TG "}}
	})
	if p, found, err := s.PartnerByTelegramID(testCtx(t), 77); err != nil || !found || p.Code != "P-1" || p.Phone != "79123456789" {
		t.Errorf("by configured headers: %+v %v %v", p, found, err)
	}
	for _, h := range []Headers{
		{SheetAuth: {"phon": "x"}},
		{"auth2": {fPhone: "x"}},
		{SheetAuth: {fPhone: "код партнера"}},
	} {
		if _, err := New(mem, Options{Redis: s.o.Redis, Headers: h}); err == nil {
			t.Errorf("headers %v accepted", h)
		}
	}
}

// AuthorizePartner clears the blocked mark of the previous account bound to
// the row.
func TestAuthorizeClearsBlockedMark(t *testing.T) {
	mem := newMemSheets()
	blockedAt := time.Date(2026, 11, 20, 9, 0, 0, 0, msk)
	addPartners(mem, domain.Partner{Code: "P-1", Phone: "79123456789", Status: "authorized", TelegramID: 41, BotBlockedAt: blockedAt})
	s := newTestStore(t, mem, nil)
	ctx := testCtx(t)
	p, _, err := s.PartnerByPhone(ctx, "79123456789")
	if err != nil || !p.Blocked() {
		t.Fatalf("fixture: %+v %v", p, err)
	}
	p, err = s.AuthorizePartner(ctx, p, 42, time.Date(2026, 11, 25, 12, 0, 0, 0, msk))
	if err != nil || p.Blocked() {
		t.Fatalf("authorize: %+v %v", p, err)
	}
	if got, _, _ := s.PartnerByTelegramID(ctx, 42); got.Blocked() || got.Code != "P-1" {
		t.Errorf("the re-authorized row carries the old account's blocked mark: %+v", got)
	}
	if row := mem.rows(testTitles.Auth)[1]; row[6] != "" {
		t.Errorf("bot_blocked_at cell %#v, want cleared", row[6])
	}
}

// After a moved row AuthorizePartner reads the Auth sheet again: the cached
// sheet still has the partner at the old row, and looking there again would
// fail three times for as long as the cache lives.
func TestAuthorizeAfterAMovedRowRereadsTheSheet(t *testing.T) {
	mem := newMemSheets()
	addPartners(mem, domain.Partner{Code: "P-1", Phone: "79123456789"}, domain.Partner{Code: "P-2", Phone: "79130001122"})
	s := newTestStore(t, mem, func(o *Options) { o.AuthTTL = time.Hour })
	ctx := testCtx(t)
	p, _, err := s.PartnerByPhone(ctx, "79123456789") // cached: P-1 at row 2
	if err != nil || p.Row != 2 {
		t.Fatalf("fixture: %+v %v", p, err)
	}
	mem.sortRows(testTitles.Auth, func(a, b []any) int { return strings.Compare(fmt.Sprint(b[0]), fmt.Sprint(a[0])) })
	writes := 0
	mem.beforeUpdate = func(*sheets.Guard, []sheets.Values) error { writes++; return nil }
	p, err = s.AuthorizePartner(ctx, p, 1001, time.Date(2026, 11, 25, 12, 0, 0, 0, msk))
	if err != nil || p.Row != 3 || writes != 2 {
		t.Fatalf("authorize after a sort: row %d, %v after %d writes; want row 3 on the second write", p.Row, err, writes)
	}
	if row := mem.rows(testTitles.Auth)[2]; row[0] != "P-1" || row[4] != "1001" {
		t.Errorf("P-1's row: %#v", row)
	}
	if errors.Is(err, sheets.ErrRowMoved) {
		t.Error("row moved")
	}
}
