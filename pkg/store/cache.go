package store

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// caches hold small, slow-changing sheets in process memory; concurrent
// misses share one read.
type caches struct {
	mu    sync.Mutex
	items map[string]cacheItem
	sf    singleflight.Group
}

type cacheItem struct {
	val any
	at  time.Time
}

func newCaches() *caches { return &caches{items: map[string]cacheItem{}} }

func cached[T any](ctx context.Context, s *Spreadsheet, name string, ttl time.Duration, load func(ctx context.Context) (T, error)) (T, error) {
	c := s.cache
	c.mu.Lock()
	it, ok := c.items[name]
	c.mu.Unlock()
	if ok && ttl > 0 && time.Since(it.at) < ttl {
		s.m.cacheHits.WithLabelValues(name, "hit").Inc()
		return it.val.(T), nil
	}
	s.m.cacheHits.WithLabelValues(name, "miss").Inc()
	v, err, _ := c.sf.Do(name, func() (any, error) {
		v, err := load(context.WithoutCancel(ctx))
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		c.items[name] = cacheItem{val: v, at: time.Now()}
		c.mu.Unlock()
		return v, nil
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return v.(T), nil
}

// invalidate drops a cached sheet so the next call reads it again.
func (c *caches) invalidate(name string) {
	c.mu.Lock()
	delete(c.items, name)
	c.mu.Unlock()
}
