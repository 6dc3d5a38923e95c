package sheets

import (
	"context"
	"errors"
	"fmt"

	sheetsapi "google.golang.org/api/sheets/v4"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/sheets/a1"
)

const idxQueue = "queue_ids"

// Requests reads the whole Queue sheet (one read) and refreshes the id index.
func (g *Gateway) Requests(ctx context.Context) ([]domain.AnalyticsRequest, error) {
	t := g.o.Titles.Queue
	rows, err := g.b.read(ctx, a1.Range{Sheet: t, StartCol: 0, StartRow: firstDataRow, EndCol: queueWidth - 1, EndRow: a1.Unbounded}.String())
	if err != nil {
		return nil, fmt.Errorf("sheets: read %s: %w", t, err)
	}
	var out []domain.AnalyticsRequest
	entries := map[string]indexEntry{}
	for i, row := range rows[0] {
		r := g.requestFromRow(row, firstDataRow+i)
		if r.ID == "" {
			continue
		}
		out = append(out, r)
		entries[r.ID] = indexEntry{Row: r.Row}
	}
	if err := g.idx.replace(ctx, idxQueue, entries); err != nil {
		g.log.Warn("queue index not refreshed", "err", err)
	}
	return out, nil
}

// Request reads one Queue row by id (index hint, verified by column A).
func (g *Gateway) Request(ctx context.Context, id string) (domain.AnalyticsRequest, error) {
	e, ok, err := g.idx.get(ctx, idxQueue, id)
	if err != nil {
		return domain.AnalyticsRequest{}, err
	}
	if ok {
		rows, err := g.b.read(ctx, rowRange(g.o.Titles.Queue, queueWidth, e.Row))
		if err != nil {
			return domain.AnalyticsRequest{}, fmt.Errorf("sheets: read request %s: %w", id, err)
		}
		if row := firstRow(rows[0]); cell(row, 0) == id {
			return g.requestFromRow(row, e.Row), nil
		}
	}
	all, err := g.Requests(ctx)
	if err != nil {
		return domain.AnalyticsRequest{}, err
	}
	for _, r := range all {
		if r.ID == id {
			return r, nil
		}
	}
	return domain.AnalyticsRequest{}, fmt.Errorf("sheets: request %s: %w", id, domain.ErrNotFound)
}

// AppendRequest adds a NEW row. Idempotent by id: an existing row with the
// same id (retried task, lost append answer) is returned instead.
func (g *Gateway) AppendRequest(ctx context.Context, r domain.AnalyticsRequest) (domain.AnalyticsRequest, error) {
	if e, ok, err := g.idx.get(ctx, idxQueue, r.ID); err != nil {
		return r, err
	} else if ok {
		if existing, err := g.Request(ctx, r.ID); err == nil {
			_ = e
			return existing, nil
		}
	}
	verify := func(ctx context.Context, keys []string) (map[string]int, error) {
		all, err := g.Requests(ctx)
		if err != nil {
			return nil, err
		}
		found := map[string]int{}
		for _, x := range all {
			found[x.ID] = x.Row
		}
		return found, nil
	}
	row, err := g.b.appendRows(ctx, g.o.Titles.Queue, [][]any{g.requestRow(r)}, r.ID, verify)
	if err != nil {
		return r, fmt.Errorf("sheets: append request %s: %w", r.ID, err)
	}
	r.Row = row
	if err := g.idx.set(ctx, idxQueue, r.ID, indexEntry{Row: row}); err != nil {
		g.log.Warn("queue row appended but index not updated", "request_id", r.ID, "err", err)
	}
	return r, nil
}

// UpdateRequest writes the given fields (and G updated_at) of r's row after
// verifying its id; a moved row is found again by id.
func (g *Gateway) UpdateRequest(ctx context.Context, r domain.AnalyticsRequest, fields ...domain.RequestField) (domain.AnalyticsRequest, error) {
	t := g.o.Titles.Queue
	for attempt := 0; attempt < 3; attempt++ {
		n := r.Row
		data := []*sheetsapi.ValueRange{valueRange(a1.Cell(t, 6, n), g.fmtTime(r.UpdatedAt))}
		for _, f := range fields {
			switch f {
			case domain.RequestFieldStatus:
				data = append(data, valueRange(a1.Cell(t, 5, n), string(r.Status)))
			case domain.RequestFieldReportURL:
				data = append(data, valueRange(a1.Cell(t, 7, n), r.ReportURL))
			case domain.RequestFieldError:
				data = append(data, valueRange(a1.Cell(t, 8, n), r.Error))
			case domain.RequestFieldDeliveredAt:
				data = append(data, valueRange(a1.Cell(t, 9, n), g.fmtTime(r.DeliveredAt)))
			case domain.RequestFieldResultText:
				data = append(data, valueRange(a1.Cell(t, 10, n), r.ResultText))
			}
		}
		id := r.ID
		gd := &guard{sheet: t, rng: a1.Cell(t, 0, n), check: func(row []any) bool { return cell(row, 0) == id }}
		err := g.b.update(ctx, gd, data...)
		if err == nil {
			return r, nil
		}
		if !errors.Is(err, ErrRowMoved) {
			return r, fmt.Errorf("sheets: update request %s: %w", r.ID, err)
		}
		fresh, err := g.Request(ctx, r.ID)
		if err != nil {
			return r, err
		}
		r.Row = fresh.Row
	}
	return r, fmt.Errorf("sheets: update request %s: %w", r.ID, ErrRowMoved)
}
