package chat

import (
	"context"
	"testing"
	"time"
)

func TestInboxPushIsIdempotent(t *testing.T) {
	b := newBench(t, nil)
	ctx := context.Background()
	const uid = 4001
	it := b.text(uid, "раз")
	for i, want := range []bool{true, false} {
		added, err := b.s.ib.push(ctx, uid, it)
		if err != nil || added != want {
			t.Fatalf("push %d: added %v (%v), want %v", i+1, added, err, want)
		}
	}
	if err := b.s.ib.complete(ctx, uid, it.Payload.UpdateID); err != nil {
		t.Fatal(err)
	}
	// A late re-delivery of a processed update is not taken up again.
	if added, err := b.s.ib.push(ctx, uid, it); err != nil || added {
		t.Fatalf("a processed update re-entered the inbox: %v %v", added, err)
	}
	if got := b.inbox(uid); len(got) != 0 {
		t.Fatalf("inbox %v", got)
	}
}

func TestInboxRetire(t *testing.T) {
	b := newBench(t, nil)
	ctx := context.Background()
	const uid = 4002
	it := b.text(uid, "раз")
	b.push(uid, it)
	if empty, err := b.s.ib.retire(ctx, uid); err != nil || empty {
		t.Fatalf("retire of a full inbox: %v %v", empty, err)
	}
	if err := b.s.ib.complete(ctx, uid, it.Payload.UpdateID); err != nil {
		t.Fatal(err)
	}
	if empty, err := b.s.ib.retire(ctx, uid); err != nil || !empty {
		t.Fatalf("retire of an empty inbox: %v %v", empty, err)
	}
	if ok, _ := b.rdb.SIsMember(ctx, b.s.ib.usersKey(), uid).Result(); ok {
		t.Fatal("still on the sweeper's list")
	}
}

// A step's record outlives a short Redis outage: the effect it records has
// happened, and losing the record would repeat it.
func TestMarkStepWaitsOutAnOutage(t *testing.T) {
	b := newBench(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // even when the unit's context ended meanwhile
	step := stepRef{4003, 101, "reply"}
	b.mr.SetError("MISCONF the disk is full")
	go func() {
		time.Sleep(300 * time.Millisecond)
		b.mr.SetError("")
	}()
	if err := b.s.ib.markStep(ctx, step, "1001"); err != nil {
		t.Fatal(err)
	}
	if v, done, err := b.s.ib.stepDone(context.Background(), step); err != nil || !done || v != "1001" {
		t.Fatalf("step %q %v %v", v, done, err)
	}
}

// A message on its way holds the lease for longer than the lease's ttl until
// its step is recorded: Redis may go away right after the message left and
// come back after the ttl (it keeps expiry times across a restart); the
// lease must still be ours then, or another drain would re-run the unit
// before the record lands and send the message a second time.
func TestLeaseOutlivesAnOutageWhileAMessageIsUnrecorded(t *testing.T) {
	b := newBench(t, nil)
	ctx := context.Background()
	const uid, ttl = 4004, 10 * time.Second
	l, err := b.s.ib.lock(ctx, uid, ttl)
	if err != nil {
		t.Fatal(err)
	}
	workCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	workCtx = withLease(workCtx, l, ttl, cancel)
	lockKey := b.s.ib.lockKey(uid)

	// A draft or "typing…" is not recorded: the lease keeps its ttl.
	if err := fenceSend(unrecorded(workCtx)); err != nil {
		t.Fatal(err)
	}
	if got := b.mr.TTL(lockKey); got > ttl {
		t.Fatalf("an unrecorded request held the lease for %s", got)
	}
	// A reply leaves; Redis is away for twice the ttl before the record.
	if err := fenceSend(workCtx); err != nil {
		t.Fatal(err)
	}
	// keepLease's renewal does not cut the longer hold.
	if ok, err := l.renew(ctx, leaseFrom(workCtx).want()); err != nil || !ok {
		t.Fatalf("renew: %v %v", ok, err)
	}
	b.mr.FastForward(2 * ttl)
	if _, err := b.s.ib.lock(ctx, uid, ttl); err != errLocked {
		t.Fatalf("another drain took the user while a sent message was unrecorded: %v", err)
	}
	if err := b.s.ib.markStep(workCtx, stepRef{uid, 1, "part0"}, "77"); err != nil {
		t.Fatal(err)
	}
	if got := b.mr.TTL(lockKey); got <= 0 || got > ttl {
		t.Fatalf("after the record the lease has %s to live, want (0, %s]", got, ttl)
	}
	if err := fence(workCtx); err != nil {
		t.Fatalf("the holder lost its lease: %v", err)
	}
	// Once recorded, a lease that ran out is lost as before.
	b.mr.FastForward(ttl + time.Second)
	if _, err := b.s.ib.lock(ctx, uid, ttl); err != nil {
		t.Fatalf("an expired lease was not free: %v", err)
	}
	if err := fence(workCtx); err != errLeaseLost {
		t.Fatalf("fence after the lease was taken: %v, want errLeaseLost", err)
	}
}
