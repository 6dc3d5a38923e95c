package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// embeddedRedis is miniredis (a well-kept, pure-Go Redis-compatible server
// that runs asynq's and our Lua scripts) plus what a long-running sandbox
// needs from it: TTLs that pass in real time, and a snapshot file so a
// restart keeps the queues, projections and reports. The snapshot is written
// on close and every snapshotEvery while running, so a sandbox that is
// killed instead of stopped loses at most the last seconds, as the
// spreadsheet and the Telegram emulator (saved about a second after each
// change) do.
type embeddedRedis struct {
	mr   *miniredis.Miniredis
	path string
	stop context.CancelFunc
	done chan struct{}
}

// snapshotEvery is how often a running embedded Redis is saved.
const snapshotEvery = 5 * time.Second

func startRedis(path string, log *slog.Logger) (*embeddedRedis, error) {
	mr := miniredis.NewMiniRedis()
	if err := mr.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("sandbox: embedded redis: %w", err)
	}
	r := &embeddedRedis{mr: mr, path: path, done: make(chan struct{})}
	if err := r.load(); err != nil {
		mr.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.stop = cancel
	go func() {
		defer close(r.done)
		// miniredis counts TTLs down only when told; tell it in real time.
		last := time.Now()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		snap := time.NewTicker(snapshotEvery)
		defer snap.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				r.mr.FastForward(now.Sub(last))
				last = now
			case <-snap.C:
				if err := r.save(); err != nil {
					log.Warn("sandbox: embedded redis snapshot failed", "path", r.path, "err", err)
				}
			}
		}
	}()
	return r, nil
}

func (r *embeddedRedis) URL() string { return "redis://" + r.mr.Addr() + "/0" }

type snapshotKey struct {
	Type   string             `json:"type"`
	TTLms  int64              `json:"ttl_ms,omitempty"`
	String string             `json:"string,omitempty"`
	Hash   map[string]string  `json:"hash,omitempty"`
	List   []string           `json:"list,omitempty"`
	Set    []string           `json:"set,omitempty"`
	ZSet   map[string]float64 `json:"zset,omitempty"`
}

// close saves the snapshot and stops the server.
func (r *embeddedRedis) close() error {
	r.stop()
	<-r.done
	err := r.save()
	r.mr.Close()
	return err
}

// save writes the snapshot. It reads the keys over the wire, as any Redis
// client would: miniredis's direct accessors hand out its internal maps and
// slices (SortedSet, List), which its connections keep changing meanwhile.
func (r *embeddedRedis) save() error {
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: r.mr.Addr()})
	defer c.Close()
	names, err := c.Keys(ctx, "*").Result()
	if err != nil {
		return fmt.Errorf("sandbox: snapshot: %w", err)
	}
	keys := map[string]snapshotKey{}
	for _, k := range names {
		sk, err := readKey(ctx, c, k)
		if errors.Is(err, redis.Nil) {
			continue // gone meanwhile
		}
		if err != nil {
			return fmt.Errorf("sandbox: snapshot %s: %w", k, err)
		}
		if sk.Type != "" {
			keys[k] = sk
		}
	}
	b, err := json.Marshal(keys)
	if err != nil {
		return err
	}
	return writeAtomic(r.path, b)
}

// readKey reads one key of a kind the snapshot keeps (Type "" otherwise:
// streams and HyperLogLogs are not used).
func readKey(ctx context.Context, c *redis.Client, k string) (snapshotKey, error) {
	typ, err := c.Type(ctx, k).Result()
	if err != nil {
		return snapshotKey{}, err
	}
	if typ == "none" {
		return snapshotKey{}, redis.Nil
	}
	sk := snapshotKey{Type: typ}
	switch typ {
	case "string":
		sk.String, err = c.Get(ctx, k).Result()
	case "hash":
		sk.Hash, err = c.HGetAll(ctx, k).Result()
	case "list":
		sk.List, err = c.LRange(ctx, k, 0, -1).Result()
	case "set":
		sk.Set, err = c.SMembers(ctx, k).Result()
	case "zset":
		var zs []redis.Z
		zs, err = c.ZRangeWithScores(ctx, k, 0, -1).Result()
		sk.ZSet = make(map[string]float64, len(zs))
		for _, z := range zs {
			sk.ZSet[z.Member.(string)] = z.Score
		}
	default:
		return snapshotKey{}, nil
	}
	if err != nil {
		return snapshotKey{}, err
	}
	if ttl, err := c.PTTL(ctx, k).Result(); err == nil && ttl > 0 {
		sk.TTLms = ttl.Milliseconds()
	}
	return sk, nil
}

func (r *embeddedRedis) load() error {
	b, err := os.ReadFile(r.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sandbox: read %s: %w", r.path, err)
	}
	var keys map[string]snapshotKey
	if err := json.Unmarshal(b, &keys); err != nil {
		return fmt.Errorf("sandbox: %s is corrupt (delete it or use --reset): %w", r.path, err)
	}
	for k, sk := range keys {
		switch sk.Type {
		case "string":
			_ = r.mr.Set(k, sk.String)
		case "hash":
			for f, v := range sk.Hash {
				r.mr.HSet(k, f, v)
			}
		case "list":
			for _, v := range sk.List {
				_, _ = r.mr.Push(k, v)
			}
		case "set":
			_, _ = r.mr.SetAdd(k, sk.Set...)
		case "zset":
			for m, s := range sk.ZSet {
				_, _ = r.mr.ZAdd(k, s, m)
			}
		}
		if sk.TTLms > 0 {
			r.mr.SetTTL(k, time.Duration(sk.TTLms)*time.Millisecond)
		}
	}
	return nil
}

// writeAtomic writes a file so that a crash leaves either the old or the new one.
func writeAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
