package store

import (
	"context"
	"fmt"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/sheets"
	"marketingbot/pkg/sheets/a1"
)

const idxQueue = "queue_ids"

// Requests reads the whole Queue sheet (one read) and refreshes the id index.
func (s *Spreadsheet) Requests(ctx context.Context) ([]domain.AnalyticsRequest, error) {
	t := s.o.Titles.Queue
	rows, err := s.t.Read(ctx, dataRange(t, queueWidth))
	if err != nil {
		return nil, fmt.Errorf("store: read %s: %w", t, err)
	}
	var out []domain.AnalyticsRequest
	entries := map[string]indexEntry{}
	for i, row := range rows[0] {
		r := s.requestFromRow(row, firstDataRow+i)
		if r.ID == "" {
			continue
		}
		out = append(out, r)
		entries[r.ID] = indexEntry{Row: r.Row}
	}
	if err := s.idx.replace(ctx, idxQueue, entries); err != nil {
		s.log.Warn("queue index not refreshed", "err", err)
	}
	return out, nil
}

// Request reads one Queue row by id (index hint, verified by column A).
func (s *Spreadsheet) Request(ctx context.Context, id string) (domain.AnalyticsRequest, error) {
	e, ok, err := s.idx.get(ctx, idxQueue, id)
	if err != nil {
		return domain.AnalyticsRequest{}, err
	}
	if ok {
		rows, err := s.t.Read(ctx, rowRange(s.o.Titles.Queue, queueWidth, e.Row))
		if err != nil {
			return domain.AnalyticsRequest{}, fmt.Errorf("store: read request %s: %w", id, err)
		}
		if row := firstRow(rows[0]); cell(row, 0) == id {
			return s.requestFromRow(row, e.Row), nil
		}
	}
	all, err := s.Requests(ctx)
	if err != nil {
		return domain.AnalyticsRequest{}, err
	}
	for _, r := range all {
		if r.ID == id {
			return r, nil
		}
	}
	return domain.AnalyticsRequest{}, fmt.Errorf("store: request %s: %w", id, domain.ErrNotFound)
}

// AppendRequest adds a NEW row. Idempotent by id: an existing row with the
// same id (retried task, lost append answer) is returned instead.
func (s *Spreadsheet) AppendRequest(ctx context.Context, r domain.AnalyticsRequest) (domain.AnalyticsRequest, error) {
	if _, ok, err := s.idx.get(ctx, idxQueue, r.ID); err != nil {
		return r, err
	} else if ok {
		if existing, err := s.Request(ctx, r.ID); err == nil {
			return existing, nil
		}
	}
	verify := func(ctx context.Context, keys []string) (map[string]int, error) {
		all, err := s.Requests(ctx)
		if err != nil {
			return nil, err
		}
		found := map[string]int{}
		for _, x := range all {
			found[x.ID] = x.Row
		}
		return found, nil
	}
	row, err := s.t.Append(ctx, s.o.Titles.Queue, [][]any{s.requestRow(r)}, r.ID, verify)
	if err != nil {
		return r, fmt.Errorf("store: append request %s: %w", r.ID, err)
	}
	r.Row = row
	if err := s.idx.set(ctx, idxQueue, r.ID, indexEntry{Row: row}); err != nil {
		s.log.Warn("queue row appended but index not updated", "request_id", r.ID, "err", err)
	}
	return r, nil
}

// UpdateRequest writes the given fields (and G updated_at) of r's row after
// verifying its id; a moved row is found again by id.
func (s *Spreadsheet) UpdateRequest(ctx context.Context, r domain.AnalyticsRequest, fields ...domain.RequestField) (domain.AnalyticsRequest, error) {
	t := s.o.Titles.Queue
	werr, rerr := retryMoved(ctx, func() error {
		id := r.ID
		gd := &sheets.Guard{Sheet: t, Range: a1.Cell(t, 0, r.Row), Holds: func(row []any) bool { return cell(row, 0) == id }}
		return s.t.Update(ctx, gd, s.requestCells(r, fields)...)
	}, func() error {
		fresh, err := s.Request(ctx, r.ID)
		if err == nil {
			r.Row = fresh.Row
		}
		return err
	})
	if rerr != nil {
		return r, rerr
	}
	if werr != nil {
		return r, fmt.Errorf("store: update request %s: %w", r.ID, werr)
	}
	return r, nil
}

// requestCells are the cells of r.Row that UpdateRequest writes.
func (s *Spreadsheet) requestCells(r domain.AnalyticsRequest, fields []domain.RequestField) []sheets.Values {
	t, n := s.o.Titles.Queue, r.Row
	data := []sheets.Values{valueRange(a1.Cell(t, 6, n), s.fmtTime(r.UpdatedAt))}
	for _, f := range fields {
		switch f {
		case domain.RequestFieldStatus:
			data = append(data, valueRange(a1.Cell(t, 5, n), string(r.Status)))
		case domain.RequestFieldReportURL:
			data = append(data, valueRange(a1.Cell(t, 7, n), r.ReportURL))
		case domain.RequestFieldError:
			data = append(data, valueRange(a1.Cell(t, 8, n), r.Error))
		case domain.RequestFieldDeliveredAt:
			data = append(data, valueRange(a1.Cell(t, 9, n), s.fmtTime(r.DeliveredAt)))
		case domain.RequestFieldResultText:
			data = append(data, valueRange(a1.Cell(t, 10, n), r.ResultText))
		}
	}
	return data
}
