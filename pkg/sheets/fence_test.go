package sheets

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"marketingbot/pkg/redislock"
)

// A write made under a lease goes out only while the lease is its
// caller's, checked right before the request leaves: a write that waited
// in a batch while another worker took the lease over is not sent.
func TestFencedWritesGoOutOnlyUnderTheirLease(t *testing.T) {
	for _, fleet := range []bool{false, true} {
		name := map[bool]string{false: "alone", true: "fleet"}[fleet]
		t.Run(name, func(t *testing.T) {
			mr, rdb := newFleetRedis(t)
			a := &fakeAPI{}
			var update func(context.Context) error
			var appendRow func(context.Context) (int, error)
			if fleet {
				ms := carrierFirst(t, rdb, a, &fakeAPI{})
				update = func(ctx context.Context) error {
					return ms[1].f.update(ctx, nil, []Values{{Range: "S!E2", Rows: [][]any{{"x"}}}})
				}
				appendRow = func(ctx context.Context) (int, error) {
					return ms[1].f.appendRows(ctx, "S", [][]any{{"x"}}, "", nil)
				}
			} else {
				b := newBatcher(a, newMetrics(prometheus.NewRegistry()), batchOptions{rdb: rdb, batching: true, interval: time.Millisecond, maxBatch: 100})
				t.Cleanup(b.close)
				update = func(ctx context.Context) error {
					return b.update(ctx, nil, []Values{{Range: "S!E2", Rows: [][]any{{"x"}}}})
				}
				appendRow = func(ctx context.Context) (int, error) {
					return b.appendRows(ctx, "S", [][]any{{"x"}}, "", nil)
				}
			}
			ctx := redislock.WithFence(testCtx(t), redislock.Fence{Key: "lock:7", Token: "mine"})
			mr.Set("lock:7", "mine")
			if err := update(ctx); err != nil {
				t.Fatalf("update under a held lease: %v", err)
			}
			if _, err := appendRow(ctx); err != nil {
				t.Fatalf("append under a held lease: %v", err)
			}
			mr.Set("lock:7", "another worker's")
			if err := update(ctx); !errors.Is(err, ErrFenceLost) {
				t.Errorf("update after the lease was taken over: %v, want ErrFenceLost", err)
			}
			if _, err := appendRow(ctx); !errors.Is(err, ErrFenceLost) {
				t.Errorf("append after the lease was taken over: %v, want ErrFenceLost", err)
			}
			mr.Del("lock:7")
			if err := update(ctx); !errors.Is(err, ErrFenceLost) {
				t.Errorf("update after the lease expired: %v, want ErrFenceLost", err)
			}
			if _, updates, appends := a.calls(); len(updates) != 1 || len(appends) != 1 {
				t.Errorf("%d updates and %d appends sent, want only the 1 and 1 under the lease", len(updates), len(appends))
			}
		})
	}
}
