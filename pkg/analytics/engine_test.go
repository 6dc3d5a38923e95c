package analytics

import (
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"marketingbot/pkg/domain"
)

// The expectations below are worked out by hand from testdata/listings.csv;
// the comments carry the arithmetic so that a failing figure can be checked
// without running code.
//
// Object TST-001: квартира, Казань, Вахитовский, 2 rooms, 60 m², floor 5,
// 12 000 000 ₽ → 200 000 ₽/m². An older withdrawn row "tst-001" (relisting,
// September 2024) is superseded by the newer row and never counted.
// Segment: rooms 1…3, area 60×0.75 = 45 … 60×1.25 = 75 m².

const eps = 1e-6

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func codesOf(cs []Competitor) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = strings.ToUpper(strings.TrimSpace(c.Listing.Code))
	}
	return out
}

func TestAnalyzeSegmentAndCompetitors(t *testing.T) {
	r := fixtureReport(t, "TST-001", DefaultOptions())

	if r.Widened {
		t.Error("Widened = true; the district has 7 active competitors, ≥ 3")
	}
	wantSeg := Segment{Type: "квартира", City: "Казань", District: "Вахитовский",
		RoomsMin: 1, RoomsMax: 3, AreaMin: 45, AreaMax: 75,
		// 7 active (TST-101…107) + 10 closed rows TST-200…209; TST-301 (4 rooms),
		// 302 (studio), 303 (44.9 m²), 304 (75.1 m²), 305 (апартаменты),
		// 306 (Советский), 307 (Москва), 308 (no area) and both TST-001 rows are out.
		Listings: 17}
	if r.Segment != wantSeg {
		t.Errorf("Segment = %+v, want %+v", r.Segment, wantSeg)
	}

	// Similarity = 0.5·area + 0.3·rooms + 0.2·floor; object floor 5 is band 2–5.
	want := []struct {
		code string
		sim  float64
	}{
		{"TST-101", 1},      // 60 m², 2 rooms, floor 4: 0.5·1 + 0.3·1 + 0.2·1
		{"TST-104", 0.5667}, // 50 m², 2 rooms, floor 1: 0.5·(1−10/15) + 0.3 + 0.2·0.5 = 0.56667
		{"TST-105", 0.5667}, // 70 m², 2 rooms, floor 8: mirror of TST-104; the tie goes by code
		{"TST-106", 0.55},   // 66 m², 3 rooms, floor 6: 0.5·0.6 + 0.3·0.5 + 0.2·0.5 (row typed " tst-106 ", " Квартира ", "казань", "  ВАХИТОВСКИЙ ")
		{"TST-107", 0.45},   // 48 m², 1 room, floor 3: 0.5·0.2 + 0.15 + 0.2
		{"TST-102", 0.35},   // 45 m² (lower edge), 1 room, floor 2: 0 + 0.15 + 0.2
		{"TST-103", 0.15},   // 75 m² (upper edge), 3 rooms, floor 16 (band 13+, two bands away): 0 + 0.15 + 0
	}
	if got := codesOf(r.Competitors); !slices.Equal(got, codesOfWant(want)) {
		t.Fatalf("competitors = %v, want %v", got, codesOfWant(want))
	}
	for i, w := range want {
		if c := r.Competitors[i]; !near(c.Similarity, w.sim, 1e-9) {
			t.Errorf("%s similarity = %v, want %v", w.code, c.Similarity, w.sim)
		}
	}
	if r.Competitors[0].PricePerM2 != 190_000 { // 11 400 000 / 60
		t.Errorf("TST-101 price per m² = %v, want 190000", r.Competitors[0].PricePerM2)
	}
}

func codesOfWant(w []struct {
	code string
	sim  float64
}) []string {
	out := make([]string, len(w))
	for i, x := range w {
		out[i] = x.code
	}
	return out
}

