package analytics

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"marketingbot/pkg/domain"
)

// ErrObjectNotFound is returned by Analyze when no listing carries the code.
var ErrObjectNotFound = errors.New("analytics: object not found")

// ErrInvalidObject is returned by Analyze when the object's row cannot be
// compared with the market (non-positive area or asking price).
var ErrInvalidObject = errors.New("analytics: object has no area or price")

// Options tunes the segment and the report. A zero field takes its default
// (see DefaultOptions). Because zero means "default", the exact-match settings
// are spelled with negative numbers: RoomsTolerance < 0 demands the same number
// of rooms, AreaTolerance < 0 the same area, MinCompetitors < 0 never widens.
type Options struct {
	AreaTolerance  float64        // relative, 0.25 = ±25 % of the object's area
	RoomsTolerance int            // ± rooms
	TrendMonths    int            // calendar months in the trend, ending with now's month
	MaxCompetitors int            // rows in the competitor tables
	MinCompetitors int            // fewer active competitors in the district widen the segment to the city
	Location       *time.Location // calendar months and days are counted here
}

// DefaultOptions returns the settings the bot uses.
func DefaultOptions() Options {
	return Options{
		AreaTolerance:  0.25,
		RoomsTolerance: 1,
		TrendMonths:    12,
		MaxCompetitors: 10,
		MinCompetitors: 3,
		Location:       moscow(),
	}
}

// moscow is Europe/Moscow, or its fixed UTC+3 offset (in force since 2014)
// when the host has no time zone database.
func moscow() *time.Location {
	if loc, err := time.LoadLocation("Europe/Moscow"); err == nil {
		return loc
	}
	return time.FixedZone("MSK", 3*60*60)
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	switch {
	case o.AreaTolerance == 0 || math.IsNaN(o.AreaTolerance):
		o.AreaTolerance = d.AreaTolerance
	case o.AreaTolerance < 0:
		o.AreaTolerance = 0
	}
	switch {
	case o.RoomsTolerance == 0:
		o.RoomsTolerance = d.RoomsTolerance
	case o.RoomsTolerance < 0:
		o.RoomsTolerance = 0
	}
	if o.TrendMonths <= 0 {
		o.TrendMonths = d.TrendMonths
	}
	if o.MaxCompetitors <= 0 {
		o.MaxCompetitors = d.MaxCompetitors
	}
	switch {
	case o.MinCompetitors == 0:
		o.MinCompetitors = d.MinCompetitors
	case o.MinCompetitors < 0:
		o.MinCompetitors = 0
	}
	if o.Location == nil {
		o.Location = d.Location
	}
	return o
}

// Engine answers Analyze over one snapshot of the Listings sheet. It keeps the
// slice it was given; the caller must not modify it afterwards.
type Engine struct {
	opts     Options
	listings []domain.Listing
	codes    []string       // normalized code per listing
	byCode   map[string]int // normalized code → index of the object row
	district map[segmentKey]*bucket
	city     map[segmentKey]*bucket
}

type segmentKey struct{ typ, city, district string }

// bucket lists comparable listings of one type+city(+district) sorted by
// (rooms, area) so that a segment is a few binary searches away.
type bucket struct {
	rooms []int
	area  []float64
	index []int32
}

// NewEngine indexes listings. Options are completed with defaults.
func NewEngine(listings []domain.Listing, opts Options) *Engine {
	e := &Engine{
		opts:     opts.withDefaults(),
		listings: listings,
		codes:    make([]string, len(listings)),
		byCode:   make(map[string]int, len(listings)),
		district: make(map[segmentKey]*bucket),
		city:     make(map[segmentKey]*bucket),
	}
	// Interning the normalized keys keeps the per-row cost to map look-ups:
	// a sheet has a few dozen distinct cities, types and districts.
	norm := make(map[string]string)
	key := func(s string) string {
		if k, ok := norm[s]; ok {
			return k
		}
		k := normalizeText(s)
		norm[s] = k
		return k
	}
	for i := range listings {
		l := &listings[i]
		code := normalizeCode(l.Code)
		e.codes[i] = code
		if code != "" {
			if j, ok := e.byCode[code]; !ok || !listings[j].ListedAt.After(l.ListedAt) {
				e.byCode[code] = i
			}
		}
		if !usable(l) {
			continue
		}
		k := segmentKey{typ: key(l.Type), city: key(l.City), district: key(l.District)}
		e.district[k] = e.district[k].add(l, i)
		k.district = ""
		e.city[k] = e.city[k].add(l, i)
	}
	for _, b := range e.district {
		b.sort()
	}
	for _, b := range e.city {
		b.sort()
	}
	return e
}

