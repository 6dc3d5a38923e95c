package chat

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/redislock"
	"marketingbot/pkg/redisx"
	"marketingbot/pkg/tasks"
	"marketingbot/pkg/telegram"
)

// item is one inbox entry: an update routed to a user.
type item struct {
	Type    string              `json:"type"` // task type that brought it
	Payload tasks.UpdatePayload `json:"payload"`
}

type inbox struct {
	rdb  redis.UniversalClient
	keys redisx.Keys
	ttl  time.Duration
	// intentWait bounds how long claimPart waits for another holder's
	// part to be recorded (0: defaultIntentWait).
	intentWait time.Duration
}

func uidStr(uid int64) string { return strconv.FormatInt(uid, 10) }

func (ib *inbox) itemsKey(uid int64) string { return ib.keys.Key("chat", "inbox", uidStr(uid)) }
func (ib *inbox) lockKey(uid int64) string  { return ib.keys.Key("chat", "lock", uidStr(uid)) }
func (ib *inbox) doneKey(uid int64) string  { return ib.keys.Key("chat", "done", uidStr(uid)) }
func (ib *inbox) usersKey() string          { return ib.keys.Key("chat", "inboxes") }
func (ib *inbox) stepKey(uid int64, updateID int64, step string) string {
	return ib.keys.Key("chat", "step", uidStr(uid), strconv.FormatInt(updateID, 10), step)
}
func (ib *inbox) attemptsKey(uid int64) string { return ib.keys.Key("chat", "attempts", uidStr(uid)) }

// push adds an update unless it is already there or already processed.
// added is false for a duplicate.
func (ib *inbox) push(ctx context.Context, uid int64, it item) (added bool, err error) {
	done, err := ib.rdb.ZScore(ctx, ib.doneKey(uid), strconv.FormatInt(it.Payload.UpdateID, 10)).Result()
	if err == nil && done > 0 {
		return false, nil
	}
	if err != nil && !errors.Is(err, redis.Nil) {
		return false, fmt.Errorf("chat: inbox: %w", err)
	}
	b, err := json.Marshal(it)
	if err != nil {
		return false, fmt.Errorf("chat: inbox: %w", err)
	}
	pipe := ib.rdb.TxPipeline()
	// The member is the update id so the same update can never be in twice,
	// whatever the payload bytes; the payload lives in a hash beside it.
	n := pipe.ZAddNX(ctx, ib.itemsKey(uid), redis.Z{Score: float64(it.Payload.UpdateID), Member: it.Payload.UpdateID})
	pipe.HSetNX(ctx, ib.itemsKey(uid)+":data", strconv.FormatInt(it.Payload.UpdateID, 10), b)
	pipe.Expire(ctx, ib.itemsKey(uid), ib.ttl)
	pipe.Expire(ctx, ib.itemsKey(uid)+":data", ib.ttl)
	pipe.SAdd(ctx, ib.usersKey(), uid)
	if _, err := pipe.Exec(ctx); err != nil {
		return false, fmt.Errorf("chat: inbox: %w", err)
	}
	return n.Val() == 1, nil
}

// isDone reports whether an update was processed.
func (ib *inbox) isDone(ctx context.Context, uid, updateID int64) (bool, error) {
	_, err := ib.rdb.ZScore(ctx, ib.doneKey(uid), strconv.FormatInt(updateID, 10)).Result()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("chat: inbox: %w", err)
	}
	return true, nil
}

