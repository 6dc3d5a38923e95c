package store

import (
	"testing"
	"time"
)

// Templates and holidays are read by header wherever their columns stand;
// rows without a key or text are skipped, a date cell (a serial number) and
// typed dates are read, a date that is none is skipped.
func TestTemplatesAndHolidays(t *testing.T) {
	mem := newMemSheets()
	mem.setRows(testTitles.Templates, [][]any{
		{"Заметка", "Текст", "Ключ", "Название"},
		{"для новичков", "Здравствуйте, {имя}!", " privet ", "Приветствие"},
		{"", "без ключа", "", "—"},
		{"", "", "empty", "Пустой"},
		{"", "  Спасибо, {фио}.  ", "thanks", ""},
	})
	mem.setRows(testTitles.Holidays, [][]any{
		{"Название", "Дата"},
		{"Новый год", "2027-01-01"},
		{"Рождество", "07.01.2027"},
		{"ячейка-дата", float64(46370)}, // 2026-12-14 as a spreadsheet serial day
		{"опечатка", "32.13.2027"},
	})
	s := newTestStore(t, mem, nil)
	ctx := testCtx(t)
	ts, err := s.Templates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 2 || ts[0].Key != "privet" || ts[0].Title != "Приветствие" || ts[0].Text != "Здравствуйте, {имя}!" ||
		ts[1].Key != "thanks" || ts[1].Text != "Спасибо, {фио}." {
		t.Fatalf("templates: %+v", ts)
	}
	hs, err := s.Holidays(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []time.Time{time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 7, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 14, 0, 0, 0, 0, time.UTC)}
	if len(hs) != len(want) {
		t.Fatalf("holidays: %+v", hs)
	}
	for i, h := range hs {
		if !h.Day.Equal(want[i]) {
			t.Errorf("holiday %d: %s, want %s", i, h.Day, want[i])
		}
	}
	if hs[0].Title != "Новый год" {
		t.Errorf("title: %q", hs[0].Title)
	}
}
