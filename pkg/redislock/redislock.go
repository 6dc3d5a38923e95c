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
