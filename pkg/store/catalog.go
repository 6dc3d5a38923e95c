package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"marketingbot/pkg/domain"
)

const (
	cacheListings  = "listings"
	cacheKnowledge = "knowledge"
)

// Listings returns the Listings sheet (cached for Options.ListingsTTL).
func (s *Spreadsheet) Listings(ctx context.Context) ([]domain.Listing, error) {
	return cached(ctx, s, cacheListings, s.o.ListingsTTL, func(ctx context.Context) ([]domain.Listing, error) {
		lay, data, err := s.readSheet(ctx, SheetListings)
		if err != nil {
			return nil, err
		}
		out := make([]domain.Listing, 0, len(data))
		for _, row := range data {
			if l := s.listingFrom(record{lay, row}); l.Code != "" {
				out = append(out, l)
			}
		}
		return out, nil
	})
}

// Knowledge returns the Knowledge sheet (cached for Options.KnowledgeTTL).
func (s *Spreadsheet) Knowledge(ctx context.Context) ([]domain.KnowledgeEntry, error) {
	return cached(ctx, s, cacheKnowledge, s.o.KnowledgeTTL, func(ctx context.Context) ([]domain.KnowledgeEntry, error) {
		l, data, err := s.readSheet(ctx, SheetKnowledge)
		if err != nil {
			return nil, err
		}
		var out []domain.KnowledgeEntry
		for _, row := range data {
			r := record{l, row}
			k := domain.KnowledgeEntry{Topic: r.str(fTopic), Question: r.str(fQuestion), Answer: strings.TrimSpace(r.raw(fAnswer))}
			if k.Answer != "" {
				out = append(out, k)
			}
		}
		return out, nil
	})
}

// Promotions reads the Promotions sheet now.
func (s *Spreadsheet) Promotions(ctx context.Context) ([]domain.Promotion, error) {
	l, data, err := s.readSheet(ctx, SheetPromotions)
	if err != nil {
		return nil, err
	}
	var out []domain.Promotion
	for i, row := range data {
		if p := s.promotionFrom(record{l, row}, firstDataRow+i); p.ID != "" {
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

// UpdatePromotion writes the given fields of p's row after verifying its id
// and the header cells.
func (s *Spreadsheet) UpdatePromotion(ctx context.Context, p domain.Promotion, fields ...domain.PromotionField) (domain.Promotion, error) {
	if len(promotionCells(p, fields, s.loc)) == 0 {
		return p, nil
	}
	werr, rerr := retryMoved(ctx, func() error {
		return s.writeRow(ctx, SheetPromotions, p.Row, []key{{fID, cellIs(p.ID)}}, promotionCells(p, fields, s.loc))
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

// promotionCells are the cells of p's row that UpdatePromotion writes.
func promotionCells(p domain.Promotion, fields []domain.PromotionField, loc *time.Location) []put {
	var cells []put
	for _, f := range fields {
		switch f {
		case domain.PromotionFieldStatus:
			cells = append(cells, put{fStatus, string(p.Status)})
		case domain.PromotionFieldCounters:
			cells = append(cells, put{fSent, p.Sent}, put{fFailed, p.Failed}, put{fBlocked, p.Blocked})
		case domain.PromotionFieldFinishedAt:
			cells = append(cells, put{fFinishedAt, domain.FormatSheetTime(p.FinishedAt, loc)})
		}
	}
	return cells
}