// pending returns the user's inbox in update order.
func (ib *inbox) pending(ctx context.Context, uid int64) ([]item, error) {
	ids, err := ib.rdb.ZRange(ctx, ib.itemsKey(uid), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("chat: inbox: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	raw, err := ib.rdb.HMGet(ctx, ib.itemsKey(uid)+":data", ids...).Result()
	if err != nil {
		return nil, fmt.Errorf("chat: inbox: %w", err)
	}
	out := make([]item, 0, len(ids))
	for i, r := range raw {
		s, _ := r.(string)
		var it item
		if s == "" || json.Unmarshal([]byte(s), &it) != nil {
			// A payload we cannot read: drop it rather than block the user.
			id, _ := strconv.ParseInt(ids[i], 10, 64)
			_ = ib.complete(ctx, uid, id)
			continue
		}
		out = append(out, it)
	}
	return out, nil
}

// complete removes processed updates and remembers them (for late duplicates).
func (ib *inbox) complete(ctx context.Context, uid int64, updateIDs ...int64) error {
	if len(updateIDs) == 0 {
		return nil
	}
	pipe := ib.rdb.TxPipeline()
	for _, id := range updateIDs {
		s := strconv.FormatInt(id, 10)
		pipe.ZRem(ctx, ib.itemsKey(uid), id)
		pipe.HDel(ctx, ib.itemsKey(uid)+":data", s)
		pipe.ZAdd(ctx, ib.doneKey(uid), redis.Z{Score: float64(id), Member: s})
		pipe.HDel(ctx, ib.attemptsKey(uid), s)
	}
	pipe.ZRemRangeByRank(ctx, ib.doneKey(uid), 0, -2001) // keep the last 2,000
	pipe.Expire(ctx, ib.doneKey(uid), 30*24*time.Hour)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("chat: inbox complete: %w", err)
	}
	return nil
}

// retire takes the user off the set of inboxes with updates (the sweeper's
// list) when the inbox is empty; false when there is something to drain.
func (ib *inbox) retire(ctx context.Context, uid int64) (bool, error) {
	n, err := ib.rdb.ZCard(ctx, ib.itemsKey(uid)).Result()
	if err != nil {
		return false, fmt.Errorf("chat: inbox: %w", err)
	}
	if n > 0 {
		return false, nil
	}
	ib.rdb.SRem(ctx, ib.usersKey(), uid)
	// A push may have slipped in between ZCARD and SREM: look once more.
	if n2, _ := ib.rdb.ZCard(ctx, ib.itemsKey(uid)).Result(); n2 == 0 {
		return true, nil
	}
	ib.rdb.SAdd(ctx, ib.usersKey(), uid)
	return false, nil
}

// attempt counts a try at an update; used to give up on poisoned ones.
func (ib *inbox) attempt(ctx context.Context, uid, updateID int64) (int64, error) {
	k := ib.attemptsKey(uid)
	n, err := ib.rdb.HIncrBy(ctx, k, strconv.FormatInt(updateID, 10), 1).Result()
	if err == nil {
		ib.rdb.Expire(ctx, k, 7*24*time.Hour)
	}
	return n, err
}

// lease is a held per-user lock.
type lease struct {
	ib    *inbox
	uid   int64
	token string
}

var errLocked = errors.New("chat: user is being processed by another worker")

func (ib *inbox) lock(ctx context.Context, uid int64, ttl time.Duration) (*lease, error) {
	var b [12]byte
	_, _ = rand.Read(b[:])
	tok := hex.EncodeToString(b[:])
	ok, err := ib.rdb.SetNX(ctx, ib.lockKey(uid), tok, ttl).Result()
	if err != nil {
		return nil, fmt.Errorf("chat: lock: %w", err)
	}
	if !ok {
		return nil, errLocked
	}
	return &lease{ib: ib, uid: uid, token: tok}, nil
}

// heldLease is the lease a drain holds, carried in the drain's context so
// that effects can be fenced with it.
type heldLease struct {
	l      *lease
	ttl    time.Duration
	cancel context.CancelFunc
}

type leaseCtxKey struct{}

// withLease carries the lease in ctx; every Bot API request sent under ctx
// is fenced with it (telegram.WithFence), right before it leaves, and every
// Sheets write by whoever sends it, right before it goes out
// (redislock.WithFence): a write queued while the lease was held does not
// land after another worker has taken the user over.
func withLease(ctx context.Context, l *lease, ttl time.Duration, cancel context.CancelFunc) context.Context {
	ctx = redislock.WithFence(ctx, redislock.Fence{Key: l.ib.lockKey(l.uid), Token: l.token})
	return telegram.WithFence(context.WithValue(ctx, leaseCtxKey{}, &heldLease{l: l, ttl: ttl, cancel: cancel}), fence)
}

var errLeaseLost = errors.New("chat: lost the user's lease to another worker")

// fence renews the drain's lease right before an effect that must happen
// once (a message sent, the history written). keepLease notices a lost
// lease only at its next tick; after Redis was away longer than the lease,
// another worker may have taken the user meanwhile and be doing the same
// unit, and this holder must not act on its stale view. A renewed lease
// cannot expire during the effect. Outside a drain it does nothing.
func fence(ctx context.Context) error {
	h, ok := ctx.Value(leaseCtxKey{}).(*heldLease)
	if !ok {
		return nil
	}
	held, err := h.l.renew(ctx, h.ttl)
	if err != nil {
		return fmt.Errorf("chat: lease: %w", err)
	}
	if !held {
		h.cancel()
		return errLeaseLost
	}
	if pp, ok := ctx.Value(pendingCtxKey{}).(*pendingPart); ok {
		if r, ok := pp.take(); ok {
			// The part's request leaves next: from now until its record,
			// its step says it may have been sent.
			if err := h.l.ib.rdb.Set(ctx, h.l.ib.stepKey(r.uid, r.update, r.name), intentPrefix+h.l.token, 7*24*time.Hour).Err(); err != nil {
				return fmt.Errorf("chat: step %s: %w", r.name, err)
			}
		}
	}
	return nil
}

// renew extends the lease; false means it was lost (expired and taken).
func (l *lease) renew(ctx context.Context, ttl time.Duration) (bool, error) {
	return redislock.Renew(ctx, l.ib.rdb, l.ib.lockKey(l.uid), l.token, ttl)
}

func (l *lease) release(ctx context.Context) {
	_ = redislock.Release(ctx, l.ib.rdb, l.ib.lockKey(l.uid), l.token)
}

// stepRef names a recorded step of a unit: a finished effect (a message
// sent, a reply generated, a row created…) recorded under the user and the
// unit's update, so that a re-run skips it.
type stepRef struct {
	uid    int64
	update int64
	name   string
}

// stepDone reports whether the step was recorded, and the value stored with
// it (e.g. the generated reply, the id of the message sent).
func (ib *inbox) stepDone(ctx context.Context, r stepRef) (string, bool, error) {
	v, err := ib.rdb.Get(ctx, ib.stepKey(r.uid, r.update, r.name)).Result()
	if errors.Is(err, redis.Nil) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("chat: step %s: %w", r.name, err)
	}
	return v, true, nil
}

