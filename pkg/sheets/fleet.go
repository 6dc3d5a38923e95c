package sheets

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	"github.com/redis/go-redis/v9"
	"google.golang.org/api/googleapi"
)

// The fleet coalescer. The Sheets quota belongs to the whole fleet (bot,
// workers, poller share one service account), so the batching does too:
// every process puts its operations into one queue in Redis, and one
// process at a time — the carrier, holder of a lease — feeds what is queued
// into its batcher, which coalesces and sends exactly as a lone process
// would. Each result goes back to the process that asked, on that process's
// own reply list. With N processes a request carries what the whole fleet
// waits for, instead of each process sending batches N times smaller
// through the same ~55 request slots a minute.
//
// What travels is plain data (ranges, cells, rows). What cannot travel
// stays with the caller: a guarded write reads its guard ranges through the
// fleet (sharing a read request with everybody's reads), judges them in the
// caller's process and only then queues the write, with the read's mark
// (shift.go) so the carrier can refuse it if an append moved its rows in
// between, and the caller's lease (fence.go); an append whose request
// failed ambiguously comes back to its caller, whose verify looks for the
// key before the rows are queued again.
//
// Failure handling:
//   - The carrier dies (kill -9): its lease expires after leaseTTL and
//     another process takes it over; the operations it had claimed are
//     recorded in its in-flight hash, and once its liveness key has been
//     gone for aliveTTL any process answers each of them "lost". A lost
//     read or update is queued again (both are idempotent; the guard is
//     checked again); a lost append is looked up by its key first.
//   - A caller gives up (deadline, cancellation): an operation not claimed
//     yet is taken back out of the queue; a claimed one is cancelled at the
//     carrier by a message on the cancel channel, so a write whose caller
//     has gone does not go out late. Every operation carries its caller's
//     deadline, and the carrier never starts one past it.
//   - Redis unreachable: queueing fails and the caller gets the error at
//     once; the loops wait and carry on when Redis is back.

// Fleet defaults.
const (
	fleetLeaseTTL  = 6 * time.Second  // the carrier's lease; lost leases only cost coalescing
	fleetAliveTTL  = 20 * time.Second // a process is declared dead this long after its last heartbeat
	fleetTick      = 1500 * time.Millisecond
	fleetBlock     = time.Second     // how long a loop blocks on Redis (go-redis's least); stopping wakes it
	fleetMaxOpAge  = 5 * time.Minute // the deadline of an operation whose caller set none
	fleetMaxClaim  = 1000
	fleetReplyTTL  = time.Minute
	fleetLiveTTL   = 5 * time.Second // a waiting caller's liveness key, refreshed every second
	fleetCloseWait = 2 * time.Second // how long a closing carrier lets claimed operations finish (the rest are answered "lost" and queued again)
)

// errCarrierLost: the process carrying the operation stopped before
// answering; the operation may or may not have been applied.
var errCarrierLost = errors.New("sheets: the process carrying the request stopped before answering")

// errAskCaller marks an append whose request failed ambiguously at the
// carrier: the caller looks for its key before queueing it again.
var errAskCaller = errors.New("sheets: the append may have been applied")

type fleetKind string

const (
	fleetRead   fleetKind = "read"
	fleetUpdate fleetKind = "update"
	fleetAppend fleetKind = "append"
)

// fleetOp is one caller's operation as queued in Redis.
type fleetOp struct {
	ID       string    `json:"id"`
	Reply    string    `json:"reply"` // the caller's reply list
	Kind     fleetKind `json:"kind"`
	Deadline int64     `json:"deadline"` // unix ms: not started after it
	Ranges   []string  `json:"ranges,omitempty"`
	Data     []Values  `json:"data,omitempty"`
	Sheet    string    `json:"sheet,omitempty"`
	Rows     [][]any   `json:"rows,omitempty"`
	// An update judged by its caller on a guard read: the read's mark (as
	// its carrier encoded it) and the guard's ranges (shift.go).
	Mark  string   `json:"mark,omitempty"`
	Guard []string `json:"guard,omitempty"`
	// A write's lease (WithFence), checked by the carrier right before the
	// write goes out (fence.go).
	Fence *Fence `json:"fence,omitempty"`
}

// fleetResult answers one fleetOp.
type fleetResult struct {
	ID       string     `json:"id"`
	Values   [][][]any  `json:"values,omitempty"`
	FirstRow int        `json:"first_row,omitempty"`
	Mark     string     `json:"mark,omitempty"` // a read's: what a guard judged on it carries
	Err      *remoteErr `json:"err,omitempty"`
	Lost     bool       `json:"lost,omitempty"`
	Again    bool       `json:"again,omitempty"` // not sent (caller not confirmed waiting): queue it again
}

