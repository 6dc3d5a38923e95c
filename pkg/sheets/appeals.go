package sheets

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	sheetsapi "google.golang.org/api/sheets/v4"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/sheets/a1"
)

// The appeals index maps a Telegram ID to the row of that user's current
// (newest) appeal, tagged with its created_at: together with column D they
// identify the row wherever it moved.
const idxAppeals = "appeals_current"

// CurrentAppeal returns the user's newest appeal row, read now (stateless
// history: nothing is kept in memory). found is false when the user has none.
func (g *Gateway) CurrentAppeal(ctx context.Context, telegramID int64) (domain.Appeal, bool, error) {
	key := strconv.FormatInt(telegramID, 10)
	e, ok, err := g.idx.get(ctx, idxAppeals, key)
	if err != nil {
		return domain.Appeal{}, false, err
	}
	for attempt := 0; attempt < 3; attempt++ {
		if !ok {
			entries, err := g.rebuildAppealsIndex(ctx)
			if err != nil {
				return domain.Appeal{}, false, err
			}
			if e, ok = entries[key]; !ok {
				return domain.Appeal{}, false, nil
			}
		}
		rows, err := g.b.read(ctx, rowRange(g.o.Titles.Appeals, appealsWidth, e.Row))
		if err != nil {
			return domain.Appeal{}, false, fmt.Errorf("sheets: read appeal of %d: %w", telegramID, err)
		}
		row := firstRow(rows[0])
		if cellInt(row, 3) == telegramID && cell(row, 0) == e.Tag {
			return g.appealFromRow(row, e.Row), true, nil
		}
		ok = false // moved: rebuild and look again
	}
	return domain.Appeal{}, false, fmt.Errorf("sheets: appeal of %d keeps moving: %w", telegramID, ErrRowMoved)
}

// rebuildAppealsIndex reads A:D of the Appeals sheet and indexes each user's
// newest row. Concurrent rebuilds share one read (same range, same batch).
func (g *Gateway) rebuildAppealsIndex(ctx context.Context) (map[string]indexEntry, error) {
	v, err, _ := g.cache.sf.Do("rebuild:"+idxAppeals, func() (any, error) { return g.readAppealsIndex(ctx) })
	if err != nil {
		return nil, err
	}
	return v.(map[string]indexEntry), nil
}

func (g *Gateway) readAppealsIndex(ctx context.Context) (map[string]indexEntry, error) {
	t := g.o.Titles.Appeals
	g.m.indexRebuilds.WithLabelValues(t).Inc()
	rows, err := g.b.read(ctx, a1.Range{Sheet: t, StartCol: 0, StartRow: firstDataRow, EndCol: 3, EndRow: a1.Unbounded}.String())
	if err != nil {
		return nil, fmt.Errorf("sheets: index %s: %w", t, err)
	}
	entries := map[string]indexEntry{}
	newest := map[string]time.Time{}
	for i, row := range rows[0] {
		id := cellInt(row, 3)
		if id == 0 {
			continue
		}
		key := strconv.FormatInt(id, 10)
		created := g.parseTime(cell(row, 0))
		if prev, seen := newest[key]; seen && created.Before(prev) {
			continue
		}
		newest[key] = created
		entries[key] = indexEntry{Row: firstDataRow + i, Tag: cell(row, 0)}
	}
	if err := g.idx.replace(ctx, idxAppeals, entries); err != nil {
		return nil, err
	}
	return entries, nil
}

