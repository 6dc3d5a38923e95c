package chat

import (
	"context"
	"time"

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

// saveJob is an AI turn's write: the turns it adds and the status it sets
// (a function of the appeal it lands on), on the appeal as the unit found
// it.
type saveJob struct {
	open   opening
	u      unit
	read   sheetAppeal // the appeal as the unit read it
	ap     appealState // the appeal the unit worked on
	turns  []history.Turn
	status func(appealState) domain.AppealStatus
}

// startSave starts the write of an AI turn: after prev's, on the appeal
// prev left.
func (s *Service) startSave(ctx context.Context, job saveJob, prev *pendingSave) *pendingSave {
	want := job.ap.a
	want.History, _ = history.Append(job.ap.a.History, job.turns, s.loc)
	want.Status = job.status(job.ap)
	ps := &pendingSave{u: job.u, want: want, turns: job.turns, done: make(chan struct{})}
	go func() {
		defer close(ps.done)
		start := time.Now()
		ap := job.ap
		if prev != nil {
			if err := prev.wait(); err != nil {
				ps.err = err
				return
			}
			ap = s.appealAfter(job.open, job.read, &priorWrite{a: prev.res, turns: prev.turns})
		}
		ps.res, ps.err = s.storeAppeal(ctx, appealWrite{uid: job.open.uid, u: job.u, ap: ap, turns: job.turns, status: job.status(ap)})
		s.metrics.stage.WithLabelValues("save").Observe(time.Since(start).Seconds())
	}()
	return ps
}

// without drops the items of the unit being written (still in the inbox
// until the write lands).
func (ps *pendingSave) without(items []item) []item {
	if ps == nil {
		return items
	}
	out := items[:0:0]
	for _, it := range items {
		if !ps.u.has(it.Payload.UpdateID) {
			out = append(out, it)
		}
	}
	return out
}
