// Package analytics is the builtin "Аналитика 360" engine: given the Listings
// sheet and an object code it computes a market report for that object (its
// competitors, price per m² and rank, a monthly trend of the segment, days on
// market, the discount at sale and a recommended price corridor) and renders
// it as a Russian plain-text summary (Report.Summary) and an A4 PDF
// (RenderPDF). It is pure computation: no I/O, no clock, no randomness, so the
// same listings, object code and `now` always give the same report and the
// same PDF bytes.
//
// An Engine indexes the listings once (by code, by type+city+district and by
// type+city, each bucket sorted by rooms and area) and is then safe for
// concurrent use; the worker keeps one per fresh copy of the Listings sheet.
// Analyze touches only the buckets of the object's segment, so one analysis
// over 100,000 listings costs a fraction of a millisecond
// (BenchmarkAnalyze100k); demo data comes from the listinggen subpackage.
//
// # Definitions
//
// Text fields (type, city, district) are compared after trimming, collapsing
// inner whitespace, lower-casing and folding "ё" to "е". Object codes are
// compared trimmed and case-insensitively. When several rows carry the object's
// code (a relisting), the one with the latest listed_at is the object (the
// later sheet row on a tie), and no row with that code is ever a competitor or
// a data point of the trend or the deals. Rows with a non-positive area or
// asking price are not comparable and are ignored; such an object yields
// ErrInvalidObject.
//
// Segment: listings of the object's type, city and district whose rooms are
// within ±RoomsTolerance of the object's and whose area lies in
// [area×(1−AreaTolerance), area×(1+AreaTolerance)] (both bounds inclusive).
// If the segment holds fewer than MinCompetitors active competitors, the
// district is dropped (the whole city, same type, rooms and area bounds) and
// Report.Widened is set.
//
// Competitors: the active listings of the segment other than the object,
// ranked by similarity (descending), ties by code. Similarity in [0,1] is
//
//	0.5 × area score + 0.3 × rooms score + 0.2 × floor score
//
// where area score = 1 − |area − object area| / (AreaTolerance × object area)
// (clamped to [0,1]); rooms score = 1 − |rooms − object rooms| /
// (RoomsTolerance + 1); floor score = 1 for the same floor band, 0.5 for an
// adjacent band or an unknown floor (≤ 0), 0 otherwise, with bands 1 | 2–5 |
// 6–12 | 13+. The result is rounded to 4 decimals so that mirror-image
// competitors tie exactly and fall back to the code order.
//
// Price per m² is the asking price divided by the area. The object's
// percentile rank among the n competitors is (count strictly lower + 0.5 ×
// count equal) / n × 100, where prices per m² are compared in whole kopecks.
// The segment median is the median price per m² of the competitors.
//
// Monthly trend: for each of the TrendMonths calendar months ending with the
// month of `now` (months taken in Options.Location), the median price per m²
// of the segment listings of any status (except the object) whose listed_at
// falls in that month. A month without listings is a gap (Count 0), never a
// zero price. Trend % = (last non-empty month's median / first non-empty
// month's median − 1) × 100; it needs two distinct non-empty months.
//
// Closed deals: segment listings with status sold, closed_at in
// [now − 12 months, now], listed_at not after closed_at and a positive sold
// price (a sale missing either is a data-entry gap and is not counted). Days on
// market are whole calendar days between the listed_at and closed_at dates in
// Options.Location; discount % = (1 − sold price / asking price) × 100
// (negative when sold above the asking price). The report gives the medians.
//
// Price corridor: each competitor's expected sale price per m² is its asking
// price per m² × (1 − median discount / 100) (no discount when there are no
// deals). The corridor is the 25th..75th percentile of those values —
// percentiles by linear interpolation between order statistics, p-th value =
// x[⌊h⌋] + (h − ⌊h⌋) × (x[⌊h⌋+1] − x[⌊h⌋]) with h = (n − 1) × p / 100, the
// convention of spreadsheet PERCENTILE.INC — times the object's area, rounded
// to the nearest 10,000 ₽. The verdict compares the object's asking price with
// the corridor: inside (bounds included) is "в коридоре"; above is "выше рынка
// на X %" with X = (price / upper bound − 1) × 100; below is "ниже рынка на
// X %" with X = (1 − price / lower bound) × 100; X is shown with one
// decimal, and a deviation that would show as 0,0 % counts as inside. The
// corridor needs at least one competitor (with a positive lower bound).
//
// Medians are the middle value of the sorted sample, or the mean of the two
// middle values for an even sample.
package analytics
