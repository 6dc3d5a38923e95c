package sheets

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/redislock"
)

// The carrier side of the fleet coalescer (fleet.go): the lease, claiming
// what is queued, feeding it into the local batcher, answering, and
// answering for carriers that died.

// claimScript moves up to ARGV[1] queued operations into the carrier's
// in-flight hash (id → the caller's reply list) and returns their bodies.
// Operations withdrawn by their callers are skipped.
var claimScript = redis.NewScript(`
local ids = redis.call('LPOP', KEYS[1], ARGV[1])
if not ids then return {} end
local out = {}
for _, id in ipairs(ids) do
  local body = redis.call('HGET', KEYS[2], id)
  if body then
    redis.call('HDEL', KEYS[2], id)
    redis.call('HSET', KEYS[3], id, cjson.decode(body).reply)
    out[#out + 1] = body
  end
end
return out`)

// replyScript answers an operation unless it was answered already (its
// carrier was declared dead meanwhile).
var replyScript = redis.NewScript(`
if redis.call('HDEL', KEYS[1], ARGV[1]) == 1 then
  redis.call('LPUSH', KEYS[2], ARGV[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
end
return 1`)

// reapScript answers "lost" for every operation of a carrier whose
// liveness key has expired, and forgets the carrier.
var reapScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local all = redis.call('HGETALL', KEYS[2])
for i = 1, #all, 2 do
  redis.call('LPUSH', all[i + 1], cjson.encode({id = all[i], lost = true}))
  redis.call('PEXPIRE', all[i + 1], ARGV[2])
end
redis.call('DEL', KEYS[2])
redis.call('SREM', KEYS[3], ARGV[1])
return #all / 2`)

// releaseLease hands the lease over at once, if this process holds it.
func (f *fleet) releaseLease(ctx context.Context) {
	_ = redislock.Release(ctx, f.rdb, f.keys.lease(), f.proc)
}

// carrier is this process carrying the fleet's queue.
type carrier struct {
	stopPull context.CancelFunc
	loops    sync.WaitGroup
}

// carried is what a carrier process keeps about the operations it claimed;
// it outlives a lost lease (claimed operations are finished).
type carried struct {
	ctx    context.Context // cancelled when the process closes, after a grace
	cancel context.CancelFunc
	ops    sync.WaitGroup

	mu      sync.Mutex
	cancels map[string]context.CancelFunc // claimed operations still running
	early   map[string]time.Time          // given up before their claim was carried
}

// track records a claimed operation's cancel; false when its caller has
// given up already.
func (c *carried) track(id string, cancel context.CancelFunc) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, gone := c.early[id]; gone {
		delete(c.early, id)
		return false
	}
	c.cancels[id] = cancel
	return true
}

func (c *carried) untrack(id string) {
	c.mu.Lock()
	delete(c.cancels, id)
	c.mu.Unlock()
}

// giveUp cancels a claimed operation, or remembers the id for a minute
// when its claim is still on the way to track.
func (c *carried) giveUp(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cancel, ok := c.cancels[id]; ok {
		cancel()
		return
	}
	now := time.Now()
	for k, at := range c.early {
		if now.Sub(at) > time.Minute {
			delete(c.early, k)
		}
	}
	c.early[id] = now
}

