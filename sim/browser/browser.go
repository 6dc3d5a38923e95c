// Package browser starts a headless Chromium for tests and gives them a
// chromedp context for one tab.
//
// New finds Debian's Chromium (/usr/bin/chromium, or chromium /
// chromium-browser on PATH). Without it the test is skipped, unless the
// environment variable MARKETINGBOT_REQUIRE_TOOLS is set (CI sets it and
// installs chromium): then a missing browser fails the test, so CI can never
// pass by skipping every browser test. The browser runs headless with a fresh
// temporary profile and a resolver that knows no host but localhost, so a
// test cannot reach the internet even when the page under test asks for it
// (Telegram's script, a CDN). Everything the browser starts dies in
// t.Cleanup.
//
// The page's console goes to t.Logf, so a JS error is visible in `go test -v`
// and in the log of a failed test; FailOnException turns uncaught exceptions
// into test failures. Screenshot saves PNG artifacts into
// $MARKETINGBOT_ARTIFACTS (default <repo>/artifacts/).
package browser

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"marketingbot/sim/testutil"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// DefaultTimeout bounds every browser action of one test (New) or one tab
// (NewTab). A hung page then fails the test with a deadline error instead of
// hanging until `go test -timeout` kills the whole binary without cleanups.
const DefaultTimeout = 60 * time.Second

// RequireToolsEnv, when set to anything, turns a missing Chromium from a skip
// into a failure.
const RequireToolsEnv = "MARKETINGBOT_REQUIRE_TOOLS"

// ArtifactsEnv names the directory for screenshots; default <repo>/artifacts.
const ArtifactsEnv = "MARKETINGBOT_ARTIFACTS"

// candidates are the names Debian and Ubuntu give Chromium, best first.
var candidates = []string{"/usr/bin/chromium", "chromium", "chromium-browser"}

// ExecPath returns the Chromium binary New would start.
func ExecPath() (string, error) {
	for _, name := range candidates {
		if path, err := exec.LookPath(name); err == nil {
			return path, nil
		}
	}
	return "", fmt.Errorf("browser: chromium not found (tried %s); apt-get install chromium", strings.Join(candidates, ", "))
}

// Option changes how New starts the browser.
type Option func(*options)

type options struct {
	timeout time.Duration
	flags   map[string]any
}

// WithTimeout replaces DefaultTimeout for this browser's first tab.
func WithTimeout(d time.Duration) Option {
	return func(o *options) { o.timeout = d }
}

// WithFlag sets or overrides one Chromium command-line flag: name without
// the leading dashes, value a string, or a bool for a bare switch (false
// drops one of the defaults). Example: WithFlag("host-resolver-rules",
// "MAP *.example 127.0.0.1") lets a test use a fake host name.
func WithFlag(name string, value any) Option {
	return func(o *options) { o.flags[name] = value }
}

// baseFlags are what this machine and CI need: headless without a GPU or
// a sandbox (we run as root in containers), nothing that phones home, /tmp
// instead of a small /dev/shm, and no way out to the network but loopback.
func baseFlags() map[string]any {
	return map[string]any{
		"headless":                      "new",
		"no-sandbox":                    true,
		"disable-gpu":                   true,
		"disable-quic":                  true,
		"no-first-run":                  true,
		"no-default-browser-check":      true,
		"disable-background-networking": true,
		"disable-component-update":      true,
		"disable-sync":                  true,
		"disable-dev-shm-usage":         true,
		"disable-extensions":            true,
		"disable-default-apps":          true,
		"disable-breakpad":              true,
		"hide-scrollbars":               true,
		"mute-audio":                    true,
		"force-color-profile":           "srgb",
		"password-store":                "basic",
		"use-mock-keychain":             true,
		"no-proxy-server":               true,
		"host-resolver-rules":           "MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1, EXCLUDE [::1]",
	}
}

