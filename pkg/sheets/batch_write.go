package sheets

import (
	"context"
	"errors"
	"fmt"

	"github.com/failsafe-go/failsafe-go"

	"marketingbot/pkg/sheets/a1"
)

func (b *batcher) writeLoop() {
	defer b.wg.Done()
	ctx, cancel := b.loopContext()
	defer cancel()
	var pending []any
	for {
		if len(pending) == 0 {
			select {
			case op := <-b.writeQ:
				pending = append(pending, op)
			case <-ctx.Done():
				return
			}
		}
		pending = aliveWrites(gather(ctx, b.writeQ, pending, b.interval))
		if len(pending) == 0 {
			continue
		}
		if err := b.slot(ctx, quotaWrite); err != nil {
			return // closed
		}
		var w writeBatch
		w, pending = b.takeWrites(aliveWrites(gather(ctx, b.writeQ, pending, 0)))
		b.spawn(func() { b.execWrites(w) })
	}
}

// writeBatch is what one write slot carries: the updates go out in one
// batchUpdate, the appends in one values.append per sheet.
type writeBatch struct {
	updates []*updateOp
	appends map[string][]*appendOp
	order   []string // sheets in the order their first append arrived
}

// takeWrites takes writes in arrival order up to maxBatch requests' worth.
func (b *batcher) takeWrites(pending []any) (writeBatch, []any) {
	w := writeBatch{appends: map[string][]*appendOp{}}
	for len(pending) > 0 && len(w.updates)+len(w.appends) < b.maxBatch {
		switch op := pending[0].(type) {
		case *updateOp:
			w.updates = append(w.updates, op)
		case *appendOp:
			if _, ok := w.appends[op.sheet]; !ok {
				w.order = append(w.order, op.sheet)
			}
			w.appends[op.sheet] = append(w.appends[op.sheet], op)
		}
		pending = pending[1:]
	}
	return w, pending
}

// execWrites sends a batch's requests; the slot the loop took pays for the
// first of them.
func (b *batcher) execWrites(w writeBatch) {
	slotUsed := false
	if len(w.updates) > 0 {
		b.execUpdates(w.updates, true)
		slotUsed = true
	}
	for _, sheet := range w.order {
		b.execAppends(sheet, w.appends[sheet], !slotUsed)
		slotUsed = true
	}
}

func (b *batcher) execUpdates(batch []*updateOp, preAcquired bool) {
	ctxs := make([]context.Context, len(batch))
	for i, op := range batch {
		ctxs[i] = op.ctx
	}
	ctx, cancel := b.batchContext(ctxs)
	defer cancel()
	if batch = b.checkGuards(ctx, batch); len(batch) == 0 {
		if preAcquired {
			// The slot is spent either way; nothing else to do with it.
			b.m.ops.WithLabelValues("update", "skipped").Add(0)
		}
		return
	}
	if batch = liveUpdates(batch); len(batch) == 0 {
		return
	}
	release, err := b.holdJudged(batch)
	if err != nil {
		for _, op := range batch {
			op.res <- err
		}
		return
	}
	defer release()
	if batch = b.stillJudged(batch); len(batch) == 0 {
		return
	}
	if batch = confirmed(ctx, b, batch, func(op *updateOp) string { return op.fleetID },
		func(op *updateOp) { op.res <- errNotConfirmed }); len(batch) == 0 {
		return
	}
	if batch = b.fencedUpdates(ctx, batch); len(batch) == 0 {
		return
	}
	var data []Values
	for _, op := range batch {
		data = append(data, op.data...)
	}
	b.m.batchSize.WithLabelValues("update").Observe(float64(len(batch)))
	err = b.api.batchUpdate(ctx, data, preAcquired)
	if err != nil && isClientError(err) && len(batch) > 1 {
		// One bad write (a cell over 50,000 characters…) must not fail the others.
		for _, op := range batch {
			op.res <- b.api.batchUpdate(op.ctx, op.data, false)
		}
		return
	}
	for _, op := range batch {
		b.m.ops.WithLabelValues("update", outcomeLabel(err)).Inc()
		op.res <- err
	}
}

