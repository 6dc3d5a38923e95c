package sheets

import (
	"context"
	"errors"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
	sheetsapi "google.golang.org/api/sheets/v4"
)

// fakeClock is a settable clock for quota and fault tests.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// env is an emulator behind a real HTTP server with a real client.
type env struct {
	srv *Server
	ts  *httptest.Server
	api *sheetsapi.Service
}

func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	if opts.Quota == nil {
		opts.Quota = &Quota{} // unlimited unless the test is about quotas
	}
	srv, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return envFor(t, srv)
}

// envFor serves srv over HTTP for the rest of the test and closes it after.
func envFor(t *testing.T, srv *Server) *env {
	t.Helper()
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ts.Close()
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	api, err := sheetsapi.NewService(context.Background(),
		option.WithEndpoint(ts.URL), option.WithoutAuthentication(), option.WithHTTPClient(ts.Client()))
	if err != nil {
		t.Fatalf("NewService: %v", err)
	}
	return &env{srv: srv, ts: ts, api: api}
}

func (e *env) load(t *testing.T, id string, data Spreadsheet) {
	t.Helper()
	if err := e.srv.Load(id, data); err != nil {
		t.Fatalf("Load: %v", err)
	}
}

func (e *env) rows(t *testing.T, id, sheetTitle string) [][]any {
	t.Helper()
	snap, err := e.srv.Snapshot(id)
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	for _, sh := range snap.Sheets {
		if sh.Title == sheetTitle {
			return sh.Rows
		}
	}
	t.Fatalf("no sheet %q", sheetTitle)
	return nil
}

// wantAPIError checks that err is the *googleapi.Error Google would send.
func wantAPIError(t *testing.T, err error, code int, message string) {
	t.Helper()
	var gerr *googleapi.Error
	if !errors.As(err, &gerr) {
		t.Fatalf("error %v (%T) is not a *googleapi.Error", err, err)
	}
	if gerr.Code != code {
		t.Errorf("code = %d, want %d (%s)", gerr.Code, code, gerr.Message)
	}
	if message != "" && gerr.Message != message && !(strings.HasSuffix(message, "*") && strings.HasPrefix(gerr.Message, strings.TrimSuffix(message, "*"))) {
		t.Errorf("message = %q, want %q", gerr.Message, message)
	}
}

func deepEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s =\n  %#v\nwant\n  %#v", what, got, want)
	}
}

// row is shorthand for a row of cell values; an empty row is [] as the
// client decodes it, not nil.
func row(v ...any) []any {
	if v == nil {
		return []any{}
	}
	return v
}
