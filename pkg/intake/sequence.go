package intake

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/redisx"
)

// RedisSequencer keeps each user's last update id in Redis and returns the
// previous one for every new update; an update seen again (a re-delivery, a
// restart) gets the same answer as the first time.
type RedisSequencer struct {
	rdb  redis.UniversalClient
	keys redisx.Keys
	ttl  time.Duration
}

// NewRedisSequencer builds the sequencer; chains older than ttl are forgotten.
func NewRedisSequencer(rdb redis.UniversalClient, prefix string, ttl time.Duration) *RedisSequencer {
	return &RedisSequencer{rdb: rdb, keys: redisx.Keys{Prefix: prefix}, ttl: ttl}
}

var chainScript = redis.NewScript(`
local last = redis.call('GET', KEYS[1])
if last and tonumber(last) >= tonumber(ARGV[1]) then
  return redis.call('HGET', KEYS[2], ARGV[1]) or '0'
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], last or '0')
redis.call('EXPIRE', KEYS[2], ARGV[2])
return last or '0'`)

// Chain implements Sequencer.
func (s *RedisSequencer) Chain(ctx context.Context, userID, updateID int64) (int64, error) {
	u := strconv.FormatInt(userID, 10)
	v, err := chainScript.Run(ctx, s.rdb, []string{s.keys.Key("chat", "last_update", u), s.keys.Key("chat", "prev", u)},
		updateID, int64(s.ttl/time.Second)).Text()
	if err != nil {
		return 0, fmt.Errorf("intake: chain: %w", err)
	}
	prev, _ := strconv.ParseInt(v, 10, 64)
	return prev, nil
}
