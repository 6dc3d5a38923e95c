package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/failsafe-go/failsafe-go"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/sheets"
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
	l, data, err := s.readSheet(ctx, SheetAuth)
	if err != nil {
		return nil, err
	}
	var out []domain.Partner
	for i, row := range data {
		if emptyRow(row) {
			continue
		}
		out = append(out, s.partnerFrom(record{l, row}, firstDataRow+i))
	}
	return out, nil
}

func partnerWithPhone(ps []domain.Partner, norm string) (domain.Partner, bool) {
	for _, p := range ps {
		if p.Phone == norm {
			return p, true
		}
	}
	return domain.Partner{}, false
}

// PartnerByPhone finds a partner by phone (any format). A miss in the cache
// re-reads the sheet once: the partner may have been added a minute ago.
func (s *Spreadsheet) PartnerByPhone(ctx context.Context, phone string) (domain.Partner, bool, error) {
	norm, ok := domain.NormalizePhone(phone)
	if !ok {
		return domain.Partner{}, false, nil
	}
	ps, err := s.Partners(ctx)
	if err != nil {
		return domain.Partner{}, false, err
	}
	if p, ok := partnerWithPhone(ps, norm); ok {
		return p, true, nil
	}
	if ps, err = s.RefreshPartners(ctx); err != nil {
		return domain.Partner{}, false, err
	}
	p, found := partnerWithPhone(ps, norm)
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

// AuthorizePartner binds a Telegram account to the partner's row: STATUS =
// authorized, Telegram ID, authorized_at, and bot_blocked_at cleared (a
// blocked mark belongs to the account that had the row before). The row is
// verified by its phone right before the write; if rows moved, the Auth
// sheet is read again (not the cache, which still has the old row) and the
// row found by its phone.
func (s *Spreadsheet) AuthorizePartner(ctx context.Context, p domain.Partner, telegramID int64, at time.Time) (domain.Partner, error) {
	werr, rerr := retryMoved(ctx, func() error {
		phone := p.Phone
		samePhone := func(v any) bool {
			got, _ := domain.NormalizePhone(cell([]any{v}, 0))
			return got == phone
		}
		return s.writeRow(ctx, SheetAuth, p.Row, []key{{fPhone, samePhone}}, []put{
			{fStatus, domain.PartnerStatusAuthorized}, {fTelegramID, idString(telegramID)},
			{fAuthorizedAt, s.fmtTime(at)}, {fBotBlockedAt, ""}})
	}, func() error {
		s.m.indexRebuilds.WithLabelValues(s.o.Titles.Auth).Inc()
		ps, err := s.RefreshPartners(ctx)
		if err != nil {
			return err
		}
		moved, found := partnerWithPhone(ps, p.Phone)
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
	p.Status, p.TelegramID, p.AuthorizedAt, p.BotBlockedAt = domain.PartnerStatusAuthorized, telegramID, at, time.Time{}
	return p, nil
}

// SetBotBlocked writes (or clears, with a zero time) bot_blocked_at on every
// Auth row bound to telegramID. Unknown users are not an error. When a row
// moved, the Auth sheet is read again and every row written again.
func (s *Spreadsheet) SetBotBlocked(ctx context.Context, telegramID int64, at time.Time) error {
	return s.writeBoundRows(ctx, telegramID, "mark %d blocked", nil, put{fBotBlockedAt, s.fmtTime(at)})
}

// SetOperatorsTopic writes the partner's topic in the operators' forum
// group (its message_thread_id; 0 clears it) on every Auth row bound to
// telegramID. Unknown users are not an error. When a row moved, the Auth
// sheet is read again and every row written again.
func (s *Spreadsheet) SetOperatorsTopic(ctx context.Context, telegramID int64, topicID int) error {
	same := func(p domain.Partner) bool { return p.OperatorsTopicID == topicID }
	return s.writeBoundRows(ctx, telegramID, "operators' topic of %d", same, put{fOperatorsTopicID, idString(int64(topicID))})
}

// writeBoundRows writes one cell on every Auth row bound to telegramID
// (skipping rows for which skip says the cell already holds it), guarded by
// the row's Telegram ID; when a row moved, the Auth sheet is read again and
// every row written again. what names the write in errors ("... %d ...").
func (s *Spreadsheet) writeBoundRows(ctx context.Context, telegramID int64, what string, skip func(domain.Partner) bool, cell put) error {
	wrap := func(err error) error { return fmt.Errorf("store: "+what+": %w", telegramID, err) }
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
			if p.TelegramID != telegramID || (skip != nil && skip(p)) {
				continue
			}
			err := s.writeRow(ctx, SheetAuth, p.Row, []key{{fTelegramID, cellIsInt(telegramID)}}, []put{cell})
			if errors.Is(err, sheets.ErrRowMoved) {
				return err
			}
			if err != nil {
				return wrap(err)
			}
		}
		s.cache.invalidate(cacheAuth)
		return nil
	})
	if errors.Is(err, sheets.ErrRowMoved) {
		return wrap(err)
	}
	return err
}
