package scan_test

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"marketingbot/pkg/scan"
)

func TestRunOnceRecordsErrors(t *testing.T) {
	s := scan.NewScheduler(prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	broken := errors.New("sheets: 503")
	var fail atomic.Bool
	fail.Store(true)
	s.Add(time.Minute, scan.ScanFunc{N: "queue", F: func(context.Context) error {
		if fail.Load() {
			return broken
		}
		return nil
	}})
	s.Add(time.Minute, scan.ScanFunc{N: "auth", F: func(context.Context) error { return nil }})
	s.RunOnce(context.Background())
	if errs := s.LastErrors(); len(errs) != 1 || errs["queue"] != broken {
		t.Fatalf("LastErrors = %v, want the queue scanner's", errs)
	}
	fail.Store(false)
	s.RunOnce(context.Background())
	if errs := s.LastErrors(); len(errs) != 0 {
		t.Fatalf("LastErrors = %v after a good run", errs)
	}
}

// Each scanner runs at once and then every interval, never overlapping
// itself; a slow one does not hold up the others.
func TestRunSchedules(t *testing.T) {
	s := scan.NewScheduler(prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	var fast, slow atomic.Int32
	release := make(chan struct{})
	s.Add(10*time.Millisecond, scan.ScanFunc{N: "fast", F: func(context.Context) error { fast.Add(1); return nil }})
	s.Add(5*time.Millisecond, scan.ScanFunc{N: "slow", F: func(ctx context.Context) error {
		if slow.Add(1) == 1 {
			<-release // the first run hangs until the test lets it go
		}
		return nil
	}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()

	waitFor(t, "fast runs while slow hangs", func() bool { return fast.Load() >= 5 })
	if n := slow.Load(); n != 1 {
		t.Fatalf("slow started %d times while its first run hung, want 1 (no overlap)", n)
	}
	close(release)
	waitFor(t, "slow runs again", func() bool { return slow.Load() >= 3 })
	cancel()
	<-done // Run returns once ctx ends and every scan has returned
	if got := s.Scanners(); len(got) != 2 || got[0] != "fast" || got[1] != "slow" {
		t.Fatalf("Scanners = %v", got)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out: %s", what)
		}
	}
}