// New starts a fresh headless Chromium for t and returns the context of its
// first tab, already open. The context carries the per-test timeout; its
// browser is killed and its profile removed in t.Cleanup. The page's console
// is logged with t.Logf. Use NewTab for more tabs in the same browser.
func New(t testing.TB, opts ...Option) context.Context {
	t.Helper()
	path, err := ExecPath()
	if err != nil {
		if os.Getenv(RequireToolsEnv) != "" {
			t.Fatalf("%v (%s is set, so browser tests must run)", err, RequireToolsEnv)
		}
		t.Skipf("skipping browser test: %v (set %s to make this a failure)", err, RequireToolsEnv)
	}
	o := options{timeout: DefaultTimeout, flags: baseFlags()}
	for _, opt := range opts {
		opt(&o)
	}

	output := &tailBuffer{max: 16 << 10}
	allocOpts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(path), chromedp.CombinedOutput(output)}
	for name, value := range o.flags {
		allocOpts = append(allocOpts, chromedp.Flag(name, value))
	}
	// The allocator makes a fresh temporary --user-data-dir and removes it
	// after the browser and its helpers are gone; a t.TempDir profile could
	// still be written to by a crashpad child when TempDir's cleanup runs.
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), allocOpts...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc() // waits until the process has exited and the profile is gone
		if t.Failed() {
			if out := meaningful(output.String()); out != "" {
				t.Logf("chromium output (tail):\n%s", out)
			}
		}
	})
	// The first Run binds the browser's lifetime to its context, so it must
	// be the cancel-only context, never one with the test timeout.
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatalf("browser: start %s: %v", path, err)
	}
	return withTimeout(t, browserCtx, o.timeout)
}

// NewTab opens another tab in the browser behind ctx (from New or NewTab)
// for t, typically a subtest: its console goes to this t, it has its own
// DefaultTimeout, and it closes in t.Cleanup. Tabs of one browser are
// independent and may be used from parallel subtests.
func NewTab(ctx context.Context, t testing.TB) context.Context {
	t.Helper()
	if chromedp.FromContext(ctx) == nil {
		t.Fatal("browser: NewTab needs a context from browser.New")
	}
	tabCtx, cancel := chromedp.NewContext(ctx)
	t.Cleanup(cancel)
	if err := chromedp.Do(tabCtx); err != nil {
		t.Fatalf("browser: open tab: %v", err)
	}
	return withTimeout(t, tabCtx, DefaultTimeout)
}

// withTimeout starts the console log of the tab behind tabCtx and returns
// tabCtx bounded by d and by the test's own deadline.
func withTimeout(t testing.TB, tabCtx context.Context, d time.Duration) context.Context {
	if dl, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if deadline, ok := dl.Deadline(); ok {
			// Leave room for cleanups and the report of the failure.
			if left := time.Until(deadline) - 5*time.Second; left > 0 && left < d {
				d = left
			}
		}
	}
	ctx, cancel := context.WithTimeout(tabCtx, d)
	stopLog := logConsole(tabCtx, t)
	t.Cleanup(func() {
		cancel()
		stopLog()
	})
	return ctx
}

// logConsole copies the tab's console messages, uncaught exceptions and
// browser log entries (failed requests, CSP violations) to t.Logf.
func logConsole(tabCtx context.Context, t testing.TB) (stop func()) {
	return watchConsole(tabCtx, func(m chromedp.ConsoleMessage) {
		where := ""
		if m.URL != "" {
			where = fmt.Sprintf(" (%s:%d)", m.URL, m.Line+1)
		}
		t.Logf("browser console %s: %s%s", m.Type, m.Text, where)
	})
}

// FailOnException fails t for every uncaught JavaScript exception or
// unhandled promise rejection in the tab of ctx from now until t ends. Call
// it right after New or NewTab, before navigating.
func FailOnException(ctx context.Context, t testing.TB) {
	t.Helper()
	stop := watchConsole(ctx, func(m chromedp.ConsoleMessage) {
		if m.IsException() {
			t.Errorf("uncaught JavaScript exception: %s", exceptionText(m.Exception))
		}
	})
	t.Cleanup(stop)
}

const markerPrefix = "marketingbot/sim/browser: end of watch "

// stopMarkers makes every watcher's end-of-stream marker unique.
var stopMarkers atomic.Int64

