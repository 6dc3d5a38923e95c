package sheets

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	sheetsapi "google.golang.org/api/sheets/v4"
)

// The batcher coalesces concurrent callers: every read waiting when a read
// request slot becomes free goes out in one values.batchGet, every write in
// one values.batchUpdate, and appends to one sheet in one values.append. Each
// caller still gets its own result or error. Slots come from the shared
// quota, so the number of requests per minute stays within budget however
// many callers there are; a busier system simply carries more per request.

type readOp struct {
	ctx    context.Context
	ranges []string
	res    chan readResult
}

type readResult struct {
	values [][][]any // per requested range: rows of cells
	err    error
}

type updateOp struct {
	ctx   context.Context
	guard *guard
	data  []*sheetsapi.ValueRange
	res   chan error
}

// guard makes a write conditional on the key cells of its row still holding
// the expected values; it is checked by a read right before the write.
type guard struct {
	sheet string
	rng   string               // A1 range of the row's key cells
	check func(row []any) bool // true when the row is still the one meant
}

func (g *guard) holds(row []any) bool { return g.check(row) }

// verifyFunc reports the rows (1-based) where the given idempotency keys
// already are; used after an ambiguous append failure.
type verifyFunc func(ctx context.Context, keys []string) (map[string]int, error)

type appendOp struct {
	ctx    context.Context
	sheet  string
	rows   [][]any
	key    string
	verify verifyFunc
	res    chan appendResult
}

type appendResult struct {
	firstRow int
	err      error
}

type batcher struct {
	c        *client
	batching bool
	interval time.Duration
	maxBatch int
	maxURL   int

	readQ  chan *readOp
	writeQ chan any
	sem    chan struct{}
	closed chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
}

func newBatcher(c *client, batching bool, interval time.Duration, maxBatch int) *batcher {
	b := &batcher{
		c: c, batching: batching, interval: interval, maxBatch: maxBatch, maxURL: 7000,
		readQ: make(chan *readOp, 4096), writeQ: make(chan any, 4096),
		sem: make(chan struct{}, 8), closed: make(chan struct{}),
	}
	if batching {
		b.wg.Add(2)
		go b.readLoop()
		go b.writeLoop()
	}
	return b
}

func (b *batcher) close() {
	b.once.Do(func() { close(b.closed) })
	b.wg.Wait()
}

var errClosed = errors.New("sheets: gateway closed")

// read returns the rows of every range, in order.
func (b *batcher) read(ctx context.Context, ranges ...string) ([][][]any, error) {
	if !b.batching {
		return b.doRead(ctx, ranges, false)
	}
	op := &readOp{ctx: ctx, ranges: ranges, res: make(chan readResult, 1)}
	select {
	case b.readQ <- op:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-b.closed:
		return nil, errClosed
	}
	select {
	case r := <-op.res:
		return r.values, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-b.closed:
		return nil, errClosed
	}
}

// update writes data (RAW), after checking g when it is not nil.
func (b *batcher) update(ctx context.Context, g *guard, data ...*sheetsapi.ValueRange) error {
	if !b.batching {
		if g != nil {
			rows, err := b.doRead(ctx, []string{g.rng}, false)
			if err != nil {
				return err
			}
			if !g.holds(firstRow(rows[0])) {
				b.c.m.rowMoved.WithLabelValues(g.sheet).Inc()
				return ErrRowMoved
			}
		}
		return b.doUpdate(ctx, data, false)
	}
	op := &updateOp{ctx: ctx, guard: g, data: data, res: make(chan error, 1)}
	return b.submitWrite(ctx, op, op.res)
}

// appendRows appends rows to sheet and returns the first row number they got.
func (b *batcher) appendRows(ctx context.Context, sheet string, rows [][]any, key string, verify verifyFunc) (int, error) {
	op := &appendOp{ctx: ctx, sheet: sheet, rows: rows, key: key, verify: verify, res: make(chan appendResult, 1)}
	if !b.batching {
		b.doAppend(sheet, []*appendOp{op}, false)
		r := <-op.res
		return r.firstRow, r.err
	}
	select {
	case b.writeQ <- op:
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-b.closed:
		return 0, errClosed
	}
	select {
	case r := <-op.res:
		return r.firstRow, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-b.closed:
		return 0, errClosed
	}
}