func (f *fleet) tickLoop() {
	defer f.wg.Done()
	t := time.NewTicker(f.o.tick)
	defer t.Stop()
	for {
		f.tick()
		select {
		case <-f.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// tick is the heartbeat: this process is alive, takes or keeps the lease,
// and answers for carriers that died.
func (f *fleet) tick() {
	ctx, cancel := context.WithTimeout(f.ctx, f.o.tick)
	defer cancel()
	if err := f.rdb.Set(ctx, f.keys.alive(f.proc), 1, f.o.aliveTTL).Err(); err != nil {
		return // Redis unreachable: the next tick tries again
	}
	f.mu.Lock()
	c, closing := f.carry, f.closing
	f.mu.Unlock()
	if closing {
		return
	}
	if c != nil {
		held, err := redislock.Renew(ctx, f.rdb, f.keys.lease(), f.proc, f.o.leaseTTL)
		if err == nil && !held {
			f.log.Info("sheets: another process carries the fleet's requests now")
			f.mu.Lock()
			f.carry = nil
			f.mu.Unlock()
			c.stopPull()
			f.m.fleetCarrier.Set(0)
		}
	} else if ok, err := f.rdb.SetNX(ctx, f.keys.lease(), f.proc, f.o.leaseTTL).Result(); err == nil && ok {
		f.startCarrying(ctx)
	}
	f.reap(ctx)
}

func (f *fleet) startCarrying(ctx context.Context) {
	// Subscribed before anything is claimed, so no cancellation of a
	// claimed operation goes unheard.
	sub := f.rdb.Subscribe(ctx, f.keys.cancel())
	if _, err := sub.Receive(ctx); err != nil {
		_ = sub.Close()
		f.releaseLease(ctx)
		return
	}
	if err := f.rdb.SAdd(ctx, f.keys.carriers(), f.proc).Err(); err != nil {
		_ = sub.Close()
		f.releaseLease(ctx)
		return
	}
	// What this process judged in an earlier term is stale: another
	// carrier may have appended since.
	f.local.shifts.newTerm()
	pctx, stop := context.WithCancel(f.ctx)
	c := &carrier{stopPull: stop}
	c.loops.Add(2)
	go func() { defer c.loops.Done(); f.pullLoop(pctx) }()
	go func() { defer c.loops.Done(); f.cancelLoop(pctx, sub) }()
	f.mu.Lock()
	closing := f.closing
	if !closing {
		f.carry = c
	}
	f.mu.Unlock()
	if closing { // close began meanwhile: hand the lease straight back
		c.release(f)
		return
	}
	f.m.fleetCarrier.Set(1)
	f.log.Debug("sheets: this process carries the fleet's requests", "process", f.proc)
}

// halt stops pulling and waits for the loops to end.
func (c *carrier) halt(f *fleet) {
	c.stopPull()
	// Wake the pull loop from its blocking wait: an id without a body,
	// which claiming skips.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	_ = f.rdb.RPush(ctx, f.keys.queue(), "wake").Err()
	cancel()
	c.loops.Wait()
}

// release stops pulling and hands the lease over at once (a closing
// process).
func (c *carrier) release(f *fleet) {
	c.halt(f)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	f.releaseLease(ctx)
}

// finishCarried gives claimed operations grace to finish; those still
// running after it are cancelled and answered "lost" (they may have gone
// out).
func (f *fleet) finishCarried(grace time.Duration) {
	done := make(chan struct{})
	go func() { f.carried.ops.Wait(); close(done) }()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		f.carried.cancel()
		<-done
	}
}

// pullLoop claims what is queued as soon as it is there and feeds it into
// the local batcher, which gathers it into requests as slots come.
func (f *fleet) pullLoop(ctx context.Context) {
	for ctx.Err() == nil {
		var bodies []string
		_ = failsafe.With(f.redisRetry).WithContext(ctx).Run(func() error {
			// BLMOVE from the queue onto itself waits, without taking
			// anything, until the queue is not empty.
			err := f.rdb.BLMove(ctx, f.keys.queue(), f.keys.queue(), "LEFT", "LEFT", fleetBlock).Err()
			if errors.Is(err, redis.Nil) {
				return nil
			}
			if err != nil {
				return err
			}
			// The claim must not be cut off half-way by the loop stopping:
			// its operations would stay recorded here and never be carried.
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			bodies, err = claimScript.Run(cctx, f.rdb, []string{f.keys.queue(), f.keys.ops(), f.keys.inflight(f.proc)}, fleetMaxClaim).StringSlice()
			if errors.Is(err, redis.Nil) {
				err = nil
			}
			return err
		})
		for _, b := range bodies {
			f.carryOp(b)
		}
	}
}

// cancelLoop cancels claimed operations whose callers gave up.
func (f *fleet) cancelLoop(ctx context.Context, sub *redis.PubSub) {
	defer sub.Close()
	ch := sub.Channel()
	for {
		select {
		case <-ctx.Done():
			return
		case msg, ok := <-ch:
			if !ok {
				return
			}
			f.carried.giveUp(msg.Payload)
		}
	}
}

// carryOp runs one claimed operation through the local batcher and
// answers its caller.
func (f *fleet) carryOp(body string) {
	var op fleetOp
	dec := json.NewDecoder(bytes.NewReader([]byte(body)))
	dec.UseNumber() // cells go out to Google exactly as the caller gave them
	if err := dec.Decode(&op); err != nil {
		f.log.Error("sheets: unreadable fleet operation", "err", err)
		return
	}
	ctx, cancel := context.WithDeadline(f.carried.ctx, time.UnixMilli(op.Deadline))
	if !f.carried.track(op.ID, cancel) {
		cancel()
	}
	f.carried.ops.Add(1)
	go func() {
		defer f.carried.ops.Done()
		defer f.carried.untrack(op.ID)
		defer cancel()
		res := fleetResult{ID: op.ID}
		var err error
		switch op.Kind {
		case fleetRead:
			r := f.local.readMarked(ctx, op.Ranges...)
			res.Values, res.Mark, err = r.values, r.mark.encode(f.proc), r.err
		case fleetUpdate:
			err = f.local.updateForCaller(ctx, op.ID, op.Data, f.judgement(op), op.Fence)
		case fleetAppend:
			res.FirstRow, err = f.local.appendForCaller(ctx, op.ID, op.Sheet, op.Rows, op.Fence)
		default:
			err = fmt.Errorf("sheets: unknown fleet operation %q", op.Kind)
		}
		switch {
		case errors.Is(err, errNotConfirmed):
			res.Again = true // not sent: queue it again if still waiting
		case err != nil && f.carried.ctx.Err() != nil:
			res.Lost = true // this process is closing: it may have gone out
		default:
			res.Err = toRemote(err)
		}
		f.reply(op, res)
	}()
}

// judgement is what a carried update was judged on: nil for an unguarded
// one; a mark from another carrier (or an earlier term of this one) is
// always stale, so the caller reads its guard again.
func (f *fleet) judgement(op fleetOp) *judgement {
	if op.Mark == "" && len(op.Guard) == 0 {
		return nil
	}
	m, ok := decodeMark(op.Mark, f.proc)
	if !ok {
		m.term = ^uint64(0) // no term has it
	}
	return &judgement{mark: m, ranges: op.Guard}
}

// reply hands res to op's caller, waiting out a Redis outage until a little
// after the caller's deadline.
func (f *fleet) reply(op fleetOp, res fleetResult) {
	body, err := json.Marshal(res)
	if err != nil {
		body, _ = json.Marshal(fleetResult{ID: op.ID, Err: toRemote(fmt.Errorf("sheets: encode result: %w", err))})
	}
	ctx, cancel := context.WithDeadline(context.Background(), time.UnixMilli(op.Deadline).Add(5*time.Second))
	defer cancel()
	err = failsafe.With(f.redisRetry).WithContext(ctx).Run(func() error {
		return replyScript.Run(ctx, f.rdb, []string{f.keys.inflight(f.proc), op.Reply}, op.ID, body, fleetReplyTTL.Milliseconds()).Err()
	})
	if err != nil {
		f.log.Warn("sheets: cannot answer a fleet operation; its caller gives up at its deadline", "op", op.ID, "err", err)
	}
}

// reap answers "lost" for the operations of carriers that died.
func (f *fleet) reap(ctx context.Context) {
	procs, err := f.rdb.SMembers(ctx, f.keys.carriers()).Result()
	if err != nil {
		return
	}
	for _, p := range procs {
		if p == f.proc {
			continue
		}
		n, err := reapScript.Run(ctx, f.rdb, []string{f.keys.alive(p), f.keys.inflight(p), f.keys.carriers()}, p, fleetReplyTTL.Milliseconds()).Int()
		if err == nil && n > 0 {
			f.log.Warn("sheets: a process stopped while carrying requests; their callers look again", "process", p, "operations", n)
		}
	}
}
