package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/failsafe-go/failsafe-go"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/sheets"
	"marketingbot/pkg/sheets/a1"
)

// The appeals index maps a Telegram ID to the row of that user's current
// (newest) appeal, tagged with its created_at: together with column D they
// identify the row wherever it moved.
const idxAppeals = "appeals_current"

// CurrentAppeal returns the user's newest appeal row, read now (stateless
// history: nothing is kept in memory). found is false when the user has none.
func (s *Spreadsheet) CurrentAppeal(ctx context.Context, telegramID int64) (domain.Appeal, bool, error) {
	key := strconv.FormatInt(telegramID, 10)
	e, ok, err := s.idx.get(ctx, idxAppeals, key)
	if err != nil {
		return domain.Appeal{}, false, err
	}
	var a domain.Appeal
	found := false
	err = failsafe.With(rowMovedAttempts).WithContext(ctx).Run(func() error {
		if !ok {
			entries, err := s.rebuildAppealsIndex(ctx)
			if err != nil {
				return err
			}
			if e, ok = entries[key]; !ok {
				return nil // no appeal
			}
		}
		rows, err := s.t.Read(ctx, rowRange(s.o.Titles.Appeals, appealsWidth, e.Row))
		if err != nil {
			return fmt.Errorf("store: read appeal of %d: %w", telegramID, err)
		}
		row := firstRow(rows[0])
		if cellInt(row, 3) == telegramID && cell(row, 0) == e.Tag {
			a, found = s.appealFromRow(row, e.Row), true
			return nil
		}
		ok = false // moved: rebuild and look again
		return sheets.ErrRowMoved
	})
	if errors.Is(err, sheets.ErrRowMoved) {
		return domain.Appeal{}, false, fmt.Errorf("store: appeal of %d keeps moving: %w", telegramID, err)
	}
	return a, found, err
}

// rebuildAppealsIndex reads A:D of the Appeals sheet and indexes each user's
// newest row. Concurrent rebuilds share one read (same range, same batch).
func (s *Spreadsheet) rebuildAppealsIndex(ctx context.Context) (map[string]indexEntry, error) {
	v, err, _ := s.cache.sf.Do("rebuild:"+idxAppeals, func() (any, error) { return s.readAppealsIndex(ctx) })
	if err != nil {
		return nil, err
	}
	return v.(map[string]indexEntry), nil
}

func (s *Spreadsheet) readAppealsIndex(ctx context.Context) (map[string]indexEntry, error) {
	t := s.o.Titles.Appeals
	s.m.indexRebuilds.WithLabelValues(t).Inc()
	rows, err := s.t.Read(ctx, dataRange(t, 4))
	if err != nil {
		return nil, fmt.Errorf("store: index %s: %w", t, err)
	}
	entries := map[string]indexEntry{}
	newest := map[string]time.Time{}
	for i, row := range rows[0] {
		id := cellInt(row, 3)
		if id == 0 {
			continue
		}
		key := strconv.FormatInt(id, 10)
		created := s.parseTime(cell(row, 0))
		if prev, seen := newest[key]; seen && created.Before(prev) {
			continue
		}
		newest[key] = created
		entries[key] = indexEntry{Row: firstDataRow + i, Tag: cell(row, 0)}
	}
	if err := s.idx.replace(ctx, idxAppeals, entries); err != nil {
		return nil, err
	}
	return entries, nil
}

// CreateAppeal appends a new appeal row and makes it the user's current one.
// It is idempotent for a given (Telegram ID, created_at): when the row already
// exists — a retried task after a crash, or an append whose answer was lost —
// the existing row is returned. Pass recheck=true when a previous attempt may
// have appended without recording it (the index is then rebuilt first).
func (s *Spreadsheet) CreateAppeal(ctx context.Context, a domain.Appeal, recheck bool) (domain.Appeal, error) {
	a.CreatedAt = a.CreatedAt.Truncate(time.Second)
	key := strconv.FormatInt(a.TelegramID, 10)
	tag := s.fmtTime(a.CreatedAt)
	lookup := func(ctx context.Context, rebuild bool) (indexEntry, bool, error) {
		if rebuild {
			entries, err := s.rebuildAppealsIndex(ctx)
			if err != nil {
				return indexEntry{}, false, err
			}
			e, ok := entries[key]
			return e, ok && s.sameTime(e.Tag, a.CreatedAt), nil
		}
		e, ok, err := s.idx.get(ctx, idxAppeals, key)
		return e, ok && s.sameTime(e.Tag, a.CreatedAt), err
	}
	if e, ok, err := lookup(ctx, recheck); err != nil {
		return a, err
	} else if ok {
		a.Row = e.Row
		return a, nil
	}
	verify := func(ctx context.Context, keys []string) (map[string]int, error) {
		e, ok, err := lookup(ctx, true)
		if err != nil || !ok {
			return nil, err
		}
		return map[string]int{key + "|" + tag: e.Row}, nil
	}
	row, err := s.t.Append(ctx, s.o.Titles.Appeals, [][]any{s.appealRow(a)}, key+"|"+tag, verify)
	if err != nil {
		return a, fmt.Errorf("store: create appeal of %d: %w", a.TelegramID, err)
	}
	a.Row = row
	if err := s.idx.set(ctx, idxAppeals, key, indexEntry{Row: row, Tag: tag}); err != nil {
		s.log.Warn("appeal row appended but index not updated; it will be rebuilt", "telegram_id", a.TelegramID, "err", err)
	}
	return a, nil
}

