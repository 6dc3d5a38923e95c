package telegram

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Priority orders senders competing for Telegram's flood limits.
type Priority int

const (
	// PriorityChat: replies to users and operators. May use the whole burst.
	PriorityChat Priority = iota
	// PriorityBroadcast: promotions. Must leave Reserve tokens of every bucket
	// to chat replies, so a user talking to the bot is not queued behind a broadcast.
	PriorityBroadcast
)

// Bucket is one GCRA token bucket: Rate tokens per second, Burst at once.
type Bucket struct {
	Key     string
	Rate    float64 // tokens per second
	Burst   int
	Reserve int // tokens broadcast may not take
}

// Limiter is the outgoing-message limiter every worker shares, in Redis. A
// send takes a token from each bucket it touches (global, the chat, the
// group) atomically — all or none. It is a GCRA with a per-priority reserve;
// no Redis rate-limit library offers several buckets at once with priorities,
// hence the small Lua script.
type Limiter struct {
	rdb    redis.UniversalClient
	prefix string
	Global Bucket
	Chat   Bucket // Key is a prefix; the chat id is appended
	Group  Bucket
}

// NewLimiter builds the limiter from the configured rates.
func NewLimiter(rdb redis.UniversalClient, prefix string, globalPerSecond, chatPerSecond float64, chatBurst, groupPerMinute int) *Limiter {
	gb := int(math.Max(1, math.Floor(globalPerSecond*2/3)))
	return &Limiter{
		rdb: rdb, prefix: prefix + "tg:limit:",
		Global: Bucket{Key: "global", Rate: globalPerSecond, Burst: gb, Reserve: max(1, gb/3)},
		Chat:   Bucket{Key: "chat:", Rate: chatPerSecond, Burst: max(1, chatBurst), Reserve: 0},
		Group:  Bucket{Key: "group:", Rate: float64(groupPerMinute) / 60, Burst: max(1, groupPerMinute/4), Reserve: 1},
	}
}

var gcra = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local wait = 0
local tats = {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[3*i-2])
  local burst = tonumber(ARGV[3*i-1])
  local reserve = tonumber(ARGV[3*i])
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  local newtat = tat + interval
  local allow_at = newtat - (burst - reserve) * interval
  if allow_at > now and (allow_at - now) > wait then wait = allow_at - now end
  tats[i] = newtat
end
if wait > 0 then return {0, tostring(wait)} end
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[3*i-2])
  local burst = tonumber(ARGV[3*i-1])
  redis.call('SET', key, tostring(tats[i]), 'PX', math.ceil(tats[i] - now + interval * burst) + 1000)
end
return {1, '0'}
`)

// Reserve tries to take one token from each bucket. It returns 0 when the
// send may go now, else how long to wait before trying again.
func (l *Limiter) Reserve(ctx context.Context, chatID int64, prio Priority) (time.Duration, error) {
	buckets := []Bucket{l.Global}
	if chatID > 0 {
		b := l.Chat
		b.Key += strconv.FormatInt(chatID, 10)
		buckets = append(buckets, b)
	} else if chatID < 0 {
		b := l.Group
		b.Key += strconv.FormatInt(chatID, 10)
		buckets = append(buckets, b)
	}
	keys := make([]string, len(buckets))
	args := make([]any, 0, 3*len(buckets))
	for i, b := range buckets {
		keys[i] = l.prefix + b.Key
		reserve := 0
		if prio == PriorityBroadcast {
			reserve = min(b.Reserve, b.Burst-1)
		}
		args = append(args, 1000/b.Rate, b.Burst, reserve)
	}
	res, err := gcra.Run(ctx, l.rdb, keys, args...).Slice()
	if err != nil {
		return 0, fmt.Errorf("telegram: limiter: %w", err)
	}
	if res[0].(int64) == 1 {
		return 0, nil
	}
	ms, _ := strconv.ParseFloat(res[1].(string), 64)
	return time.Duration(ms * float64(time.Millisecond)), nil
}

// Wait blocks until the send may go or ctx ends; maxWait (if > 0) bounds the
// wait: when the next slot is further away, Wait returns that delay instead of
// sleeping (broadcasts then reschedule rather than hold a worker).
func (l *Limiter) Wait(ctx context.Context, chatID int64, prio Priority, maxWait time.Duration) (time.Duration, error) {
	var waited time.Duration
	for {
		d, err := l.Reserve(ctx, chatID, prio)
		if err != nil || d == 0 {
			return 0, err
		}
		if maxWait > 0 && waited+d > maxWait {
			return d, nil
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, ctx.Err()
		case <-t.C:
		}
		waited += d
	}
}
