package listinggen

import (
	"math"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"marketingbot/pkg/domain"
)

var testNow = time.Date(2025, 6, 15, 12, 0, 0, 0, moscow())

// miniAppCode is the pattern the Mini App validates object codes against.
var miniAppCode = regexp.MustCompile(`(?i)^[A-Z]{2,4}-\d{3,8}$`)

func TestGenerateDeterministic(t *testing.T) {
	a := Generate(Config{Seed: 42, N: 2000, Now: testNow})
	b := Generate(Config{Seed: 42, N: 2000, Now: testNow})
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same config gave different listings")
	}
	c := Generate(Config{Seed: 43, N: 2000, Now: testNow})
	same := 0
	for i := range a {
		if a[i].PriceRub == c[i].PriceRub && a[i].District == c[i].District {
			same++
		}
	}
	if same > len(a)/10 {
		t.Errorf("seeds 42 and 43 share %d of %d rows", same, len(a))
	}
	// A prefix of a longer run is the shorter run: rows do not depend on N.
	if short := Generate(Config{Seed: 42, N: 100, Now: testNow}); !reflect.DeepEqual(short, a[:100]) {
		t.Error("the first 100 rows depend on N")
	}
}

func TestGenerateEdgeSizes(t *testing.T) {
	for _, n := range []int{-5, 0} {
		if got := Generate(Config{Seed: 1, N: n, Now: testNow}); len(got) != 0 {
			t.Errorf("N=%d: %d listings", n, len(got))
		}
	}
	if got := Generate(Config{Seed: 1, N: 1, Now: testNow}); len(got) != 1 || got[0].Code == "" {
		t.Errorf("N=1: %+v", got)
	}
}

func TestGenerateDistribution(t *testing.T) {
	const n = 20_000
	listings := Generate(Config{Seed: 7, N: n, Now: testNow})
	if len(listings) != n {
		t.Fatalf("len = %d, want %d", len(listings), n)
	}
	d := newDistribution(n)
	for _, l := range listings {
		d.checkListing(t, l)
		d.checkStatus(t, l)
	}
	d.checkShares(t)
	d.checkShape(t)
}

// distribution gathers what TestGenerateDistribution measures over all
// listings, checking each one on the way.
type distribution struct {
	n         int
	prefixes  map[string]string          // city → code prefix
	districts map[string]map[string]bool // city → its districts
	status    map[domain.ListingStatus]int
	types     map[string]int
	cities    map[string]int
	codes     map[string]bool
	roomArea  [5]struct {
		sum float64
		n   int
	}
	days      []float64 // on the market, of sold listings
	discounts []float64 // percent, of sold listings
	oldest    time.Time
}

func newDistribution(n int) *distribution {
	d := &distribution{n: n, prefixes: map[string]string{}, districts: map[string]map[string]bool{},
		status: map[domain.ListingStatus]int{}, types: map[string]int{}, cities: map[string]int{},
		codes: make(map[string]bool, n), oldest: testNow}
	for _, c := range cities {
		d.prefixes[c.Name] = c.Prefix
		d.districts[c.Name] = map[string]bool{}
		for _, dist := range c.Districts {
			d.districts[c.Name][dist.Name] = true
		}
	}
	return d
}