func (b *batcher) submitWrite(ctx context.Context, op any, res chan error) error {
	select {
	case b.writeQ <- op:
	case <-ctx.Done():
		return ctx.Err()
	case <-b.closed:
		return errClosed
	}
	select {
	case err := <-res:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-b.closed:
		return errClosed
	}
}

// loopContext is cancelled when the batcher closes.
func (b *batcher) loopContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-b.closed:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// batchContext lives until every caller in the batch has given up (or the
// gateway closes): a request carrying many callers is not abandoned because
// one of them is.
func (b *batcher) batchContext(ctxs []context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	left := len(ctxs)
	stops := make([]func() bool, 0, len(ctxs))
	for _, c := range ctxs {
		stops = append(stops, context.AfterFunc(c, func() {
			mu.Lock()
			left--
			done := left == 0
			mu.Unlock()
			if done {
				cancel()
			}
		}))
	}
	closeStop := context.AfterFunc(ctx, func() {})
	go func() {
		select {
		case <-b.closed:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, func() {
		for _, s := range stops {
			s()
		}
		closeStop()
		cancel()
	}
}

// ---- reads ----

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
		pending = gather(ctx, b.readQ, pending, b.interval)
		pending = aliveReads(pending)
		if len(pending) == 0 {
			continue
		}
		if err := b.c.wait(ctx, quotaRead); err != nil {
			if ctx.Err() != nil {
				return
			}
			sleepCtx(ctx, 200*time.Millisecond) // limiter unreachable: callers time out on their own
			continue
		}
		pending = gather(ctx, b.readQ, pending, 0)
		batch, rest := b.splitReads(aliveReads(pending))
		pending = rest
		if len(batch) == 0 {
			continue
		}
		b.sem <- struct{}{}
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			defer func() { <-b.sem }()
			b.execReads(batch, true)
		}()
	}
}

// splitReads takes callers in arrival order while the batchGet URL stays short enough.
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
	b.c.m.batchSize.WithLabelValues("read").Observe(float64(len(batch)))
	values, err := b.doRead(ctx, ranges, preAcquired)
	if err != nil && isClientError(err) && len(batch) > 1 {
		// One bad range (a renamed sheet…) must not fail everybody: go one by one.
		for _, op := range batch {
			b.execReads([]*readOp{op}, false)
		}
		return
	}
	for _, op := range batch {
		if err != nil {
			b.c.m.ops.WithLabelValues("read", "error").Inc()
			op.res <- readResult{err: err}
			continue
		}
		out := make([][][]any, len(op.ranges))
		for i, r := range op.ranges {
			out[i] = values[index[r]]
		}
		b.c.m.ops.WithLabelValues("read", "ok").Inc()
		op.res <- readResult{values: out}
	}
}

func (b *batcher) doRead(ctx context.Context, ranges []string, preAcquired bool) ([][][]any, error) {
	var resp *sheetsapi.BatchGetValuesResponse
	err := b.c.call(ctx, quotaRead, "values.batchGet", preAcquired, func(ctx context.Context) error {
		var err error
		resp, err = b.c.svc.Spreadsheets.Values.BatchGet(b.c.id).Ranges(ranges...).
			MajorDimension("ROWS").ValueRenderOption("UNFORMATTED_VALUE").
			DateTimeRenderOption("FORMATTED_STRING").Context(ctx).Do()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sheets: read %s: %w", strings.Join(ranges, ", "), err)
	}
	if len(resp.ValueRanges) != len(ranges) {
		return nil, fmt.Errorf("sheets: read: %d ranges asked, %d returned", len(ranges), len(resp.ValueRanges))
	}
	out := make([][][]any, len(ranges))
	for i, vr := range resp.ValueRanges {
		out[i] = vr.Values
	}
	return out, nil
}

// ---- writes ----

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
		pending = gather(ctx, b.writeQ, pending, b.interval)
		pending = aliveWrites(pending)
		if len(pending) == 0 {
			continue
		}
		if err := b.c.wait(ctx, quotaWrite); err != nil {
			if ctx.Err() != nil {
				return
			}
			sleepCtx(ctx, 200*time.Millisecond)
			continue
		}
		pending = aliveWrites(gather(ctx, b.writeQ, pending, 0))
		var updates []*updateOp
		appends := map[string][]*appendOp{}
		var order []string
		for len(pending) > 0 && len(updates)+len(appends) < b.maxBatch {
			switch op := pending[0].(type) {
			case *updateOp:
				updates = append(updates, op)
			case *appendOp:
				if _, ok := appends[op.sheet]; !ok {
					order = append(order, op.sheet)
				}
				appends[op.sheet] = append(appends[op.sheet], op)
			}
			pending = pending[1:]
		}
		b.sem <- struct{}{}
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			defer func() { <-b.sem }()
			tokenUsed := false
			if len(updates) > 0 {
				b.execUpdates(updates, true)
				tokenUsed = true
			}
			for _, sheet := range order {
				b.doAppend(sheet, appends[sheet], !tokenUsed)
				tokenUsed = true
			}
		}()
	}
}