func TestAnalyzeFigures(t *testing.T) {
	r := fixtureReport(t, "TST-001", DefaultOptions())

	// Competitors' price per m²: 180 000 (104), 185 000 (107), 190 000 (101),
	// 200 000 (102), 200 000 (106), 210 000 (103), 220 000 (105).
	checks := []struct {
		name      string
		got, want float64
	}{
		{"PricePerM2", r.PricePerM2, 200_000}, // 12 000 000 / 60
		// 3 strictly lower + 0.5 × 2 equal (102, 106) = 4 of 7 → 57.142857 %
		{"PercentileRank", r.PercentileRank, 4.0 / 7 * 100},
		{"SegmentMedianPerM2", r.SegmentMedianPerM2, 200_000}, // 4th of 7
		{"Spread.Min", r.Spread.Min, 180_000},
		// h = 6 × 0.25 = 1.5 → 185 000 + 0.5 × (190 000 − 185 000)
		{"Spread.P25", r.Spread.P25, 187_500},
		// h = 4.5 → 200 000 + 0.5 × (210 000 − 200 000)
		{"Spread.P75", r.Spread.P75, 205_000},
		{"Spread.Max", r.Spread.Max, 220_000},
		// Trend: first non-empty month July 2024 (median 172 000), last May 2025
		// (210 000): (210 000 / 172 000 − 1) × 100 = 22.0930 %
		{"TrendPercent", r.TrendPercent, (210_000.0/172_000 - 1) * 100},
		// Deals closed in [2024-06-15 12:00, 2025-06-15 12:00] MSK:
		//   TST-201 10.07→08.09 = 60 d, 1 − 9 894 000/10 200 000 = 3 %
		//   TST-203 01.10→10.01 = 101 d, 1 − 8 455 000/8 900 000 = 5 %
		//   TST-204 02.12→10.02 = 70 d, 1 − 9 702 000/9 900 000 = 2 %
		//   TST-205 15.12→25.03 = 100 d, 1 − 11 304 960/11 776 000 = 4 %
		//   TST-206 03.04→13.05 = 40 d, 1 − 10 631 400/11 310 000 = 6 %
		//   TST-208 20.04→16.06.2024 = 57 d (closed just inside the window), 4 %
		//   not counted: TST-200 (closed 10.06.2024, before the window),
		//   TST-209 (sold without closed_at and sold price)
		// days 40 57 60 70 100 101 → (60+70)/2 = 65; discounts 2 3 4 4 5 6 → 4
		{"Deals.Count", float64(r.Deals.Count), 6},
		{"Deals.MedianDaysOnMarket", r.Deals.MedianDaysOnMarket, 65},
		{"Deals.MedianDiscountPercent", r.Deals.MedianDiscountPercent, 4},
		// Expected sale price per m² = asking × 0.96:
		// 172 800, 177 600, 182 400, 192 000, 192 000, 201 600, 211 200
		// P25: h = 1.5 → 177 600 + 0.5 × 4 800 = 180 000 → × 60 = 10 800 000
		// P75: h = 4.5 → 192 000 + 0.5 × 9 600 = 196 800 → × 60 = 11 808 000 → 11 810 000
		{"Corridor.LowPerM2", r.Corridor.LowPerM2, 180_000},
		{"Corridor.HighPerM2", r.Corridor.HighPerM2, 196_800},
		{"Corridor.LowRub", float64(r.Corridor.LowRub), 10_800_000},
		{"Corridor.HighRub", float64(r.Corridor.HighRub), 11_810_000},
		{"Corridor.DiscountPercent", r.Corridor.DiscountPercent, 4},
		// 12 000 000 / 11 810 000 − 1 = 1.6088 %
		{"DeviationPercent", r.DeviationPercent, (12_000_000.0/11_810_000 - 1) * 100},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !near(c.got, c.want, eps) {
				t.Errorf("got %v, want %v", c.got, c.want)
			}
		})
	}
	if !r.HasTrend {
		t.Error("HasTrend = false")
	}
	if r.Position != PositionAbove || r.Verdict != "выше рынка на 1,6\u00a0%" {
		t.Errorf("Position, Verdict = %v, %q; want above, %q", r.Position, r.Verdict, "выше рынка на 1,6 %")
	}
	if !r.Corridor.Valid {
		t.Error("Corridor.Valid = false")
	}
	if !r.GeneratedAt.Equal(fixtureNow(t)) {
		t.Errorf("GeneratedAt = %v", r.GeneratedAt)
	}
}

