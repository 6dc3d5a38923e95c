package promo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/redislock"
)

// Phases of a broadcast in Redis.
const (
	phaseStarting = "starting" // the row was set Отправляется; the broadcast task is enqueued
	phaseSending  = "sending"  // recipients recorded; sends are enqueued or running
	phaseDone     = "done"     // finalized (sent to everyone, or cancelled and drained)
	phaseAborted  = "aborted"  // ended before sending anything; may be started again
)

// Outcomes of one recipient, also the counter fields of the state hash.
const (
	outcomeSent    = "sent"
	outcomeBlocked = "blocked"
	outcomeFailed  = "failed"
	outcomeSkipped = "skipped"
)

func (s *Service) stateKey(id string) string      { return s.keys.Key("promo", "state", id) }
func (s *Service) recipientsKey(id string) string { return s.keys.Key("promo", "recipients", id) }
func (s *Service) processedKey(id string) string  { return s.keys.Key("promo", "processed", id) }
func (s *Service) claimsKey(id string) string     { return s.keys.Key("promo", "claims", id) }
func (s *Service) blockedKey(id string) string    { return s.keys.Key("promo", "blocked", id) }
func (s *Service) lockKey(id string) string       { return s.keys.Key("promo", "lock", id) }
func (s *Service) activeKey() string              { return s.keys.Key("promo", "active") }
func (s *Service) partsKey(id string) string      { return s.keys.Key("promo", "parts", id) }

// perPromoKeys are every key of one promotion (for a restart after an abort).
func (s *Service) perPromoKeys(id string) []string {
	return []string{s.stateKey(id), s.recipientsKey(id), s.processedKey(id), s.claimsKey(id), s.blockedKey(id), s.partsKey(id)}
}

// state is the hash at stateKey.
type state struct {
	Phase      string
	Operator   string
	Title      string
	Text       string
	Image      string
	Audience   string
	Row        int
	Total      int
	Enqueued   int
	Sent       int
	Failed     int
	Blocked    int
	Skipped    int
	Cancelled  bool
	Plain      bool // Telegram rejected the HTML: send plain text
	NoPhoto    bool // Telegram rejected the image: send text messages
	Finalized  bool
	FinishedAt time.Time
	Reported   string // counters last written to the sheet
}

func (st state) counters() string {
	return fmt.Sprintf("%d/%d/%d", st.Sent, st.Failed, st.Blocked)
}

func (s *Service) loadState(ctx context.Context, id string) (state, error) {
	m, err := s.d.Redis.HGetAll(ctx, s.stateKey(id)).Result()
	if err != nil {
		return state{}, promoErr("load state", id, err)
	}
	return parseState(m), nil
}

func parseState(m map[string]string) state {
	num := func(k string) int { n, _ := strconv.Atoi(m[k]); return n }
	st := state{
		Phase: m["phase"], Operator: m["operator"], Title: m["title"], Text: m["text"], Image: m["image"],
		Audience: m["audience"], Row: num("row"), Total: num("total"), Enqueued: num("enqueued"),
		Sent: num(outcomeSent), Failed: num(outcomeFailed), Blocked: num(outcomeBlocked), Skipped: num(outcomeSkipped),
		Cancelled: m["cancelled"] == "1", Plain: m["plain"] == "1", NoPhoto: m["nophoto"] == "1",
		Finalized: m["finalized"] == "1", Reported: m["reported"],
	}
	if ms, err := strconv.ParseInt(m["finished_at"], 10, 64); err == nil {
		st.FinishedAt = time.UnixMilli(ms)
	}
	return st
}

// recordScript stores the recipients (staged in a temporary list) and moves
// the broadcast to sending, unless another run already did.
var recordScript = redis.NewScript(`
local phase = redis.call('HGET', KEYS[1], 'phase')
if phase == 'sending' or phase == 'done' then
  redis.call('DEL', KEYS[3])
  return 0
end
local total = tonumber(ARGV[2])
if total > 0 then
  redis.call('RENAME', KEYS[3], KEYS[2])
  redis.call('EXPIRE', KEYS[2], ARGV[9])
else
  redis.call('DEL', KEYS[2], KEYS[3])
end
redis.call('HSET', KEYS[1], 'phase', 'sending', 'total', total, 'title', ARGV[3], 'text', ARGV[4],
  'image', ARGV[5], 'audience', ARGV[6], 'row', ARGV[7], 'enqueued', 0)
redis.call('HSETNX', KEYS[1], 'started_at', ARGV[8])
redis.call('EXPIRE', KEYS[1], ARGV[9])
redis.call('SADD', KEYS[4], ARGV[1])
return 1
`)

