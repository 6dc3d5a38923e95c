package promo

import (
	"context"
	"errors"
	"time"

	"marketingbot/pkg/domain"
)

// sheetWriteTimeout bounds one progress or final write (quota waits and
// retries included); it stays under the lock's one-minute expiry.
const sheetWriteTimeout = 45 * time.Second

// report writes the counters to the row and, once every recipient is
// processed (and every pending Auth G write done), finalizes the broadcast: Отправлено with finished_at (or just
// the counters if it was cancelled), the operators' note, out of the active
// set. Writes for one promotion are serialized by a lock and read the
// counters under it, so the row never goes back to older numbers. wait says
// whether to wait for the lock; a progress write that finds it taken is
// skipped, the next one carries its numbers.
func (s *Service) report(ctx context.Context, id string, wait bool) error {
	unlock, ok, err := s.lock(ctx, id, wait)
	if err != nil || !ok {
		return err
	}
	defer unlock()

	st, err := s.loadState(ctx, id)
	if err != nil {
		return err
	}
	if st.Finalized || st.Phase != phaseSending {
		return nil
	}
	pipe := s.d.Redis.Pipeline()
	processed := pipe.SCard(ctx, s.processedKey(id))
	pendingBlocks := pipe.SCard(ctx, s.blockedKey(id))
	if _, err := pipe.Exec(ctx); err != nil {
		return promoErr("progress", id, err)
	}
	// The end waits for the Auth G writes of those who blocked the bot, so
	// that Отправлено means every effect of the broadcast is in the sheet.
	done := int(processed.Val()) >= st.Total && pendingBlocks.Val() == 0
	if !done && st.counters() == st.Reported {
		return nil
	}

	p := domain.Promotion{ID: id, Row: st.Row, Title: st.Title, Sent: st.Sent, Failed: st.Failed, Blocked: st.Blocked}
	fields := []domain.PromotionField{domain.PromotionFieldCounters}
	if done && !st.Cancelled {
		if st.FinishedAt.IsZero() {
			// Fixed once, so that a retried final write writes the same time.
			if err := s.d.Redis.HSetNX(ctx, s.stateKey(id), "finished_at", s.now().UnixMilli()).Err(); err != nil {
				return promoErr("finish", id, err)
			}
			if st, err = s.loadState(ctx, id); err != nil {
				return err
			}
		}
		p.Status, p.FinishedAt = domain.PromotionSent, st.FinishedAt
		fields = append(fields, domain.PromotionFieldStatus, domain.PromotionFieldFinishedAt)
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sheetWriteTimeout)
	defer cancel()
	written, err := s.d.Store.UpdatePromotion(wctx, p, fields...)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		// The row was deleted: nothing to write to, but the broadcast still ends.
		s.d.Log.Warn("promo: the promotion's row is gone; counters not written", "promotion_id", id, "counters", st.counters())
	case err != nil:
		return promoErr("write progress", id, err)
	default:
		if err := s.d.Redis.HSet(ctx, s.stateKey(id), "reported", st.counters(), "row", written.Row).Err(); err != nil {
			return promoErr("progress", id, err)
		}
	}
	if !done {
		return nil
	}
	return s.finalize(ctx, id, st)
}

// finalize runs once per broadcast (SETNX), after the final write.
func (s *Service) finalize(ctx context.Context, id string, st state) error {
	won, err := s.d.Redis.HSetNX(ctx, s.stateKey(id), "finalized", "1").Result()
	if err != nil {
		return promoErr("finalize", id, err)
	}
	if !won {
		return nil
	}
	pipe := s.d.Redis.TxPipeline()
	pipe.HSet(ctx, s.stateKey(id), "phase", phaseDone)
	pipe.SRem(ctx, s.activeKey(), id)
	pipe.Expire(ctx, s.stateKey(id), stateTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		return promoErr("finalize", id, err)
	}
	log := s.d.Log.With("promotion_id", id, "sent", st.Sent, "failed", st.Failed, "blocked", st.Blocked, "skipped", st.Skipped)
	if st.Cancelled {
		log.Info("promo: cancelled broadcast drained")
		return nil
	}
	log.Info("promo: broadcast finished")
	s.broadcasts.WithLabelValues("finished").Inc()
	s.notifyOperators(ctx, s.render(s.d.Texts.PromoFinished, map[string]any{
		"Title": titleOf(domain.Promotion{ID: id, Title: st.Title}), "Sent": st.Sent, "Failed": st.Failed, "Blocked": st.Blocked,
	}))
	return nil
}

// cancel stops a broadcast whose row went back to Черновик: the flag every
// send checks, the operators' note (once), and the counters written.
func (s *Service) cancel(ctx context.Context, p domain.Promotion) error {
	won, err := s.d.Redis.HSetNX(ctx, s.stateKey(p.ID), "cancelled", "1").Result()
	if err != nil {
		return promoErr("cancel", p.ID, err)
	}
	if won {
		st, err := s.loadState(ctx, p.ID)
		if err != nil {
			return err
		}
		s.d.Log.Info("promo: broadcast cancelled: the row is back to Черновик", "promotion_id", p.ID, "sent", st.Sent)
		s.broadcasts.WithLabelValues("cancelled").Inc()
		s.notifyOperators(ctx, s.render(s.d.Texts.PromoStopped, map[string]any{"Title": titleOf(p), "Sent": st.Sent}))
	}
	return s.report(ctx, p.ID, true)
}
