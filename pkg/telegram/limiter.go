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
	// PriorityDraft: drafts of an answer being written (sendMessageDraft).
	// Below everything: a draft never waits — it goes at once or is skipped
	// — it must leave DraftReserve tokens of every bucket, and it is refused
	// while any other send waits for one of its buckets, so a draft never
	// takes a token someone's message is waiting for.
	PriorityDraft
)

// Bucket is one GCRA token bucket: Rate tokens per second, Burst at once.
type Bucket struct {
	Key     string
	Rate    float64 // tokens per second
	Burst   int
	Reserve int // tokens broadcast may not take
	// DraftReserve: tokens a draft may not take (more than Reserve).
	DraftReserve int
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
	cb, grb := max(1, chatBurst), max(1, groupPerMinute/4)
	return &Limiter{
		rdb: rdb, prefix: prefix + "tg:limit:",
		// A draft leaves half the global burst to messages, and goes to a
		// chat only while its bucket is full: the reply that follows the
		// drafts still finds chatBurst-1 tokens.
		Global: Bucket{Key: "global", Rate: globalPerSecond, Burst: gb, Reserve: max(1, gb/3), DraftReserve: min(gb-1, max(gb/2, gb/3+1))},
		Chat:   Bucket{Key: "chat:", Rate: chatPerSecond, Burst: cb, Reserve: 0, DraftReserve: cb - 1},
		Group:  Bucket{Key: "group:", Rate: float64(groupPerMinute) / 60, Burst: grb, Reserve: 1, DraftReserve: grb - 1},
	}
}

// gcra takes one token from every bucket of KEYS, all or none. ARGV holds
// three numbers per bucket (emission interval in ms, burst, reserve), then
// the kind of send (0 a message, 1 a draft) and the margin (ms) of the
// "waiting" marks. A message that must wait marks each bucket that holds
// it ("<bucket>:waiting", for as long as its wait plus the margin); a draft
// is refused while any of its buckets is marked. Every draft that goes
// counts in "<bucket>:drafts". The reply is {1|0, wait ms, n, the n draft
// counts, n flags: 1 where that bucket is what the send waits for}.
var gcra = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local n = #KEYS
local draft = tonumber(ARGV[3*n+1]) == 1
local margin = tonumber(ARGV[3*n+2])
local wait = 0
local tats, waits, counts = {}, {}, {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[3*i-2])
  local burst = tonumber(ARGV[3*i-1])
  local reserve = tonumber(ARGV[3*i])
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  local newtat = tat + interval
  local allow_at = newtat - (burst - reserve) * interval
  waits[i] = 0
  if allow_at > now then
    waits[i] = allow_at - now
    if waits[i] > wait then wait = waits[i] end
  end
  tats[i] = newtat
  counts[i] = tonumber(redis.call('GET', key .. ':drafts') or '0')
end
if draft and wait == 0 then
  for i, key in ipairs(KEYS) do
    local left = redis.call('PTTL', key .. ':waiting')
    if left > 0 and left > wait then wait = left end
  end
end
local reply = {0, tostring(wait), n}
for i = 1, n do reply[3+i] = counts[i] end
if wait > 0 then
  for i, key in ipairs(KEYS) do
    local limiting = 0
    if waits[i] > 0 then
      limiting = 1
      if not draft then
        redis.call('SET', key .. ':waiting', '1', 'PX', math.ceil(waits[i] + margin))
      end
    end
    reply[3+n+i] = limiting
  end
  return reply
end
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[3*i-2])
  local burst = tonumber(ARGV[3*i-1])
  local ttl = math.ceil(tats[i] - now + interval * burst) + 1000
  redis.call('SET', key, tostring(tats[i]), 'PX', ttl)
  if draft then
    reply[3+i] = redis.call('INCR', key .. ':drafts')
    redis.call('PEXPIRE', key .. ':drafts', 3600000)
  end
  reply[3+n+i] = 0
