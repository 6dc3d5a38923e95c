package store

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"marketingbot/pkg/sheets"
)

// InitSheets adds the missing sheets and the missing headers to the right
// of everything used, grows a grid that is too narrow, reports what a
// person must decide, and does nothing the second time.
func TestInitSheets(t *testing.T) {
	mem := newMemSheets()
	delete(mem.sheets, testTitles.Queue)
	delete(mem.sheets, testTitles.Templates) // a spreadsheet from before the operators' desk
	// The team's Auth: no ФИО, no columns of ours yet, a note without a
	// header in column G, and a grid only 7 columns wide.
	auth := [][]any{{"Код партнера", "Телефон", "", "STATUS", "Telegram ID"},
		{"P-1", "79123456789", "", "authorized", "42", "", "позвонить"}}
	mem.setRows(testTitles.Auth, [][]any{slices.Clone(auth[0]), slices.Clone(auth[1])})
	mem.grid = map[string]int{testTitles.Auth: 7}
	// Appeals with Статус twice.
	mem.setRows(testTitles.Appeals, [][]any{append(DefaultHeaders(SheetAppeals), "Статус")})
	s := newTestStore(t, mem, nil)
	rep, err := s.InitSheets(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	wantDone := []string{
		`added sheet "Очередь"`,
		`added sheet "Шаблоны"`,
		`Auth: added 4 columns to the grid`,
		`Auth: added headers "ФИО" (H1), "authorized_at" (I1), "bot_blocked_at" (J1), "operators_topic_id" (K1)`,
		`Очередь: added headers "id" (A1), "created_at" (B1), "object_code" (C1), "telegram_id" (D1), "requester" (E1), "status" (F1), "updated_at" (G1), "report_url" (H1), "error" (I1), "delivered_at" (J1), "result_text" (K1)`,
		`Шаблоны: added headers "Ключ" (A1), "Название" (B1), "Текст" (C1)`,
	}
	if !reflect.DeepEqual(rep.Done, wantDone) {
		t.Errorf("done\n got %q\nwant %q", rep.Done, wantDone)
	}
	if want := []string{`Обращения: "Статус" appears twice (F, N)`}; !reflect.DeepEqual(rep.Problems, want) {
		t.Errorf("problems %q, want %q", rep.Problems, want)
	}
	got := mem.rows(testTitles.Auth)
	if !reflect.DeepEqual(got[1], auth[1]) || !reflect.DeepEqual(got[0][:5], auth[0]) || got[0][5] != "" || got[0][6] != "" {
		t.Errorf("the team's cells changed: %#v", got)
	}
	if !reflect.DeepEqual(got[0][7:], []any{"ФИО", "authorized_at", "bot_blocked_at", "operators_topic_id"}) {
		t.Errorf("Auth headers: %#v", got[0])
	}
	if !reflect.DeepEqual(mem.rows(testTitles.Queue)[0], DefaultHeaders(SheetQueue)) {
		t.Errorf("Queue headers: %#v", mem.rows(testTitles.Queue))
	}
	// The store now works on Auth as it is.
	if p, found, err := s.PartnerByTelegramID(testCtx(t), 42); err != nil || !found || p.Code != "P-1" {
		t.Errorf("partner after init: %+v %v %v", p, found, err)
	}

	updates, structural := mem.updates, mem.structural
	again, err := s.InitSheets(testCtx(t))
	if err != nil || len(again.Done) != 0 || mem.updates != updates || mem.structural != structural {
		t.Errorf("second run: %+v %v, %d writes, %d structural changes; want nothing", again, err, mem.updates-updates, mem.structural-structural)
	}
	if len(again.Problems) != 1 || !strings.Contains(again.Problems[0], "appears twice") {
		t.Errorf("second run problems: %q", again.Problems)
	}
}

// The Queue the old bot left has no delivered_at: when --init-sheets adds
// it, the finished rows are marked delivered (the old bot delivered them),
// the open ones are left for the system to finish and deliver. A sort
// between the read and the write refuses the write.
func TestInitSheetsMarksTheOldBotsFinishedRequests(t *testing.T) {
	oldQueue := [][]any{{"id", "created_at", "object_code", "telegram_id", "requester", "status", "result_text"},
		{"r1", "", "MSK-1", "5", "P-1", "DONE", "итог"},
		{"r2", "", "MSK-2", "6", "P-2", "NEW", ""},
		{"r3", "", "MSK-3", "7", "P-3", "ERROR", ""}}
	mem := newMemSheets()
	mem.setRows(testTitles.Queue, slices.Clone(oldQueue))
	s := newTestStore(t, mem, nil)
	sorted := false
	mem.beforeUpdate = func(*sheets.Guard, []sheets.Values) error {
		if !sorted { // someone sorts the Queue by status meanwhile
			sorted = true
			mem.sortRows(testTitles.Queue, func(a, b []any) int { return strings.Compare(fmt.Sprint(b[5]), fmt.Sprint(a[5])) })
		}
		return nil
	}
	if _, err := s.InitSheets(testCtx(t)); err == nil || !strings.Contains(err.Error(), "changed meanwhile") || mem.updates != 0 {
		t.Fatalf("init during a sort: %v, %d writes; want refused, nothing written", err, mem.updates)
	}
	mem.setRows(testTitles.Queue, slices.Clone(oldQueue))
	rep, err := s.InitSheets(testCtx(t))
	if err != nil || !slices.Contains(rep.Done, "Очередь: 2 finished requests of the bot before marked delivered (delivered_at), so they are not sent again") {
		t.Fatalf("init: %+v %v", rep, err)
	}
	reqs, err := s.Requests(testCtx(t))
	if err != nil || len(reqs) != 3 {
		t.Fatal(reqs, err)
	}
	for _, r := range reqs {
		if delivered := !r.DeliveredAt.IsZero(); delivered != (r.ID != "r2") {
			t.Errorf("%s (%s): delivered_at %v", r.ID, r.Status, r.DeliveredAt)
		}
	}
	if r := mem.rows(testTitles.Queue)[2]; r[5] != "NEW" || len(r) > 7 && r[11] != nil && r[11] != "" {
		t.Errorf("the open request's row: %#v", r)
	}
}
