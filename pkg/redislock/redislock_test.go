package redislock

import (
	"context"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// Only the holder of the token renews or releases; another holder's key is
// left alone.
func TestOnlyTheHolderRenewsAndReleases(t *testing.T) {
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	ctx := context.Background()
	if err := rdb.Set(ctx, "k", "mine", time.Second).Err(); err != nil {
		t.Fatal(err)
	}
	if held, err := Renew(ctx, rdb, "k", "mine", time.Minute); err != nil || !held {
		t.Fatalf("holder's renew: %v %v", held, err)
	}
	if ttl := mr.TTL("k"); ttl != time.Minute {
		t.Errorf("ttl after renew %s, want 1m", ttl)
	}
	if held, err := Renew(ctx, rdb, "k", "theirs", time.Hour); err != nil || held {
		t.Fatalf("another's renew: %v %v", held, err)
	}
	if err := Release(ctx, rdb, "k", "theirs"); err != nil || !mr.Exists("k") {
		t.Fatalf("another's release removed the key (%v)", err)
	}
	if err := Release(ctx, rdb, "k", "mine"); err != nil || mr.Exists("k") {
		t.Fatalf("holder's release kept the key (%v)", err)
	}
}
