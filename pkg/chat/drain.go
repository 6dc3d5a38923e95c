package chat

import (
	"context"
	"errors"
	"time"

	"marketingbot/pkg/domain"
)

// maxAttempts bounds retries of one unit before the user gets an apology and
// the unit is dropped (so a poisoned update cannot block the inbox).
const maxAttempts = 6

// drainUser drains the user's inbox while holding the user's lease; see doc.go.
func (s *Service) drainUser(ctx context.Context, uid int64) error {
	for {
		progress, err := s.drainHeld(ctx, uid)
		if errors.Is(err, errLocked) {
			return nil // the holder drains
		}
		if err != nil {
			return err
		}
		if !progress {
			// Waiting for an earlier update of this user; its task drains.
			// Unless it arrived after our pass looked and before we let the
			// lease go: its task found the lease taken and left it to us.
			if ready, err := s.readyNow(ctx, uid); err != nil || !ready {
				return err
			}
			continue
		}
		// Anything that arrived while we held the lock and found it taken?
		if empty, err := s.ib.retire(ctx, uid); err != nil || empty {
			return err
		}
	}
}

// drainHeld takes the user's lease, drains the inbox under it and lets it
// go; errLocked when another worker holds it.
func (s *Service) drainHeld(ctx context.Context, uid int64) (progress bool, err error) {
	ttl := s.o.LockTTL
	l, err := s.ib.lock(ctx, uid, ttl)
	if err != nil {
		return false, err
	}
	workCtx, cancel := context.WithCancel(ctx)
	workCtx = withLease(workCtx, l, ttl, cancel)
	stopRenew := s.keepLease(workCtx, cancel, l, ttl)
	progress, err = s.process(workCtx, uid)
	stopRenew()
	cancel()
	l.release(context.WithoutCancel(ctx))
	return progress, err
}

// keepLease renews the lease while work goes on; losing it cancels the work.
func (s *Service) keepLease(ctx context.Context, cancel context.CancelFunc, l *lease, ttl time.Duration) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				ok, err := l.renew(context.WithoutCancel(ctx), ttl)
				if err == nil && !ok {
					s.log.Warn("lost the user's lease; stopping", "telegram_id", l.uid)
					cancel()
					return
				}
			}
		}
	}()
	return func() { close(done) }
}

// drain is one pass over a user's inbox under the lease: it takes one unit
// at a time; re-reading the inbox between units keeps late arrivals in
// order and lets authorization change mid-way. It stops at a gap in the
// user's chain: an earlier update whose task has not reached the inbox yet;
// that task drains when it arrives.
type drain struct {
	s   *Service
	uid int64
	// prev is the write of the last AI turn, running in the background
	// (pipeline.go); its unit leaves the inbox when the write has landed.
	prev *pendingSave
	// progress: some update was taken up (false means the pass waited at a gap).
	progress bool
	// gapNoted: updates this pass took up without their predecessor (counted once).
	gapNoted map[int64]bool
}

// process runs a drain pass; every write it started has finished when it returns.
func (s *Service) process(ctx context.Context, uid int64) (progress bool, err error) {
	d := &drain{s: s, uid: uid}
	err = d.run(ctx)
	if serr := d.settle(ctx); err == nil {
		err = serr
	}
	return d.progress, err
}

