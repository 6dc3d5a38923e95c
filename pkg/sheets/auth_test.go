package sheets

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// authKeyFile writes a service-account key file whose token_uri is tokenURI
// and returns its path and the PEM of its private key.
func authKeyFile(t *testing.T, tokenURI string, override map[string]any) (string, string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	f := map[string]any{"type": "service_account", "project_id": "team", "private_key_id": "0123abcd",
		"private_key": pemKey, "client_email": "bot@team.iam.gserviceaccount.com", "client_id": "1",
		"token_uri": tokenURI, "universe_domain": "googleapis.com"}
	for k, v := range override {
		if v == nil {
			delete(f, k)
		} else {
			f[k] = v
		}
	}
	b, _ := json.Marshal(f)
	path := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, pemKey
}

// tokenEndpoint answers every token request with status and body.
func tokenEndpoint(t *testing.T, status int, body string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(ts.Close)
	return ts, &n
}

func TestCredentialsFileRefusedUpFront(t *testing.T) {
	dir := t.TempDir()
	notJSON := filepath.Join(dir, "key.pem")
	_ = os.WriteFile(notJSON, []byte("-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"), 0o600)
	userCreds := filepath.Join(dir, "adc.json")
	_ = os.WriteFile(userCreds, []byte(`{"type":"authorized_user","client_id":"x","client_secret":"y","refresh_token":"z"}`), 0o600)
	noKey, _ := authKeyFile(t, "http://127.0.0.1:1/token", map[string]any{"private_key": nil})
	for _, c := range []struct {
		name, path, want string
	}{
		{"missing", filepath.Join(dir, "nope.json"), "cannot be read: no such file or directory"},
		{"not JSON", notJSON, "is not JSON"},
		{"not a service account", userCreds, `is not a service-account key (type "authorized_user")`},
		{"incomplete", noKey, "lacks private_key"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := Options{CredentialsFile: c.path, Endpoint: "http://127.0.0.1:1"}.clientOptions()
			if err == nil || !strings.Contains(err.Error(), c.path) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v: want the path and %q", err, c.want)
			}
			if strings.Contains(err.Error(), "MIIE") || strings.Contains(err.Error(), "refresh_token") {
				t.Fatalf("the error quotes the file: %v", err)
			}
		})
	}
}

// newAuthClient is a Client with the key file at path against a Sheets
// endpoint that answers nothing useful (the token is refused first).
func newAuthClient(t *testing.T, path string) *Client {
	t.Helper()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"sheets":[{"properties":{"title":"Auth"}}]}`)
	}))
	t.Cleanup(api.Close)
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { rdb.Close() })
	c, err := New(context.Background(), Options{SpreadsheetID: "s", Endpoint: api.URL, CredentialsFile: path, Redis: rdb,
		RetryMaxDelay: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestRefusedKeyIsPermanentAndNamesTheFile(t *testing.T) {
	ts, calls := tokenEndpoint(t, http.StatusBadRequest, `{"error":"invalid_grant","error_description":"Invalid JWT Signature."}`)
	path, pemKey := authKeyFile(t, ts.URL+"/token", nil)
	c := newAuthClient(t, path)
	if c.ServiceAccount() != "bot@team.iam.gserviceaccount.com" {
		t.Errorf("ServiceAccount() = %q", c.ServiceAccount())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := c.SheetTitles(ctx)
	var ae *AuthError
	if !errors.As(err, &ae) || !ae.Permanent() {
		t.Fatalf("error %v (%T): want a permanent *AuthError", err, err)
	}
	msg := err.Error()
	for _, want := range []string{path, "invalid_grant: Invalid JWT Signature.", "HTTP 400"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	body := strings.Join(strings.Split(pemKey, "\n")[1:3], "")
	if strings.Contains(msg, body[:40]) {
		t.Fatalf("the message quotes the private key")
	}
	if ctx.Err() != nil || calls.Load() != 1 {
		t.Fatalf("retried: %d token requests, ctx %v", calls.Load(), ctx.Err())
	}
	if retryable(err) || serverTrouble(err) || ambiguous(err) {
		t.Fatalf("classified retryable %v, server trouble %v, ambiguous %v", retryable(err), serverTrouble(err), ambiguous(err))
	}
}

func TestTokenEndpointOutageIsRetried(t *testing.T) {
	var n atomic.Int32
	var path string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if n.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"error":"temporarily_unavailable"}`)
			return
		}
		_, _ = io.WriteString(w, `{"access_token":"ya29.x","expires_in":3600,"token_type":"Bearer"}`)
	}))
	t.Cleanup(ts.Close)
	path, _ = authKeyFile(t, ts.URL+"/token", nil)
	c := newAuthClient(t, path)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	titles, err := c.SheetTitles(ctx)
	if err != nil || len(titles) != 1 {
		t.Fatalf("titles %v, err %v", titles, err)
	}
	if n.Load() != 2 {
		t.Fatalf("%d token requests, want 2 (one 503, one success)", n.Load())
	}
}