func TestAnalyzeMonthly(t *testing.T) {
	r := fixtureReport(t, "TST-001", DefaultOptions())
	loc := testLocation(t)
	want := []struct {
		month  string
		median float64
		count  int
	}{
		// TST-201 170 000 and TST-202 174 000 (listed 01.07 00:30 MSK, still 30.06
		// in UTC); TST-207 (30.06 23:30 MSK) belongs to June 2024, outside.
		{"2024-07", 172_000, 2},
		{"2024-08", 0, 0},
		{"2024-09", 0, 0}, // only the object's own old row, which never counts
		{"2024-10", 178_000, 1},
		{"2024-11", 0, 0},
		// TST-104 180 000, TST-204 180 000, TST-205 184 000, TST-209 180 000
		{"2024-12", 180_000, 4},
		{"2025-01", 0, 0},
		{"2025-02", 190_000, 1},
		{"2025-03", 192_500, 2}, // 185 000 and 200 000
		{"2025-04", 195_000, 1},
		{"2025-05", 210_000, 3}, // 200 000, 210 000, 220 000; the object itself is out
		{"2025-06", 0, 0},       // June listings are all outside the segment
	}
	if len(r.Monthly) != len(want) {
		t.Fatalf("len(Monthly) = %d, want %d", len(r.Monthly), len(want))
	}
	for i, w := range want {
		p := r.Monthly[i]
		t.Run(w.month, func(t *testing.T) {
			m, _ := time.ParseInLocation("2006-01", w.month, loc)
			if !p.Month.Equal(m) {
				t.Errorf("Month = %v, want %v", p.Month, m)
			}
			if p.Count != w.count || !near(p.MedianPerM2, w.median, eps) {
				t.Errorf("median, count = %v, %d; want %v, %d", p.MedianPerM2, p.Count, w.median, w.count)
			}
			if p.Gap() != (w.count == 0) {
				t.Errorf("Gap() = %v", p.Gap())
			}
		})
	}
}

