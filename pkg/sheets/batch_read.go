package sheets

import (
	"context"
	"net/url"
)

func (b *batcher) readLoop() {
	defer b.wg.Done()
	ctx, cancel := b.loopContext()
	defer cancel()
	var pending []*readOp
	for {
		if len(pending) == 0 {
			select {
			case op := <-b.readQ:
				pending = append(pending, op)
			case <-ctx.Done():
				return
			}
		}
		pending = aliveReads(gather(ctx, b.readQ, pending, b.interval))
		if len(pending) == 0 {
			continue
		}
		if err := b.slot(ctx, quotaRead); err != nil {
			return // closed
		}
		batch, rest := b.splitReads(aliveReads(gather(ctx, b.readQ, pending, 0)))
		pending = rest
		if len(batch) == 0 {
			continue
		}
		b.spawn(func() { b.execReads(batch, true) })
	}
}

// splitReads takes callers in arrival order while the batchGet URL stays
// short enough and the batch within maxBatch callers.
func (b *batcher) splitReads(ops []*readOp) (batch, rest []*readOp) {
	size := 0
	seen := map[string]bool{}
	for i, op := range ops {
		add := 0
		for _, r := range op.ranges {
			if !seen[r] {
				add += len(url.QueryEscape(r)) + len("&ranges=")
			}
		}
		if i > 0 && (size+add > b.maxURL || i >= b.maxBatch) {
			return ops[:i], ops[i:]
		}
		for _, r := range op.ranges {
			seen[r] = true
		}
		size += add
	}
	return ops, nil
}

// execReads sends one batchGet for every distinct range of the batch and
// hands each caller its ranges.
func (b *batcher) execReads(batch []*readOp, preAcquired bool) {
	ctxs := make([]context.Context, len(batch))
	var ranges []string
	index := map[string]int{}
	for i, op := range batch {
		ctxs[i] = op.ctx
		for _, r := range op.ranges {
			if _, ok := index[r]; !ok {
				index[r] = len(ranges)
				ranges = append(ranges, r)
			}
		}
	}
	ctx, cancel := b.batchContext(ctxs)
	defer cancel()
	b.m.batchSize.WithLabelValues("read").Observe(float64(len(batch)))
	mark := b.shifts.mark()
	values, err := b.api.batchGet(ctx, ranges, preAcquired)
	if err != nil && isClientError(err) && len(batch) > 1 {
		// One bad range (a renamed sheet…) must not fail everybody: go one by one.
		for _, op := range batch {
			b.execReads([]*readOp{op}, false)
		}
		return
	}
	for _, op := range batch {
		if err != nil {
			b.m.ops.WithLabelValues("read", "error").Inc()
			op.res <- readResult{err: err}
			continue
		}
		out := make([][][]any, len(op.ranges))
		for i, r := range op.ranges {
			out[i] = values[index[r]]
		}
		b.m.ops.WithLabelValues("read", "ok").Inc()
		op.res <- readResult{values: out, mark: mark}
	}
}

func aliveReads(ops []*readOp) []*readOp {
	out := ops[:0]
	for _, op := range ops {
		if op.ctx.Err() == nil {
			out = append(out, op)
		}
	}
	return out
}
