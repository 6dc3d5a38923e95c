package store

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"marketingbot/pkg/domain"
)

// The Статистика sheet: a day written again updates its row (found by its
// date, wherever sorting moved it, however a person typed the date), a new
// day appends one; the team's cells are left alone.
func TestPutSupportDay(t *testing.T) {
	mem := newMemSheets()
	s := newTestStore(t, mem, nil)
	ctx := testCtx(t)
	day := func(d int, appeals int) domain.SupportDay {
		return domain.SupportDay{Date: time.Date(2025, 3, d, 0, 0, 0, 0, msk), UpdatedAt: time.Date(2025, 3, 12, 9, 0, 0, 0, msk),
			SupportStats: domain.SupportStats{Appeals: appeals, WithoutHuman: 2, Escalations: 1, FirstResponses: 1, FirstResponseAvg: 150 * time.Second,
				Resolved: 1, ResolutionAvg: 20 * time.Minute, Ratings: 3, RatingAvg: 13.0 / 3, LowRatings: 1}}
	}
	for _, d := range []domain.SupportDay{day(10, 3), day(11, 4), day(10, 6)} {
		if err := s.PutSupportDay(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	rows := mem.rows(testTitles.Stats)
	want := [][]any{DefaultHeaders(SheetStats),
		{"2025-03-10", 6, 33.3, 1, 2.5, 1, 20.0, 3, 4.33, 1, "2025-03-12 09:00:00"},
		{"2025-03-11", 4, 50.0, 1, 2.5, 1, 20.0, 3, 4.33, 1, "2025-03-12 09:00:00"}}
	if !reflect.DeepEqual(rows, want) {
		t.Fatalf("rows\n got %v\nwant %v", rows, want)
	}
	// A person sorted the sheet (newest first) and typed a date their way.
	mem.sortRows(testTitles.Stats, func(a, b []any) int { return -slices.Compare([]string{cellString(a[0])}, []string{cellString(b[0])}) })
	mem.set(testTitles.Stats, 3, 0, "10.03.2025")
	empty := day(10, 0)
	if err := s.PutSupportDay(ctx, empty); err != nil {
		t.Fatal(err)
	}
	rows = mem.rows(testTitles.Stats)
	if len(rows) != 3 || rows[2][0] != "2025-03-10" || rows[2][1] != 0 || rows[2][2] != "" || rows[1][1] != 4 {
		t.Fatalf("after the sort: %v", rows)
	}
}

// --init-sheets on a spreadsheet of before issue 18: the Статистика sheet
// and the appeals' new headers are added, nothing else changes.
func TestInitSheetsAddsSupportColumns(t *testing.T) {
	mem := newMemSheets()
	delete(mem.sheets, testTitles.Stats)
	old := DefaultHeaders(SheetAppeals)[:8]
	mem.setRows(testTitles.Appeals, [][]any{slices.Clone(old), {"2025-03-10 12:00:00", "@p", "P-1", "42", "x", "Решено", "", "Ольга"}})
	s := newTestStore(t, mem, nil)
	rep, err := s.InitSheets(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`added sheet "Статистика"`,
		`Обращения: added headers "escalated_at" (I1), "first_response_at" (J1), "resolved_at" (K1), "Оценка" (L1), "Комментарий к оценке" (M1)`,
		`Статистика: added headers "Дата" (A1), "Обращений" (B1), "Без оператора, %" (C1), "Эскалаций" (D1), "Первый ответ, мин" (E1), "Решено" (F1), "Время решения, мин" (G1), "Оценок" (H1), "Средняя оценка" (I1), "Оценок 1-2" (J1), "updated_at" (K1)`}
	if !reflect.DeepEqual(rep.Done, want) {
		t.Fatalf("done\n got %q\nwant %q", rep.Done, want)
	}
	if got := mem.rows(testTitles.Appeals); !reflect.DeepEqual(got[0], DefaultHeaders(SheetAppeals)) || got[1][7] != "Ольга" {
		t.Fatalf("appeals %v", got)
	}
	a, err := s.Appeals(testCtx(t))
	if err != nil || len(a) != 1 || a[0].Rating != 0 || a[0].Operator != "Ольга" {
		t.Fatalf("appeals read %+v %v", a, err)
	}
}
