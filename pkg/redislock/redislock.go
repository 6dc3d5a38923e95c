// Package redislock is the one home of a Redis key held with a token: a
// lease or a claim that only its holder may extend or let go. Taking one is
// a plain SET NX PX; renewing and releasing compare the token first, in one
// Lua script each, so a holder whose key expired and was taken by another
// never touches the new holder's key.
package redislock

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`)

var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

// Renew extends key to ttl while it still holds token; false means it does
// not (expired, or taken by another holder).
func Renew(ctx context.Context, rdb redis.Scripter, key, token string, ttl time.Duration) (bool, error) {
	n, err := renewScript.Run(ctx, rdb, []string{key}, token, ttl.Milliseconds()).Int()
	return n == 1, err
}

// Release deletes key while it still holds token.
func Release(ctx context.Context, rdb redis.Scripter, key, token string) error {
	return releaseScript.Run(ctx, rdb, []string{key}, token).Err()
}

// Fence names a held key for writes made on the holder's behalf by
// another component (pkg/sheets): such a write goes out only while Key
// still holds Token, checked by whoever sends it, right before it leaves.
type Fence struct {
	Key   string `json:"key"`
	Token string `json:"token"`
}

type fenceCtxKey struct{}

// WithFence carries f in ctx: writes under ctx that honour fences go out
// only while f holds.
func WithFence(ctx context.Context, f Fence) context.Context {
	return context.WithValue(ctx, fenceCtxKey{}, &f)
}

// FenceFrom returns the fence ctx carries, or nil.
func FenceFrom(ctx context.Context) *Fence {
	f, _ := ctx.Value(fenceCtxKey{}).(*Fence)
	return f
}
