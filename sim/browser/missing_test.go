package browser

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// TestNewWithoutChromium checks the contract CI relies on: no browser means
// a skip on a developer machine, but a failure when MARKETINGBOT_REQUIRE_TOOLS
// is set, so a CI run cannot go green by skipping every browser test.
func TestNewWithoutChromium(t *testing.T) {
	saved := candidates
	candidates = []string{"/nonexistent/chromium", "marketingbot-no-such-chromium"}
	t.Cleanup(func() { candidates = saved })

	tests := []struct {
		name     string
		require  string
		wantSkip bool
	}{
		{"developer machine skips", "", true},
		{"CI fails", "1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(RequireToolsEnv, tt.require)
			stub := &stopRecorder{TB: t}
			done := make(chan struct{})
			go func() {
				defer close(done)
				New(stub)
				stub.returned = true
			}()
			<-done
			if stub.returned {
				t.Fatal("New returned without a browser")
			}
			if stub.skipped != tt.wantSkip || stub.failed == tt.wantSkip {
				t.Fatalf("skipped=%v failed=%v, want skipped=%v", stub.skipped, stub.failed, tt.wantSkip)
			}
			if !strings.Contains(stub.msg, "chromium not found") || !strings.Contains(stub.msg, RequireToolsEnv) {
				t.Errorf("message %q should say what is missing and name %s", stub.msg, RequireToolsEnv)
			}
		})
	}
}

// stopRecorder records Skipf/Fatalf and stops the goroutine as testing does.
type stopRecorder struct {
	testing.TB
	skipped, failed, returned bool
	msg                       string
}

func (r *stopRecorder) Helper() {}

func (r *stopRecorder) Skipf(format string, args ...any) {
	r.skipped, r.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *stopRecorder) Fatalf(format string, args ...any) {
	r.failed, r.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}