func (d *drain) run(ctx context.Context) error {
	for ctx.Err() == nil {
		items, err := d.pending(ctx)
		if err != nil {
			return err
		}
		if len(items) == 0 {
			if d.prev == nil {
				return nil
			}
			if err := d.settle(ctx); err != nil {
				return err
			}
			continue // something may have arrived meanwhile
		}
		d.progress = true
		if err := d.step(ctx, items); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// pending is what can be taken up now: the inbox up to the first gap, less
// the unit being written.
func (d *drain) pending(ctx context.Context) ([]item, error) {
	items, err := d.s.ib.pending(ctx, d.uid)
	var gaps []item
	if err == nil {
		items, gaps, err = d.s.readyPast(ctx, d.uid, items)
	}
	if err != nil {
		return nil, err
	}
	for _, it := range gaps {
		if id := it.Payload.UpdateID; !d.gapNoted[id] {
			if d.gapNoted == nil {
				d.gapNoted = map[int64]bool{}
			}
			d.gapNoted[id] = true
			d.s.metrics.gapTimeouts.Inc()
			d.s.log.Warn("predecessor update never arrived; going on without it", "telegram_id", d.uid, "update_id", id, "prev", it.Payload.Prev)
		}
	}
	return d.prev.without(items), nil
}

// step takes up the first unit of items.
func (d *drain) step(ctx context.Context, items []item) error {
	p, authorized, err := d.s.partnerOf(ctx, d.uid)
	if err != nil {
		return err
	}
	u, err := d.s.next(ctx, d.uid, items, authorized)
	if err != nil { // unreadable update: drop it
		d.s.log.Error("unreadable update dropped", "telegram_id", d.uid, "update_id", items[0].Payload.UpdateID, "err", err)
		return d.s.ib.complete(ctx, d.uid, items[0].Payload.UpdateID)
	}
	if authorized && u.kind == unitText {
		// The text that follows "add a comment" is the rating's comment (rating.go).
		if created, ok, err := d.s.pendingComment(ctx, d.uid, u); err != nil || ok {
			if err == nil {
				err = d.settle(ctx)
			}
			if err != nil {
				return err
			}
			return d.finish(ctx, u, d.s.ratingComment(ctx, d.uid, p, u, created))
		}
	}
	if authorized && (u.kind == unitText || u.kind == unitEdited) {
		return d.aiTurn(ctx, p, u)
	}
	if err := d.settle(ctx); err != nil {
		return err
	}
	return d.finish(ctx, u, d.s.run(ctx, d.uid, p, authorized, u))
}

// aiTurn answers a unit of texts; its write goes on in the background while
// the next unit is taken up.
func (d *drain) aiTurn(ctx context.Context, p domain.Partner, u unit) error {
	ps, err := d.s.aiTurn(ctx, d.uid, p, u, d.prev)
	if serr := d.settle(ctx); serr != nil { // ps (if any) waits for prev itself
		if ps != nil {
			_ = ps.wait()
		}
		return serr
	}
	if err == nil && ps != nil {
		d.prev = ps
		return nil
	}
	return d.finish(ctx, u, err)
}

// settle waits for the write in the background and finishes its unit.
func (d *drain) settle(ctx context.Context) error {
	if d.prev == nil {
		return nil
	}
	ps := d.prev
	d.prev = nil
	return d.finish(ctx, ps.u, ps.wait())
}

// finish takes a unit out of the inbox after its run; a failed run stays
// for the task's retry unless it is given up (unitFailed).
func (d *drain) finish(ctx context.Context, u unit, runErr error) error {
	if runErr != nil {
		if err := d.s.unitFailed(ctx, d.uid, u, runErr); err != nil {
			return err
		}
	}
	return d.s.ib.complete(ctx, d.uid, u.ids()...)
}

// unitFailed decides about a unit whose run failed: nil means give up on it
// (after maxAttempts; the user gets an apology and the unit leaves the
// inbox), an error leaves it in the inbox for the task's retry.
func (s *Service) unitFailed(ctx context.Context, uid int64, u unit, err error) error {
	if ctx.Err() != nil {
		return err
	}
	n, aerr := s.ib.attempt(ctx, uid, u.lastID())
	if aerr != nil || n < maxAttempts {
		return err
	}
	s.log.Error("giving up on a chat unit after repeated failures", "telegram_id", uid, "update_id", u.lastID(), "attempts", n, "err", err)
	s.metrics.turns.WithLabelValues("given_up").Inc()
	s.givenUp(ctx, uid, u)
	return nil
}

// readyNow reports whether the user's inbox has something to take up now.
func (s *Service) readyNow(ctx context.Context, uid int64) (bool, error) {
	items, err := s.ib.pending(ctx, uid)
	if err == nil && len(items) > 0 {
		items, err = s.ready(ctx, uid, items)
	}
	return len(items) > 0, err
}

func (s *Service) partnerOf(ctx context.Context, uid int64) (domain.Partner, bool, error) {
	p, found, err := s.d.Store.PartnerByTelegramID(ctx, uid)
	if err != nil {
		return p, false, err
	}
	return p, found && p.Authorized(), nil
}

// run executes a unit other than an authorized user's AI turn (which the
// drain pipelines, see drain.aiTurn).
func (s *Service) run(ctx context.Context, uid int64, p domain.Partner, authorized bool, u unit) error {
	switch u.kind {
	case unitOperatorReply:
		return s.operatorReply(ctx, uid, p, u)
	case unitOperatorAction:
		return s.operatorAction(ctx, uid, p, u)
	case unitMember:
		return s.member(ctx, uid, p, authorized, u)
	case unitUnknownButton:
		return nil // answered when it came; it only passes the user's chain on
	}
	if !authorized {
		s.metrics.turns.WithLabelValues("auth").Inc()
		return s.authorize(ctx, uid, u)
	}
	switch u.kind {
	case unitText, unitEdited:
		ps, err := s.aiTurn(ctx, uid, p, u, nil)
		if err != nil {
			return err
		}
		return ps.wait()
	case unitCommand:
		s.metrics.turns.WithLabelValues("command").Inc()
		return s.command(ctx, uid, p, u)
	case unitEscalate:
		return s.escalate(ctx, uid, p, u)
	case unitCallback:
		if q := u.upd[0].CallbackQuery; q != nil && q.Data == callbackEscalate {
			return s.escalate(ctx, uid, p, u)
		}
		return nil
	case unitRate:
		s.metrics.turns.WithLabelValues("rating").Inc()
		return s.ratePressed(ctx, uid, p, u)
	case unitContact:
		if _, binding, err := s.ib.stepDone(ctx, stepRef{uid, u.lastID(), "prev_account"}); err != nil {
			return err
		} else if binding { // a re-run of the unit that bound the row: finish it
			return s.authorize(ctx, uid, u)
		}
		s.metrics.turns.WithLabelValues("contact").Inc()
		_, err := s.sendOnce(ctx, stepRef{uid, u.lastID(), "reply"}, s.tx.Render(s.tx.AlreadyAuthorized, map[string]any{"Name": firstName(p)}), nil)
		return err
	case unitMedia:
		s.metrics.turns.WithLabelValues("media").Inc()
		return s.media(ctx, uid, p, u)
	case unitEmpty:
		_, err := s.sendOnce(ctx, stepRef{uid, u.lastID(), "reply"}, s.tx.EmptyText, nil)
		return err
	}
	return nil
}
