package analytics

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"marketingbot/pkg/domain"
)

// FuzzAnalyze adds an arbitrary object to the fixture and checks the
// invariants every report must keep, and that it renders, whatever a
// hand-edited sheet contains.
func FuzzAnalyze(f *testing.F) {
	f.Add(2, 60.0, int64(12_000_000), 5, "Вахитовский", int64(0))
	f.Add(0, 18.5, int64(3_000_000), 1, "  вахитовский ", int64(-400))
	f.Add(9, 1e9, int64(1), -3, "", int64(10_000))
	f.Add(-2, 0.0, int64(0), 0, "Советский", int64(3))
	f.Add(1, 40.0, int64(8_000_000), 3, "Вахитовский 🏠 北京 "+strings.Repeat("очень длинный район ", 20), int64(30))
	listings := loadFixture(f)
	now := time.Date(2025, 6, 15, 12, 0, 0, 0, testLocation(f))
	f.Fuzz(func(t *testing.T, rooms int, area float64, price int64, floor int, district string, listedDaysAgo int64) {
		obj := domain.Listing{Code: "FUZ-001", Type: "квартира", City: "Казань", District: district,
			Rooms: rooms, AreaM2: area, Floor: floor, PriceRub: price,
			ListedAt: now.AddDate(0, 0, -int(listedDaysAgo%5000)), Status: domain.ListingActive}
		all := append(append([]domain.Listing(nil), listings...), obj)
		r, err := NewEngine(all, DefaultOptions()).Analyze("fuz-001", now)
		if err != nil {
			if !errors.Is(err, ErrInvalidObject) {
				t.Fatalf("unexpected error %v", err)
			}
			if area > 0 && price > 0 && !math.IsInf(area, 0) {
				t.Fatalf("valid object rejected: %v", err)
			}
			return
		}
		if r.PercentileRank < 0 || r.PercentileRank > 100 || math.IsNaN(r.PercentileRank) {
			t.Errorf("rank %v", r.PercentileRank)
		}
		for i, c := range r.Competitors {
			if c.Similarity < 0 || c.Similarity > 1 {
				t.Errorf("similarity %v", c.Similarity)
			}
			if c.Listing.Status != domain.ListingActive || strings.EqualFold(strings.TrimSpace(c.Listing.Code), "FUZ-001") {
				t.Errorf("competitor %+v", c.Listing)
			}
			if i > 0 && r.Competitors[i-1].Similarity < c.Similarity {
				t.Error("competitors not ranked by similarity")
			}
		}
		if c := r.Corridor; c.Valid != (len(r.Competitors) > 0) || c.LowRub > c.HighRub {
			t.Errorf("corridor %+v with %d competitors", c, len(r.Competitors))
		}
		if len(r.Monthly) != 12 {
			t.Errorf("%d months", len(r.Monthly))
		}
		if n := strings.Count(r.Summary(), "\n") + 1; n < 8 || n > 15 {
			t.Errorf("summary has %d lines", n)
		}
		if _, err := RenderPDF(r); err != nil {
			t.Errorf("RenderPDF: %v", err)
		}
	})
}

// FuzzFormatNumber checks that the Russian rendering is the plain decimal
// rendering with a comma and grouped digits.
func FuzzFormatNumber(f *testing.F) {
	for _, v := range []float64{0, -0.04, 999.5, 1234567.891, -1e15, 5e-324} {
		f.Add(v, uint8(1))
	}
	f.Fuzz(func(t *testing.T, v float64, decimals uint8) {
		d := int(decimals % 4)
		got := FormatNumber(v, d)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			if got != "—" {
				t.Errorf("FormatNumber(%v) = %q", v, got)
			}
			return
		}
		plain := strings.NewReplacer("\u00a0", "", ",", ".").Replace(got)
		want := strconv.FormatFloat(v, 'f', d, 64)
		if strings.TrimLeft(want, "-0.") == "" {
			want = strings.TrimPrefix(want, "-")
		}
		if plain != want {
			t.Errorf("FormatNumber(%v, %d) = %q, plain %q, want %q", v, d, got, plain, want)
		}
		intPart, _, _ := strings.Cut(strings.TrimPrefix(got, "-"), ",")
		for i, g := range strings.Split(intPart, "\u00a0") {
			if (i > 0 && len(g) != 3) || (i == 0 && (len(g) == 0 || len(g) > 3)) {
				t.Errorf("bad grouping %q", got)
			}
		}
	})
}
