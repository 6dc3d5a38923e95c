package analytics

import (
	"math"
	"strings"
	"testing"
	"time"
)

// Tests spell no-break spaces as "_" for readability.
func sp(s string) string { return strings.ReplaceAll(s, "_", "\u00a0") }

func TestFormatNumber(t *testing.T) {
	tests := []struct {
		v        float64
		decimals int
		want     string
	}{
		{0, 0, "0"},
		{999, 0, "999"},
		{1000, 0, "1_000"},
		{12345678, 0, "12_345_678"},
		{-1234567.89, 1, "-1_234_567,9"},
		{54.25, 1, "54,2"}, // 54.25 is exact in binary: round half to even
		{54.35, 1, "54,4"}, // 54.35 is stored as 54.350000000000001
		{-0.04, 1, "0,0"},
		{0.5, 0, "0"},
		{1.5, 0, "2"},
		{100000, 2, "100_000,00"},
		{math.NaN(), 1, "—"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := FormatNumber(tt.v, tt.decimals); got != sp(tt.want) {
				t.Errorf("FormatNumber(%v, %d) = %q, want %q", tt.v, tt.decimals, got, sp(tt.want))
			}
		})
	}
}

func TestFormatRub(t *testing.T) {
	tests := []struct {
		rub  int64
		want string
	}{
		{0, "0_₽"},
		{950, "950_₽"},
		{10_000, "10_000_₽"},
		{12_345_678, "12_345_678_₽"},
		{1_250_000_000, "1_250_000_000_₽"},
		{-5_000, "-5_000_₽"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := FormatRub(tt.rub); got != sp(tt.want) {
				t.Errorf("FormatRub(%d) = %q, want %q", tt.rub, got, sp(tt.want))
			}
		})
	}
	if got, want := FormatRubPerM2(245_300.4), sp("245_300_₽/м²"); got != want {
		t.Errorf("FormatRubPerM2 = %q, want %q", got, want)
	}
}

func TestFormatPercent(t *testing.T) {
	tests := []struct {
		v        float64
		decimals int
		plain    string
		change   string
	}{
		{4.2, 1, "4,2_%", "+4,2_%"},
		{4.16, 1, "4,2_%", "+4,2_%"},
		{-4.2, 1, "-4,2_%", "-4,2_%"},
		{0, 1, "0,0_%", "0,0_%"},
		{0.04, 1, "0,0_%", "0,0_%"},
		{-0.04, 1, "0,0_%", "0,0_%"},
		{57.142857, 0, "57_%", "+57_%"},
		{10, 0, "10_%", "+10_%"},
		{1234.5, 1, "1_234,5_%", "+1_234,5_%"},
	}
	for _, tt := range tests {
		t.Run(tt.plain, func(t *testing.T) {
			if got := FormatPercent(tt.v, tt.decimals); got != sp(tt.plain) {
				t.Errorf("FormatPercent(%v) = %q, want %q", tt.v, got, sp(tt.plain))
			}
			if got := FormatPercentChange(tt.v, tt.decimals); got != sp(tt.change) {
				t.Errorf("FormatPercentChange(%v) = %q, want %q", tt.v, got, sp(tt.change))
			}
		})
	}
}

func TestFormatArea(t *testing.T) {
	tests := []struct {
		m2   float64
		want string
	}{
		{54.3, "54,3_м²"},
		{60, "60_м²"},
		{59.96, "60_м²"},
		{44.94, "44,9_м²"},
		{1250.5, "1_250,5_м²"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := FormatArea(tt.m2); got != sp(tt.want) {
				t.Errorf("FormatArea(%v) = %q, want %q", tt.m2, got, sp(tt.want))
			}
		})
	}
}

func TestPlural(t *testing.T) {
	days := func(n int) string { return Plural(n, "день", "дня", "дней") }
	comp := func(n int) string {
		return Plural(n, "конкурент", "конкурента", "конкурентов")
	}
	tests := []struct {
		n          int
		day, compt string
	}{
		{0, "дней", "конкурентов"},
		{1, "день", "конкурент"},
		{2, "дня", "конкурента"},
		{3, "дня", "конкурента"},
		{4, "дня", "конкурента"},
		{5, "дней", "конкурентов"},
		{7, "дней", "конкурентов"},
		{11, "дней", "конкурентов"},
		{12, "дней", "конкурентов"},
		{14, "дней", "конкурентов"},
		{21, "день", "конкурент"},
		{22, "дня", "конкурента"},
		{25, "дней", "конкурентов"},
		{101, "день", "конкурент"},
		{111, "дней", "конкурентов"},
		{112, "дней", "конкурентов"},
		{1002, "дня", "конкурента"},
		{-1, "день", "конкурент"},
	}
	for _, tt := range tests {
		t.Run(days(tt.n), func(t *testing.T) {
			if got := days(tt.n); got != tt.day {
				t.Errorf("Plural(%d) days = %q, want %q", tt.n, got, tt.day)
			}
			if got := comp(tt.n); got != tt.compt {
				t.Errorf("Plural(%d) competitors = %q, want %q", tt.n, got, tt.compt)
			}
		})
	}
}

func TestFormatHelpers(t *testing.T) {
	tests := []struct{ name, got, want string }{
		{"date", FormatDate(time.Date(2025, 6, 5, 23, 0, 0, 0, time.UTC)), "05.06.2025"},
		{"month", formatMonthShort(time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)), "июл 24"},
		{"studio", formatRooms(0), "студия"},
		{"rooms", formatRooms(3), "3-комн."},
		{"rooms range", formatRoomsRange(1, 3), "1–3 комн."},
		{"rooms from studio", formatRoomsRange(0, 2), "студии и 1–2 комн."},
		{"studio and one", formatRoomsRange(0, 1), "студии и 1-комн."},
		{"exact rooms", formatRoomsRange(2, 2), "2-комн."},
		{"area range", formatAreaRange(40.725, 67.875), sp("40,7–67,9_м²")},
		{"thousands", formatThousands(187_500), sp("187,5_тыс.")},
		{"millions", formatThousands(1_250_000), sp("1,25_млн")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}
