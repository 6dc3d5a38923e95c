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
)

// The appeals index maps a Telegram ID to the row of that user's current
// (newest) appeal, tagged with its created_at: together with the Telegram
// ID they identify the row wherever it moved.
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
		r, err := s.readRow(ctx, SheetAppeals, e.Row)
		if err != nil {
			return fmt.Errorf("store: read appeal of %d: %w", telegramID, err)
		}
		if r.num(fTelegramID) == telegramID && r.str(fCreatedAt) == e.Tag {
			a, found = s.appealFrom(r, e.Row), true
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

// rebuildAppealsIndex reads the created_at and Telegram ID columns of the
// Appeals sheet and indexes each user's newest row. Concurrent rebuilds share one read (same range, same batch).
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
	rows, err := s.readColumns(ctx, SheetAppeals, fTelegramID, fCreatedAt)
	if err != nil {
		return nil, fmt.Errorf("store: index %s: %w", t, err)
	}
	entries := map[string]indexEntry{}
	newest := map[string]time.Time{}
	for i, row := range rows {
		id := cellInt(row, 0)
		if id == 0 {
			continue
		}
		key := strconv.FormatInt(id, 10)
		created := s.parseTime(cell(row, 1))
		if prev, seen := newest[key]; seen && created.Before(prev) {
			continue
		}
		newest[key] = created
		entries[key] = indexEntry{Row: firstDataRow + i, Tag: cell(row, 1)}
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
	row, err := s.appendRow(ctx, SheetAppeals, s.appealPuts(a), key+"|"+tag, verify)
	if err != nil {
		return a, fmt.Errorf("store: create appeal of %d: %w", a.TelegramID, err)
	}
	a.Row = row
	if err := s.idx.set(ctx, idxAppeals, key, indexEntry{Row: row, Tag: tag}); err != nil {
		s.log.Warn("appeal row appended but index not updated; it will be rebuilt", "telegram_id", a.TelegramID, "err", err)
	}
	return a, nil
}

// UpdateAppeal writes the given fields of a.Row plus updated_at, after
// verifying (Telegram ID, created_at) and the header cells right before the
// write. If the row moved it is found again by those keys; if a column
// moved, the header row is read again.
func (s *Spreadsheet) UpdateAppeal(ctx context.Context, a domain.Appeal, fields ...domain.AppealField) (domain.Appeal, error) {
	werr, rerr := retryMoved(ctx, func() error {
		return s.writeRow(ctx, SheetAppeals, a.Row, s.appealKeys(a), s.appealCells(a, fields))
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

// appealCells are the cells of a's row that UpdateAppeal writes.
func (s *Spreadsheet) appealCells(a domain.Appeal, fields []domain.AppealField) []put {
	cells := []put{{fUpdatedAt, s.fmtTime(a.UpdatedAt)}}
	for _, f := range fields {
		switch f {
		case domain.AppealFieldHistory:
			cells = append(cells, put{fHistory, a.History})
		case domain.AppealFieldStatus:
			cells = append(cells, put{fStatus, string(a.Status)})
		case domain.AppealFieldOperator:
			cells = append(cells, put{fOperator, a.Operator})
		case domain.AppealFieldNames:
			cells = append(cells, put{fUserName, a.UserName}, put{fPartnerCode, a.PartnerCode})
		case domain.AppealFieldEscalatedAt:
			cells = append(cells, put{fEscalatedAt, s.fmtTime(a.EscalatedAt)})
		case domain.AppealFieldFirstResponseAt:
			cells = append(cells, put{fFirstResponseAt, s.fmtTime(a.FirstResponseAt)})
		case domain.AppealFieldResolvedAt:
			cells = append(cells, put{fResolvedAt, s.fmtTime(a.ResolvedAt)})
		case domain.AppealFieldRating:
			cells = append(cells, put{fRating, ratingCell(a.Rating)})
		case domain.AppealFieldRatingComment:
			cells = append(cells, put{fRatingComment, a.RatingComment})
		}
	}
	return cells
}

// appealKeys: a.Row still holds (Telegram ID, created_at) of a.
func (s *Spreadsheet) appealKeys(a domain.Appeal) []key {
	return []key{{fTelegramID, cellIsInt(a.TelegramID)},
		{fCreatedAt, func(v any) bool { return s.sameTime(cell([]any{v}, 0), a.CreatedAt) }}}
}

// findAppealRow locates the row with (Telegram ID, created_at) after rows moved.
func (s *Spreadsheet) findAppealRow(ctx context.Context, telegramID int64, created time.Time) (int, error) {
	s.m.indexRebuilds.WithLabelValues(s.o.Titles.Appeals).Inc()
	rows, err := s.readColumns(ctx, SheetAppeals, fTelegramID, fCreatedAt)
	if err != nil {
		return 0, fmt.Errorf("store: find appeal of %d: %w", telegramID, err)
	}
	for i, row := range rows {
		if cellInt(row, 0) == telegramID && s.sameTime(cell(row, 1), created) {
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
	l, data, err := s.readSheet(ctx, SheetAppeals)
	if err != nil {
		return nil, err
	}
	var out []domain.Appeal
	for i, row := range data {
		if !emptyRow(row) {
			out = append(out, s.appealFrom(record{l, row}, firstDataRow+i))
		}
	}
	return out, nil
}

// sameTime compares a created_at cell with a parsed time, whatever format a
// person typed it in.
func (s *Spreadsheet) sameTime(cellValue string, t time.Time) bool {
	return s.parseTime(cellValue).Equal(t)
}