// generated reports which of the items ended a unit whose reply was
// generated (the "gen" step is recorded under a unit's last update).
func (ib *inbox) generated(ctx context.Context, uid int64, items []item) (map[int64]bool, error) {
	keys := make([]string, len(items))
	for i, it := range items {
		keys[i] = ib.stepKey(uid, it.Payload.UpdateID, "gen")
	}
	vals, err := ib.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("chat: step gen: %w", err)
	}
	out := make(map[int64]bool, len(items))
	for i, v := range vals {
		if v != nil {
			out[items[i].Payload.UpdateID] = true
		}
	}
	return out, nil
}

// stepRecordBudget is how long markStep keeps trying to reach Redis.
const stepRecordBudget = time.Minute

// markStep records a finished step. Most steps record an effect that has
// already happened — a message sent — and a lost record would repeat it
// when the unit runs again, so a Redis outage is waited out (up to
// stepRecordBudget), even when ctx ends meanwhile: the effect happened
// either way.
func (ib *inbox) markStep(ctx context.Context, r stepRef, value string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stepRecordBudget)
	defer cancel()
	var last error
	err := failsafe.With[any](stepRetry).WithContext(ctx).Run(func() error {
		last = ib.rdb.Set(ctx, ib.stepKey(r.uid, r.update, r.name), value, 7*24*time.Hour).Err()
		return last
	})
	if err == nil {
		return nil
	}
	if last == nil {
		last = err
	}
	return fmt.Errorf("chat: step %s: %w", r.name, last)
}