// remoteErr is an error as it crosses from the carrier to the caller: its
// text, Google's HTTP status (so the caller can still tell a bad request
// from an outage) and the few conditions callers test for.
type remoteErr struct {
	Msg       string `json:"msg"`
	Code      int    `json:"code,omitempty"`
	Ambiguous bool   `json:"ambiguous,omitempty"` // an append that may have landed
	Stale     bool   `json:"stale,omitempty"`     // an update not sent: rows may have moved since its guard was read
	Fenced    bool   `json:"fenced,omitempty"`    // a write not sent: its lease was lost
	Deadline  bool   `json:"deadline,omitempty"`
	Canceled  bool   `json:"canceled,omitempty"`
}

func toRemote(err error) *remoteErr {
	if err == nil {
		return nil
	}
	r := &remoteErr{Msg: err.Error(), Ambiguous: errors.Is(err, errAskCaller), Stale: errors.Is(err, errGuardStale),
		Fenced:   errors.Is(err, ErrFenceLost),
		Deadline: errors.Is(err, context.DeadlineExceeded), Canceled: errors.Is(err, context.Canceled)}
	var gerr *googleapi.Error
	if errors.As(err, &gerr) {
		r.Code = gerr.Code
	}
	return r
}

// fleetError is a remoteErr on the caller's side.
type fleetError struct{ r remoteErr }

func (e *fleetError) Error() string { return e.r.Msg }

func (e *fleetError) Unwrap() []error {
	var out []error
	if e.r.Code != 0 {
		out = append(out, &googleapi.Error{Code: e.r.Code, Message: e.r.Msg})
	}
	if e.r.Deadline {
		out = append(out, context.DeadlineExceeded)
	}
	if e.r.Canceled {
		out = append(out, context.Canceled)
	}
	if e.r.Stale {
		out = append(out, errGuardStale)
	}
	if e.r.Fenced {
		out = append(out, ErrFenceLost)
	}
	return out
}

// fleetKeys are the Redis keys of one spreadsheet's fleet. They share a
// hash tag, so the scripts work on a Redis Cluster too.
type fleetKeys struct{ base string }

func (k fleetKeys) queue() string               { return k.base + "queue" }
func (k fleetKeys) ops() string                 { return k.base + "ops" }
func (k fleetKeys) lease() string               { return k.base + "carrier" }
func (k fleetKeys) carriers() string            { return k.base + "carriers" }
func (k fleetKeys) cancel() string              { return k.base + "cancel" }
func (k fleetKeys) alive(proc string) string    { return k.base + "alive:" + proc }
func (k fleetKeys) inflight(proc string) string { return k.base + "inflight:" + proc }
func (k fleetKeys) reply(proc string) string    { return k.base + "reply:" + proc }
func (k fleetKeys) live(id string) string       { return k.base + "live:" + id }

type fleetOptions struct {
	leaseTTL, aliveTTL, tick time.Duration
}

func (o fleetOptions) withDefaults() fleetOptions {
	if o.leaseTTL <= 0 {
		o.leaseTTL = fleetLeaseTTL
	}
	if o.aliveTTL <= 0 {
		o.aliveTTL = fleetAliveTTL
	}
	if o.tick <= 0 {
		o.tick = fleetTick
	}
	return o
}

// fleet is one process's membership: it queues the process's operations,
// receives their results, and carries the fleet's queue while it holds the
// lease.
type fleet struct {
	rdb   redis.UniversalClient
	keys  fleetKeys
	proc  string
	local *batcher // what the carrier feeds the queue into
	o     fleetOptions
	m     *metrics
	log   *slog.Logger

	// again queues an operation again after its carrier was lost or an
	// append was not found after an ambiguous failure.
	again retrypolicy.RetryPolicy[any]
	// redisRetry waits out an unreachable Redis in the loops.
	redisRetry retrypolicy.RetryPolicy[any]

	seq     atomic.Uint64
	mu      sync.Mutex
	waiting map[string]chan fleetResult

	carry   *carrier // nil while another process carries
	closing bool     // set by close: the lease is not taken again
	carried carried

	ctx    context.Context // the loops' life
	stop   context.CancelFunc
	closed chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
}