// checkGuards verifies guarded rows right before writing, through the read
// batcher so the check shares a read request with whatever else is being
// read. It answers the updates that must not be written (row moved, check
// failed) and returns the others.
func (b *batcher) checkGuards(ctx context.Context, batch []*updateOp) []*updateOp {
	var guarded []*updateOp
	var ranges []string
	for _, op := range batch {
		if op.guard != nil {
			guarded = append(guarded, op)
			ranges = append(ranges, op.guard.ranges()...)
		}
	}
	if len(guarded) == 0 {
		return batch
	}
	r := b.readMarked(ctx, ranges...)
	if r.err != nil {
		for _, op := range guarded {
			op.res <- fmt.Errorf("sheets: verify row before write: %w", r.err)
		}
		return without(batch, guarded)
	}
	rows := r.values
	var moved []*updateOp
	for _, op := range guarded {
		n := len(op.guard.ranges())
		if err := op.guard.verdict(rows[:n]); err != nil {
			b.m.rowMoved.WithLabelValues(op.guard.Sheet).Inc()
			op.res <- err
			moved = append(moved, op)
		} else {
			op.judged = &judgement{mark: r.mark, ranges: op.guard.ranges()}
		}
		rows = rows[n:]
	}
	return without(batch, moved)
}

// execAppends appends the rows of every op in one request. After an
// ambiguous failure (the rows may have landed) each caller's verify is asked
// which keys are already in the sheet; those callers get their rows, and the
// rest are appended again (appendAgain).
func (b *batcher) execAppends(sheet string, ops []*appendOp, preAcquired bool) {
	ctxs := make([]context.Context, len(ops))
	for i, op := range ops {
		ctxs[i] = op.ctx
	}
	ctx, cancel := b.batchContext(ctxs)
	defer cancel()
	b.m.batchSize.WithLabelValues("append").Observe(float64(len(ops)))
	remaining := ops // not answered yet
	err := failsafe.With(b.appendAgain).WithContext(ctx).Run(func() error {
		// The request slot first: the sheet is not held while the quota
		// is waited for (guarded writes to it would wait too). Per-call
		// mode takes its slots inside each request, as the original did.
		if !preAcquired && b.batching {
			if err := b.slot(ctx, quotaWrite); err != nil {
				return err
			}
			preAcquired = true
		}
		// The sheet is held from before the checks: a fence checked here
		// holds until the rows have landed (fence.go).
		end, err := b.shifts.beginAppend(ctx, sheet)
		if err != nil {
			return err
		}
		if remaining = b.sendableAppends(ctx, remaining); len(remaining) == 0 {
			end("", errNotSent)
			return nil
		}
		var rows [][]any
		for _, op := range remaining {
			rows = append(rows, op.rows...)
		}
		rng, err := b.api.appendRows(ctx, sheet, rows, preAcquired)
		end(rng, err)
		preAcquired = false
		switch {
		case err == nil:
			b.answerAppended(remaining, rng)
		case !ambiguous(err) || ctx.Err() != nil:
			b.failAppends(sheet, remaining, err)
		default: // the request may have been applied: look before appending again
			if remaining = b.resolveAppended(ctx, sheet, remaining, err); len(remaining) > 0 {
				return errAppendAgain
			}
		}
		remaining = nil
		return nil
	})
	if err != nil { // ctx ended before the rows could be appended (again)
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		for _, op := range liveAppends(remaining) {
			op.res <- appendResult{err: fmt.Errorf("sheets: append to %s: %w", sheet, err)}
		}
	}
}

// sendableAppends answers the appends that must not go out now (caller
// gone, not confirmed waiting, fence lost) and returns the others.
func (b *batcher) sendableAppends(ctx context.Context, ops []*appendOp) []*appendOp {
	if ops = liveAppends(ops); len(ops) == 0 {
		return nil
	}
	if ops = confirmed(ctx, b, ops, func(op *appendOp) string { return op.fleetID },
		func(op *appendOp) { op.res <- appendResult{err: errNotConfirmed} }); len(ops) == 0 {
		return nil
	}
	return fenced(ctx, b, ops, func(op *appendOp) *Fence { return op.fence },
		func(op *appendOp, err error) { op.res <- appendResult{err: err} })
}

// fencedUpdates is fenced for updates.
func (b *batcher) fencedUpdates(ctx context.Context, ops []*updateOp) []*updateOp {
	return fenced(ctx, b, ops, func(op *updateOp) *Fence { return op.fence },
		func(op *updateOp, err error) { op.res <- err })
}

// answerAppended gives each caller its first row: rows were appended in the
// order of ops.
func (b *batcher) answerAppended(ops []*appendOp, updatedRange string) {
	first, err := firstUpdatedRow(updatedRange)
	for _, op := range ops {
		b.m.ops.WithLabelValues("append", outcomeLabel(err)).Inc()
		op.res <- appendResult{firstRow: first, err: err}
		first += len(op.rows)
	}
}