func (b *batcher) execUpdates(batch []*updateOp, preAcquired bool) {
	ctxs := make([]context.Context, len(batch))
	for i, op := range batch {
		ctxs[i] = op.ctx
	}
	ctx, cancel := b.batchContext(ctxs)
	defer cancel()

	// Verify guarded rows right before writing, through the read batcher so the
	// check shares a read request with whatever else is being read.
	var guarded []*updateOp
	var ranges []string
	for _, op := range batch {
		if op.guard != nil {
			guarded = append(guarded, op)
			ranges = append(ranges, op.guard.rng)
		}
	}
	if len(guarded) > 0 {
		rows, err := b.read(ctx, ranges...)
		if err != nil {
			for _, op := range guarded {
				op.res <- fmt.Errorf("sheets: verify row before write: %w", err)
			}
			batch = without(batch, guarded)
		} else {
			var moved []*updateOp
			for i, op := range guarded {
				if !op.guard.holds(firstRow(rows[i])) {
					b.c.m.rowMoved.WithLabelValues(op.guard.sheet).Inc()
					op.res <- ErrRowMoved
					moved = append(moved, op)
				}
			}
			batch = without(batch, moved)
		}
	}
	if len(batch) == 0 {
		if preAcquired {
			// The slot is spent either way; nothing else to do with it.
			b.c.m.ops.WithLabelValues("update", "skipped").Add(0)
		}
		return
	}
	batch = liveUpdates(batch)
	if len(batch) == 0 {
		return
	}
	var data []*sheetsapi.ValueRange
	for _, op := range batch {
		data = append(data, op.data...)
	}
	b.c.m.batchSize.WithLabelValues("update").Observe(float64(len(batch)))
	err := b.doUpdate(ctx, data, preAcquired)
	if err != nil && isClientError(err) && len(batch) > 1 {
		// One bad write (a cell over 50,000 characters…) must not fail the others.
		for _, op := range batch {
			op.res <- b.doUpdate(op.ctx, op.data, false)
		}
		return
	}
	for _, op := range batch {
		b.c.m.ops.WithLabelValues("update", outcomeLabel(err)).Inc()
		op.res <- err
	}
}

func (b *batcher) doUpdate(ctx context.Context, data []*sheetsapi.ValueRange, preAcquired bool) error {
	req := &sheetsapi.BatchUpdateValuesRequest{ValueInputOption: "RAW", Data: data}
	err := b.c.call(ctx, quotaWrite, "values.batchUpdate", preAcquired, func(ctx context.Context) error {
		_, err := b.c.svc.Spreadsheets.Values.BatchUpdate(b.c.id, req).Context(ctx).Do()
		return err
	})
	if err != nil {
		return fmt.Errorf("sheets: write %d ranges: %w", len(data), err)
	}
	return nil
}