func newFleet(rdb redis.UniversalClient, base string, local *batcher, m *metrics, log *slog.Logger, o fleetOptions) *fleet {
	var id [6]byte
	_, _ = rand.Read(id[:])
	ctx, stop := context.WithCancel(context.Background())
	f := &fleet{
		rdb: rdb, keys: fleetKeys{base: base}, proc: hex.EncodeToString(id[:]), local: local,
		o: o.withDefaults(), m: m, log: log,
		again: retrypolicy.NewBuilder[any]().HandleErrors(errCarrierLost, errAppendAgain, errNotConfirmed, errGuardStale).WithMaxRetries(-1).
			WithDelay(200 * time.Millisecond).ReturnLastFailure().Build(),
		redisRetry: retrypolicy.NewBuilder[any]().WithMaxRetries(-1).WithDelay(200 * time.Millisecond).
			ReturnLastFailure().Build(),
		waiting: map[string]chan fleetResult{},
		ctx:     ctx, stop: stop, closed: make(chan struct{}),
	}
	f.carried.ctx, f.carried.cancel = context.WithCancel(context.Background())
	f.carried.cancels, f.carried.early = map[string]context.CancelFunc{}, map[string]time.Time{}
	f.local.confirm = f.confirm
	f.wg.Add(3)
	go f.replyLoop()
	go f.tickLoop()
	go f.liveLoop()
	return f
}

// read is Client.Read through the fleet.
func (f *fleet) read(ctx context.Context, ranges []string) ([][][]any, error) {
	var out [][][]any
	err := failsafe.With(f.again).WithContext(ctx).Run(func() error {
		r, err := f.do(ctx, &fleetOp{Kind: fleetRead, Ranges: ranges})
		if err != nil {
			return err
		}
		out = r.Values
		return nil
	})
	return out, err
}

// update is Client.Update through the fleet: the guard is read through the
// fleet and judged here, then the write is queued.
func (f *fleet) update(ctx context.Context, g *Guard, data []Values) error {
	return failsafe.With(f.again).WithContext(ctx).Run(func() error {
		op := &fleetOp{Kind: fleetUpdate, Data: data}
		if g != nil {
			rows, err := f.do(ctx, &fleetOp{Kind: fleetRead, Ranges: g.ranges()})
			if errors.Is(err, errCarrierLost) {
				return err
			}
			if err != nil {
				return fmt.Errorf("sheets: verify row before write: %w", err)
			}
			if err := g.verdict(rows.Values); err != nil {
				f.m.rowMoved.WithLabelValues(g.Sheet).Inc()
				return err
			}
			op.Mark, op.Guard = rows.Mark, g.ranges()
		}
		_, err := f.do(ctx, op)
		return err
	})
}

// appendRows is Client.Append through the fleet.
func (f *fleet) appendRows(ctx context.Context, sheet string, rows [][]any, key string, verify VerifyFunc) (int, error) {
	first := 0
	err := failsafe.With(f.again).WithContext(ctx).Run(func() error {
		r, err := f.do(ctx, &fleetOp{Kind: fleetAppend, Sheet: sheet, Rows: rows})
		var fe *fleetError
		switch {
		case err == nil:
			first = r.FirstRow
			return nil
		case !errors.Is(err, errCarrierLost) && !(errors.As(err, &fe) && fe.r.Ambiguous):
			return err
		case key == "" || verify == nil:
			return errAppendAgain // documented: appended again unasked
		}
		found, verr := verify(ctx, []string{key})
		if verr != nil {
			return fmt.Errorf("sheets: append to %s: %v; verify: %w", sheet, err, verr)
		}
		if row, ok := found[key]; ok {
			first = row
			return nil
		}
		return errAppendAgain
	})
	if errors.Is(err, errAppendAgain) && ctx.Err() != nil {
		err = fmt.Errorf("sheets: append to %s: %w", sheet, ctx.Err())
	}
	return first, err
}

// do queues op and waits for its result. errCarrierLost: the carrier died
// with op claimed.
func (f *fleet) do(ctx context.Context, op *fleetOp) (fleetResult, error) {
	op.ID = f.proc + "." + strconv.FormatUint(f.seq.Add(1), 36)
	if op.Kind != fleetRead {
		op.Fence = fenceFrom(ctx)
	}
	op.Reply = f.keys.reply(f.proc)
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(fleetMaxOpAge)
	}
	op.Deadline = deadline.UnixMilli()
	body, err := json.Marshal(op)
	if err != nil {
		return fleetResult{}, fmt.Errorf("sheets: encode %s: %w", op.Kind, err)
	}
	ch := make(chan fleetResult, 1)
	f.mu.Lock()
	f.waiting[op.ID] = ch
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.waiting, op.ID)
		f.mu.Unlock()
	}()
	// Queued whole or not at all, even if ctx ends meanwhile: a queued
	// operation whose caller has gone is withdrawn below, not left to run.
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	_, err = f.rdb.TxPipelined(qctx, func(p redis.Pipeliner) error {
		p.HSet(qctx, f.keys.ops(), op.ID, body)
		p.Set(qctx, f.keys.live(op.ID), 1, fleetLiveTTL)
		p.RPush(qctx, f.keys.queue(), op.ID)
		return nil
	})
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return fleetResult{}, ctx.Err()
		}
		return fleetResult{}, fmt.Errorf("sheets: queue a %s for the fleet: %w", op.Kind, err)
	}
	select {
	case r := <-ch:
		switch {
		case r.Lost:
			f.m.fleetLost.Inc()
			return r, errCarrierLost
		case r.Again:
			return r, errNotConfirmed
		case r.Err != nil:
			return r, &fleetError{*r.Err}
		}
		return r, nil
	case <-ctx.Done():
		f.withdraw(op.ID)
		return fleetResult{}, ctx.Err()
	case <-f.closed:
		f.withdraw(op.ID)
		return fleetResult{}, errClosed
	}
}

