package telegram_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"marketingbot/pkg/telegram"
)

const dlToken = "123456:TEST-token_abcdefghijklmnopqrstuvwx"

// fileServer is a Bot API stand-in: getFile answers from getFile, the
// download path from download; both count their calls.
type fileServer struct {
	getFile  func(w http.ResponseWriter, n int)
	download func(w http.ResponseWriter, n int)
	gets     atomic.Int32
	loads    atomic.Int32
}

func (f *fileServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasSuffix(r.URL.Path, "/getFile"):
		f.getFile(w, int(f.gets.Add(1)))
	case strings.HasPrefix(r.URL.Path, "/file/bot"+dlToken+"/"):
		f.download(w, int(f.loads.Add(1)))
	default:
		http.NotFound(w, r)
	}
}

func okFile(size int) func(w http.ResponseWriter, n int) {
	return func(w http.ResponseWriter, _ int) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"ok":true,"result":{"file_id":"F","file_unique_id":"U","file_size":%d,"file_path":"voice/file_1.oga"}}`, size)
	}
}

func apiError(code int, desc string) func(w http.ResponseWriter, n int) {
	return func(w http.ResponseWriter, _ int) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"ok":false,"error_code":%d,"description":%q}`, code, desc)
	}
}

func newDownloader(t *testing.T, f *fileServer, attempts int) *telegram.Downloader {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	log := slog.New(slog.DiscardHandler)
	bot, err := telegram.NewBot(telegram.BotOptions{Token: dlToken, APIURL: srv.URL, RequestTimeout: 5 * time.Second}, log)
	if err != nil {
		t.Fatal(err)
	}
	d := telegram.NewDownloader(bot, telegram.DownloaderOptions{Attempts: attempts, Timeout: 10 * time.Second,
		Registry: prometheus.NewRegistry(), Logger: log})
	telegram.SetDownloadBackoff(d, time.Millisecond)
	return d
}

func TestDownloadReadsTheFile(t *testing.T) {
	t.Parallel()
	body := strings.Repeat("OggS", 1000)
	f := &fileServer{getFile: okFile(len(body)), download: func(w http.ResponseWriter, _ int) {
		w.Header().Set("Content-Type", "audio/ogg")
		io.WriteString(w, body)
	}}
	got, err := newDownloader(t, f, 3).Download(t.Context(), "F", int64(len(body)), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Data) != body || got.Path != "voice/file_1.oga" || got.ContentType != "audio/ogg" {
		t.Fatalf("got %d bytes, path %q, type %q", len(got.Data), got.Path, got.ContentType)
	}
}

func TestDownloadStopsAtTheLimit(t *testing.T) {
	t.Parallel()
	// The server streams far more than the limit without announcing a size:
	// the download stops after limit+1 bytes with ErrFileTooBig.
	var written atomic.Int64
	f := &fileServer{getFile: okFile(0), download: func(w http.ResponseWriter, _ int) {
		chunk := []byte(strings.Repeat("x", 32<<10))
		for range 1000 { // 32 MB
			n, err := w.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
			w.(http.Flusher).Flush()
		}
	}}
	_, err := newDownloader(t, f, 3).Download(t.Context(), "F", 0, 100<<10)
	if !errors.Is(err, telegram.ErrFileTooBig) {
		t.Fatalf("err = %v, want ErrFileTooBig", err)
	}
	if n := f.loads.Load(); n != 1 {
		t.Fatalf("%d downloads of a file that is too big", n)
	}
}

func TestReadBoundedNeverHoldsMoreThanTheLimit(t *testing.T) {
	t.Parallel()
	r := &countingReader{}
	_, err := telegram.ReadBounded(r, 1000, 0)
	if !errors.Is(err, telegram.ErrFileTooBig) {
		t.Fatalf("err = %v", err)
	}
	if r.n > 1001 {
		t.Fatalf("read %d bytes for a limit of 1000", r.n)
	}
	data, err := telegram.ReadBounded(strings.NewReader(strings.Repeat("a", 1000)), 1000, 10)
	if err != nil || len(data) != 1000 {
		t.Fatalf("a file of exactly the limit: %d bytes, %v", len(data), err)
	}
}

type countingReader struct{ n int }

func (c *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'z'
	}
	c.n += len(p)
	return len(p), nil
}

func TestDownloadClassifiesPermanentFailuresWithoutRetry(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		getFile func(w http.ResponseWriter, n int)
		known   int64
		want    error
		gets    int32
	}{
		{"announced over the limit", okFile(10), 5000, telegram.ErrFileTooBig, 0},
		{"getFile says too big", apiError(400, "Bad Request: file is too big"), 0, telegram.ErrFileTooBig, 1},
		{"getFile size over the limit", okFile(5000), 0, telegram.ErrFileTooBig, 1},
		{"wrong file_id", apiError(400, "Bad Request: wrong file_id or the file is temporarily unavailable"), 0, telegram.ErrFileGone, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &fileServer{getFile: tc.getFile, download: func(w http.ResponseWriter, _ int) { io.WriteString(w, "data") }}
			_, err := newDownloader(t, f, 3).Download(t.Context(), "F", tc.known, 1000)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if f.gets.Load() != tc.gets || f.loads.Load() != 0 {
				t.Fatalf("%d getFile calls and %d downloads", f.gets.Load(), f.loads.Load())
			}
		})
	}
}

func TestDownloadRetriesTransientFailuresABoundedNumberOfTimes(t *testing.T) {
	t.Parallel()
	// Two 502s, then the file: three attempts suffice.
	f := &fileServer{getFile: okFile(4), download: func(w http.ResponseWriter, n int) {
		if n < 3 {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		io.WriteString(w, "data")
	}}
	got, err := newDownloader(t, f, 3).Download(t.Context(), "F", 0, 1000)
	if err != nil || string(got.Data) != "data" {
		t.Fatalf("got %q, %v", got.Data, err)
	}
	// Always 500 from getFile: exactly three attempts, then ErrDownload.
	f = &fileServer{getFile: apiError(500, "Internal Server Error"), download: func(w http.ResponseWriter, _ int) {}}
	_, err = newDownloader(t, f, 3).Download(t.Context(), "F", 0, 1000)
	if !errors.Is(err, telegram.ErrDownload) {
		t.Fatalf("err = %v, want ErrDownload", err)
	}
	if n := f.gets.Load(); n != 3 {
		t.Fatalf("%d getFile calls, want 3", n)
	}
}

func TestDownloadErrorsHideTheToken(t *testing.T) {
	t.Parallel()
	f := &fileServer{getFile: okFile(4), download: func(w http.ResponseWriter, _ int) {
		hj, _ := w.(http.Hijacker)
		conn, _, _ := hj.Hijack()
		conn.Close() // the connection breaks: net/http's error names the URL
	}}
	_, err := newDownloader(t, f, 2).Download(t.Context(), "F", 0, 1000)
	if !errors.Is(err, telegram.ErrDownload) {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "TEST-token_abc") {
		t.Fatalf("the token leaked: %v", err)
	}
}
