package sheets

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	"github.com/redis/go-redis/v9"
)

// The batcher coalesces concurrent callers: every read waiting when a read
// request slot becomes free goes out in one values.batchGet, every write in
// one values.batchUpdate, and appends to one sheet in one values.append. Each
// caller still gets its own result or error. Slots come from the shared
// quota, so the number of requests per minute stays within budget however
// many callers there are; a busier system simply carries more per request.

// api sends one request of each kind the batcher makes, with whatever stands
// between it and Google (quota, retries, breaker, timeout). *service is the
// real one; the unit tests use a fake.
type api interface {
	// acquire takes one request slot of kind from the shared budget.
	acquire(ctx context.Context, kind quotaKind) error
	// batchGet reads ranges in one values.batchGet: per range, rows of cells.
	// preAcquired: the slot for the first attempt is already taken.
	batchGet(ctx context.Context, ranges []string, preAcquired bool) ([][][]any, error)
	// batchUpdate writes data (RAW) in one values.batchUpdate.
	batchUpdate(ctx context.Context, data []Values, preAcquired bool) error
	// appendRows is one values.append to sheet, retried only when the failure
	// certainly did not apply it; it returns the range the rows got.
	appendRows(ctx context.Context, sheet string, rows [][]any, preAcquired bool) (updatedRange string, err error)
}

type readOp struct {
	ctx    context.Context
	ranges []string
	res    chan readResult
}

type readResult struct {
	values [][][]any // per requested range: rows of cells
	mark   shiftMark // taken right before the request went out (shift.go)
	err    error
}

type updateOp struct {
	ctx     context.Context
	guard   *Guard
	data    []Values
	fleetID string // a fleet operation carried for its caller (fleet.go); "" for local callers
	// judged, when set, is the guard read the write was judged on (for a
	// carried write, by its caller): the write is not sent if rows it or
	// the guard touch may have moved since (shift.go).
	judged *judgement
	fence  *Fence // WithFence's, checked right before the write goes out
	res    chan error
}

// judgement is a guard read a write was judged on: its mark and the ranges
// it read.
type judgement struct {
	mark   shiftMark
	ranges []string
	reach  map[string]int // per sheet, the lowest row the write relies on (set by holdJudged)
}

type appendOp struct {
	ctx    context.Context
	sheet  string
	rows   [][]any
	key    string
	verify VerifyFunc
	// askCaller: after an ambiguous failure the op is answered with
	// errAskCaller instead of looked up (its verify lives in another
	// process of the fleet).
	askCaller bool
	fleetID   string // as in updateOp
	fence     *Fence // as in updateOp
	res       chan appendResult
}

type appendResult struct {
	firstRow int
	err      error
}

type batchOptions struct {
	rdb      redis.UniversalClient // fences are checked here (fence.go)
	batching bool
	interval time.Duration
	maxBatch int
}

// errNotConfirmed answers a carried write whose caller could not be
// confirmed as still waiting right before it would have gone out; it was
// not sent, and its caller (if still there) queues it again.
var errNotConfirmed = errors.New("sheets: the caller of the write is no longer waiting; not sent")

type batcher struct {
	api api
	rdb redis.UniversalClient // nil: a fenced write is refused
	m   *metrics
	// confirm, when set (a fleet carrier), says which carried writes'
	// callers are still waiting; the others are not sent.
	confirm  func(ctx context.Context, ids []string) (map[string]bool, error)
	batching bool
	interval time.Duration
	maxBatch int
	maxURL   int

	// slotRetry asks an unreachable limiter again every 200 ms; the callers
	// of the waiting batch time out on their own meanwhile.
	slotRetry retrypolicy.RetryPolicy[any]
	// appendAgain appends, 300 ms after an ambiguous failure, the rows its
	// callers did not find in the sheet.
	appendAgain retrypolicy.RetryPolicy[any]

	// shifts orders appends against guarded writes (shift.go).
	shifts *rowShifts
	// staleAgain judges a guarded write again when rows moved under it.
	staleAgain retrypolicy.RetryPolicy[any]

	readQ  chan *readOp
	writeQ chan any // *updateOp or *appendOp, in arrival order
	sem    chan struct{}
	closed chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
}

// errAppendAgain asks appendAgain for one more attempt.
var errAppendAgain = errors.New("sheets: append the rows not found again")

