// Package listinggen generates realistic demo rows of the Listings sheet
// (Объекты) for the sandbox, the benchmarks and manual testing of the
// analytics engine: six Russian cities with their real districts and
// streets, flats mostly (plus apartments, townhouses and houses), areas that
// fit the rooms, district price levels with noise and a gentle upward trend,
// and a realistic mix of active, sold and withdrawn listings over the past
// 24 months.
//
// Output is a pure function of Config: the same Seed, N and Now give the same
// rows, so demos and benchmarks are reproducible.
//
// Codes are the city prefix, a hyphen and a six-digit (up to eight-digit)
// sequence number shared by all cities: MSK-100001, SPB-100002, KZN-100003, …
// (prefixes MSK Москва, SPB Санкт-Петербург, KZN Казань, EKB Екатеринбург,
// KRD Краснодар, NSK Новосибирск). They are unique within one Generate call
// and match the Mini App's pattern ^[A-Z]{2,4}-\d{3,8}$.
package listinggen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"marketingbot/pkg/domain"
)

// Config controls a generation run.
type Config struct {
	Seed int64
	N    int       // number of listings; at most MaxN
	Now  time.Time // the moment the data describes; zero means time.Now() (not reproducible)
}

// MaxN keeps the sequence number within the eight digits codes allow.
const MaxN = 99_999_999 - firstSequence + 1

const (
	firstSequence = 100_001
	historyDays   = 730   // listings go back 24 months
	monthlyGrowth = 0.006 // ≈ 7.4 % a year, the gentle trend of asking prices
	soldShare     = 0.40
	withdrawnPart = 0.10
)

// Generate returns cfg.N listings in code order.
func Generate(cfg Config) []domain.Listing {
	n := min(max(cfg.N, 0), MaxN)
	if n == 0 {
		return nil
	}
	loc := moscow()
	now := cfg.Now
	if now.IsZero() {
		now = time.Now()
	}
	now = now.In(loc)

	// One PCG stream consumed in a fixed order makes every field a function
	// of the seed alone.
	g := &generator{
		r:   rand.New(rand.NewPCG(uint64(cfg.Seed), 0x9e3779b97f4a7c15)),
		now: now,
		loc: loc,
	}
	out := make([]domain.Listing, n)
	for i := range out {
		out[i] = g.listing(firstSequence + i)
	}
	return out
}

type generator struct {
	r   *rand.Rand
	now time.Time
	loc *time.Location
}

func (g *generator) listing(seq int) domain.Listing {
	c := &cities[g.pickWeighted(len(cities), func(i int) float64 { return cities[i].Weight })]
	typ := g.propertyType()
	d := g.district(c, typ == TypeHouse || typ == TypeTownhouse)

	rooms, area, factor, floor := g.layout(typ, d)

	var ago int // days since listed
	var dom int // days on market until closed
	status := domain.ListingActive
	switch u := g.r.Float64(); {
	case u < soldShare:
		status = domain.ListingSold
		dom = g.lognormalDays(75, 0.55)
		ago = dom + g.r.IntN(historyDays-dom+1)
	case u < soldShare+withdrawnPart:
		status = domain.ListingWithdrawn
		dom = g.lognormalDays(110, 0.6)
		ago = dom + g.r.IntN(historyDays-dom+1)
	default:
		// Live listings are mostly recent: stale ones get sold or withdrawn.
		ago = min(int(g.r.ExpFloat64()*150), historyDays)
	}
	listed := g.dayTime(ago)

	perM2 := d.PerM2 * factor * math.Exp(g.r.NormFloat64()*0.09) * math.Pow(1+monthlyGrowth, -float64(ago)/30.44)
	price := roundTo(perM2*area, 10_000)

	l := domain.Listing{
		Code:     fmt.Sprintf("%s-%06d", c.Prefix, seq),
		Type:     typ,
		City:     c.Name,
		District: d.Name,
		Address:  g.address(d),
		Rooms:    rooms,
		AreaM2:   area,
		Floor:    floor,
		PriceRub: price,
		ListedAt: listed,
		Status:   status,
	}
	if status != domain.ListingActive {
		l.ClosedAt = listed.AddDate(0, 0, dom).Add(time.Duration(g.r.IntN(8*60)) * time.Minute)
		if l.ClosedAt.After(g.now) {
			l.ClosedAt = g.now
		}
	}
	if status == domain.ListingSold {
		// Bargaining takes 1–8 %, most often around 4 %.
		discount := 1 + 7*(g.r.Float64()+g.r.Float64())/2
		l.SoldPriceRub = roundTo(float64(price)*(1-discount/100), 10_000)
	}
	return l
}

func (g *generator) propertyType() string {
	switch u := g.r.Float64(); {
	case u < 0.84:
		return TypeFlat
	case u < 0.92:
		return TypeApartment
	case u < 0.96:
		return TypeTownhouse
	default:
		return TypeHouse
	}
}