// watchConsole calls fn for each console message of the tab behind ctx, in
// order, on its own goroutine. The returned stop func writes a marker to the
// page's console and waits until the watcher has seen it, so every message
// logged before stop reaches fn; only then does it end the subscription, so
// fn is never called after stop returns (t may be finished by then).
func watchConsole(ctx context.Context, fn func(chromedp.ConsoleMessage)) (stop func()) {
	subCtx, cancel := context.WithCancel(ctx)
	messages := chromedp.Console(subCtx)
	marker := fmt.Sprintf("%s%d", markerPrefix, stopMarkers.Add(1))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleDebug && strings.HasPrefix(m.Text, markerPrefix) {
				if m.Text == marker {
					return
				}
				continue // another watcher's marker
			}
			fn(m)
		}
	}()
	return func() {
		markCtx, cancelMark := context.WithTimeout(ctx, 2*time.Second)
		defer cancelMark()
		script := "console.debug(" + strconv.Quote(marker) + ")"
		if chromedp.Do(markCtx, chromedp.Evaluate[chromedp.Void](script)) == nil {
			select {
			case <-done:
			case <-markCtx.Done():
			}
		}
		cancel()
		<-done
	}
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d == nil {
		return "(no details)"
	}
	text := d.Text
	if d.Exception != nil && d.Exception.Description != "" {
		text += " " + d.Exception.Description
	}
	return fmt.Sprintf("%s at %s:%d:%d", text, d.URL, d.LineNumber+1, d.ColumnNumber+1)
}

// MobileViewport makes the tab a 390×844 CSS-pixel phone (iPhone 12–15
// class) with device scale 2 and touch events.
func MobileViewport(ctx context.Context) error {
	err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844,
		chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait))
	if err != nil {
		return fmt.Errorf("browser: mobile viewport: %w", err)
	}
	return nil
}

// PreferColorScheme emulates the media feature prefers-color-scheme
// ("light" or "dark"; "" restores the default) for the tab.
func PreferColorScheme(ctx context.Context, scheme string) error {
	_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
	})
	if err != nil {
		return fmt.Errorf("browser: prefers-color-scheme %q: %w", scheme, err)
	}
	return nil
}

// Screenshot saves a full-page PNG of the tab as the artifact
// <test name>-<name>.png, logs its path and returns it. A failure to capture
// or save fails t (Errorf) and returns "".
func Screenshot(ctx context.Context, t testing.TB, name string) string {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("browser: screenshot %q: %v", name, err)
		return ""
	}
	dir, err := ArtifactsDir()
	if err != nil {
		t.Errorf("browser: screenshot %q: %v", name, err)
		return ""
	}
	path := filepath.Join(dir, fileName(t.Name()+"-"+name)+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Errorf("browser: screenshot %q: %v", name, err)
		return ""
	}
	t.Logf("screenshot: %s", path)
	return path
}

// ArtifactsDir returns (and creates) the directory for test artifacts:
// $MARKETINGBOT_ARTIFACTS, or artifacts/ at the root of the module that
// contains the working directory.
func ArtifactsDir() (string, error) {
	dir := os.Getenv(ArtifactsEnv)
	if dir == "" {
		root, err := moduleRoot()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(root, "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("browser: artifacts dir: %w", err)
	}
	return dir, nil
}

// moduleRoot is the directory holding go.mod.
func moduleRoot() (string, error) {
	root, err := testutil.ModuleRoot()
	if err != nil {
		return "", fmt.Errorf("browser: %w; set %s", err, ArtifactsEnv)
	}
	return root, nil
}

// fileName keeps letters, digits, '-', '_' and '.'; subtest slashes and
// spaces become '_'.
func fileName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.':
			return r
		default:
			return '_'
		}
	}, s)
}

// meaningful drops the lines a container without D-Bus always produces, so
// the tail shown for a failed test holds what may explain the failure.
func meaningful(output string) string {
	var keep []string
	for _, line := range strings.Split(output, "\n") {
		if strings.TrimSpace(line) == "" || strings.Contains(line, ":ERROR:dbus/") {
			continue
		}
		keep = append(keep, line)
	}
	return strings.Join(keep, "\n")
}

// tailBuffer keeps the last max bytes written to it; Chromium's output is
// only interesting when a test failed, and then only its end.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if over := b.buf.Len() - b.max; over > 0 {
		b.buf.Next(over)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
