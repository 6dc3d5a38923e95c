package intake_test

import (
	"context"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/intake"
)

func TestRedisSequencer(t *testing.T) {
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	seq := intake.NewRedisSequencer(rdb, "test:", time.Hour)
	for _, step := range []struct {
		name         string
		user, update int64
		prev         int64
	}{
		{"first update of a user", 7, 10, 0},
		{"next one", 7, 12, 10},
		{"and the next", 7, 15, 12},
		{"another user has their own chain", 8, 13, 0},
		// A re-delivery (or a re-read after a restart) gets the same answer as the first time.
		{"re-delivered", 7, 12, 10},
		{"re-delivered first", 7, 10, 0},
		{"the chain goes on", 7, 16, 15},
	} {
		prev, err := seq.Chain(context.Background(), step.user, step.update)
		if err != nil || prev != step.prev {
			t.Fatalf("%s: Chain(%d, %d) = %d, %v; want %d", step.name, step.user, step.update, prev, err, step.prev)
		}
	}
	// Chains are forgotten after the ttl.
	if n := len(mr.Keys()); n != 4 {
		t.Fatalf("%d keys, want a last id and a chain for each of 2 users", n)
	}
	for _, k := range mr.Keys() {
		if ttl := mr.TTL(k); ttl != time.Hour {
			t.Fatalf("key %s has ttl %s, want 1h", k, ttl)
		}
	}
	mr.FastForward(time.Hour)
	if prev, _ := seq.Chain(context.Background(), 7, 20); prev != 0 {
		t.Fatalf("after the ttl: prev %d, want 0", prev)
	}
}
