package sheets

import (
	"context"
	"errors"
	"fmt"
	"time"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/sheets/a1"
)

const cacheAuth = "auth"

// Partners returns the Auth sheet (cached for Options.AuthTTL).
func (g *Gateway) Partners(ctx context.Context) ([]domain.Partner, error) {
	return cached(ctx, g, cacheAuth, g.o.AuthTTL, g.readPartners)
}

// RefreshPartners reads the Auth sheet now and refreshes the cache.
func (g *Gateway) RefreshPartners(ctx context.Context) ([]domain.Partner, error) {
	g.cache.invalidate(cacheAuth)
	return g.Partners(ctx)
}

func (g *Gateway) readPartners(ctx context.Context) ([]domain.Partner, error) {
	t := g.o.Titles.Auth
	rows, err := g.b.read(ctx, a1.Range{Sheet: t, StartCol: 0, StartRow: firstDataRow, EndCol: authWidth - 1, EndRow: a1.Unbounded}.String())
	if err != nil {
		return nil, fmt.Errorf("sheets: read %s: %w", t, err)
	}
	var out []domain.Partner
	for i, row := range rows[0] {
		if emptyRow(row) {
			continue
		}
		out = append(out, g.partnerFromRow(row, firstDataRow+i))
	}
	return out, nil
}

// PartnerByPhone finds a partner by phone (any format). A miss in the cache
// re-reads the sheet once: the partner may have been added a minute ago.
func (g *Gateway) PartnerByPhone(ctx context.Context, phone string) (domain.Partner, bool, error) {
	norm, ok := domain.NormalizePhone(phone)
	if !ok {
		return domain.Partner{}, false, nil
	}
	find := func(ps []domain.Partner) (domain.Partner, bool) {
		for _, p := range ps {
			if p.Phone == norm {
				return p, true
			}
		}
		return domain.Partner{}, false
	}
	ps, err := g.Partners(ctx)
	if err != nil {
		return domain.Partner{}, false, err
	}
	if p, ok := find(ps); ok {
		return p, true, nil
	}
	if ps, err = g.RefreshPartners(ctx); err != nil {
		return domain.Partner{}, false, err
	}
	p, found := find(ps)
	return p, found, nil
}

// PartnerByTelegramID finds the partner bound to a Telegram account (cached).
func (g *Gateway) PartnerByTelegramID(ctx context.Context, id int64) (domain.Partner, bool, error) {
	ps, err := g.Partners(ctx)
	if err != nil {
		return domain.Partner{}, false, err
	}
	for _, p := range ps {
		if p.TelegramID == id {
			return p, true, nil
		}
	}
	return domain.Partner{}, false, nil
}

// AuthorizePartner binds a Telegram account to the partner's row: D STATUS =
// authorized, E Telegram ID, F authorized_at. The row is verified by its phone
// right before the write; if rows moved, it is found again.
func (g *Gateway) AuthorizePartner(ctx context.Context, p domain.Partner, telegramID int64, at time.Time) (domain.Partner, error) {
	t := g.o.Titles.Auth
	for attempt := 0; attempt < 3; attempt++ {
		phone := p.Phone
		gd := &guard{sheet: t, rng: a1.Cell(t, 1, p.Row), check: func(row []any) bool {
			got, _ := domain.NormalizePhone(cell(row, 0))
			return got == phone
		}}
		err := g.b.update(ctx, gd, valueRange(a1.Row(t, 3, 5, p.Row), domain.PartnerStatusAuthorized, idString(telegramID), g.fmtTime(at)))
		if err == nil {
			g.cache.invalidate(cacheAuth)
			p.Status, p.TelegramID, p.AuthorizedAt = domain.PartnerStatusAuthorized, telegramID, at
			return p, nil
		}
		if !errors.Is(err, ErrRowMoved) {
			return p, fmt.Errorf("sheets: authorize partner %s: %w", p.Code, err)
		}
		g.m.indexRebuilds.WithLabelValues(t).Inc()
		moved, found, ferr := g.PartnerByPhone(ctx, p.Phone)
		if ferr != nil {
			return p, ferr
		}
		if !found {
			return p, fmt.Errorf("sheets: authorize partner %s: the row with phone %s is gone: %w", p.Code, p.Phone, domain.ErrNotFound)
		}
		p.Row = moved.Row
	}
	return p, fmt.Errorf("sheets: authorize partner %s: %w", p.Code, ErrRowMoved)
}

// SetBotBlocked writes (or clears, with a zero time) Auth G bot_blocked_at on
// every row bound to telegramID. Unknown users are not an error.
func (g *Gateway) SetBotBlocked(ctx context.Context, telegramID int64, at time.Time) error {
	t := g.o.Titles.Auth
	for attempt := 0; attempt < 3; attempt++ {
		ps, err := g.Partners(ctx)
		if attempt > 0 {
			ps, err = g.RefreshPartners(ctx)
		}
		if err != nil {
			return err
		}
		moved := false
		for _, p := range ps {
			if p.TelegramID != telegramID {
				continue
			}
			gd := &guard{sheet: t, rng: a1.Cell(t, 4, p.Row), check: func(row []any) bool { return cellInt(row, 0) == telegramID }}
			err := g.b.update(ctx, gd, valueRange(a1.Cell(t, 6, p.Row), g.fmtTime(at)))
			if errors.Is(err, ErrRowMoved) {
				moved = true
				break
			}
			if err != nil {
				return fmt.Errorf("sheets: mark %d blocked: %w", telegramID, err)
			}
		}
		if !moved {
			g.cache.invalidate(cacheAuth)
			return nil
		}
	}
	return fmt.Errorf("sheets: mark %d blocked: %w", telegramID, ErrRowMoved)
}
