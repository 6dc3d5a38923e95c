package analytics

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"marketingbot/pkg/domain"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it)\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestSummaryGolden(t *testing.T) {
	tests := []struct {
		name   string
		report func(t *testing.T) *Report
	}{
		{"summary_district.golden", func(t *testing.T) *Report { return fixtureReport(t, "TST-001", DefaultOptions()) }},
		{"summary_widened.golden", func(t *testing.T) *Report { return fixtureReport(t, "tst-002", DefaultOptions()) }},
		{"summary_empty.golden", func(t *testing.T) *Report {
			now := time.Date(2025, 6, 15, 12, 0, 0, 0, testLocation(t))
			l := []domain.Listing{{Code: "KZN-000777", Type: "дом", City: "Казань", District: "Кировский",
				Address: "ул. Клары Цеткин, д. 5", Rooms: 4, AreaM2: 151.5, Floor: 2, PriceRub: 15_990_000,
				ListedAt: now.AddDate(0, 0, -20), Status: domain.ListingActive}}
			r, err := NewEngine(l, DefaultOptions()).Analyze("KZN-000777", now)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.report(t).Summary()
			if n := strings.Count(s, "\n") + 1; n < 8 || n > 15 {
				t.Errorf("summary has %d lines, want 8–15", n)
			}
			if strings.ContainsAny(s, "<>&*_`") {
				t.Errorf("summary contains markup characters:\n%s", s)
			}
			golden(t, tt.name, []byte(s+"\n"))
		})
	}
}

func TestSummaryContent(t *testing.T) {
	s := fixtureReport(t, "TST-001", DefaultOptions()).Summary()
	// The golden file guards the wording; these guard the figures a partner
	// acts on, written as they must appear (no-break spaces included).
	for _, want := range []string{
		"TST-001",
		"12\u00a0000\u00a0000\u00a0₽",
		"200\u00a0000\u00a0₽/м²",
		"7 активных конкурентов",
		"дороже, чем 57\u00a0%",
		"+22,1\u00a0%",
		"65 дней",
		"4,0\u00a0%",
		"10\u00a0800\u00a0000\u00a0₽ – 11\u00a0810\u00a0000\u00a0₽",
		"выше рынка на 1,6\u00a0%",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
}
