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

// A part sent under one lease and not recorded yet (Redis was away; the
// lease ran out meanwhile) is not sent again by the drain that takes the
// user over: it waits for the first holder's record. A failed send clears
// its intent at once; a holder that never records (it died) is waited for
// only intentWait.
func TestClaimPartWaitsForAnotherHoldersRecord(t *testing.T) {
	b := newBench(t, nil)
	b.s.ib.intentWait = time.Second
	step := stepRef{4004, 102, "part"}
	under := func(token string) context.Context {
		return context.WithValue(context.Background(), leaseCtxKey{}, &heldLease{l: &lease{ib: b.s.ib, uid: step.uid, token: token}})
	}
	a, bb := under("a"), under("b")

	if _, sent, err := b.s.ib.claimPart(a, step); err != nil || sent {
		t.Fatalf("first claim: sent %v, %v", sent, err)
	}
	type claim struct {
		v    string
		sent bool
		err  error
	}
	got := make(chan claim, 1)
	go func() {
		v, sent, err := b.s.ib.claimPart(bb, step)
		got <- claim{v, sent, err}
	}()
	// The first holder records its part (the record waited out Redis).
	if err := b.s.ib.markStep(a, step, "42"); err != nil {
		t.Fatal(err)
	}
	if c := <-got; c.err != nil || !c.sent || c.v != "42" {
		t.Fatalf("the second holder's claim: %+v, want the part sent as message 42", c)
	}

	failed := stepRef{4004, 103, "part"}
	if _, _, err := b.s.ib.claimPart(a, failed); err != nil {
		t.Fatal(err)
	}
	b.s.ib.unclaimPart(a, failed)
	if v, done, _ := b.s.ib.stepDone(context.Background(), failed); done {
		t.Fatalf("a failed send left %q", v)
	}

	dead := stepRef{4004, 104, "part"}
	if _, _, err := b.s.ib.claimPart(a, dead); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, sent, err := b.s.ib.claimPart(bb, dead); err != nil || sent {
		t.Fatalf("claim after a holder that never recorded: sent %v, %v", sent, err)
	}
	if waited := time.Since(start); waited < time.Second {
		t.Errorf("took over after %v, want the intent waited for (1 s)", waited)
	}
	if v, _, _ := b.s.ib.stepDone(context.Background(), dead); v != "?b" {
		t.Errorf("the step holds %q after the take-over, want the new holder's intent", v)
	}
}

// Under a text send, the intent is written by the fence, right before the
// part's request leaves, not while the part still waits in the limiter.
func TestPartIntentIsWrittenByTheFence(t *testing.T) {
	b := newBench(t, nil)
	step := stepRef{4005, 105, "part"}
	l, err := b.s.ib.lock(context.Background(), step.uid, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ctx = withPendingPart(withLease(ctx, l, time.Minute, cancel))
	if _, sent, err := b.s.ib.claimPart(ctx, step); err != nil || sent {
		t.Fatalf("claim: sent %v, %v", sent, err)
	}
	if v, done, _ := b.s.ib.stepDone(ctx, step); done {
		t.Fatalf("the step holds %q before the request is let go", v)
	}
	if err := fence(ctx); err != nil {
		t.Fatal(err)
	}
	if v, _, _ := b.s.ib.stepDone(ctx, step); v != "?"+l.token {
		t.Fatalf("after the fence the step holds %q, want the lease's intent", v)
	}
}