func newBatcher(a api, m *metrics, o batchOptions) *batcher {
	b := &batcher{
		api: a, rdb: o.rdb, m: m, batching: o.batching, interval: o.interval, maxBatch: o.maxBatch, maxURL: 7000,
		slotRetry: retrypolicy.NewBuilder[any]().WithMaxRetries(-1).WithDelay(200 * time.Millisecond).
			ReturnLastFailure().Build(),
		appendAgain: retrypolicy.NewBuilder[any]().HandleErrors(errAppendAgain).WithMaxRetries(-1).
			WithDelay(300 * time.Millisecond).ReturnLastFailure().Build(),
		shifts: newRowShifts(),
		staleAgain: retrypolicy.NewBuilder[any]().HandleErrors(errGuardStale).WithMaxRetries(-1).
			WithDelay(20 * time.Millisecond).ReturnLastFailure().Build(),
		readQ: make(chan *readOp, 4096), writeQ: make(chan any, 4096),
		sem: make(chan struct{}, 8), closed: make(chan struct{}),
	}
	if o.batching {
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

var errClosed = errors.New("sheets: client closed")

// read returns the rows of every range, in order.
func (b *batcher) read(ctx context.Context, ranges ...string) ([][][]any, error) {
	r := b.readMarked(ctx, ranges...)
	return r.values, r.err
}

// readMarked is read with the mark taken right before the request went
// out, for a guard judged on what it returns.
func (b *batcher) readMarked(ctx context.Context, ranges ...string) readResult {
	if !b.batching {
		m := b.shifts.mark()
		v, err := b.api.batchGet(ctx, ranges, false)
		return readResult{values: v, mark: m, err: err}
	}
	op := &readOp{ctx: ctx, ranges: ranges, res: make(chan readResult, 1)}
	r, err := submit(ctx, b, b.readQ, op, op.res)
	if err != nil {
		return readResult{err: err}
	}
	return r
}

// update writes data (RAW), after checking g when it is not nil. A write
// whose rows moved between the check and the write is checked again.
func (b *batcher) update(ctx context.Context, g *Guard, data []Values) error {
	return failsafe.With(b.staleAgain).WithContext(ctx).Run(func() error {
		if !b.batching {
			return b.updateNow(ctx, g, data)
		}
		op := &updateOp{ctx: ctx, guard: g, data: data, fence: fenceFrom(ctx), res: make(chan error, 1)}
		err, qerr := submit[any](ctx, b, b.writeQ, op, op.res)
		if qerr != nil {
			return qerr
		}
		return err
	})
}

// updateNow is update without batching: one request for the guard, one for
// the write.
func (b *batcher) updateNow(ctx context.Context, g *Guard, data []Values) error {
	var j *judgement
	if g != nil {
		r := b.readMarked(ctx, g.ranges()...)
		if r.err != nil {
			return r.err
		}
		if err := g.verdict(r.values); err != nil {
			b.m.rowMoved.WithLabelValues(g.Sheet).Inc()
			return err
		}
		j = &judgement{mark: r.mark, ranges: g.ranges()}
	}
	op := &updateOp{ctx: ctx, data: data, judged: j, fence: fenceFrom(ctx), res: make(chan error, 1)}
	release, err := b.holdJudged([]*updateOp{op})
	if err != nil {
		return err
	}
	defer release()
	if len(b.stillJudged([]*updateOp{op})) == 0 || len(b.fencedUpdates(ctx, []*updateOp{op})) == 0 {
		return <-op.res
	}
	return b.api.batchUpdate(ctx, data, false)
}

// appendRows appends rows to sheet and returns the first row number they got.
func (b *batcher) appendRows(ctx context.Context, sheet string, rows [][]any, key string, verify VerifyFunc) (int, error) {
	op := &appendOp{ctx: ctx, sheet: sheet, rows: rows, key: key, verify: verify, fence: fenceFrom(ctx), res: make(chan appendResult, 1)}
	if !b.batching {
		b.execAppends(sheet, []*appendOp{op}, false)
		r := <-op.res
		return r.firstRow, r.err
	}
	r, err := submit[any](ctx, b, b.writeQ, op, op.res)
	if err != nil {
		return 0, err
	}
	return r.firstRow, r.err
}

// updateForCaller writes data for a fleet operation id (no guard: its
// caller judged it, on j when not nil); it goes out only if the caller is
// confirmed waiting.
func (b *batcher) updateForCaller(ctx context.Context, id string, data []Values, j *judgement, f *Fence) error {
	op := &updateOp{ctx: ctx, data: data, fleetID: id, judged: j, fence: f, res: make(chan error, 1)}
	err, qerr := submit[any](ctx, b, b.writeQ, op, op.res)
	if qerr != nil {
		return qerr
	}
	return err
}

// appendForCaller appends rows for a fleet operation id: it goes out only
// if the caller is confirmed waiting, and an ambiguous failure is handed
// back (errAskCaller) for the caller's verify.
func (b *batcher) appendForCaller(ctx context.Context, id, sheet string, rows [][]any, f *Fence) (int, error) {
	op := &appendOp{ctx: ctx, sheet: sheet, rows: rows, askCaller: true, fleetID: id, fence: f, res: make(chan appendResult, 1)}
	r, err := submit[any](ctx, b, b.writeQ, op, op.res)
	if err != nil {
		return 0, err
	}
	return r.firstRow, r.err
}

// submit queues op and waits for its answer; the error is the caller's
// context ending or the batcher closing first.
func submit[Q any, R any](ctx context.Context, b *batcher, q chan Q, op Q, res chan R) (R, error) {
	var zero R
	select {
	case q <- op:
	case <-ctx.Done():
		return zero, ctx.Err()
	case <-b.closed:
		return zero, errClosed
	}
	select {
	case r := <-res:
		return r, nil
	case <-ctx.Done():
		return zero, ctx.Err()
	case <-b.closed:
		return zero, errClosed
	}
}

// slot takes one request slot for a batch. It fails only when ctx (the
// loop's life) ends.
func (b *batcher) slot(ctx context.Context, kind quotaKind) error {
	return failsafe.With(b.slotRetry).WithContext(ctx).Run(func() error { return b.api.acquire(ctx, kind) })
}

// spawn sends a batch in its own goroutine, at most 8 at a time.
func (b *batcher) spawn(send func()) {
	b.sem <- struct{}{}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		defer func() { <-b.sem }()
		send()
	}()
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
// batcher closes): a request carrying many callers is not abandoned because
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
		cancel()
	}
}

// gather adds to pending what arrives on q within window (or what is
// already there, for a zero window).
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
