package telegram

import (
	"math"
	"sync"
	"time"
)

// floodLimiter holds the token buckets of FloodLimits. Time is measured
// with the monotonic clock (time.Since), so wall-clock jumps do not refill
// or drain buckets.
type floodLimiter struct {
	mu     sync.Mutex
	epoch  time.Time
	limits FloodLimits
	global bucket
	chats  map[int64]*bucket
}

type bucket struct {
	tokens float64
	at     time.Duration // since epoch, when tokens was computed
}

func newFloodLimiter(limits FloodLimits) *floodLimiter {
	l := &floodLimiter{epoch: time.Now()}
	l.reset(limits)
	return l
}

// reset installs limits and refills every bucket.
func (l *floodLimiter) reset(limits FloodLimits) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.limits = limits
	l.global = bucket{tokens: float64(limits.GlobalBurst), at: time.Since(l.epoch)}
	l.chats = make(map[int64]*bucket)
}

func (l *floodLimiter) current() FloodLimits {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.limits
}

// take consumes one token from the global bucket and the chat's bucket, or
// none if either is empty; then it returns the whole seconds (>= 1) until
// both would have a token.
func (l *floodLimiter) take(chatID int64, group bool) (retryAfter int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.limits.Enabled {
		return 0, true
	}
	now := time.Since(l.epoch)
	chatRate, chatBurst := l.limits.ChatRate, float64(l.limits.ChatBurst)
	if group {
		chatRate, chatBurst = l.limits.GroupPerMinute/60, float64(l.limits.GroupBurst)
	}
	chat := l.chats[chatID]
	if chat == nil {
		chat = &bucket{tokens: chatBurst, at: now}
		l.chats[chatID] = chat
	}
	global := &l.global
	global.refill(now, l.limits.GlobalRate, float64(l.limits.GlobalBurst))
	chat.refill(now, chatRate, chatBurst)

	wait := max(global.wait(l.limits.GlobalRate), chat.wait(chatRate))
	if wait > 0 {
		return max(1, int(math.Ceil(wait.Seconds()))), false
	}
	global.tokens--
	chat.tokens--
	return 0, true
}

func (b *bucket) refill(now time.Duration, rate, burst float64) {
	b.tokens = min(burst, b.tokens+rate*(now-b.at).Seconds())
	b.at = now
}

// wait is how long until the bucket holds one whole token.
func (b *bucket) wait(rate float64) time.Duration {
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) / rate * float64(time.Second))
}