// UpdateAppeal writes the given fields of a.Row plus G updated_at, after
// verifying (D Telegram ID, A created_at) right before the write. If the row
// moved it is found again by those keys.
func (s *Spreadsheet) UpdateAppeal(ctx context.Context, a domain.Appeal, fields ...domain.AppealField) (domain.Appeal, error) {
	werr, rerr := retryMoved(ctx, func() error {
		return s.t.Update(ctx, s.appealGuard(a), s.appealCells(a, fields)...)
	}, func() error {
		row, err := s.findAppealRow(ctx, a.TelegramID, a.CreatedAt)
		if err == nil {
			a.Row = row
		}
		return err
	})
	if rerr != nil {
		return a, rerr
	}
	if werr != nil {
		return a, fmt.Errorf("store: update appeal of %d: %w", a.TelegramID, werr)
	}
	return a, nil
}

// appealCells are the cells of a.Row that UpdateAppeal writes.
func (s *Spreadsheet) appealCells(a domain.Appeal, fields []domain.AppealField) []sheets.Values {
	t, n := s.o.Titles.Appeals, a.Row
	data := []sheets.Values{valueRange(a1.Cell(t, 6, n), s.fmtTime(a.UpdatedAt))}
	for _, f := range fields {
		switch f {
		case domain.AppealFieldHistory:
			data = append(data, valueRange(a1.Cell(t, 4, n), a.History))
		case domain.AppealFieldStatus:
			data = append(data, valueRange(a1.Cell(t, 5, n), string(a.Status)))
		case domain.AppealFieldOperator:
			data = append(data, valueRange(a1.Cell(t, 7, n), a.Operator))
		case domain.AppealFieldNames:
			data = append(data, valueRange(a1.Row(t, 1, 2, n), a.UserName, a.PartnerCode))
		}
	}
	return data
}

// appealGuard: a.Row still holds (D Telegram ID, A created_at) of a.
func (s *Spreadsheet) appealGuard(a domain.Appeal) *sheets.Guard {
	t := s.o.Titles.Appeals
	return &sheets.Guard{Sheet: t, Range: a1.Row(t, 0, 3, a.Row), Holds: func(row []any) bool {
		return cellInt(row, 3) == a.TelegramID && s.sameTime(cell(row, 0), a.CreatedAt)
	}}
}

// findAppealRow locates the row with (Telegram ID, created_at) after rows moved.
func (s *Spreadsheet) findAppealRow(ctx context.Context, telegramID int64, created time.Time) (int, error) {
	t := s.o.Titles.Appeals
	s.m.indexRebuilds.WithLabelValues(t).Inc()
	rows, err := s.t.Read(ctx, dataRange(t, 4))
	if err != nil {
		return 0, fmt.Errorf("store: find appeal of %d: %w", telegramID, err)
	}
	for i, row := range rows[0] {
		if cellInt(row, 3) == telegramID && s.sameTime(cell(row, 0), created) {
			if _, err := s.rebuildAppealsIndex(ctx); err != nil {
				s.log.Warn("appeals index rebuild failed", "err", err)
			}
			return firstDataRow + i, nil
		}
	}
	return 0, fmt.Errorf("store: appeal of %d created %s is gone: %w", telegramID, s.fmtTime(created), domain.ErrNotFound)
}

// Appeals reads the whole Appeals sheet (operators' tools, tests).
func (s *Spreadsheet) Appeals(ctx context.Context) ([]domain.Appeal, error) {
	t := s.o.Titles.Appeals
	rows, err := s.t.Read(ctx, dataRange(t, appealsWidth))
	if err != nil {
		return nil, fmt.Errorf("store: read %s: %w", t, err)
	}
	var out []domain.Appeal
	for i, row := range rows[0] {
		if !emptyRow(row) {
			out = append(out, s.appealFromRow(row, firstDataRow+i))
		}
	}
	return out, nil
}

// sameTime compares a created_at cell with a parsed time, whatever format a
// person typed it in.
func (s *Spreadsheet) sameTime(cellValue string, t time.Time) bool {
	return s.parseTime(cellValue).Equal(t)
}
