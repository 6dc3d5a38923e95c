package worker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/tasks"
)

func TestRetryDelay(t *testing.T) {
	deferred := fmt.Errorf("promo: %w", tasks.RetryAfter(7*time.Second, "flood"))
	cases := []struct {
		name     string
		retried  int
		err      error
		min, max time.Duration
	}{
		// A rate limit says when: that delay, however often it happened.
		{"rate limit", 0, deferred, 7 * time.Second, 7 * time.Second},
		{"rate limit, many times", 30, deferred, 7 * time.Second, 7 * time.Second},
		// Failures back off 1 s, 2 s, 4 s … (half of it jittered), capped at 5 min.
		{"first failure", 0, errors.New("x"), 500 * time.Millisecond, time.Second},
		{"fourth failure", 3, errors.New("x"), 4 * time.Second, 8 * time.Second},
		{"many failures", 25, errors.New("x"), 150 * time.Second, 5 * time.Minute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for range 50 {
				if d := retryDelay(tc.retried, tc.err, nil); d < tc.min || d > tc.max {
					t.Fatalf("retryDelay = %s, want within [%s, %s]", d, tc.min, tc.max)
				}
			}
		})
	}
}

// A deferral (rate limit, someone else's lock) does not count as a failure:
// it neither uses up retries nor trips asynq's failure statistics.
func TestIsFailure(t *testing.T) {
	if isFailure(fmt.Errorf("chat: %w", tasks.RetryAfter(time.Second, "lease held"))) {
		t.Fatal("a deferral counted as a failure")
	}
	if !isFailure(errors.New("sheets: 500")) {
		t.Fatal("an error not counted as a failure")
	}
}

func TestServerConfig(t *testing.T) {
	cfg := serverConfig(Options{Concurrency: 8, Logger: slog.New(slog.DiscardHandler)})
	if !maps.Equal(cfg.Queues, tasks.Queues()) || cfg.StrictPriority {
		t.Fatalf("queues %v (strict %v), want the weighted %v", cfg.Queues, cfg.StrictPriority, tasks.Queues())
	}
	if cfg.Concurrency != 8 || cfg.TaskCheckInterval != 100*time.Millisecond || cfg.DelayedTaskCheckInterval != time.Second {
		t.Fatalf("concurrency %d, task check %s, delayed check %s", cfg.Concurrency, cfg.TaskCheckInterval, cfg.DelayedTaskCheckInterval)
	}
	deferred := tasks.RetryAfter(3*time.Second, "x")
	if cfg.IsFailure(deferred) || cfg.RetryDelayFunc(0, deferred, nil) != 3*time.Second {
		t.Fatal("the configured retry policy is not ours")
	}
	if cfg := serverConfig(Options{DelayedTaskCheckInterval: 50 * time.Millisecond}); cfg.DelayedTaskCheckInterval != 50*time.Millisecond {
		t.Fatalf("delayed check %s, want the one given", cfg.DelayedTaskCheckInterval)
	}
}

func TestLogFailure(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want string // "" = nothing logged
	}{
		{"deferral", tasks.RetryAfter(time.Second, "flood"), ""},
		{"skipped", fmt.Errorf("bad payload: %w", asynq.SkipRetry), "level=ERROR"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			logFailure(context.Background(), slog.New(slog.NewTextHandler(&buf, nil)), asynq.NewTask("x", nil), tc.err)
			if got := buf.String(); (tc.want == "") != (got == "") || !bytes.Contains(buf.Bytes(), []byte(tc.want)) {
				t.Fatalf("logged %q, want %q", got, tc.want)
			}
		})
	}
}

func newServer(t *testing.T) (*Server, *prometheus.Registry) {
	t.Helper()
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { rdb.Close() })
	reg := prometheus.NewRegistry()
	return New(rdb, Options{Concurrency: 1, Logger: slog.New(slog.DiscardHandler), Registry: reg}), reg
}

func TestProcessTask(t *testing.T) {
	s, reg := newServer(t)
	results := map[string]error{
		"t:ok":       nil,
		"t:deferred": tasks.RetryAfter(time.Second, "flood"),
		"t:retry":    errors.New("sheets: 503"),
		"t:skipped":  fmt.Errorf("malformed: %w", asynq.SkipRetry),
	}
	for typ, err := range results {
		s.HandleFunc(typ, func(context.Context, *asynq.Task) error { return err })
	}
	for typ, want := range results {
		if err := s.ProcessTask(context.Background(), asynq.NewTask(typ, nil)); err != want {
			t.Fatalf("%s: %v, want the handler's %v", typ, err, want)
		}
	}
	// A type this build does not know is archived, not retried.
	if err := s.ProcessTask(context.Background(), asynq.NewTask("t:future", nil)); !errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("unknown type: %v, want SkipRetry", err)
	}
	want := map[string]float64{"t:ok/ok": 1, "t:deferred/deferred": 1, "t:retry/retry": 1, "t:skipped/skipped": 1, "unknown/skipped": 1}
	if got := processed(t, reg); !maps.Equal(got, want) {
		t.Fatalf("tasks_processed_total %v, want %v", got, want)
	}
}

// processed reads tasks_processed_total as "type/outcome" → count.
func processed(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "marketingbot_tasks_processed_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, p := range m.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			out[l["type"]+"/"+l["outcome"]] = m.GetCounter().GetValue()
		}
	}
	return out
}