func TestAnalyzeWidening(t *testing.T) {
	opts := func(mut func(*Options)) Options {
		o := DefaultOptions()
		mut(&o)
		return o
	}
	tests := []struct {
		name        string
		code        string
		opts        Options
		widened     bool
		competitors []string // in rank order
		rank        float64
	}{
		{
			// Советский has one active competitor (TST-306) < 3: the whole of
			// Казань is used — TST-001 (the other object), TST-101…107, TST-306.
			// TST-001 and TST-101 tie at similarity 1 (code order); TST-306:
			// 0.5·(1−2/15) + 0.3 + 0.2 = 0.9333. Prices per m²: TST-306 and
			// TST-104 (180 000) tie the object's 180 000, none is lower:
			// 0.5 × 2 / 9 → 11.1111 %.
			name: "sparse district", code: "TST-002", opts: DefaultOptions(), widened: true,
			competitors: []string{"TST-001", "TST-101", "TST-306", "TST-104", "TST-105", "TST-106", "TST-107", "TST-102", "TST-103"},
			rank:        1.0 / 9 * 100,
		},
		{
			// Exactly MinCompetitors active competitors: no widening.
			name: "threshold met", code: "TST-001", opts: opts(func(o *Options) { o.MinCompetitors = 7 }), widened: false,
			competitors: []string{"TST-101", "TST-104", "TST-105", "TST-106", "TST-107", "TST-102", "TST-103"},
			rank:        4.0 / 7 * 100,
		},
		{
			// One short: the city adds TST-002 and TST-306 (180 000 each):
			// lower 002, 306, 104, 107, 101 = 5, equal 102, 106 = 2:
			// (5 + 0.5 × 2) / 9 = 66.6667 %.
			name: "threshold missed", code: "TST-001", opts: opts(func(o *Options) { o.MinCompetitors = 8 }), widened: true,
			competitors: []string{"TST-002", "TST-101", "TST-306", "TST-104", "TST-105", "TST-106", "TST-107", "TST-102", "TST-103"},
			rank:        6.0 / 9 * 100,
		},
		{
			// Exact rooms: TST-101, 104, 105 (2 rooms) = 3 = MinCompetitors.
			name: "exact rooms", code: "TST-001", opts: opts(func(o *Options) { o.RoomsTolerance = -1 }), widened: false,
			competitors: []string{"TST-101", "TST-104", "TST-105"},
			rank:        2.0 / 3 * 100, // 180 000 and 190 000 lower, 220 000 higher
		},
		{
			// Never widen: the lone competitor stays.
			name: "widening off", code: "TST-002", opts: opts(func(o *Options) { o.MinCompetitors = -1 }), widened: false,
			competitors: []string{"TST-306"},
			rank:        50,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fixtureReport(t, tt.code, tt.opts)
			if r.Widened != tt.widened {
				t.Errorf("Widened = %v, want %v", r.Widened, tt.widened)
			}
			if tt.widened && r.Segment.District != "" {
				t.Errorf("Segment.District = %q, want empty when widened", r.Segment.District)
			}
			if got := codesOf(r.Competitors); !slices.Equal(got, tt.competitors) {
				t.Errorf("competitors = %v, want %v", got, tt.competitors)
			}
			if !near(r.PercentileRank, tt.rank, eps) {
				t.Errorf("PercentileRank = %v, want %v", r.PercentileRank, tt.rank)
			}
		})
	}
}

func TestAnalyzeLookup(t *testing.T) {
	e := NewEngine(loadFixture(t), DefaultOptions())
	now := fixtureNow(t)
	tests := []struct {
		name    string
		code    string
		wantErr error
		price   int64
	}{
		{"exact", "TST-001", nil, 12_000_000},
		{"case and spaces", "  tst-001\t", nil, 12_000_000}, // the newer of the two TST-001 rows
		{"padded row code", "TST-106", nil, 13_200_000},
		{"unknown", "NOPE-999", ErrObjectNotFound, 0},
		{"empty", "   ", ErrObjectNotFound, 0},
		{"no area", "TST-308", ErrInvalidObject, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := e.Analyze(tt.code, now)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				if r != nil {
					t.Error("report returned with an error")
				}
				return
			}
			if r.Object.PriceRub != tt.price {
				t.Errorf("object price = %d, want %d", r.Object.PriceRub, tt.price)
			}
		})
	}
}

func TestAnalyzeWithoutCompetitors(t *testing.T) {
	now := time.Date(2025, 6, 15, 12, 0, 0, 0, testLocation(t))
	listings := []domain.Listing{
		{Code: "ONE-001", Type: "дом", City: "Казань", District: "Кировский", Rooms: 4, AreaM2: 150, Floor: 2,
			PriceRub: 15_000_000, ListedAt: now.AddDate(0, -1, 0), Status: domain.ListingActive},
	}
	r, err := NewEngine(listings, DefaultOptions()).Analyze("one-001", now)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Widened || len(r.Competitors) != 0 || r.Corridor.Valid || r.HasTrend || r.Deals.Count != 0 {
		t.Errorf("report = %+v; want widened, no competitors, corridor, trend or deals", r)
	}
	if r.Position != PositionUnknown || r.Verdict != "недостаточно данных" {
		t.Errorf("Position, Verdict = %v, %q", r.Position, r.Verdict)
	}
	if len(r.Monthly) != 12 {
		t.Errorf("len(Monthly) = %d, want 12 gaps", len(r.Monthly))
	}
}

