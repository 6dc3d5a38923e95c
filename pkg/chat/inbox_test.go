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
