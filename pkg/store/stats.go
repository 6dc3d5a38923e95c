package store

import (
	"context"
	"fmt"
	"math"
	"time"

	"marketingbot/pkg/domain"
)

// The Статистика sheet (issue 18): one row per day, found by its Дата
// (written as 2006-01-02; any date a person typed the same day matches).
// A day written again updates its row, never a second one.

// statsDateLayout is how a day's key is written.
const statsDateLayout = "2006-01-02"

// PutSupportDay writes the day's row of the Статистика sheet: the row
// whose Дата is d.Date is updated (guarded by that cell; found again when
// rows moved), else one is appended, idempotently by the date (an append
// whose answer was lost is found by reading the dates again).
func (s *Spreadsheet) PutSupportDay(ctx context.Context, d domain.SupportDay) error {
	day := d.Date.In(s.loc).Format(statsDateLayout)
	cells := s.supportCells(d, day)
	row, found, err := s.supportDayRow(ctx, day)
	if err != nil {
		return err
	}
	if !found {
		verify := func(ctx context.Context, _ []string) (map[string]int, error) {
			row, ok, err := s.supportDayRow(ctx, day)
			if err != nil || !ok {
				return nil, err
			}
			return map[string]int{day: row}, nil
		}
		if _, err := s.appendRow(ctx, SheetStats, cells, day, verify); err != nil {
			return fmt.Errorf("store: append the statistics of %s: %w", day, err)
		}
		return nil
	}
	werr, rerr := retryMoved(ctx, func() error {
		return s.writeRow(ctx, SheetStats, row, []key{{fDate, s.isDay(day)}}, cells)
	}, func() error {
		r, ok, err := s.supportDayRow(ctx, day)
		if err == nil && !ok {
			err = fmt.Errorf("store: the statistics row of %s is gone: %w", day, domain.ErrNotFound)
		}
		row = r
		return err
	})
	if rerr != nil {
		return rerr
	}
	if werr != nil {
		return fmt.Errorf("store: update the statistics of %s: %w", day, werr)
	}
	return nil
}

// supportDayRow finds the row of day (first match) by reading the Дата column.
func (s *Spreadsheet) supportDayRow(ctx context.Context, day string) (int, bool, error) {
	rows, err := s.readColumns(ctx, SheetStats, fDate)
	if err != nil {
		return 0, false, fmt.Errorf("store: find the statistics of %s: %w", day, err)
	}
	holds := s.isDay(day)
	for i, r := range rows {
		if len(r) > 0 && holds(r[0]) {
			return firstDataRow + i, true, nil
		}
	}
	return 0, false, nil
}

// isDay is a key check: the cell is the date day, however it was typed.
func (s *Spreadsheet) isDay(day string) func(any) bool {
	return func(v any) bool {
		t, ok := domain.ParseSheetTime(cell([]any{v}, 0), s.loc)
		return ok && t.Format(statsDateLayout) == day
	}
}

// supportCells are a day's cells: counts as numbers, durations in minutes
// and the share in percent to one decimal, the average rating to two;
// averages without data are empty.
func (s *Spreadsheet) supportCells(d domain.SupportDay, day string) []put {
	avg := func(n int, v float64, digits int) any {
		if n == 0 {
			return ""
		}
		p := math.Pow(10, float64(digits))
		return math.Round(v*p) / p
	}
	minutes := func(d time.Duration) float64 { return d.Minutes() }
	return []put{{fDate, day}, {fAppealsCount, d.Appeals}, {fWithoutHuman, avg(d.Appeals, 100*d.WithoutHumanShare(), 1)},
		{fEscalations, d.Escalations}, {fFirstResponse, avg(d.FirstResponses, minutes(d.FirstResponseAvg), 1)},
		{fResolved, d.Resolved}, {fResolution, avg(d.Resolved, minutes(d.ResolutionAvg), 1)},
		{fRatings, d.Ratings}, {fRatingAvg, avg(d.Ratings, d.RatingAvg, 2)}, {fLowRatings, d.LowRatings},
		{fUpdatedAt, s.fmtTime(d.UpdatedAt)}}
}