func TestPositionVerdict(t *testing.T) {
	c := Corridor{Valid: true, LowRub: 10_000_000, HighRub: 12_000_000}
	tests := []struct {
		price int64
		pos   PricePosition
		text  string
	}{
		{10_000_000, PositionWithin, "в коридоре"}, // bounds are inside
		{12_000_000, PositionWithin, "в коридоре"},
		{12_000_001, PositionWithin, "в коридоре"}, // 0.00001 % would print as 0,0 %
		{12_504_000, PositionAbove, "выше рынка на 4,2\u00a0%"},
		{9_000_000, PositionBelow, "ниже рынка на 10,0\u00a0%"},
	}
	for _, tt := range tests {
		t.Run(FormatRub(tt.price), func(t *testing.T) {
			pos, dev := position(tt.price, c)
			if pos != tt.pos || verdict(pos, dev) != tt.text {
				t.Errorf("position = %v, %q; want %v, %q", pos, verdict(pos, dev), tt.pos, tt.text)
			}
		})
	}
}

func TestPercentileHelpers(t *testing.T) {
	tests := []struct {
		name   string
		sample []float64
		p      float64
		want   float64
	}{
		{"single", []float64{5}, 25, 5},
		{"min", []float64{1, 2, 3, 4}, 0, 1},
		{"max", []float64{1, 2, 3, 4}, 100, 4},
		{"interpolated", []float64{1, 2, 3, 4}, 25, 1.75}, // h = 0.75
		{"median even", []float64{1, 2, 3, 4}, 50, 2.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sample, tt.p); !near(got, tt.want, 1e-12) {
				t.Errorf("percentile = %v, want %v", got, tt.want)
			}
		})
	}
	rank := []struct {
		name   string
		sample []float64
		v      float64
		want   float64
	}{
		{"below all", []float64{2, 3}, 1, 0},
		{"above all", []float64{2, 3}, 4, 100},
		{"ties", []float64{1, 2, 2, 3}, 2, 50},                          // (1 + 0.5·2) / 4
		{"kopeck tie", []float64{10_000_000.0 / 54.3}, 184_162.063, 50}, // same to the kopeck
	}
	for _, tt := range rank {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentileRank(tt.sample, tt.v); !near(got, tt.want, 1e-12) {
				t.Errorf("percentileRank = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAnalyzeDeterministic(t *testing.T) {
	listings := loadFixture(t)
	a := fixtureReport(t, "TST-001", DefaultOptions())
	// Reversing the sheet order must not change anything but ties that the
	// definitions already break (latest relisting, code order).
	slices.Reverse(listings)
	b, err := NewEngine(listings, DefaultOptions()).Analyze("TST-001", fixtureNow(t))
	if err != nil {
		t.Fatal(err)
	}
	if a.Summary() != b.Summary() || !slices.Equal(codesOf(a.Competitors), codesOf(b.Competitors)) {
		t.Errorf("report depends on row order:\n%s\n---\n%s", a.Summary(), b.Summary())
	}
}

func TestAnalyzeConcurrent(t *testing.T) {
	e := NewEngine(loadFixture(t), DefaultOptions())
	now := fixtureNow(t)
	want, err := e.Analyze("TST-001", now)
	if err != nil {
		t.Fatal(err)
	}
	// The worker shares one Engine between its goroutines.
	var wg sync.WaitGroup
	for _, code := range []string{"TST-001", "TST-002", "TST-106", "TST-001"} {
		wg.Go(func() {
			r, err := e.Analyze(code, now)
			if err != nil {
				t.Error(err)
				return
			}
			if code == "TST-001" && r.Summary() != want.Summary() {
				t.Error("concurrent analysis differs")
			}
		})
	}
	wg.Wait()
}