// district picks a district of c; houses and townhouses only where they are
// built.
func (g *generator) district(c *city, house bool) *district {
	weight := func(i int) float64 {
		if house && !c.Districts[i].Houses {
			return 0
		}
		return c.Districts[i].Weight
	}
	return &c.Districts[g.pickWeighted(len(c.Districts), weight)]
}

// layout returns rooms, area, the price factor against a district's flat
// price and the floor.
func (g *generator) layout(typ string, d *district) (rooms int, area, factor float64, floor int) {
	switch typ {
	case TypeTownhouse:
		rooms = 3 + g.r.IntN(2)
		lo, hi := AreaRange(typ, rooms)
		return rooms, g.area(lo, hi), 0.75, 1
	case TypeHouse:
		rooms = 3 + g.r.IntN(2)
		lo, hi := AreaRange(typ, rooms)
		return rooms, g.area(lo, hi), 0.6, 1
	}
	p := flatRooms[g.pickWeighted(len(flatRooms), func(i int) float64 { return flatRooms[i].Weight })]
	factor = p.PriceFactor
	if typ == TypeApartment {
		factor *= 0.85 // no residential registration, higher utility bills
	}
	storeys := 5 + g.r.IntN(max(d.MaxFloor-4, 1))
	return p.Rooms, g.area(p.AreaMin, p.AreaMax), factor, 1 + g.r.IntN(storeys)
}

// area is triangular over [lo, hi] (typical plans cluster mid-range), in 0.1 m².
func (g *generator) area(lo, hi float64) float64 {
	a := lo + (hi-lo)*(g.r.Float64()+g.r.Float64())/2
	return math.Round(a*10) / 10
}

func (g *generator) address(d *district) string {
	street := d.Streets[g.r.IntN(len(d.Streets))]
	// Low house numbers are more common: streets are numbered from the centre.
	house := 1 + int(g.r.ExpFloat64()*35)
	s := street + ", д. " + strconv.Itoa(house)
	if g.r.IntN(6) == 0 {
		s += ", корп. " + strconv.Itoa(1+g.r.IntN(4))
	}
	return s
}

// lognormalDays draws a duration around median days, capped to the history.
func (g *generator) lognormalDays(median, sigma float64) int {
	d := int(math.Round(median * math.Exp(g.r.NormFloat64()*sigma)))
	return min(max(d, 3), historyDays)
}

// dayTime is a working-hours moment `ago` days before now, never after now.
func (g *generator) dayTime(ago int) time.Time {
	day := g.now.AddDate(0, 0, -ago)
	t := time.Date(day.Year(), day.Month(), day.Day(), 9+g.r.IntN(12), g.r.IntN(60), 0, 0, g.loc)
	if t.After(g.now) {
		t = g.now.Add(-time.Duration(1+g.r.IntN(60)) * time.Minute).Truncate(time.Minute)
	}
	return t
}

func (g *generator) pickWeighted(n int, weight func(int) float64) int {
	total := 0.0
	for i := range n {
		total += weight(i)
	}
	u := g.r.Float64() * total
	for i := range n {
		if w := weight(i); w > 0 {
			if u < w {
				return i
			}
			u -= w
		}
	}
	for i := n - 1; i > 0; i-- { // rounding left u just above the last weight
		if weight(i) > 0 {
			return i
		}
	}
	return 0
}

func roundTo(v, step float64) int64 { return int64(math.Round(v/step) * step) }

// moscow is Europe/Moscow, or its fixed UTC+3 offset when the host has no
// time zone database.
func moscow() *time.Location {
	if loc, err := time.LoadLocation("Europe/Moscow"); err == nil {
		return loc
	}
	return time.FixedZone("MSK", 3*60*60)
}

// Codes returns up to n codes of active flats, taking cities in turn so that a
// demo shows several markets. Flats with 1–3 rooms come first: their
// segments are the fullest.
func Codes(listings []domain.Listing, n int) []string {
	if n <= 0 {
		return nil
	}
	byCity := make(map[string][]string)
	var order []string
	var rest []string
	for _, l := range listings {
		if l.Status != domain.ListingActive {
			continue
		}
		if l.Type != TypeFlat || l.Rooms < 1 || l.Rooms > 3 {
			rest = append(rest, l.Code)
			continue
		}
		if _, ok := byCity[l.City]; !ok {
			order = append(order, l.City)
		}
		byCity[l.City] = append(byCity[l.City], l.Code)
	}
	var out []string
	for round := 0; len(out) < n; round++ {
		took := false
		for _, c := range order {
			if round < len(byCity[c]) && len(out) < n {
				out = append(out, byCity[c][round])
				took = true
			}
		}
		if !took {
			break
		}
	}
	for _, code := range rest {
		if len(out) >= n {
			break
		}
		out = append(out, code)
	}
	return out
}
