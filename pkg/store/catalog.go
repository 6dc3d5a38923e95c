package store

import (
	"context"
	"fmt"
	"strings"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/sheets"
	"marketingbot/pkg/sheets/a1"
)

const (
	cacheListings  = "listings"
	cacheKnowledge = "knowledge"
)

// Listings returns the Listings sheet (cached for Options.ListingsTTL).
func (s *Spreadsheet) Listings(ctx context.Context) ([]domain.Listing, error) {
	return cached(ctx, s, cacheListings, s.o.ListingsTTL, func(ctx context.Context) ([]domain.Listing, error) {
		t := s.o.Titles.Listings
		rows, err := s.t.Read(ctx, dataRange(t, listingsWidth))
		if err != nil {
			return nil, fmt.Errorf("store: read %s: %w", t, err)
		}
		out := make([]domain.Listing, 0, len(rows[0]))
		for _, row := range rows[0] {
			if l := s.listingFromRow(row); l.Code != "" {
				out = append(out, l)
			}
		}
		return out, nil
	})
}

// Knowledge returns the Knowledge sheet (cached for Options.KnowledgeTTL).
func (s *Spreadsheet) Knowledge(ctx context.Context) ([]domain.KnowledgeEntry, error) {
	return cached(ctx, s, cacheKnowledge, s.o.KnowledgeTTL, func(ctx context.Context) ([]domain.KnowledgeEntry, error) {
		t := s.o.Titles.Knowledge
		rows, err := s.t.Read(ctx, dataRange(t, knowledgeWidth))
		if err != nil {
			return nil, fmt.Errorf("store: read %s: %w", t, err)
		}
		var out []domain.KnowledgeEntry
		for _, row := range rows[0] {
			k := domain.KnowledgeEntry{Topic: cell(row, 0), Question: cell(row, 1), Answer: strings.TrimSpace(rawCell(row, 2))}
			if k.Answer != "" {
				out = append(out, k)
			}
		}
		return out, nil
	})
}

// Promotions reads the Promotions sheet now.
func (s *Spreadsheet) Promotions(ctx context.Context) ([]domain.Promotion, error) {
	t := s.o.Titles.Promotions
	rows, err := s.t.Read(ctx, dataRange(t, promotionsWidth))
	if err != nil {
		return nil, fmt.Errorf("store: read %s: %w", t, err)
	}
	var out []domain.Promotion
	for i, row := range rows[0] {
		if p := s.promotionFromRow(row, firstDataRow+i); p.ID != "" {
			out = append(out, p)
		}
	}
	return out, nil
}

// Promotion reads one promotion by id.
func (s *Spreadsheet) Promotion(ctx context.Context, id string) (domain.Promotion, error) {
	all, err := s.Promotions(ctx)
	if err != nil {
		return domain.Promotion{}, err
	}
	for _, p := range all {
		if p.ID == id {
			return p, nil
		}
	}
	return domain.Promotion{}, fmt.Errorf("store: promotion %s: %w", id, domain.ErrNotFound)
}

// UpdatePromotion writes the given fields of p's row after verifying its id.
func (s *Spreadsheet) UpdatePromotion(ctx context.Context, p domain.Promotion, fields ...domain.PromotionField) (domain.Promotion, error) {
	t := s.o.Titles.Promotions
	if len(s.promotionCells(p, fields)) == 0 {
		return p, nil
	}
	werr, rerr := retryMoved(ctx, func() error {
		id := p.ID
		gd := &sheets.Guard{Sheet: t, Range: a1.Cell(t, 0, p.Row), Holds: func(row []any) bool { return cell(row, 0) == id }}
		return s.t.Update(ctx, gd, s.promotionCells(p, fields)...)
	}, func() error {
		fresh, err := s.Promotion(ctx, p.ID)
		if err == nil {
			p.Row = fresh.Row
		}
		return err
	})
	if rerr != nil {
		return p, rerr
	}
	if werr != nil {
		return p, fmt.Errorf("store: update promotion %s: %w", p.ID, werr)
	}
	return p, nil
}

// promotionCells are the cells of p.Row that UpdatePromotion writes.
func (s *Spreadsheet) promotionCells(p domain.Promotion, fields []domain.PromotionField) []sheets.Values {
	t, n := s.o.Titles.Promotions, p.Row
	var data []sheets.Values
	for _, f := range fields {
		switch f {
		case domain.PromotionFieldStatus:
			data = append(data, valueRange(a1.Cell(t, 6, n), string(p.Status)))
		case domain.PromotionFieldCounters:
			data = append(data, valueRange(a1.Row(t, 7, 9, n), p.Sent, p.Failed, p.Blocked))
		case domain.PromotionFieldFinishedAt:
			data = append(data, valueRange(a1.Cell(t, 10, n), s.fmtTime(p.FinishedAt)))
		}
	}
	return data
}