// failAppends answers callers whose append certainly failed; after a client
// error (one bad row) each is tried alone so the others still land.
func (b *batcher) failAppends(sheet string, ops []*appendOp, err error) {
	if isClientError(err) && len(ops) > 1 {
		for _, op := range ops {
			b.execAppends(sheet, []*appendOp{op}, false)
		}
		return
	}
	for _, op := range ops {
		b.m.ops.WithLabelValues("append", "error").Inc()
		op.res <- appendResult{err: fmt.Errorf("sheets: append to %s: %w", sheet, err)}
	}
}

// resolveAppended asks each caller's verify whether its rows landed despite
// err, answers the callers it can, and returns those to append again.
func (b *batcher) resolveAppended(ctx context.Context, sheet string, ops []*appendOp, err error) []*appendOp {
	var still []*appendOp
	for _, op := range ops {
		if op.askCaller {
			op.res <- appendResult{err: fmt.Errorf("sheets: append to %s: %w: %w", sheet, errAskCaller, err)}
			continue
		}
		if op.key == "" || op.verify == nil {
			still = append(still, op)
			continue
		}
		found, verr := op.verify(ctx, []string{op.key})
		if verr != nil {
			op.res <- appendResult{err: fmt.Errorf("sheets: append to %s: %v; verify: %w", sheet, err, verr)}
			continue
		}
		if row, ok := found[op.key]; ok {
			b.m.ops.WithLabelValues("append", "ok").Inc()
			op.res <- appendResult{firstRow: row}
			continue
		}
		still = append(still, op)
	}
	return still
}

func firstUpdatedRow(updatedRange string) (int, error) {
	if updatedRange == "" {
		return 0, errors.New("sheets: append response without updatedRange")
	}
	r, err := a1.Parse(updatedRange)
	if err != nil {
		return 0, fmt.Errorf("sheets: append updatedRange %q: %w", updatedRange, err)
	}
	return r.StartRow, nil
}

func aliveWrites(ops []any) []any {
	out := ops[:0]
	for _, op := range ops {
		var ctx context.Context
		switch o := op.(type) {
		case *updateOp:
			ctx = o.ctx
		case *appendOp:
			ctx = o.ctx
		}
		if ctx.Err() == nil {
			out = append(out, op)
		}
	}
	return out
}

// liveUpdates answers the callers that gave up while their batch waited
// (for the guard read, a request slot…) and returns the others. A write
// whose caller has gone must not go out late: the caller's task may be
// re-run elsewhere meanwhile, and a stale write landing after the re-run's
// would undo it.
func liveUpdates(ops []*updateOp) []*updateOp {
	out := ops[:0:0]
	for _, op := range ops {
		if err := op.ctx.Err(); err != nil {
			op.res <- err
			continue
		}
		out = append(out, op)
	}
	return out
}

// liveAppends is liveUpdates for appends: a row appended after its caller
// gave up could be appended a second time by the caller's re-run, which
// looks for it and does not find it yet.
func liveAppends(ops []*appendOp) []*appendOp {
	out := ops[:0:0]
	for _, op := range ops {
		if err := op.ctx.Err(); err != nil {
			op.res <- appendResult{err: err}
			continue
		}
		out = append(out, op)
	}
	return out
}

// confirmed asks, right before a write goes out, whether the callers of
// its carried operations are still waiting (their liveness keys in Redis,
// fleet.go): a caller that gave up while it could not reach Redis to
// withdraw must not see its write land late, after its task was re-run. The
// unconfirmed are refused (not sent), all of them when the answer cannot be
// had.
func confirmed[T any](ctx context.Context, b *batcher, ops []T, id func(T) string, refuse func(T)) []T {
	if b.confirm == nil {
		return ops
	}
	var ids []string
	for _, op := range ops {
		if i := id(op); i != "" {
			ids = append(ids, i)
		}
	}
	if len(ids) == 0 {
		return ops
	}
	ok, err := b.confirm(ctx, ids)
	out := ops[:0:0]
	for _, op := range ops {
		if i := id(op); i != "" && (err != nil || !ok[i]) {
			refuse(op)
			continue
		}
		out = append(out, op)
	}
	return out
}

func without(ops, drop []*updateOp) []*updateOp {
	if len(drop) == 0 {
		return ops
	}
	skip := map[*updateOp]bool{}
	for _, d := range drop {
		skip[d] = true
	}
	var out []*updateOp
	for _, op := range ops {
		if !skip[op] {
			out = append(out, op)
		}
	}
	return out
}