end
reply[1] = 1
return reply
`)

// waitMarkMargin is how long a "waiting" mark outlives the wait it covers:
// the time a waiter takes to wake up and ask again.
const waitMarkMargin = 250 * time.Millisecond

// taken is the answer of one gcra run.
type taken struct {
	wait     time.Duration // 0: the send may go now
	drafts   []int64       // per bucket: drafts that have gone through it so far
	limiting []bool        // per bucket: the send waits for this one
}

// Reserve tries to take one token from each bucket. It returns 0 when the
// send may go now, else how long to wait before trying again. A draft
// (PriorityDraft) is never meant to wait: anything but 0 means skip it.
func (l *Limiter) Reserve(ctx context.Context, chatID int64, prio Priority) (time.Duration, error) {
	r, err := l.take(ctx, chatID, prio)
	return r.wait, err
}

func (l *Limiter) take(ctx context.Context, chatID int64, prio Priority) (taken, error) {
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
	args := make([]any, 0, 3*len(buckets)+2)
	for i, b := range buckets {
		keys[i] = l.prefix + b.Key
		reserve := 0
		switch prio {
		case PriorityBroadcast:
			reserve = min(b.Reserve, b.Burst-1)
		case PriorityDraft:
			reserve = min(max(b.DraftReserve, 0), b.Burst-1)
		}
		args = append(args, 1000/b.Rate, b.Burst, reserve)
	}
	kind := 0
	if prio == PriorityDraft {
		kind = 1
	}
	args = append(args, kind, waitMarkMargin.Milliseconds())
	res, err := gcra.Run(ctx, l.rdb, keys, args...).Slice()
	if err != nil {
		return taken{}, fmt.Errorf("telegram: limiter: %w", err)
	}
	return parseTaken(res), nil
}

func parseTaken(res []any) taken {
	var r taken
	ms, _ := strconv.ParseFloat(res[1].(string), 64)
	if res[0].(int64) != 1 {
		r.wait = max(time.Duration(ms*float64(time.Millisecond)), time.Millisecond)
	}
	n := int(res[2].(int64))
	for i := range n {
		c, _ := res[3+i].(int64)
		f, _ := res[3+n+i].(int64)
		r.drafts = append(r.drafts, c)
		r.limiting = append(r.limiting, f == 1)
	}
	return r
}

// Wait blocks until the send may go or ctx ends; maxWait (if > 0) bounds the
// wait: when the next slot is further away, Wait returns that delay instead of
// sleeping (broadcasts then reschedule rather than hold a worker). Drafts do
// not wait: use Reserve.
func (l *Limiter) Wait(ctx context.Context, chatID int64, prio Priority, maxWait time.Duration) (time.Duration, error) {
	w, err := l.wait(ctx, chatID, prio, maxWait)
	return w.retryIn, err
}

// waited is how a Wait went.
type waited struct {
	retryIn time.Duration // > 0: not now, the wait would exceed maxWait
	// behindDraft: this send was refused by a bucket after a draft had
	// taken a token of it while the send was waiting — what the draft
	// rules exist to prevent.
	behindDraft bool
}

func (l *Limiter) wait(ctx context.Context, chatID int64, prio Priority, maxWait time.Duration) (waited, error) {
	var total time.Duration
	// first: per bucket, its draft count when it first held this send.
	// A later refusal by the same bucket after its count grew means a
	// draft took a token while this send was waiting for one.
	var first map[int]int64
	var w waited
	for {
		r, err := l.take(ctx, chatID, prio)
		if err != nil {
			return w, err
		}
		if r.wait == 0 {
			return w, nil
		}
		for i, lim := range r.limiting {
			if !lim {
				continue
			}
			if c, ok := first[i]; ok {
				w.behindDraft = w.behindDraft || r.drafts[i] > c
				continue
			}
			if first == nil {
				first = map[int]int64{}
			}
			first[i] = r.drafts[i]
		}
		d := r.wait
		if maxWait > 0 && total+d > maxWait {
			w.retryIn = d
			return w, nil
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return w, ctx.Err()
		case <-t.C:
		}
		total += d
	}
}
