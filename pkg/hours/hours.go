// Package hours is the operators' working time: a weekly schedule in the
// team's time zone ("mon-fri 09:00-19:00", "sat 10:00-14:00") and holidays
// (whole days off, from the configuration and the team's sheet). It answers
// three questions and nothing else: is the desk open at an instant, when
// does it open next, and when did the open period an instant falls in
// begin. Every answer is computed from the instant given (no clock of its
// own), in the schedule's time zone, so daylight-saving changes and a
// server in another zone change nothing.
package hours

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Date is a civil date (a day of the team's calendar).
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// DateOf is the date of t in loc.
func DateOf(t time.Time, loc *time.Location) Date {
	y, m, d := t.In(loc).Date()
	return Date{y, m, d}
}

// ParseDate reads a holiday as people write it: 2026-01-07, 07.01.2026 or
// 7.1.2026.
func ParseDate(s string) (Date, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02", "02.01.2006", "2.1.2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return Date{t.Year(), t.Month(), t.Day()}, nil
		}
	}
	return Date{}, fmt.Errorf("hours: %q is not a date: expected 2026-01-07 or 07.01.2026", s)
}

// ParseDates reads holidays: single dates and ranges "2026-01-01..2026-01-08"
// (both ends included).
func ParseDates(list []string) ([]Date, error) {
	var out []Date
	for _, item := range list {
		from, to, isRange := strings.Cut(item, "..")
		a, err := ParseDate(from)
		if err != nil {
			return nil, err
		}
		if !isRange {
			out = append(out, a)
			continue
		}
		b, err := ParseDate(to)
		if err != nil {
			return nil, err
		}
		first, last := a.at(time.UTC, 0), b.at(time.UTC, 0)
		if last.Before(first) || last.Sub(first) > 366*24*time.Hour {
			return nil, fmt.Errorf("hours: %q: expected a range of at most a year, first date first", item)
		}
		for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
			out = append(out, DateOf(d, time.UTC))
		}
	}
	return out, nil
}

// at is the instant minute minutes after the date's midnight in loc.
func (d Date) at(loc *time.Location, minute int) time.Time {
	return time.Date(d.Year, d.Month, d.Day, minute/60, minute%60, 0, 0, loc)
}

func (d Date) add(days int) Date { return DateOf(d.at(time.UTC, 0).AddDate(0, 0, days), time.UTC) }

func (d Date) weekday() time.Weekday { return d.at(time.UTC, 0).Weekday() }

// span is an open interval of a day, minutes since midnight, [from, to).
type span struct{ from, to int }

// Schedule is the operators' week and holidays in their time zone. The
// zero Schedule, and one with no lines, is always open.
type Schedule struct {
	loc      *time.Location
	week     [7][]span // by time.Weekday
	holidays map[Date]bool
	always   bool
}

// Parse builds a schedule from lines such as "mon-fri 09:00-19:00",
// "sat 10:00-14:00" or "mon,wed 09:00-13:00, 14:00-18:00" (days: mon tue
// wed thu fri sat sun, or пн вт ср чт пт сб вс; a range wraps past
// Sunday: "fri-mon"). A line of times only continues the days before it
// (an environment variable's list is split at commas). "24:00" ends a
// day; an interval across midnight is written as two. No lines: always
// open (holidays then change nothing).
func Parse(loc *time.Location, lines []string, holidays []Date) (*Schedule, error) {
	if loc == nil {
		loc = time.UTC
	}
	s := &Schedule{loc: loc, holidays: map[Date]bool{}, always: len(lines) == 0}
	var days []time.Weekday
	for _, line := range lines {
		var err error
		if days, err = s.addLine(line, days); err != nil {
			return nil, err
		}
	}
	for wd := range s.week {
		s.week[wd] = merge(s.week[wd])
	}
	for _, d := range holidays {
		s.holidays[d] = true
	}
	return s, nil
}

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
	"вс": time.Sunday, "пн": time.Monday, "вт": time.Tuesday, "ср": time.Wednesday, "чт": time.Thursday, "пт": time.Friday, "сб": time.Saturday,
}

// addLine adds one line; a line of times only ("14:00-18:00", as a list
// split at its commas leaves it) continues the days of the line before.
func (s *Schedule) addLine(line string, prev []time.Weekday) ([]time.Weekday, error) {
	line = strings.TrimSpace(line)
	days, times, ok := strings.Cut(line, " ")
	var wds []time.Weekday
	switch {
	case line != "" && line[0] >= '0' && line[0] <= '9' && prev != nil:
		wds, times = prev, line
	case !ok:
		return nil, fmt.Errorf("hours: %q: expected days and times, such as \"mon-fri 09:00-19:00\"", line)
	default:
		var err error
		if wds, err = parseDays(days); err != nil {
			return nil, fmt.Errorf("hours: %q: %w", line, err)
		}
	}
	for _, part := range strings.Split(times, ",") {
		sp, err := parseSpan(strings.TrimSpace(part))
		if err != nil {
			return nil, fmt.Errorf("hours: %q: %w", line, err)
		}
		for _, wd := range wds {
			s.week[wd] = append(s.week[wd], sp)
		}
	}
	return wds, nil
}

