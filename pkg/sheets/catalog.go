package sheets

import (
	"context"
	"errors"
	"fmt"
	"strings"

	sheetsapi "google.golang.org/api/sheets/v4"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/sheets/a1"
)

const (
	cacheListings  = "listings"
	cacheKnowledge = "knowledge"
)

// Listings returns the Listings sheet (cached for Options.ListingsTTL).
func (g *Gateway) Listings(ctx context.Context) ([]domain.Listing, error) {
	return cached(ctx, g, cacheListings, g.o.ListingsTTL, func(ctx context.Context) ([]domain.Listing, error) {
		t := g.o.Titles.Listings
		rows, err := g.b.read(ctx, a1.Range{Sheet: t, StartCol: 0, StartRow: firstDataRow, EndCol: listingsWidth - 1, EndRow: a1.Unbounded}.String())
		if err != nil {
			return nil, fmt.Errorf("sheets: read %s: %w", t, err)
		}
		out := make([]domain.Listing, 0, len(rows[0]))
		for _, row := range rows[0] {
			if l := g.listingFromRow(row); l.Code != "" {
				out = append(out, l)
			}
		}
		return out, nil
	})
}

// Knowledge returns the Knowledge sheet (cached for Options.KnowledgeTTL).
func (g *Gateway) Knowledge(ctx context.Context) ([]domain.KnowledgeEntry, error) {
	return cached(ctx, g, cacheKnowledge, g.o.KnowledgeTTL, func(ctx context.Context) ([]domain.KnowledgeEntry, error) {
		t := g.o.Titles.Knowledge
		rows, err := g.b.read(ctx, a1.Range{Sheet: t, StartCol: 0, StartRow: firstDataRow, EndCol: knowledgeWidth - 1, EndRow: a1.Unbounded}.String())
		if err != nil {
			return nil, fmt.Errorf("sheets: read %s: %w", t, err)
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
func (g *Gateway) Promotions(ctx context.Context) ([]domain.Promotion, error) {
	t := g.o.Titles.Promotions
	rows, err := g.b.read(ctx, a1.Range{Sheet: t, StartCol: 0, StartRow: firstDataRow, EndCol: promotionsWidth - 1, EndRow: a1.Unbounded}.String())
	if err != nil {
		return nil, fmt.Errorf("sheets: read %s: %w", t, err)
	}
	var out []domain.Promotion
	for i, row := range rows[0] {
		if p := g.promotionFromRow(row, firstDataRow+i); p.ID != "" {
			out = append(out, p)
		}
	}
	return out, nil
}

// Promotion reads one promotion by id.
func (g *Gateway) Promotion(ctx context.Context, id string) (domain.Promotion, error) {
	all, err := g.Promotions(ctx)
	if err != nil {
		return domain.Promotion{}, err
	}
	for _, p := range all {
		if p.ID == id {
			return p, nil
		}
	}
	return domain.Promotion{}, fmt.Errorf("sheets: promotion %s: %w", id, domain.ErrNotFound)
}

// UpdatePromotion writes the given fields of p's row after verifying its id.
func (g *Gateway) UpdatePromotion(ctx context.Context, p domain.Promotion, fields ...domain.PromotionField) (domain.Promotion, error) {
	t := g.o.Titles.Promotions
	for attempt := 0; attempt < 3; attempt++ {
		n := p.Row
		var data []*sheetsapi.ValueRange
		for _, f := range fields {
			switch f {
			case domain.PromotionFieldStatus:
				data = append(data, valueRange(a1.Cell(t, 6, n), string(p.Status)))
			case domain.PromotionFieldCounters:
				data = append(data, valueRange(a1.Row(t, 7, 9, n), p.Sent, p.Failed, p.Blocked))
			case domain.PromotionFieldFinishedAt:
				data = append(data, valueRange(a1.Cell(t, 10, n), g.fmtTime(p.FinishedAt)))
			}
		}
		if len(data) == 0 {
			return p, nil
		}
		id := p.ID
		gd := &guard{sheet: t, rng: a1.Cell(t, 0, n), check: func(row []any) bool { return cell(row, 0) == id }}
		err := g.b.update(ctx, gd, data...)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, ErrRowMoved) {
			return p, fmt.Errorf("sheets: update promotion %s: %w", p.ID, err)
		}
		fresh, err := g.Promotion(ctx, p.ID)
		if err != nil {
			return p, err
		}
		p.Row = fresh.Row
	}
	return p, fmt.Errorf("sheets: update promotion %s: %w", p.ID, ErrRowMoved)
}

// Read exposes a raw coalesced read of A1 ranges (tools, tests).
func (g *Gateway) Read(ctx context.Context, ranges ...string) ([][][]any, error) {
	return g.b.read(ctx, ranges...)
}

// Write exposes a raw coalesced RAW write (tools, tests); no guard.
func (g *Gateway) Write(ctx context.Context, rng string, rows [][]any) error {
	return g.b.update(ctx, nil, &sheetsapi.ValueRange{Range: rng, MajorDimension: "ROWS", Values: rows})
}
