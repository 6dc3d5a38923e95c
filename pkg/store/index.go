package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// rowIndex maps a key (Telegram ID, request id, phone) to a sheet row, in
// Redis so every process shares it. It is a hint, never trusted for a write:
// guards verify the row first.
type rowIndex struct {
	rdb    redis.UniversalClient
	prefix string
}

type indexEntry struct {
	Row int
	Tag string // extra identity (an appeal's created_at), may be ""
}

func (e indexEntry) encode() string { return strconv.Itoa(e.Row) + "|" + e.Tag }

func decodeEntry(s string) (indexEntry, bool) {
	row, tag, _ := strings.Cut(s, "|")
	n, err := strconv.Atoi(row)
	if err != nil || n < 1 {
		return indexEntry{}, false
	}
	return indexEntry{Row: n, Tag: tag}, true
}

func (x *rowIndex) key(name string) string { return x.prefix + name }

func (x *rowIndex) get(ctx context.Context, name, key string) (indexEntry, bool, error) {
	s, err := x.rdb.HGet(ctx, x.key(name), key).Result()
	if err == redis.Nil {
		return indexEntry{}, false, nil
	}
	if err != nil {
		return indexEntry{}, false, fmt.Errorf("store: row index %s: %w", name, err)
	}
	e, ok := decodeEntry(s)
	return e, ok, nil
}

func (x *rowIndex) set(ctx context.Context, name, key string, e indexEntry) error {
	if err := x.rdb.HSet(ctx, x.key(name), key, e.encode()).Err(); err != nil {
		return fmt.Errorf("store: row index %s: %w", name, err)
	}
	return nil
}

// replace swaps the whole index atomically.
func (x *rowIndex) replace(ctx context.Context, name string, entries map[string]indexEntry) error {
	k := x.key(name)
	tmp := k + ":rebuild"
	pipe := x.rdb.TxPipeline()
	pipe.Del(ctx, tmp)
	if len(entries) > 0 {
		vals := make([]any, 0, 2*len(entries))
		for key, e := range entries {
			vals = append(vals, key, e.encode())
		}
		pipe.HSet(ctx, tmp, vals...)
		pipe.Rename(ctx, tmp, k)
	} else {
		pipe.Del(ctx, k)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("store: rebuild row index %s: %w", name, err)
	}
	return nil
}