func parseDays(s string) ([]time.Weekday, error) {
	var out []time.Weekday
	for _, item := range strings.Split(strings.ToLower(s), ",") {
		from, to, isRange := strings.Cut(strings.TrimSpace(item), "-")
		a, ok := dayNames[from]
		if !ok {
			return nil, fmt.Errorf("unknown day %q: expected mon tue wed thu fri sat sun", from)
		}
		if !isRange {
			out = append(out, a)
			continue
		}
		b, ok := dayNames[to]
		if !ok {
			return nil, fmt.Errorf("unknown day %q: expected mon tue wed thu fri sat sun", to)
		}
		for d := a; ; d = (d + 1) % 7 {
			out = append(out, d)
			if d == b {
				break
			}
		}
	}
	return out, nil
}

func parseSpan(s string) (span, error) {
	from, to, ok := strings.Cut(s, "-")
	if !ok {
		return span{}, fmt.Errorf("%q: expected a time interval such as 09:00-19:00", s)
	}
	a, err := parseClock(from)
	if err != nil {
		return span{}, err
	}
	b, err := parseClock(to)
	if err != nil {
		return span{}, err
	}
	if b <= a {
		return span{}, fmt.Errorf("%q: the end must be after the start (an interval across midnight is written as two)", s)
	}
	return span{a, b}, nil
}

func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh*60+mm > 24*60 {
		return 0, fmt.Errorf("%q is not a time of day: expected HH:MM, 00:00 to 24:00", s)
	}
	return hh*60 + mm, nil
}

// merge sorts a day's spans and joins overlapping or touching ones.
func merge(in []span) []span {
	sort.Slice(in, func(i, j int) bool { return in[i].from < in[j].from })
	var out []span
	for _, sp := range in {
		if n := len(out); n > 0 && sp.from <= out[n-1].to {
			out[n-1].to = max(out[n-1].to, sp.to)
			continue
		}
		out = append(out, sp)
	}
	return out
}

// Location is the schedule's time zone.
func (s *Schedule) Location() *time.Location {
	if s == nil || s.loc == nil {
		return time.UTC
	}
	return s.loc
}

// Always reports a schedule that is never closed (no weekly lines).
func (s *Schedule) Always() bool { return s == nil || s.always }

// WithHolidays is the schedule with more days off (the team's sheet).
func (s *Schedule) WithHolidays(days []Date) *Schedule {
	if s == nil || len(days) == 0 {
		return s
	}
	c := *s
	c.holidays = make(map[Date]bool, len(s.holidays)+len(days))
	for d := range s.holidays {
		c.holidays[d] = true
	}
	for _, d := range days {
		c.holidays[d] = true
	}
	return &c
}

// spans are the open intervals of a date (none on a holiday).
func (s *Schedule) spans(d Date) []span {
	if s.holidays[d] {
		return nil
	}
	return s.week[d.weekday()]
}

// IsOpen reports whether the operators work at t.
func (s *Schedule) IsOpen(t time.Time) bool {
	if s.Always() {
		return true
	}
	d := DateOf(t, s.loc)
	for _, sp := range s.spans(d) {
		if !t.Before(d.at(s.loc, sp.from)) && t.Before(d.at(s.loc, sp.to)) {
			return true
		}
	}
	return false
}

// horizon bounds the search for an opening: a schedule closed for longer
// (holidays for over a year) has none.
const horizon = 400

// NextOpening is the first instant after t at which the desk opens (the
// start of an open period that follows a closed one); false when it
// never does (always open, or nothing open within a year).
func (s *Schedule) NextOpening(t time.Time) (time.Time, bool) {
	if s.Always() {
		return time.Time{}, false
	}
	d := DateOf(t, s.loc)
	for i := 0; i < horizon; i++ {
		day := d.add(i)
		for _, sp := range s.spans(day) {
			at := day.at(s.loc, sp.from)
			if at.After(t) && s.opensAt(day, sp) {
				return at, true
			}
		}
	}
	return time.Time{}, false
}

// OpenedAt is the start of the open period t falls in (the opening the
// operators came in at); false when the desk is closed at t or always open.
func (s *Schedule) OpenedAt(t time.Time) (time.Time, bool) {
	if s.Always() || !s.IsOpen(t) {
		return time.Time{}, false
	}
	d := DateOf(t, s.loc)
	for i := 0; i < horizon; i++ {
		day := d.add(-i)
		sps := s.spans(day)
		for j := len(sps) - 1; j >= 0; j-- {
			at := day.at(s.loc, sps[j].from)
			if !at.After(t) && s.opensAt(day, sps[j]) {
				return at, true
			}
		}
	}
	return time.Time{}, false
}

// opensAt: the span starts an open period (the minute before it is closed;
// a span at 00:00 continues the day before's span that ends at 24:00).
func (s *Schedule) opensAt(day Date, sp span) bool {
	if sp.from > 0 {
		return true
	}
	prev := s.spans(day.add(-1))
	return len(prev) == 0 || prev[len(prev)-1].to < 24*60
}
