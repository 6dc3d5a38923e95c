package analytics

import (
	"encoding/csv"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"marketingbot/pkg/domain"
)

// fixtureNow is the moment the hand-computed fixture is analyzed at:
// the trend covers July 2024 … June 2025 and the deals window starts at
// 2024-06-15 12:00 MSK.
func fixtureNow(t *testing.T) time.Time {
	t.Helper()
	return time.Date(2025, time.June, 15, 12, 0, 0, 0, testLocation(t))
}

func testLocation(t testing.TB) *time.Location {
	t.Helper()
	return DefaultOptions().Location
}

// loadFixture reads testdata/listings.csv: the 13 columns of the Listings
// sheet (A code … M sold_price_rub), times in Moscow like the sheet.
func loadFixture(t testing.TB) []domain.Listing {
	t.Helper()
	f, err := os.Open("testdata/listings.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	loc := testLocation(t)
	var out []domain.Listing
	for n, row := range rows[1:] {
		if len(row) != 13 {
			t.Fatalf("fixture row %d: %d columns, want 13", n+2, len(row))
		}
		num := func(col int) float64 {
			s := strings.TrimSpace(row[col])
			if s == "" {
				return 0
			}
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatalf("fixture row %d column %d: %v", n+2, col+1, err)
			}
			return v
		}
		when := func(col int) time.Time {
			if strings.TrimSpace(row[col]) == "" {
				return time.Time{}
			}
			v, ok := domain.ParseSheetTime(row[col], loc)
			if !ok {
				t.Fatalf("fixture row %d column %d: bad time %q", n+2, col+1, row[col])
			}
			return v
		}
		out = append(out, domain.Listing{
			Code:         row[0],
			Type:         row[1],
			City:         row[2],
			District:     row[3],
			Address:      row[4],
			Rooms:        int(num(5)),
			AreaM2:       num(6),
			Floor:        int(num(7)),
			PriceRub:     int64(num(8)),
			ListedAt:     when(9),
			Status:       domain.ListingStatus(strings.TrimSpace(row[10])),
			ClosedAt:     when(11),
			SoldPriceRub: int64(num(12)),
		})
	}
	return out
}

func fixtureReport(t *testing.T, code string, opts Options) *Report {
	t.Helper()
	r, err := NewEngine(loadFixture(t), opts).Analyze(code, fixtureNow(t))
	if err != nil {
		t.Fatalf("Analyze(%q): %v", code, err)
	}
	return r
}