// CreateAppeal appends a new appeal row and makes it the user's current one.
// It is idempotent for a given (Telegram ID, created_at): when the row already
// exists — a retried task after a crash, or an append whose answer was lost —
// the existing row is returned. Pass recheck=true when a previous attempt may
// have appended without recording it (the index is then rebuilt first).
func (g *Gateway) CreateAppeal(ctx context.Context, a domain.Appeal, recheck bool) (domain.Appeal, error) {
	a.CreatedAt = a.CreatedAt.Truncate(time.Second)
	key := strconv.FormatInt(a.TelegramID, 10)
	tag := g.fmtTime(a.CreatedAt)
	lookup := func(ctx context.Context, rebuild bool) (indexEntry, bool, error) {
		if rebuild {
			entries, err := g.rebuildAppealsIndex(ctx)
			if err != nil {
				return indexEntry{}, false, err
			}
			e, ok := entries[key]
			return e, ok && g.sameTime(e.Tag, a.CreatedAt), nil
		}
		e, ok, err := g.idx.get(ctx, idxAppeals, key)
		return e, ok && g.sameTime(e.Tag, a.CreatedAt), err
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
	row, err := g.b.appendRows(ctx, g.o.Titles.Appeals, [][]any{g.appealRow(a)}, key+"|"+tag, verify)
	if err != nil {
		return a, fmt.Errorf("sheets: create appeal of %d: %w", a.TelegramID, err)
	}
	a.Row = row
	if err := g.idx.set(ctx, idxAppeals, key, indexEntry{Row: row, Tag: tag}); err != nil {
		g.log.Warn("appeal row appended but index not updated; it will be rebuilt", "telegram_id", a.TelegramID, "err", err)
	}
	return a, nil
}

// UpdateAppeal writes the given fields of a.Row plus G updated_at, after
// verifying (D Telegram ID, A created_at) right before the write. If the row
// moved it is found again by those keys.
func (g *Gateway) UpdateAppeal(ctx context.Context, a domain.Appeal, fields ...domain.AppealField) (domain.Appeal, error) {
	t := g.o.Titles.Appeals
	created := a.CreatedAt
	for attempt := 0; attempt < 3; attempt++ {
		n := a.Row
		data := []*sheetsapi.ValueRange{valueRange(a1.Cell(t, 6, n), g.fmtTime(a.UpdatedAt))}
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
		id := a.TelegramID
		gd := &guard{sheet: t, rng: a1.Row(t, 0, 3, n), check: func(row []any) bool {
			return cellInt(row, 3) == id && g.sameTime(cell(row, 0), created)
		}}
		err := g.b.update(ctx, gd, data...)
		if err == nil {
			return a, nil
		}
		if !errors.Is(err, ErrRowMoved) {
			return a, fmt.Errorf("sheets: update appeal of %d: %w", a.TelegramID, err)
		}
		row, err := g.findAppealRow(ctx, a.TelegramID, created)
		if err != nil {
			return a, err
		}
		a.Row = row
	}
	return a, fmt.Errorf("sheets: update appeal of %d: %w", a.TelegramID, ErrRowMoved)
}

// findAppealRow locates the row with (Telegram ID, created_at) after rows moved.
func (g *Gateway) findAppealRow(ctx context.Context, telegramID int64, created time.Time) (int, error) {
	t := g.o.Titles.Appeals
	g.m.indexRebuilds.WithLabelValues(t).Inc()
	rows, err := g.b.read(ctx, a1.Range{Sheet: t, StartCol: 0, StartRow: firstDataRow, EndCol: 3, EndRow: a1.Unbounded}.String())
	if err != nil {
		return 0, fmt.Errorf("sheets: find appeal of %d: %w", telegramID, err)
	}
	for i, row := range rows[0] {
		if cellInt(row, 3) == telegramID && g.sameTime(cell(row, 0), created) {
			if _, err := g.rebuildAppealsIndex(ctx); err != nil {
				g.log.Warn("appeals index rebuild failed", "err", err)
			}
			return firstDataRow + i, nil
		}
	}
	return 0, fmt.Errorf("sheets: appeal of %d created %s is gone: %w", telegramID, g.fmtTime(created), domain.ErrNotFound)
}

// Appeals reads the whole Appeals sheet (operators' tools, tests).
func (g *Gateway) Appeals(ctx context.Context) ([]domain.Appeal, error) {
	t := g.o.Titles.Appeals
	rows, err := g.b.read(ctx, a1.Range{Sheet: t, StartCol: 0, StartRow: firstDataRow, EndCol: appealsWidth - 1, EndRow: a1.Unbounded}.String())
	if err != nil {
		return nil, fmt.Errorf("sheets: read %s: %w", t, err)
	}
	var out []domain.Appeal
	for i, row := range rows[0] {
		if !emptyRow(row) {
			out = append(out, g.appealFromRow(row, firstDataRow+i))
		}
	}
	return out, nil
}

// sameTime compares a created_at cell with a parsed time, whatever format a
// person typed it in.
func (g *Gateway) sameTime(cellValue string, t time.Time) bool {
	return g.parseTime(cellValue).Equal(t)
}
