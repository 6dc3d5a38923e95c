package sheets

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/redislock"
)

// Fenced writes. A caller that works under a lease (pkg/chat's per-user
// lease) can lose it while its write waits in a batch or at the fleet's
// carrier: Redis was away longer than the lease, say, and another worker
// has taken the user over and is re-running the same work. Checking the
// lease before queueing the write is not enough — the write goes out later.
// So a write made under redislock.WithFence carries the lease's key and
// token, and the process that sends it checks them right before the request
// leaves — after its request slot was taken and its sheets are held
// (shift.go), so nothing is waited for between the check and the request: a
// write whose lease is no longer the caller's is not sent (ErrFenceLost).
// When the check cannot be made (Redis unreachable) the write is not sent
// either.

// Fence is redislock's: a lease's key and its holder's token.
type Fence = redislock.Fence

// ErrFenceLost: the write's lease (redislock.WithFence) was no longer its
// caller's when the write was to go out; nothing was written.
var ErrFenceLost = errors.New("sheets: the lease the write was made under is lost; not sent")

func fenceFrom(ctx context.Context) *Fence { return redislock.FenceFrom(ctx) }

// fenced answers, with ErrFenceLost (or the error of the check), the ops
// whose fence does not hold right now, and returns the others. One
// pipelined round trip for the batch.
func fenced[T any](ctx context.Context, b *batcher, ops []T, fence func(T) *Fence, refuse func(T, error)) []T {
	var keys []string
	for _, op := range ops {
		if f := fence(op); f != nil {
			keys = append(keys, f.Key)
		}
	}
	if len(keys) == 0 {
		return ops
	}
	holders, err := b.leaseHolders(ctx, keys)
	out := ops[:0:0]
	for _, op := range ops {
		f := fence(op)
		switch {
		case f == nil:
			out = append(out, op)
		case err != nil:
			refuse(op, fmt.Errorf("sheets: check the write's lease: %w", err))
		case holders[f.Key] != f.Token:
			b.m.fenceLost.Inc()
			refuse(op, ErrFenceLost)
		default:
			out = append(out, op)
		}
	}
	return out
}

// leaseHolders reads the tokens now in keys.
func (b *batcher) leaseHolders(ctx context.Context, keys []string) (map[string]string, error) {
	if b.rdb == nil {
		return nil, errors.New("sheets: no Redis to check fences with")
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	cmds, err := b.rdb.Pipelined(cctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			p.Get(cctx, k)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	out := make(map[string]string, len(keys))
	for i, c := range cmds {
		out[keys[i]] = c.(*redis.StringCmd).Val()
	}
	return out, nil
}
