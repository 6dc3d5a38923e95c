package browser_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"marketingbot/sim/browser"
)

// mobilePage makes the layout viewport the device width, as every page meant
// for phones does; without it a mobile browser lays out at 980 px.
const mobilePage = `<meta name="viewport" content="width=device-width">`

// TestBrowser is the package's self-test: a real Chromium opens data: URLs
// in two tabs, runs their scripts, and a screenshot lands in the artifacts
// directory.
func TestBrowser(t *testing.T) {
	ctx := browser.New(t)
	browser.FailOnException(ctx, t)

	tests := []struct {
		name string
		html string
		want string
	}{
		{"static title", `<title>Привет, браузер</title><p>ok</p>`, "Привет, браузер"},
		{"title set by script", `<title>before</title><script>document.title = "after " + (6 * 7)</script>`, "after 42"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab := browser.NewTab(ctx, t)
			browser.FailOnException(tab, t)
			if err := browser.MobileViewport(tab); err != nil {
				t.Fatal(err)
			}
			if err := chromedp.Do(tab, chromedp.Navigate("data:text/html;charset=utf-8,"+url.PathEscape(mobilePage+tt.html))); err != nil {
				t.Fatalf("navigate: %v", err)
			}
			title, err := chromedp.Run(tab, chromedp.Title())
			if err != nil {
				t.Fatalf("title: %v", err)
			}
			if title != tt.want {
				t.Errorf("title = %q, want %q", title, tt.want)
			}
			width, err := chromedp.Run(tab, chromedp.Evaluate[int](`window.innerWidth`))
			if err != nil {
				t.Fatalf("innerWidth: %v", err)
			}
			if width != 390 {
				t.Errorf("innerWidth = %d under MobileViewport, want 390", width)
			}
		})
	}

	t.Run("only loopback is reachable", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "<title>local</title>")
		}))
		defer srv.Close()
		port := srv.Listener.Addr().(*net.TCPAddr).Port
		tests := []struct {
			url     string
			wantErr string
		}{
			{srv.URL, ""},
			{fmt.Sprintf("http://localhost:%d/", port), ""},
			{"http://example.com/", "ERR_NAME_NOT_RESOLVED"},
			{"https://telegram.org/js/telegram-web-app.js", "ERR_NAME_NOT_RESOLVED"},
		}
		for _, tt := range tests {
			err := chromedp.Do(ctx, chromedp.Navigate(tt.url))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("navigate %s: %v", tt.url, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("navigate %s: error %v, want %s: tests must not reach the network", tt.url, err, tt.wantErr)
			}
		}
	})

	t.Run("screenshot artifact", func(t *testing.T) {
		dir := t.TempDir()
		t.Setenv(browser.ArtifactsEnv, dir)
		if err := chromedp.Do(ctx, chromedp.Navigate("data:text/html,<body style='background:%2300f'>blue</body>")); err != nil {
			t.Fatalf("navigate: %v", err)
		}
		path := browser.Screenshot(ctx, t, "blue page")
		if want := filepath.Join(dir, "TestBrowser_screenshot_artifact-blue_page.png"); path != want {
			t.Fatalf("Screenshot path = %q, want %q", path, want)
		}
		png, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(png) < 8 || string(png[1:4]) != "PNG" {
			t.Errorf("artifact is not a PNG (%d bytes)", len(png))
		}
	})
}

// TestExecPath checks the lookup the skip/fatal decision depends on: when
// it finds a binary, that binary must exist and be executable.
func TestExecPath(t *testing.T) {
	path, err := browser.ExecPath()
	if err != nil {
		t.Skipf("no chromium here: %v", err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("ExecPath returned %q: %v", path, err)
	}
	if info.Mode()&0o111 == 0 {
		t.Errorf("ExecPath returned non-executable %q (%v)", path, info.Mode())
	}
}

// TestConsoleAndExceptions drives a page that logs and throws, through a
// recording TB, and checks what reaches the test: console lines as logs,
// uncaught exceptions (sync and in promises) as errors, nothing else.
func TestConsoleAndExceptions(t *testing.T) {
	ctx := browser.New(t)
	tests := []struct {
		name       string
		script     string
		wantLog    string
		wantErrors []string
	}{
		{"quiet page", `console.log("hello from the page")`, "hello from the page", nil},
		{"uncaught error", `console.warn("about to fail"); throw new Error("boom")`, "about to fail", []string{"boom"}},
		{"unhandled rejection", `Promise.reject(new TypeError("async boom"))`, "", []string{"async boom"}},
		{"caught error", `try { null.x } catch (e) { console.error("handled: " + e.name) }`, "handled: TypeError", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			tab := browser.NewTab(ctx, rec)
			browser.FailOnException(tab, rec)
			page := "data:text/html," + url.PathEscape(`<script>`+tt.script+`</script>`)
			if err := chromedp.Do(tab, chromedp.Navigate(page)); err != nil {
				t.Fatalf("navigate: %v", err)
			}
			// Unhandled rejections are reported after the microtask queue
			// drains; a round trip through the page orders us after it.
			if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](`new Promise(r => setTimeout(r, 50))`, chromedp.EvalAwaitPromise)); err != nil {
				t.Fatalf("settle: %v", err)
			}
			rec.finish()

			logs, errs := rec.snapshot()
			if tt.wantLog != "" && !containsAll(logs, tt.wantLog) {
				t.Errorf("console line %q not logged; logs:\n%s", tt.wantLog, strings.Join(logs, "\n"))
			}
			if len(errs) != len(tt.wantErrors) {
				t.Fatalf("got %d errors %q, want %d matching %q", len(errs), errs, len(tt.wantErrors), tt.wantErrors)
			}
			for i, want := range tt.wantErrors {
				if !strings.Contains(errs[i], want) {
					t.Errorf("error %d = %q, want it to mention %q", i, errs[i], want)
				}
			}
		})
	}
}

func containsAll(lines []string, sub string) bool {
	for _, l := range lines {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

// recorder is a TB whose Errorf, Logf and Cleanup are captured, so a test
// can observe what the helpers report without failing itself.
type recorder struct {
	testing.TB
	mu       sync.Mutex
	logs     []string
	errs     []string
	cleanups []func()
}

func (r *recorder) Helper() {}

func (r *recorder) Logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recorder) Cleanup(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleanups = append(r.cleanups, f)
}

// finish runs the registered cleanups last-first, as testing does.
func (r *recorder) finish() {
	r.mu.Lock()
	cleanups := r.cleanups
	r.cleanups = nil
	r.mu.Unlock()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
}

func (r *recorder) snapshot() (logs, errs []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.logs...), append([]string(nil), r.errs...)
}
