package hours

import (
	"testing"
	"time"
)

func moscow(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// The team works mon-fri 09:00-19:00 in Moscow (UTC+3); the server's clock
// is UTC. Friday 11 December 2026 evening → the weekend → Monday 14 is a
// holiday (from the sheet) → Tuesday 15 at 09:00 MSK, 06:00 UTC.
func TestNextOpeningAcrossWeekendAndHoliday(t *testing.T) {
	msk := moscow(t)
	base, err := Parse(msk, []string{"mon-fri 09:00-19:00"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	holiday, err := ParseDate("14.12.2026")
	if err != nil {
		t.Fatal(err)
	}
	s := base.WithHolidays([]Date{holiday})
	utc := func(d, h, m int) time.Time { return time.Date(2026, 12, d, h, m, 0, 0, time.UTC) }
	if wd := utc(11, 12, 0).Weekday(); wd != time.Friday {
		t.Fatalf("11 Dec 2026 is a %s", wd)
	}
	cases := []struct {
		name string
		at   time.Time
		open bool
		next time.Time // zero: open, not asked
	}{
		{"friday 18:59 MSK is open", utc(11, 15, 59), true, time.Time{}},
		{"friday 19:00 MSK is closed: Tuesday (Monday is a holiday)", utc(11, 16, 0), false, utc(15, 6, 0)},
		{"saturday 01:30 MSK (still friday in UTC)", utc(11, 22, 30), false, utc(15, 6, 0)},
		{"sunday noon", time.Date(2026, 12, 13, 12, 0, 0, 0, msk), false, utc(15, 6, 0)},
		{"the holiday monday at 10:00 MSK", time.Date(2026, 12, 14, 10, 0, 0, 0, msk), false, utc(15, 6, 0)},
		{"tuesday 08:59 MSK: opens the same morning", utc(15, 5, 59), false, utc(15, 6, 0)},
		{"tuesday 09:00 MSK is open", utc(15, 6, 0), true, time.Time{}},
		{"tuesday 19:30 MSK: wednesday", time.Date(2026, 12, 15, 19, 30, 0, 0, msk), false, utc(16, 6, 0)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := s.IsOpen(c.at); got != c.open {
				t.Fatalf("IsOpen(%s) = %v, want %v", c.at, got, c.open)
			}
			if c.open {
				return
			}
			next, ok := s.NextOpening(c.at)
			if !ok || !next.Equal(c.next) {
				t.Fatalf("NextOpening(%s) = %s %v, want %s", c.at, next.UTC(), ok, c.next)
			}
			if got := next.In(msk).Format("Mon 02 15:04"); got != c.next.In(msk).Format("Mon 02 15:04") {
				t.Fatal(got)
			}
		})
	}
	// Without the sheet's holiday the same Friday evening opens on Monday.
	if next, _ := base.NextOpening(utc(11, 16, 0)); !next.Equal(utc(14, 6, 0)) {
		t.Fatalf("without the holiday: %s, want Monday 09:00 MSK", next.In(msk))
	}
}

func TestOpenedAt(t *testing.T) {
	msk := moscow(t)
	s, err := Parse(msk, []string{"mon-fri 09:00-13:00, 14:00-19:00", "sat 10:00-14:00"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	at := func(d, h, m int) time.Time { return time.Date(2026, 12, d, h, m, 0, 0, msk) }
	for _, c := range []struct {
		now, want time.Time
		ok        bool
	}{
		{at(15, 9, 0), at(15, 9, 0), true},
		{at(15, 12, 59), at(15, 9, 0), true},
		{at(15, 13, 30), time.Time{}, false}, // lunch: closed
		{at(15, 14, 5), at(15, 14, 0), true}, // after lunch is an opening of its own
		{at(12, 11, 0), at(12, 10, 0), true}, // saturday
		{at(13, 11, 0), time.Time{}, false},  // sunday
	} {
		got, ok := s.OpenedAt(c.now)
		if ok != c.ok || !got.Equal(c.want) {
			t.Errorf("OpenedAt(%s) = %s %v, want %s %v", c.now, got, ok, c.want, c.ok)
		}
	}
}

// A day that ends at 24:00 and the next that starts at 00:00 are one open
// period: no opening at midnight.
func TestAroundTheClock(t *testing.T) {
	s, err := Parse(time.UTC, []string{"fri 18:00-24:00", "sat 00:00-12:00"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sat := time.Date(2026, 12, 12, 3, 0, 0, 0, time.UTC)
	if !s.IsOpen(sat) {
		t.Fatal("saturday 03:00 should be open")
	}
	if got, _ := s.OpenedAt(sat); !got.Equal(time.Date(2026, 12, 11, 18, 0, 0, 0, time.UTC)) {
		t.Fatalf("OpenedAt = %s, want friday 18:00", got)
	}
	if got, _ := s.NextOpening(sat); !got.Equal(time.Date(2026, 12, 18, 18, 0, 0, 0, time.UTC)) {
		t.Fatalf("NextOpening = %s, want next friday 18:00", got)
	}
	always, _ := Parse(time.UTC, nil, nil)
	if !always.IsOpen(sat) || !always.Always() {
		t.Fatal("no lines: always open")
	}
	if _, ok := always.NextOpening(sat); ok {
		t.Fatal("an always open desk has no opening")
	}
}

func TestParseErrors(t *testing.T) {
	for _, line := range []string{"mon-fri", "xyz 09:00-10:00", "mon 10:00-09:00", "mon 09:00-25:00", "mon 9-10", "mon 22:00-02:00"} {
		if _, err := Parse(time.UTC, []string{line}, nil); err == nil {
			t.Errorf("%q: no error", line)
		}
	}
	if _, err := ParseDates([]string{"2026-13-01"}); err == nil {
		t.Error("month 13 accepted")
	}
	days, err := ParseDates([]string{"2026-12-31..2027-01-02", "07.01.2027"})
	if err != nil || len(days) != 4 || days[1].String() != "2027-01-01" || days[3].String() != "2027-01-07" {
		t.Fatalf("ParseDates = %v, %v", days, err)
	}
	// An environment variable's list split at its commas: the times go on with the days before.
	split, err := Parse(time.UTC, []string{"mon-fri 09:00-13:00", " 14:00-18:00", "sat 10:00-12:00"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !split.IsOpen(time.Date(2026, 12, 11, 15, 0, 0, 0, time.UTC)) || split.IsOpen(time.Date(2026, 12, 12, 15, 0, 0, 0, time.UTC)) {
		t.Fatal("a line of times only should continue mon-fri")
	}
	if _, err := Parse(time.UTC, []string{"14:00-18:00"}, nil); err == nil {
		t.Fatal("times with no days before accepted")
	}
	s, err := Parse(time.UTC, []string{"пт-пн 10:00-11:00"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for d, want := range map[int]bool{11: true, 12: true, 13: true, 14: true, 15: false} {
		if got := s.IsOpen(time.Date(2026, 12, d, 10, 30, 0, 0, time.UTC)); got != want {
			t.Errorf("пт-пн on 12-%d: %v", d, got)
		}
	}
}