// checkListing checks one listing's own fields and counts it.
func (d *distribution) checkListing(t *testing.T, l domain.Listing) {
	if !miniAppCode.MatchString(l.Code) {
		t.Fatalf("code %q does not match the Mini App pattern", l.Code)
	}
	if d.codes[l.Code] {
		t.Fatalf("duplicate code %q", l.Code)
	}
	d.codes[l.Code] = true
	if want := d.prefixes[l.City] + "-"; !strings.HasPrefix(l.Code, want) {
		t.Fatalf("%s in %s: want prefix %s", l.Code, l.City, want)
	}
	if !d.districts[l.City][l.District] {
		t.Fatalf("%s: district %q is not in %s", l.Code, l.District, l.City)
	}
	if !strings.Contains(l.Address, ", д. ") {
		t.Fatalf("%s: address %q has no house number", l.Code, l.Address)
	}
	d.status[l.Status]++
	d.types[l.Type]++
	d.cities[l.City]++

	if l.Rooms < 0 || l.Rooms > 4 {
		t.Fatalf("%s: %d rooms", l.Code, l.Rooms)
	}
	lo, hi := AreaRange(l.Type, l.Rooms)
	if hi == 0 || l.AreaM2 < lo || l.AreaM2 > hi {
		t.Fatalf("%s: %s with %d rooms has %.1f m², want %v…%v", l.Code, l.Type, l.Rooms, l.AreaM2, lo, hi)
	}
	if l.Type == TypeFlat || l.Type == TypeApartment {
		d.roomArea[l.Rooms].sum += l.AreaM2
		d.roomArea[l.Rooms].n++
	}
	if l.Floor < 1 || l.Floor > 25 {
		t.Fatalf("%s: floor %d", l.Code, l.Floor)
	}
	if perM2 := l.PricePerM2(); perM2 < 50_000 || perM2 > 1_500_000 {
		t.Fatalf("%s: %.0f ₽/m² is not a Russian price", l.Code, perM2)
	}
	if l.PriceRub%10_000 != 0 {
		t.Fatalf("%s: price %d is not rounded", l.Code, l.PriceRub)
	}
	if l.ListedAt.After(testNow) || l.ListedAt.Before(testNow.AddDate(0, 0, -historyDays-1)) {
		t.Fatalf("%s: listed_at %v outside the 24 months", l.Code, l.ListedAt)
	}
	if l.ListedAt.Before(d.oldest) {
		d.oldest = l.ListedAt
	}
}

// checkStatus checks the closing data against the status.
func (d *distribution) checkStatus(t *testing.T, l domain.Listing) {
	switch l.Status {
	case domain.ListingActive:
		if !l.ClosedAt.IsZero() || l.SoldPriceRub != 0 {
			t.Fatalf("%s: active with closing data", l.Code)
		}
	case domain.ListingWithdrawn:
		if l.ClosedAt.Before(l.ListedAt) || l.ClosedAt.After(testNow) || l.SoldPriceRub != 0 {
			t.Fatalf("%s: bad withdrawal %+v", l.Code, l)
		}
	case domain.ListingSold:
		if l.ClosedAt.Before(l.ListedAt) || l.ClosedAt.After(testNow) {
			t.Fatalf("%s: closed %v, listed %v", l.Code, l.ClosedAt, l.ListedAt)
		}
		d.days = append(d.days, l.ClosedAt.Sub(l.ListedAt).Hours()/24)
		disc := (1 - float64(l.SoldPriceRub)/float64(l.PriceRub)) * 100
		// Rounding the sold price to 10 000 ₽ moves a small flat's discount a little.
		if disc < 0.8 || disc > 8.2 {
			t.Fatalf("%s: discount %.2f %%", l.Code, disc)
		}
		d.discounts = append(d.discounts, disc)
	default:
		t.Fatalf("%s: status %q", l.Code, l.Status)
	}
}

// checkShares checks the shares of statuses, types and cities.
func (d *distribution) checkShares(t *testing.T) {
	share := func(k int) float64 { return float64(k) / float64(d.n) }
	shares := []struct {
		name     string
		got      float64
		min, max float64
	}{
		{"sold", share(d.status[domain.ListingSold]), 0.37, 0.43},
		{"withdrawn", share(d.status[domain.ListingWithdrawn]), 0.08, 0.12},
		{"active", share(d.status[domain.ListingActive]), 0.47, 0.53},
		{"квартира", share(d.types[TypeFlat]), 0.80, 0.88},
		{"апартаменты", share(d.types[TypeApartment]), 0.06, 0.10},
		{"таунхаус", share(d.types[TypeTownhouse]), 0.03, 0.05},
		{"дом", share(d.types[TypeHouse]), 0.03, 0.05},
		{"Москва", share(d.cities["Москва"]), 0.31, 0.37},
		{"Новосибирск", share(d.cities["Новосибирск"]), 0.09, 0.13},
	}
	for _, s := range shares {
		t.Run(s.name, func(t *testing.T) {
			if s.got < s.min || s.got > s.max {
				t.Errorf("share %.3f, want %.2f…%.2f", s.got, s.min, s.max)
			}
		})
	}
	if len(d.cities) != len(cities) {
		t.Errorf("cities = %v", d.cities)
	}
}