// stepRetry waits out a Redis outage for markStep (whose context bounds it).
var stepRetry = retrypolicy.NewBuilder[any]().WithMaxRetries(-1).WithBackoff(50*time.Millisecond, time.Second).Build()

// Sent but not recorded. A message part is recorded as a step after
// Telegram accepted it; if Redis goes away between the two, the drain waits
// to record it, its lease runs out meanwhile, and the drain that takes the
// user over when Redis is back would send the part again before the record
// gets through. So right before a part's request leaves, its step holds an
// intent ("?" and the lease's token) — written by the fence, after the
// limiter let the request go and the lease was renewed (pendingPart) — and
// a later drain that finds another holder's intent waits for that holder to
// record the part (or to clear the intent after a failed send) for up to
// defaultIntentWait before it sends the part itself (a holder that died
// between the send and the record: the one case left in which a part goes
// twice).

const (
	intentPrefix      = "?"
	defaultIntentWait = 5 * time.Second
	intentPoll        = 50 * time.Millisecond
)

// leaseToken is the token of the drain's lease in ctx ("" outside a drain).
func leaseToken(ctx context.Context) string {
	if h, ok := ctx.Value(leaseCtxKey{}).(*heldLease); ok {
		return h.l.token
	}
	return ""
}

// claimPart is asked right before a part that must leave once: sent (with
// its recorded value) when an earlier run recorded it; otherwise the part
// may go, and the caller's intent is recorded — by the fence when the send
// has a pendingPart, else at once.
func (ib *inbox) claimPart(ctx context.Context, r stepRef) (string, bool, error) {
	tok := leaseToken(ctx)
	if tok == "" {
		return ib.stepDone(ctx, r)
	}
	mine := intentPrefix + tok
	wait := ib.intentWait
	if wait <= 0 {
		wait = defaultIntentWait
	}
	waited := time.Duration(0)
	for {
		v, done, err := ib.stepDone(ctx, r)
		if err != nil || (done && !strings.HasPrefix(v, intentPrefix)) {
			return v, done, err
		}
		if !done || v == mine || waited >= wait {
			break
		}
		// Another holder's part is in flight or sent and not recorded yet.
		select {
		case <-ctx.Done():
			return "", false, ctx.Err()
		case <-time.After(intentPoll):
		}
		waited += intentPoll
	}
	if pp, ok := ctx.Value(pendingCtxKey{}).(*pendingPart); ok {
		pp.set(r) // the fence writes the intent right before the request
		return "", false, nil
	}
	if err := ib.rdb.Set(ctx, ib.stepKey(r.uid, r.update, r.name), mine, 7*24*time.Hour).Err(); err != nil {
		return "", false, fmt.Errorf("chat: step %s: %w", r.name, err)
	}
	return "", false, nil
}

// pendingPart is the part a text send is about to make: claimPart leaves
// it here and the drain's fence writes its intent right before the request
// leaves, so an intent never stands for a part still waiting in the
// limiter.
type pendingPart struct {
	mu  sync.Mutex
	ref *stepRef
}

type pendingCtxKey struct{}

// withPendingPart gives the text sends under ctx a pending part.
func withPendingPart(ctx context.Context) context.Context {
	return context.WithValue(ctx, pendingCtxKey{}, &pendingPart{})
}

func (pp *pendingPart) set(r stepRef) {
	pp.mu.Lock()
	pp.ref = &r
	pp.mu.Unlock()
}

func (pp *pendingPart) take() (stepRef, bool) {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	r := pp.ref
	pp.ref = nil
	if r == nil {
		return stepRef{}, false
	}
	return *r, true
}

// unclaimPart clears the caller's intent after a send that failed, so the
// next run sends the part without waiting.
func (ib *inbox) unclaimPart(ctx context.Context, r stepRef) {
	if tok := leaseToken(ctx); tok != "" {
		_ = redislock.Release(context.WithoutCancel(ctx), ib.rdb, ib.stepKey(r.uid, r.update, r.name), intentPrefix+tok)
	}
}