// Options returns the effective options (defaults filled in).
func (e *Engine) Options() Options { return e.opts }

// Len returns the number of listings the engine was built with.
func (e *Engine) Len() int { return len(e.listings) }

func usable(l *domain.Listing) bool {
	return l.AreaM2 > 0 && l.PriceRub > 0 && !math.IsInf(l.AreaM2, 0) && !math.IsNaN(l.AreaM2)
}

func (b *bucket) add(l *domain.Listing, i int) *bucket {
	if b == nil {
		b = &bucket{}
	}
	b.rooms = append(b.rooms, l.Rooms)
	b.area = append(b.area, l.AreaM2)
	b.index = append(b.index, int32(i))
	return b
}

func (b *bucket) sort() { sort.Sort(b) }

func (b *bucket) Len() int { return len(b.index) }
func (b *bucket) Less(i, j int) bool {
	if b.rooms[i] != b.rooms[j] {
		return b.rooms[i] < b.rooms[j]
	}
	if b.area[i] != b.area[j] {
		return b.area[i] < b.area[j]
	}
	return b.index[i] < b.index[j]
}
func (b *bucket) Swap(i, j int) {
	b.rooms[i], b.rooms[j] = b.rooms[j], b.rooms[i]
	b.area[i], b.area[j] = b.area[j], b.area[i]
	b.index[i], b.index[j] = b.index[j], b.index[i]
}

// each calls fn for every listing with rooms in [rMin, rMax] and area in
// [aMin, aMax], in (rooms, area) order.
func (b *bucket) each(rMin, rMax int, aMin, aMax float64, fn func(i int)) {
	if b == nil {
		return
	}
	n := len(b.index)
	for r := rMin; r <= rMax; r++ {
		k := sort.Search(n, func(j int) bool {
			return b.rooms[j] > r || (b.rooms[j] == r && b.area[j] >= aMin)
		})
		for ; k < n && b.rooms[k] == r && b.area[k] <= aMax; k++ {
			fn(int(b.index[k]))
		}
	}
}

// Analyze builds the report of the object with the given code as of now.
func (e *Engine) Analyze(objectCode string, now time.Time) (*Report, error) {
	code := normalizeCode(objectCode)
	oi, ok := e.byCode[code]
	if code == "" || !ok {
		return nil, fmt.Errorf("analytics: analyze %q: %w", strings.TrimSpace(objectCode), ErrObjectNotFound)
	}
	obj := e.listings[oi]
	if !usable(&obj) {
		return nil, fmt.Errorf("analytics: analyze %s: %w", code, ErrInvalidObject)
	}
	loc := e.opts.Location
	now = now.In(loc)

	seg := Segment{
		Type:     cleanText(obj.Type),
		City:     cleanText(obj.City),
		District: cleanText(obj.District),
		RoomsMin: max(obj.Rooms-e.opts.RoomsTolerance, 0),
		RoomsMax: obj.Rooms + e.opts.RoomsTolerance,
		AreaMin:  obj.AreaM2 * (1 - e.opts.AreaTolerance),
		AreaMax:  obj.AreaM2 * (1 + e.opts.AreaTolerance),
	}
	key := segmentKey{typ: normalizeText(obj.Type), city: normalizeText(obj.City), district: normalizeText(obj.District)}
	members := e.segment(e.district[key], code, seg)
	widened := false
	if countActive(e.listings, members) < e.opts.MinCompetitors {
		key.district = ""
		members = e.segment(e.city[key], code, seg)
		seg.District = ""
		widened = true
	}

	r := &Report{
		Object:         obj,
		GeneratedAt:    now,
		Segment:        seg,
		Widened:        widened,
		MaxCompetitors: e.opts.MaxCompetitors,
		MinCompetitors: e.opts.MinCompetitors,
		TrendMonths:    e.opts.TrendMonths,
		PricePerM2:     obj.PricePerM2(),
	}
	type candidate struct {
		index      int
		similarity float64
	}
	var ranked []candidate
	for _, i := range members {
		if e.listings[i].Status == domain.ListingActive {
			ranked = append(ranked, candidate{i, e.similarity(&obj, &e.listings[i])})
		}
	}
	slices.SortFunc(ranked, func(a, b candidate) int {
		if c := cmp.Compare(b.similarity, a.similarity); c != 0 {
			return c
		}
		return cmp.Compare(e.codes[a.index], e.codes[b.index])
	})
	r.Competitors = make([]Competitor, len(ranked))
	for k, c := range ranked {
		r.Competitors[k] = Competitor{
			Listing:    e.listings[c.index],
			PricePerM2: e.listings[c.index].PricePerM2(),
			Similarity: c.similarity,
		}
	}
	r.Segment.Listings = len(members)

	prices := make([]float64, len(r.Competitors))
	for i, c := range r.Competitors {
		prices[i] = c.PricePerM2
	}
	slices.Sort(prices)
	if len(prices) > 0 {
		r.PercentileRank = percentileRank(prices, r.PricePerM2)
		r.SegmentMedianPerM2 = median(prices)
		r.Spread = Spread{
			Min:    prices[0],
			P25:    percentile(prices, 25),
			Median: r.SegmentMedianPerM2,
			P75:    percentile(prices, 75),
			Max:    prices[len(prices)-1],
		}
	}

	r.Monthly, r.TrendPercent, r.HasTrend = e.monthly(members, now)
	r.Deals = e.deals(members, now)
	r.Corridor = corridor(prices, r.Deals, obj.AreaM2)
	r.Position, r.DeviationPercent = position(obj.PriceRub, r.Corridor)
	r.Verdict = verdict(r.Position, r.DeviationPercent)
	return r, nil
}

