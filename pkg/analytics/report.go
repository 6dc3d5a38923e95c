package analytics

import (
	"time"

	"marketingbot/pkg/domain"
)

// Report is the result of one analysis. Prices per m² are in roubles; see the
// package documentation for how each figure is defined.
type Report struct {
	Object      domain.Listing
	GeneratedAt time.Time // the `now` of Analyze, in Options.Location
	Segment     Segment
	Widened     bool // the district had too few competitors; Segment covers the whole city

	// Competitors are all active competitors, most similar first; the tables
	// show the first MaxCompetitors (see TopCompetitors).
	Competitors    []Competitor
	MaxCompetitors int
	MinCompetitors int // below this many in the district the segment is widened

	PricePerM2         float64 // the object's asking price per m²
	PercentileRank     float64 // 0..100; meaningful when there are competitors
	SegmentMedianPerM2 float64 // median price per m² of the competitors
	Spread             Spread  // distribution of the competitors' price per m²

	TrendMonths  int
	Monthly      []MonthPoint // TrendMonths entries, oldest first, gaps included
	TrendPercent float64
	HasTrend     bool // at least two months with data

	Deals    Deals
	Corridor Corridor

	Position         PricePosition // the object's asking price against the corridor
	DeviationPercent float64       // distance outside the corridor, ≥ 0
	Verdict          string        // "в коридоре", "выше рынка на 4,2 %", …
}

// Segment describes the market the object was compared with.
type Segment struct {
	Type     string
	City     string
	District string // empty when the segment was widened to the whole city
	RoomsMin int
	RoomsMax int
	AreaMin  float64
	AreaMax  float64
	Listings int // segment listings of any status, the object excluded
}

// Competitor is an active listing of the segment.
type Competitor struct {
	Listing    domain.Listing
	PricePerM2 float64
	Similarity float64 // 0..1, see the package documentation
}

// Spread summarizes the competitors' price per m² (zero without competitors).
type Spread struct {
	Min, P25, Median, P75, Max float64
}

// MonthPoint is one calendar month of the segment trend.
type MonthPoint struct {
	Month       time.Time // first day of the month, midnight in Options.Location
	MedianPerM2 float64   // 0 when Count is 0
	Count       int       // listings put up for sale that month
}

// Gap reports whether the month had no listings: it has no price, not a zero price.
func (p MonthPoint) Gap() bool { return p.Count == 0 }

// Deals summarizes the segment's sales closed in the last 12 months.
type Deals struct {
	Count                 int
	MedianDaysOnMarket    float64
	MedianDiscountPercent float64 // from asking to sold price; negative when sold above asking
}

// Corridor is the recommended asking-price range for the object.
type Corridor struct {
	Valid           bool    // false without competitors
	LowRub          int64   // rounded to 10,000 ₽
	HighRub         int64   // rounded to 10,000 ₽
	LowPerM2        float64 // 25th percentile of the expected sale price per m²
	HighPerM2       float64 // 75th percentile
	DiscountPercent float64 // the median discount applied to asking prices
}

// PricePosition places the asking price against the corridor.
type PricePosition int

const (
	PositionUnknown PricePosition = iota // no competitors, no corridor
	PositionBelow
	PositionWithin
	PositionAbove
)

// TopCompetitors returns the competitors shown in tables.
func (r *Report) TopCompetitors() []Competitor {
	if len(r.Competitors) <= r.MaxCompetitors {
		return r.Competitors
	}
	return r.Competitors[:r.MaxCompetitors]
}

func verdict(p PricePosition, deviation float64) string {
	switch p {
	case PositionWithin:
		return "в коридоре"
	case PositionAbove:
		return "выше рынка на " + FormatPercent(deviation, 1)
	case PositionBelow:
		return "ниже рынка на " + FormatPercent(deviation, 1)
	default:
		return "недостаточно данных"
	}
}
