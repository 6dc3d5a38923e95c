package promo

import (
	"context"
	"errors"
	"slices"
	"time"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/projection"
	"marketingbot/pkg/scan"
)

// Scanner is the poller's job "promotions": due broadcasts, cancellations,
// unfinished ends, and the Mini App's promotions list, from one read of the
// Promotions sheet per scan.
func (s *Service) Scanner() scan.Scanner {
	return scan.ScanFunc{N: "promotions", F: s.scan}
}

func (s *Service) scan(ctx context.Context) error {
	// The active set is read before the sheet: a broadcast recorded after
	// the read must not be judged by a row read before it was started.
	active, err := s.d.Redis.SMembers(ctx, s.activeKey()).Result()
	if err != nil {
		return promoErr("scan", "active", err)
	}
	rows, err := s.d.Store.Promotions(ctx)
	if err != nil {
		return err
	}
	now := s.now()
	isActive := make(map[string]bool, len(active))
	for _, id := range active {
		isActive[id] = true
	}
	var errs []error
	for i, p := range rows {
		var err error
		switch p.Status {
		case domain.PromotionScheduled:
			if p.StartsAt.IsZero() || !p.StartsAt.After(now) {
				// The new status also goes into this scan's projection.
				rows[i].Status, err = s.startScheduled(ctx, p)
			}
		case domain.PromotionDraft:
			if isActive[p.ID] {
				err = s.cancel(ctx, p)
			}
		case domain.PromotionSending:
			err = s.checkSending(ctx, p)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := s.project(ctx, rows, now); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// startScheduled starts a due row and returns its new status; a repeat of
// a finished broadcast is refused and the row marked Ошибка, once.
func (s *Service) startScheduled(ctx context.Context, p domain.Promotion) (domain.PromotionStatus, error) {
	err := s.start(ctx, p, "")
	switch {
	case err == nil:
		return domain.PromotionSending, nil
	case !errors.Is(err, errAlreadySent):
		return p.Status, err
	}
	s.d.Log.Warn("promo: not sent again: this promotion id was already broadcast", "promotion_id", p.ID)
	if err := s.setStatus(ctx, p, domain.PromotionFailed); err != nil {
		return p.Status, err
	}
	s.notifyOperators(ctx, s.render(s.d.Texts.PromoRepeated, map[string]any{"Title": titleOf(p), "ID": p.ID}))
	return domain.PromotionFailed, nil
}

// checkSending keeps Отправляется rows moving: a broadcast whose task was
// lost is enqueued again, and one whose final write failed is finished.
func (s *Service) checkSending(ctx context.Context, p domain.Promotion) error {
	st, err := s.loadState(ctx, p.ID)
	if err != nil {
		return err
	}
	switch st.Phase {
	case phaseStarting:
		return s.ensureTask(ctx, p.ID, st.Operator)
	case phaseSending:
		if st.Finalized {
			return nil
		}
		n, err := s.d.Redis.SCard(ctx, s.processedKey(p.ID)).Result()
		if err != nil {
			return promoErr("scan", p.ID, err)
		}
		if int(n) >= st.Total {
			return s.report(ctx, p.ID, true)
		}
	case "":
		// Not started by us (an imported sheet, a hand edit): sending it
		// now could reach people who already got it.
		s.d.Log.Warn("promo: row is Отправляется but no broadcast of ours exists; set it to Запланировано to send it", "promotion_id", p.ID)
	}
	return nil
}

// project publishes the promotions the Mini App lists: sending or sent,
// started within projectionWindow, newest first.
func (s *Service) project(ctx context.Context, rows []domain.Promotion, now time.Time) error {
	var list []projection.Promotion
	for _, p := range rows {
		if p.Status != domain.PromotionSending && p.Status != domain.PromotionSent {
			continue
		}
		started := startedAt(p, now)
		if now.Sub(started) > projectionWindow {
			continue
		}
		list = append(list, projection.Promotion{ID: p.ID, Title: p.Title, Text: p.Text, ImageURL: p.ImageURL,
			StartsAt: started, Audience: audienceLabel(p.Audience)})
	}
	slices.SortStableFunc(list, func(a, b projection.Promotion) int { return b.StartsAt.Compare(a.StartsAt) })
	ttl := max(10*time.Minute, 10*s.o.ScanInterval)
	return s.d.Projection.PutPromotions(ctx, list, ttl)
}

// startedAt is when a sending or sent promotion began: starts_at, unless an
// operator started it early or it has none; then its end, or now if it is
// still sending.
func startedAt(p domain.Promotion, now time.Time) time.Time {
	switch {
	case !p.StartsAt.IsZero() && !p.StartsAt.After(now):
		return p.StartsAt
	case !p.FinishedAt.IsZero():
		return p.FinishedAt
	default:
		return now
	}
}