// segment returns the indexes of the comparable listings of b that fall in
// seg's rooms and area bounds, except rows carrying the object's code.
func (e *Engine) segment(b *bucket, objCode string, seg Segment) []int {
	// A relative epsilon keeps bounds such as 54.3 × 1.25 inclusive despite
	// binary rounding of the product.
	aMin := seg.AreaMin * (1 - 1e-9)
	aMax := seg.AreaMax * (1 + 1e-9)
	var out []int
	b.each(seg.RoomsMin, seg.RoomsMax, aMin, aMax, func(i int) {
		if e.codes[i] != objCode {
			out = append(out, i)
		}
	})
	return out
}

func countActive(listings []domain.Listing, idx []int) int {
	n := 0
	for _, i := range idx {
		if listings[i].Status == domain.ListingActive {
			n++
		}
	}
	return n
}

func (e *Engine) similarity(obj, l *domain.Listing) float64 {
	area := 1.0
	if e.opts.AreaTolerance > 0 {
		area = clamp01(1 - math.Abs(l.AreaM2-obj.AreaM2)/(e.opts.AreaTolerance*obj.AreaM2))
	} else if l.AreaM2 != obj.AreaM2 {
		area = 0
	}
	rooms := clamp01(1 - float64(abs(l.Rooms-obj.Rooms))/float64(e.opts.RoomsTolerance+1))
	s := 0.5*area + 0.3*rooms + 0.2*floorScore(obj.Floor, l.Floor)
	return math.Round(s*1e4) / 1e4
}

// floorBand groups floors the way buyers do: the first floor, low-rise,
// mid-rise and high-rise; 0 means unknown.
func floorBand(floor int) int {
	switch {
	case floor <= 0:
		return 0
	case floor == 1:
		return 1
	case floor <= 5:
		return 2
	case floor <= 12:
		return 3
	default:
		return 4
	}
}

func floorScore(a, b int) float64 {
	ba, bb := floorBand(a), floorBand(b)
	switch {
	case ba == 0 || bb == 0:
		return 0.5
	case ba == bb:
		return 1
	case abs(ba-bb) == 1:
		return 0.5
	default:
		return 0
	}
}

func (e *Engine) monthly(members []int, now time.Time) (points []MonthPoint, trend float64, ok bool) {
	loc := e.opts.Location
	n := e.opts.TrendMonths
	first := time.Date(now.Year(), now.Month()-time.Month(n-1), 1, 0, 0, 0, 0, loc)
	firstIdx := monthIndex(first)
	samples := make([][]float64, n)
	for _, i := range members {
		l := &e.listings[i]
		if l.ListedAt.IsZero() {
			continue
		}
		m := monthIndex(l.ListedAt.In(loc)) - firstIdx
		if m < 0 || m >= n {
			continue
		}
		samples[m] = append(samples[m], l.PricePerM2())
	}
	points = make([]MonthPoint, n)
	var firstMed, lastMed float64
	nonEmpty := 0
	for m := range n {
		points[m].Month = time.Date(first.Year(), first.Month()+time.Month(m), 1, 0, 0, 0, 0, loc)
		if len(samples[m]) == 0 {
			continue
		}
		slices.Sort(samples[m])
		points[m].Count = len(samples[m])
		points[m].MedianPerM2 = median(samples[m])
		if nonEmpty == 0 {
			firstMed = points[m].MedianPerM2
		}
		lastMed = points[m].MedianPerM2
		nonEmpty++
	}
	if nonEmpty < 2 {
		return points, 0, false
	}
	return points, (lastMed/firstMed - 1) * 100, true
}