// checkShape checks areas by rooms, days on market, discounts and history.
func (d *distribution) checkShape(t *testing.T) {
	// Areas grow with rooms.
	prev := 0.0
	for rooms, a := range d.roomArea {
		mean := a.sum / float64(a.n)
		if a.n == 0 || mean <= prev {
			t.Errorf("mean area of %d-room flats = %.1f after %.1f", rooms, mean, prev)
		}
		prev = mean
	}
	// Days on market: lognormal around 75 days.
	if m := medianOf(d.days); m < 60 || m > 90 {
		t.Errorf("median days on market = %.1f, want 60…90", m)
	}
	if m := medianOf(d.discounts); m < 3.5 || m > 5.5 {
		t.Errorf("median discount = %.2f %%, want around 4.5", m)
	}
	if d.oldest.After(testNow.AddDate(0, -23, 0)) {
		t.Errorf("oldest listing %v: history shorter than 24 months", d.oldest)
	}
}

// TestGenerateTrend checks the gentle upward drift: listings of the last
// quarter ask more per m² than those of two years ago, same district.
func TestGenerateTrend(t *testing.T) {
	listings := Generate(Config{Seed: 3, N: 30_000, Now: testNow})
	type key struct{ city, district string }
	var recent, old []float64
	base := map[key]float64{}
	for _, c := range cities {
		for _, d := range c.Districts {
			base[key{c.Name, d.Name}] = d.PerM2
		}
	}
	for _, l := range listings {
		if l.Type != TypeFlat {
			continue
		}
		rel := l.PricePerM2() / base[key{l.City, l.District}]
		switch age := testNow.Sub(l.ListedAt).Hours() / 24; {
		case age < 90:
			recent = append(recent, rel)
		case age > 640:
			old = append(old, rel)
		}
	}
	growth := medianOf(recent)/medianOf(old) - 1
	// 0.6 % a month over roughly 20 months ≈ 12 %; noise leaves a wide margin.
	if growth < 0.06 || growth > 0.2 {
		t.Errorf("price growth over the period = %.1f %%, want a gentle rise", growth*100)
	}
}

func TestCodes(t *testing.T) {
	listings := Generate(Config{Seed: 11, N: 5000, Now: testNow})
	byCode := map[string]domain.Listing{}
	for _, l := range listings {
		byCode[l.Code] = l
	}
	tests := []struct {
		n, want int
	}{{0, 0}, {1, 1}, {6, 6}, {12, 12}}
	for _, tt := range tests {
		got := Codes(listings, tt.n)
		if len(got) != tt.want {
			t.Fatalf("Codes(%d) = %v", tt.n, got)
		}
		cs := map[string]bool{}
		for _, c := range got {
			l := byCode[c]
			if l.Status != domain.ListingActive || l.Type != TypeFlat {
				t.Errorf("Codes(%d): %s is %s %s", tt.n, c, l.Status, l.Type)
			}
			cs[l.City] = true
		}
		if tt.n >= len(cities) && len(cs) != len(cities) {
			t.Errorf("Codes(%d) covers cities %v, want all %d", tt.n, cs, len(cities))
		}
	}
	if got := Codes(Generate(Config{Seed: 1, N: 3, Now: testNow}), 100); len(got) > 3 {
		t.Errorf("more codes than active listings: %v", got)
	}
}

func medianOf(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
