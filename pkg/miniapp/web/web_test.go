package web_test

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"marketingbot/pkg/miniapp/web"
)

// maxAppBytes is the page's weight budget: everything a phone downloads on
// first open (Telegram's own script aside).
const maxAppBytes = 30_000

func TestFS(t *testing.T) {
	total := 0
	err := fs.WalkDir(web.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(web.FS, path)
		total += len(b)
		t.Logf("%-10s %6d bytes", path, len(b))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("total      %6d bytes (budget %d)", total, maxAppBytes)
	if total >= maxAppBytes {
		t.Errorf("the app weighs %d bytes, over the %d-byte budget", total, maxAppBytes)
	}

	read := func(name string) string {
		b, err := fs.ReadFile(web.FS, name)
		if err != nil {
			t.Fatalf("FS lacks %s: %v", name, err)
		}
		return string(b)
	}
	index, js := read("index.html"), read("app.js")
	read("app.css")

	tests := []struct {
		name string
		ok   bool
	}{
		// Relative URLs keep the app working under any mount point.
		{"index links app.css relatively", strings.Contains(index, `href="app.css"`)},
		{"index loads app.js relatively and deferred", strings.Contains(index, `<script src="app.js" defer></script>`)},
		{"Telegram's script never blocks rendering", strings.Contains(index, `<script src="https://telegram.org/js/telegram-web-app.js" async`)},
		{"mobile viewport", strings.Contains(index, `name="viewport" content="width=device-width`)},
		{"Russian page", strings.Contains(index, `<html lang="ru">`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.ok {
				t.Error("not so")
			}
		})
	}

	t.Run("offline: no URL but Telegram's script", func(t *testing.T) {
		external := regexp.MustCompile(`(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}[^\s"'` + "`" + `)]*`)
		for name, text := range map[string]string{"index.html": index, "app.js": js, "app.css": read("app.css")} {
			for _, u := range external.FindAllString(text, -1) {
				switch {
				case u == "https://telegram.org/js/telegram-web-app.js",
					u == "http://www.w3.org/2000/svg", // a namespace, not a download
					strings.HasPrefix(u, "https://t.me/"):
				default:
					t.Errorf("%s refers to %s; the app must not depend on other hosts", name, u)
				}
			}
		}
	})

	t.Run("no HTML parsing of data in the live document", func(t *testing.T) {
		for _, sink := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "setAttribute('on"} {
			if strings.Contains(js, sink) {
				t.Errorf("app.js uses %s; build DOM nodes instead", sink)
			}
		}
	})
}

func TestHandler(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/app/", http.StripPrefix("/app", web.Handler()))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	tests := []struct {
		path        string
		status      int
		contentType string
		body        string
	}{
		{"/app/", http.StatusOK, "text/html; charset=utf-8", "<title>"},
		{"/app/app.js", http.StatusOK, "text/javascript; charset=utf-8", "'use strict'"},
		{"/app/app.css", http.StatusOK, "text/css; charset=utf-8", "--tg-theme-bg-color"},
		{"/app/nope.js", http.StatusNotFound, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, err := http.Get(srv.URL + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			body := string(b)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if got := resp.Header.Get("Content-Security-Policy"); got != web.ContentSecurityPolicy {
				t.Errorf("CSP %q", got)
			}
			if tt.status != http.StatusOK {
				return
			}
			if got := resp.Header.Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type %q, want %q", got, tt.contentType)
			}
			if !strings.Contains(body, tt.body) {
				t.Errorf("body lacks %q", tt.body)
			}
			if got := resp.Header.Get("Cache-Control"); got != "no-cache" {
				t.Errorf("Cache-Control %q: without revalidation a deploy stays invisible", got)
			}
			tag := resp.Header.Get("ETag")
			if tag == "" {
				t.Fatal("no ETag")
			}
			// A phone that has the file gets 304 and no body.
			req, _ := http.NewRequest(http.MethodGet, srv.URL+tt.path, nil)
			req.Header.Set("If-None-Match", tag)
			again, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			again.Body.Close()
			if again.StatusCode != http.StatusNotModified {
				t.Errorf("revalidation with the ETag gave %d, want 304", again.StatusCode)
			}
		})
	}
}