// claimScript is the last check before the Bot API call: nothing to do if
// the recipient is processed or the broadcast cancelled; otherwise it takes
// the claim, or reports the claim an earlier attempt left.
var claimScript = redis.NewScript(`
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then return 'done' end
if redis.call('HGET', KEYS[1], 'cancelled') == '1' then return 'cancelled' end
if redis.call('HSETNX', KEYS[3], ARGV[1], ARGV[2]) == 0 then return 'claimed' end
redis.call('EXPIRE', KEYS[3], ARGV[3])
return 'ok'
`)

// markScript records a recipient's outcome once: processed set, counter and
// (for blocked) the pending Auth G write change together, so a retried send
// never counts twice. It returns {marked, processed, total}.
var markScript = redis.NewScript(`
redis.call('HDEL', KEYS[3], ARGV[1])
local marked = 0
if redis.call('SADD', KEYS[2], ARGV[1]) == 1 then
  marked = 1
  redis.call('HINCRBY', KEYS[1], ARGV[2], 1)
  redis.call('EXPIRE', KEYS[2], ARGV[3])
  if ARGV[2] == 'blocked' then
    redis.call('SADD', KEYS[4], ARGV[1])
    redis.call('EXPIRE', KEYS[4], ARGV[3])
  end
end
return {marked, redis.call('SCARD', KEYS[2]), tonumber(redis.call('HGET', KEYS[1], 'total') or '0')}
`)

// claimResult is what claimScript found; "ok" means the claim is taken.
type claimResult string

const (
	claimDone      claimResult = "done"
	claimCancelled claimResult = "cancelled"
	claimTaken     claimResult = "claimed"
)

func (s *Service) claim(ctx context.Context, id string, uid int64) (claimResult, error) {
	res, err := claimScript.Run(ctx, s.d.Redis, []string{s.stateKey(id), s.processedKey(id), s.claimsKey(id)},
		uid, uuid.NewString(), int(stateTTL.Seconds())).Text()
	if err != nil {
		return "", promoErr("claim", id, err)
	}
	return claimResult(res), nil
}

func (s *Service) release(ctx context.Context, id string, uid int64) {
	if err := s.d.Redis.HDel(context.WithoutCancel(ctx), s.claimsKey(id), strconv.FormatInt(uid, 10)).Err(); err != nil {
		// A leftover claim makes a retry count the recipient as sent
		// without sending: log it, there is nothing better to do.
		s.d.Log.Error("promo: release claim", "promotion_id", id, "telegram_id", uid, "err", err)
	}
}

// marked is the result of markScript.
type marked struct {
	First     bool // this call recorded the outcome
	Processed int
	Total     int
}

func (s *Service) mark(ctx context.Context, id string, uid int64, outcome string) (marked, error) {
	// The outcome is a fact by now: record it even if the task's context ends.
	ctx = context.WithoutCancel(ctx)
	res, err := markScript.Run(ctx, s.d.Redis,
		[]string{s.stateKey(id), s.processedKey(id), s.claimsKey(id), s.blockedKey(id)},
		uid, outcome, int(stateTTL.Seconds())).Int64Slice()
	if err != nil {
		return marked{}, promoErr("record outcome", id, err)
	}
	m := marked{First: res[0] == 1, Processed: int(res[1]), Total: int(res[2])}
	if m.First {
		s.sends.WithLabelValues(outcome).Inc()
	}
	return m, nil
}

// lock takes the promotion's sheet-write lock; wait says whether to wait
// for it (the final write) or give up at once (a progress write: the next
// one catches up).
func (s *Service) lock(ctx context.Context, id string, wait bool) (unlock func(), ok bool, err error) {
	token := uuid.NewString()
	key := s.lockKey(id)
	for {
		ok, err := s.d.Redis.SetNX(ctx, key, token, time.Minute).Result()
		if err != nil {
			return nil, false, promoErr("lock", id, err)
		}
		if ok {
			return func() {
				if err := redislock.Release(context.WithoutCancel(ctx), s.d.Redis, key, token); err != nil && !errors.Is(err, redis.Nil) {
					s.d.Log.Warn("promo: unlock", "promotion_id", id, "err", err)
				}
			}, true, nil
		}
		if !wait {
			return nil, false, nil
		}
		t := time.NewTimer(100 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, false, ctx.Err()
		case <-t.C:
		}
	}
}
