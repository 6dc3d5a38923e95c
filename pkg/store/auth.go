package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/failsafe-go/failsafe-go"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/sheets"
	"marketingbot/pkg/sheets/a1"
)

const cacheAuth = "auth"

// Partners returns the Auth sheet (cached for Options.AuthTTL).
func (s *Spreadsheet) Partners(ctx context.Context) ([]domain.Partner, error) {
	return cached(ctx, s, cacheAuth, s.o.AuthTTL, s.readPartners)
}

// RefreshPartners reads the Auth sheet now and refreshes the cache.
func (s *Spreadsheet) RefreshPartners(ctx context.Context) ([]domain.Partner, error) {
	s.cache.invalidate(cacheAuth)
	return s.Partners(ctx)
}

func (s *Spreadsheet) readPartners(ctx context.Context) ([]domain.Partner, error) {
	t := s.o.Titles.Auth
	rows, err := s.t.Read(ctx, dataRange(t, authWidth))
	if err != nil {
		return nil, fmt.Errorf("store: read %s: %w", t, err)
	}
	var out []domain.Partner
	for i, row := range rows[0] {
		if emptyRow(row) {
			continue
		}
		out = append(out, s.partnerFromRow(row, firstDataRow+i))
	}
	return out, nil
}

// PartnerByPhone finds a partner by phone (any format). A miss in the cache
// re-reads the sheet once: the partner may have been added a minute ago.
func (s *Spreadsheet) PartnerByPhone(ctx context.Context, phone string) (domain.Partner, bool, error) {
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
	ps, err := s.Partners(ctx)
	if err != nil {
		return domain.Partner{}, false, err
	}
	if p, ok := find(ps); ok {
		return p, true, nil
	}
	if ps, err = s.RefreshPartners(ctx); err != nil {
		return domain.Partner{}, false, err
	}
	p, found := find(ps)
	return p, found, nil
}

// PartnerByTelegramID finds the partner bound to a Telegram account (cached).
func (s *Spreadsheet) PartnerByTelegramID(ctx context.Context, id int64) (domain.Partner, bool, error) {
	ps, err := s.Partners(ctx)
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
func (s *Spreadsheet) AuthorizePartner(ctx context.Context, p domain.Partner, telegramID int64, at time.Time) (domain.Partner, error) {
	t := s.o.Titles.Auth
	werr, rerr := retryMoved(ctx, func() error {
		phone := p.Phone
		gd := &sheets.Guard{Sheet: t, Range: a1.Cell(t, 1, p.Row), Holds: func(row []any) bool {
			got, _ := domain.NormalizePhone(cell(row, 0))
			return got == phone
		}}
		return s.t.Update(ctx, gd, valueRange(a1.Row(t, 3, 5, p.Row), domain.PartnerStatusAuthorized, idString(telegramID), s.fmtTime(at)))
	}, func() error {
		s.m.indexRebuilds.WithLabelValues(t).Inc()
		moved, found, err := s.PartnerByPhone(ctx, p.Phone)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("store: authorize partner %s: the row with phone %s is gone: %w", p.Code, p.Phone, domain.ErrNotFound)
		}
		p.Row = moved.Row
		return nil
	})
	if rerr != nil {
		return p, rerr
	}
	if werr != nil {
		return p, fmt.Errorf("store: authorize partner %s: %w", p.Code, werr)
	}
	s.cache.invalidate(cacheAuth)
	p.Status, p.TelegramID, p.AuthorizedAt = domain.PartnerStatusAuthorized, telegramID, at
	return p, nil
}

// SetBotBlocked writes (or clears, with a zero time) Auth G bot_blocked_at on
// every row bound to telegramID. Unknown users are not an error. When a row
// moved, the Auth sheet is read again and every row written again.
func (s *Spreadsheet) SetBotBlocked(ctx context.Context, telegramID int64, at time.Time) error {
	t := s.o.Titles.Auth
	first := true
	err := failsafe.With(rowMovedAttempts).WithContext(ctx).Run(func() error {
		ps, err := s.Partners(ctx)
		if !first {
			ps, err = s.RefreshPartners(ctx)
		}
		first = false
		if err != nil {
			return err
		}
		for _, p := range ps {
			if p.TelegramID != telegramID {
				continue
			}
			gd := &sheets.Guard{Sheet: t, Range: a1.Cell(t, 4, p.Row), Holds: func(row []any) bool { return cellInt(row, 0) == telegramID }}
			err := s.t.Update(ctx, gd, valueRange(a1.Cell(t, 6, p.Row), s.fmtTime(at)))
			if errors.Is(err, sheets.ErrRowMoved) {
				return err
			}
			if err != nil {
				return fmt.Errorf("store: mark %d blocked: %w", telegramID, err)
			}
		}
		s.cache.invalidate(cacheAuth)
		return nil
	})
	if errors.Is(err, sheets.ErrRowMoved) {
		return fmt.Errorf("store: mark %d blocked: %w", telegramID, err)
	}
	return err
}
