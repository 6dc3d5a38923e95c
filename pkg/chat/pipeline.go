package chat

import (
	"context"
	"time"

	"github.com/mymmrac/telego"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/history"
)

// Pipelined saves. Under Google's quota a sheet write waits for its slot
// (up to a second or two), and a user who types two messages in a row would
// wait for the first one's write before the second is even read. So while
// the drain holds the user's lease, an AI turn's write runs in the
// background and the next unit is read and answered meanwhile:
//
//   - the next unit reads the sheet as always (stateless) and adds the turns
//     the previous write carries, so the model sees them;
//   - its own write starts only after the previous one finished, on the
//     appeal that write left (the row it created, or the row as re-read
//     with the previous turns added): writes of one user stay in order and
//     a read-modify-write never overtakes another;
//   - a unit leaves the inbox only after its write landed, so a crash at
//     any point re-runs it, and the step markers make the re-run send
//     nothing twice (and unitBoundaries keeps its messages together).
//
// Nothing of this outlives the drain: the lease ends only after every
// write of it finished.

// pendingSave is an AI turn's sheet write running in the background.
type pendingSave struct {
	u     unit
	want  domain.Appeal  // the appeal as the write will leave it (Row unknown for a new one)
	turns []history.Turn // the turns it writes
	done  chan struct{}
	res   domain.Appeal // after done: the user's current appeal
	err   error         // after done
}

// wait returns the write's outcome; a nil pendingSave has none.
func (ps *pendingSave) wait() error {
	if ps == nil {
		return nil
	}
	<-ps.done
	return ps.err
}

// appealAfter is the state a unit works on: the appeal read from the sheet
// (raw, found), taking into account the write of the unit before (prev, the
// appeal it leaves and the turns it adds), which may not have landed when
// the sheet was read. A closed appeal (Решено) or none means a new row.
func (s *Service) appealAfter(uid int64, p domain.Partner, user *telego.User, first time.Time, raw domain.Appeal, found bool, prev *domain.Appeal, prevTurns []history.Turn) appealState {
	cur, ok := raw, found
	if prev != nil {
		landed := found && sameAppeal(raw, *prev)
		switch {
		case !landed:
			// The sheet does not show the previous write's row yet (a new
			// row being appended): that row is the current appeal.
			cur, ok = *prev, true
		case !raw.Closed():
			cur.History, _ = history.Append(raw.History, prevTurns, s.loc)
			if len(prevTurns) > 0 && !history.Contains(raw.History, prevTurns[len(prevTurns)-1].ID) {
				cur.Status = prev.Status // read before the write landed
			}
		}
	}
	if ok && !cur.Closed() {
		return appealState{a: cur, exists: true}
	}
	return appealState{a: domain.Appeal{CreatedAt: afterAppeal(first, cur, ok), TelegramID: uid, PartnerCode: p.Code,
		UserName: displayName(p, user), Status: domain.AppealStatusNew}}
}

// sameAppeal: a row is known by (Telegram ID, created_at to the second).
func sameAppeal(a, b domain.Appeal) bool {
	return a.TelegramID == b.TelegramID && a.CreatedAt.Truncate(time.Second).Equal(b.CreatedAt.Truncate(time.Second))
}

// startSave starts the write of an AI turn: after prev's, on the appeal
// prev left.
func (s *Service) startSave(ctx context.Context, uid int64, p domain.Partner, u unit, raw domain.Appeal, found bool,
	ap appealState, turns []history.Turn, status func(appealState) domain.AppealStatus, prev *pendingSave) *pendingSave {
	want := ap.a
	want.History, _ = history.Append(ap.a.History, turns, s.loc)
	want.Status = status(ap)
	ps := &pendingSave{u: u, want: want, turns: turns, done: make(chan struct{})}
	go func() {
		defer close(ps.done)
		start := time.Now()
		if prev != nil {
			if err := prev.wait(); err != nil {
				ps.err = err
				return
			}
			userTurns, _ := s.userTurns(u)
			ap = s.appealAfter(uid, p, u.message(0).From, userTurns[0].Time, raw, found, &prev.res, prev.turns)
		}
		ps.res, ps.err = s.storeAppeal(ctx, uid, u, ap, turns, status(ap), nil)
		s.metrics.stage.WithLabelValues("save").Observe(time.Since(start).Seconds())
	}()
	return ps
}
