package store

import (
	"context"
	"fmt"

	"marketingbot/pkg/domain"
)

const idxQueue = "queue_ids"

// Requests reads the whole Queue sheet (one read) and refreshes the id index.
func (s *Spreadsheet) Requests(ctx context.Context) ([]domain.AnalyticsRequest, error) {
	l, data, err := s.readSheet(ctx, SheetQueue)
	if err != nil {
		return nil, err
	}
	var out []domain.AnalyticsRequest
	entries := map[string]indexEntry{}
	for i, row := range data {
		r := s.requestFrom(record{l, row}, firstDataRow+i)
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

// Request reads one Queue row by id (index hint, verified by the id cell).
func (s *Spreadsheet) Request(ctx context.Context, id string) (domain.AnalyticsRequest, error) {
	e, ok, err := s.idx.get(ctx, idxQueue, id)
	if err != nil {
		return domain.AnalyticsRequest{}, err
	}
	if ok {
		r, err := s.readRow(ctx, SheetQueue, e.Row)
		if err != nil {
			return domain.AnalyticsRequest{}, fmt.Errorf("store: read request %s: %w", id, err)
		}
		if r.str(fID) == id {
			return s.requestFrom(r, e.Row), nil
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
	row, err := s.appendRow(ctx, SheetQueue, s.requestPuts(r), r.ID, verify)
	if err != nil {
		return r, fmt.Errorf("store: append request %s: %w", r.ID, err)
	}
	r.Row = row
	if err := s.idx.set(ctx, idxQueue, r.ID, indexEntry{Row: row}); err != nil {
		s.log.Warn("queue row appended but index not updated", "request_id", r.ID, "err", err)
	}
	return r, nil
}

// UpdateRequest writes the given fields (and updated_at) of r's row after
// verifying its id and the header cells; a moved row is found again by id,
// a moved column by its header.
func (s *Spreadsheet) UpdateRequest(ctx context.Context, r domain.AnalyticsRequest, fields ...domain.RequestField) (domain.AnalyticsRequest, error) {
	werr, rerr := retryMoved(ctx, func() error {
		return s.writeRow(ctx, SheetQueue, r.Row, []key{{fID, cellIs(r.ID)}}, s.requestCells(r, fields))
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

// requestCells are the cells of r's row that UpdateRequest writes.
func (s *Spreadsheet) requestCells(r domain.AnalyticsRequest, fields []domain.RequestField) []put {
	cells := []put{{fUpdatedAt, s.fmtTime(r.UpdatedAt)}}
	for _, f := range fields {
		switch f {
		case domain.RequestFieldStatus:
			cells = append(cells, put{fStatus, string(r.Status)})
		case domain.RequestFieldReportURL:
			cells = append(cells, put{fReportURL, r.ReportURL})
		case domain.RequestFieldError:
			cells = append(cells, put{fError, r.Error})
		case domain.RequestFieldDeliveredAt:
			cells = append(cells, put{fDeliveredAt, s.fmtTime(r.DeliveredAt)})
		case domain.RequestFieldResultText:
			cells = append(cells, put{fResultText, r.ResultText})
		}
	}
	return cells
}