// withdraw takes a given-up operation back: out of the queue when nobody
// has claimed it yet, else cancelled at its carrier.
func (f *fleet) withdraw(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	f.rdb.Del(ctx, f.keys.live(id))
	n, err := f.rdb.HDel(ctx, f.keys.ops(), id).Result()
	if err == nil && n == 0 {
		err = f.rdb.Publish(ctx, f.keys.cancel(), id).Err()
	}
	if err != nil {
		f.log.Warn("sheets: cannot withdraw a given-up operation; its carrier stops it at its deadline", "op", id, "err", err)
	}
}

// liveLoop keeps the liveness keys of this process's waiting operations
// alive; a caller that gives up, or whose process dies or loses Redis,
// stops refreshing them and its writes are not sent (confirm).
func (f *fleet) liveLoop() {
	defer f.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-f.ctx.Done():
			return
		case <-t.C:
		}
		f.mu.Lock()
		ids := make([]string, 0, len(f.waiting))
		for id := range f.waiting {
			ids = append(ids, id)
		}
		f.mu.Unlock()
		if len(ids) == 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(f.ctx, time.Second)
		_, _ = f.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, id := range ids {
				p.PExpire(ctx, f.keys.live(id), fleetLiveTTL)
			}
			return nil
		})
		cancel()
	}
}

// confirm reports which of the carried operations ids still have a waiting
// caller (the batcher's confirm, asked right before a write goes out).
func (f *fleet) confirm(ctx context.Context, ids []string) (map[string]bool, error) {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	cmds, err := f.rdb.Pipelined(cctx, func(p redis.Pipeliner) error {
		for _, id := range ids {
			p.Exists(cctx, f.keys.live(id))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(ids))
	for i, c := range cmds {
		out[ids[i]] = c.(*redis.IntCmd).Val() == 1
	}
	return out, nil
}

// halt stops the loops and fails this process's waiting callers.
func (f *fleet) halt() {
	close(f.closed)
	f.stop()
	// Wake the reply loop from its blocking pop (a result nobody waits for).
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	_ = f.rdb.LPush(ctx, f.keys.reply(f.proc), `{"id":""}`).Err()
	cancel()
	f.wg.Wait()
}

// replyLoop hands each result on this process's reply list to its caller.
func (f *fleet) replyLoop() {
	defer f.wg.Done()
	key := f.keys.reply(f.proc)
	for f.ctx.Err() == nil {
		var got []string
		err := failsafe.With(f.redisRetry).WithContext(f.ctx).Run(func() error {
			var err error
			got, err = f.rdb.BLPop(f.ctx, fleetBlock, key).Result()
			if errors.Is(err, redis.Nil) {
				got, err = nil, nil
			}
			return err
		})
		if err != nil || len(got) < 2 {
			continue
		}
		var r fleetResult
		if err := json.Unmarshal([]byte(got[1]), &r); err != nil {
			f.log.Error("sheets: unreadable fleet result", "err", err)
			continue
		}
		f.mu.Lock()
		ch := f.waiting[r.ID]
		f.mu.Unlock()
		if ch != nil {
			select {
			case ch <- r:
			default:
			}
		}
	}
}

// close stops carrying (handing the lease over), lets claimed operations
// finish for a while, and fails this process's waiting callers.
func (f *fleet) close() {
	f.once.Do(func() {
		f.mu.Lock()
		c := f.carry
		f.carry, f.closing = nil, true
		f.mu.Unlock()
		if c != nil {
			c.release(f)
		}
		f.finishCarried(fleetCloseWait)
		f.halt()
		f.carried.cancel()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		f.rdb.Del(ctx, f.keys.alive(f.proc), f.keys.reply(f.proc))
		f.m.fleetCarrier.Set(0)
	})
}
