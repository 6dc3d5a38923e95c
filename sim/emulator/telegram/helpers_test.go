package telegram_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/mymmrac/telego"

	"marketingbot/sim/emulator/telegram"
)

// emulator is a running Server behind an httptest server with an
// unmodified telego bot pointed at it.
type emulator struct {
	srv *telegram.Server
	url string
	bot *telego.Bot
}

func start(t testing.TB, opts telegram.Options) *emulator {
	t.Helper()
	if opts.FloodLimits == nil {
		// Most tests send faster than Telegram allows; flood tests opt in.
		opts.FloodLimits = &telegram.FloodLimits{}
	}
	srv := telegram.New(opts)
	ts := httptest.NewServer(srv)
	// Cleanups run last-in first-out: the emulator ends waiting long polls
	// before the HTTP server waits for its requests to finish.
	t.Cleanup(ts.Close)
	t.Cleanup(srv.Close)
	bot, err := telego.NewBot(srv.Token(), telego.WithAPIServer(ts.URL), telego.WithDiscardLogger())
	if err != nil {
		t.Fatalf("telego.NewBot: %v", err)
	}
	return &emulator{srv: srv, url: ts.URL, bot: bot}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// do calls the control API with a JSON body and decodes the JSON answer
// into out (if not nil); it returns the HTTP status.
func (e *emulator) do(t *testing.T, method, path string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, data, err)
		}
	}
	return resp.StatusCode
}

// mustDo is do that requires 200 OK.
func (e *emulator) mustDo(t *testing.T, method, path string, body, out any) {
	t.Helper()
	var raw json.RawMessage
	if status := e.do(t, method, path, body, &raw); status != http.StatusOK {
		t.Fatalf("%s %s: status %d: %s", method, path, status, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("decode %s: %v", raw, err)
		}
	}
}

func (e *emulator) addUser(t *testing.T, id int64, firstName string) {
	t.Helper()
	e.mustDo(t, http.MethodPost, "/_emulator/users", map[string]any{"id": id, "first_name": firstName, "username": "u" + firstName, "phone": "79001234567", "language_code": "ru"}, nil)
}

// botAPI calls the Bot API directly and returns the HTTP status and envelope.
func (e *emulator) botAPI(t *testing.T, method string, params any) (int, apiEnvelope) {
	t.Helper()
	b, err := json.Marshal(params)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(e.url+"/bot"+e.srv.Token()+"/"+method, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env apiEnvelope
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		t.Fatalf("%s: decode envelope: %v", method, err)
	}
	return resp.StatusCode, env
}

type apiEnvelope struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  *struct {
		RetryAfter int `json:"retry_after"`
	} `json:"parameters"`
}

// eventually polls cond until it holds, failing the test after 5 s.
func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 5 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
