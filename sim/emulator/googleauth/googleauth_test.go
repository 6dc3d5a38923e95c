package googleauth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/auth/credentials"

	"marketingbot/sim/emulator/googleauth"
)

const scope = "https://www.googleapis.com/auth/spreadsheets"

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// tokenFor runs the real client library (cloud.google.com/go/auth, what
// google.golang.org/api uses for a service-account file) against the endpoint.
func tokenFor(t *testing.T, keyFile []byte) (string, error) {
	t.Helper()
	creds, err := credentials.NewCredentialsFromJSON(credentials.ServiceAccount, keyFile, &credentials.DetectOptions{Scopes: []string{scope}})
	if err != nil {
		t.Fatalf("credentials: %v", err)
	}
	tok, err := creds.Token(context.Background())
	if err != nil {
		return "", err
	}
	return tok.Value, nil
}

func TestJWTBearerGrant(t *testing.T) {
	clk := &clock{t: time.Now()}
	srv := googleauth.New(googleauth.Options{TokenTTL: time.Hour, Now: clk.now})
	ts := httptest.NewServer(srv)
	defer ts.Close()

	sa, err := srv.NewServiceAccount("bot@team-project.iam.gserviceaccount.com", ts.URL+"/token")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenFor(t, sa.JSON)
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	if err := srv.Check(tok, scope); err != nil {
		t.Fatalf("fresh token refused: %v", err)
	}
	if err := srv.Check(tok, "https://www.googleapis.com/auth/drive"); !errors.Is(err, googleauth.ErrInsufficientScope) {
		t.Fatalf("other scope: %v", err)
	}
	if err := srv.Check("ya29.made-up", scope); !errors.Is(err, googleauth.ErrInvalidToken) {
		t.Fatalf("unknown token: %v", err)
	}
	clk.add(time.Hour)
	if err := srv.Check(tok, scope); !errors.Is(err, googleauth.ErrInvalidToken) || !errors.Is(err, googleauth.ErrTokenExpired) {
		t.Fatalf("expired token: %v", err)
	}
	if got := srv.Tokens(); len(got) != 1 || got[0] != tok {
		t.Fatalf("Tokens() = %v, want [%s]", got, tok)
	}
	if srv.Issued() != 1 || srv.Refused() != 0 {
		t.Fatalf("issued %d refused %d", srv.Issued(), srv.Refused())
	}
}

func TestRefusals(t *testing.T) {
	srv := googleauth.New(googleauth.Options{})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	registered, err := srv.NewServiceAccount("bot@p.iam.gserviceaccount.com", ts.URL+"/token")
	if err != nil {
		t.Fatal(err)
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	wrongKey, _ := googleauth.KeyFile(registered.Email, ts.URL+"/token", other)
	unknown, _ := googleauth.KeyFile("nobody@p.iam.gserviceaccount.com", ts.URL+"/token", other)
	wrongAud, _ := googleauth.KeyFile(registered.Email, ts.URL+"/token?x", registered.Key)
	for _, c := range []struct {
		name string
		file []byte
		want string
	}{
		{"key not registered for the account", wrongKey, "Invalid JWT Signature"},
		{"unknown account", unknown, "account not found"},
		{"audience is not the endpoint", wrongAud, "audience"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := tokenFor(t, c.file)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
	if srv.Issued() != 0 || srv.Refused() != 3 {
		t.Fatalf("issued %d refused %d", srv.Issued(), srv.Refused())
	}
}