// doAppend appends the rows of every op in one request. After an ambiguous
// failure (the rows may have landed) it asks verify which keys are already
// in the sheet, resolves those callers with their rows, and appends only the rest.
func (b *batcher) doAppend(sheet string, ops []*appendOp, preAcquired bool) {
	ctxs := make([]context.Context, len(ops))
	for i, op := range ops {
		ctxs[i] = op.ctx
	}
	ctx, cancel := b.batchContext(ctxs)
	defer cancel()
	b.c.m.batchSize.WithLabelValues("append").Observe(float64(len(ops)))
	remaining := ops
	for len(remaining) > 0 {
		if remaining = liveAppends(remaining); len(remaining) == 0 {
			return
		}
		var rows [][]any
		for _, op := range remaining {
			rows = append(rows, op.rows...)
		}
		var resp *sheetsapi.AppendValuesResponse
		err := b.c.callNoAmbiguousRetry(ctx, quotaWrite, "values.append", preAcquired, func(ctx context.Context) error {
			var err error
			resp, err = b.c.svc.Spreadsheets.Values.Append(b.c.id, quoteTitle(sheet)+"!A1", &sheetsapi.ValueRange{Values: rows}).
				ValueInputOption("RAW").InsertDataOption("INSERT_ROWS").Context(ctx).Do()
			return err
		})
		preAcquired = false
		if err == nil {
			first, perr := firstUpdatedRow(resp)
			for _, op := range remaining {
				b.c.m.ops.WithLabelValues("append", outcomeLabel(perr)).Inc()
				op.res <- appendResult{firstRow: first, err: perr}
				first += len(op.rows)
			}
			return
		}
		if !ambiguous(err) || ctx.Err() != nil {
			if isClientError(err) && len(remaining) > 1 {
				for _, op := range remaining {
					b.doAppend(sheet, []*appendOp{op}, false)
				}
				return
			}
			for _, op := range remaining {
				b.c.m.ops.WithLabelValues("append", "error").Inc()
				op.res <- appendResult{err: fmt.Errorf("sheets: append to %s: %w", sheet, err)}
			}
			return
		}
		// The request may have been applied: look before appending again.
		var still []*appendOp
		for _, op := range remaining {
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
				b.c.m.ops.WithLabelValues("append", "ok").Inc()
				op.res <- appendResult{firstRow: row}
				continue
			}
			still = append(still, op)
		}
		remaining = still
		sleepCtx(ctx, 300*time.Millisecond)
	}
}

// callNoAmbiguousRetry is call for non-idempotent requests: it retries only
// failures that certainly did not apply the request, and hands the others
// back so the caller can look before trying again.
func (c *client) callNoAmbiguousRetry(ctx context.Context, kind quotaKind, method string, preAcquired bool, fn func(ctx context.Context) error) error {
	err := c.call(ctx, kind, method, preAcquired, func(ctx context.Context) error {
		if err := fn(ctx); ambiguous(err) {
			return noRetry{err}
		} else {
			return err
		}
	})
	var nr noRetry
	if errors.As(err, &nr) {
		return nr.err
	}
	return err
}

// noRetry stops the retry policy while still counting against the breaker.
type noRetry struct{ err error }

func (e noRetry) Error() string { return e.err.Error() }
func (e noRetry) Unwrap() error { return e.err }

func firstUpdatedRow(resp *sheetsapi.AppendValuesResponse) (int, error) {
	if resp == nil || resp.Updates == nil || resp.Updates.UpdatedRange == "" {
		return 0, errors.New("sheets: append response without updatedRange")
	}
	r, err := parseRange(resp.Updates.UpdatedRange)
	if err != nil {
		return 0, fmt.Errorf("sheets: append updatedRange %q: %w", resp.Updates.UpdatedRange, err)
	}
	return r.StartRow, nil
}

// ---- helpers ----

func gather[T any](ctx context.Context, q chan T, pending []T, window time.Duration) []T {
	var timer <-chan time.Time
	if window > 0 {
		t := time.NewTimer(window)
		defer t.Stop()
		timer = t.C
	}
	for {
		if window <= 0 {
			select {
			case op := <-q:
				pending = append(pending, op)
				continue
			default:
				return pending
			}
		}
		select {
		case op := <-q:
			pending = append(pending, op)
		case <-timer:
			return pending
		case <-ctx.Done():
			return pending
		}
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

func firstRow(rows [][]any) []any {
	if len(rows) == 0 {
		return nil
	}
	return rows[0]
}

func outcomeLabel(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
