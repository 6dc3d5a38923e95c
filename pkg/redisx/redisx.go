// Package redisx builds the Redis connections every role shares: a go-redis
// UniversalClient for our own keys (inboxes, locks, limiters, projections)
// and the asynq client/server on top of the same connection settings. Plain
// URLs and Sentinel (for failover) are supported.
package redisx

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/config"
)

// QuietLogs sends go-redis's own messages (connection pool dial failures
// while Redis is down) to slog at debug level instead of stderr: the roles
// report Redis trouble through /readyz and their own logs, once.
func QuietLogs(log *slog.Logger) { redis.SetLogger(redisLog{log}) }

type redisLog struct{ l *slog.Logger }

func (r redisLog) Printf(ctx context.Context, format string, v ...any) {
	r.l.Debug(fmt.Sprintf(format, v...), "component", "go-redis")
}

// NewClient connects according to cfg. It does not ping: roles must start
// even while Redis is down and report not-ready instead.
func NewClient(cfg config.Redis) (redis.UniversalClient, error) {
	if cfg.Sentinel.Master != "" {
		return redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName:       cfg.Sentinel.Master,
			SentinelAddrs:    cfg.Sentinel.Addrs,
			SentinelPassword: cfg.Sentinel.Password,
			Password:         cfg.Sentinel.Password,
			DB:               cfg.Sentinel.DB,
			DialTimeout:      2 * time.Second,
			ReadTimeout:      5 * time.Second,
			WriteTimeout:     5 * time.Second,
			PoolSize:         64,
		}), nil
	}
	opt, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("redisx: parse redis.url: %w", err)
	}
	opt.DialTimeout = 2 * time.Second
	opt.ReadTimeout = 5 * time.Second
	opt.WriteTimeout = 5 * time.Second
	if opt.PoolSize < 64 {
		opt.PoolSize = 64
	}
	return redis.NewClient(opt), nil
}

// Ping checks the connection within a short deadline.
func Ping(ctx context.Context, rdb redis.UniversalClient) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: ping: %w", err)
	}
	return nil
}

// Keys builds our own Redis keys under a common prefix so that several
// deployments (or tests) can share one Redis.
type Keys struct{ Prefix string }

// Key joins parts under the prefix: Key("inbox", "42") = "mb:inbox:42".
func (k Keys) Key(parts ...string) string {
	s := k.Prefix
	for i, p := range parts {
		if i > 0 {
			s += ":"
		}
		s += p
	}
	return s
}