func monthIndex(t time.Time) int { return t.Year()*12 + int(t.Month()) - 1 }

func (e *Engine) deals(members []int, now time.Time) Deals {
	loc := e.opts.Location
	since := now.AddDate(0, -12, 0)
	var days, discounts []float64
	for _, i := range members {
		l := &e.listings[i]
		if l.Status != domain.ListingSold || l.SoldPriceRub <= 0 || l.ListedAt.IsZero() {
			continue
		}
		if l.ClosedAt.Before(since) || l.ClosedAt.After(now) || l.ClosedAt.Before(l.ListedAt) {
			continue
		}
		days = append(days, float64(calendarDays(l.ListedAt.In(loc), l.ClosedAt.In(loc))))
		discounts = append(discounts, (1-float64(l.SoldPriceRub)/float64(l.PriceRub))*100)
	}
	if len(days) == 0 {
		return Deals{}
	}
	slices.Sort(days)
	slices.Sort(discounts)
	return Deals{
		Count:                 len(days),
		MedianDaysOnMarket:    median(days),
		MedianDiscountPercent: median(discounts),
	}
}

// calendarDays counts date changes between a and b (both already in the
// report's location), so a listing sold the next morning took one day.
func calendarDays(a, b time.Time) int {
	da := time.Date(a.Year(), a.Month(), a.Day(), 0, 0, 0, 0, time.UTC)
	db := time.Date(b.Year(), b.Month(), b.Day(), 0, 0, 0, 0, time.UTC)
	return int(db.Sub(da).Hours() / 24)
}

func corridor(sortedPerM2 []float64, d Deals, area float64) Corridor {
	if len(sortedPerM2) == 0 {
		return Corridor{}
	}
	discount := d.MedianDiscountPercent
	if d.Count == 0 {
		discount = 0
	}
	expected := make([]float64, len(sortedPerM2))
	for i, p := range sortedPerM2 {
		// A common factor keeps the order, so expected stays sorted.
		expected[i] = p * (1 - discount/100)
	}
	c := Corridor{
		Valid:           true,
		DiscountPercent: discount,
		LowPerM2:        percentile(expected, 25),
		HighPerM2:       percentile(expected, 75),
	}
	c.LowRub = roundTo(c.LowPerM2*area, 10_000)
	c.HighRub = roundTo(c.HighPerM2*area, 10_000)
	return c
}

// position compares the asking price with the corridor. A deviation that
// the verdict would print as "0,0 %" counts as inside.
func position(price int64, c Corridor) (PricePosition, float64) {
	const visible = 0.05 // percent; FormatPercent(…, 1) rounds less to 0,0
	switch {
	case !c.Valid || c.LowRub <= 0:
		return PositionUnknown, 0
	case price > c.HighRub:
		if d := (float64(price)/float64(c.HighRub) - 1) * 100; d >= visible {
			return PositionAbove, d
		}
	case price < c.LowRub:
		if d := (1 - float64(price)/float64(c.LowRub)) * 100; d >= visible {
			return PositionBelow, d
		}
	}
	return PositionWithin, 0
}

func roundTo(v float64, step float64) int64 { return int64(math.Round(v/step) * step) }

// median of a sorted, non-empty sample.
func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// percentile by linear interpolation between order statistics of a sorted,
// non-empty sample (PERCENTILE.INC); p in [0,100].
func percentile(sorted []float64, p float64) float64 {
	h := float64(len(sorted)-1) * p / 100
	lo := int(math.Floor(h))
	if lo >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	return sorted[lo] + (h-float64(lo))*(sorted[lo+1]-sorted[lo])
}

// percentileRank of v in a sorted, non-empty sample, comparing whole kopecks
// so that prices a person reads as equal count as ties.
func percentileRank(sorted []float64, v float64) float64 {
	kop := func(x float64) int64 { return int64(math.Round(x * 100)) }
	target := kop(v)
	lower := sort.Search(len(sorted), func(i int) bool { return kop(sorted[i]) >= target })
	upper := sort.Search(len(sorted), func(i int) bool { return kop(sorted[i]) > target })
	return (float64(lower) + 0.5*float64(upper-lower)) / float64(len(sorted)) * 100
}

func clamp01(x float64) float64 { return min(max(x, 0), 1) }

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func normalizeCode(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// normalizeText makes hand-typed cells comparable: "  Ново-Савиновский ",
// "ново-савиновский" and "НОВО-САВИНОВСКИЙ" are one district, and so are
// "Орёл" and "Орел".
func normalizeText(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	s = strings.ToLower(s)
	return strings.ReplaceAll(s, "ё", "е")
}
