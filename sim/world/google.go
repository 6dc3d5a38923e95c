package world

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"cloud.google.com/go/auth/credentials"

	"marketingbot/pkg/app"
	"marketingbot/pkg/config"
	"marketingbot/pkg/obs"
	"marketingbot/pkg/redisx"
	"marketingbot/sim/emulator/googleauth"
)

// GoogleAuth is Google's OAuth token endpoint emulated beside an Env, with
// the production authentication path switched on: the Sheets emulator
// requires its Bearer tokens, and the roles are configured with
// sheets.credentials_file — a service-account key whose token_uri points at
// the endpoint — together with sheets.endpoint.
type GoogleAuth struct {
	Server  *googleauth.Server
	URL     string // the endpoint's base; tokens at URL + "/token"
	Account googleauth.ServiceAccount
	KeyFile string // the key file the roles use

	env   *Env
	mu    sync.Mutex
	shift time.Duration // added to the real time (Advance)
}

// GoogleAuth starts the token endpoint (issued tokens live ttl), registers
// a service account, writes its key file, makes the Sheets emulator require
// tokens and configures the roles started afterwards to authenticate.
func (e *Env) GoogleAuth(ttl time.Duration) *GoogleAuth {
	e.T.Helper()
	g := &GoogleAuth{env: e}
	g.Server = googleauth.New(googleauth.Options{TokenTTL: ttl, Now: g.now})
	ts := httptest.NewServer(g.Server)
	e.T.Cleanup(ts.Close)
	g.URL = ts.URL
	sa, err := g.Server.NewServiceAccount("marketingbot@team-project.iam.gserviceaccount.com", ts.URL+"/token")
	if err != nil {
		e.T.Fatal(err)
	}
	g.Account = sa
	g.KeyFile = e.WriteFile("service-account.json", sa.JSON)
	e.Sheets.RequireAuth(g.Server)
	e.Set("MARKETINGBOT_SHEETS_CREDENTIALS_FILE", g.KeyFile)
	return g
}

// now is the endpoint's clock: the real time (the client signs its
// assertions with it) moved by Advance.
func (g *GoogleAuth) now() time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	return time.Now().Add(g.shift)
}

// Advance moves the endpoint's clock forward: tokens issued before expire
// when their lifetime is passed.
func (g *GoogleAuth) Advance(d time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.shift += d
}

// Token gets an access token for the Sheets scope with the key file, the
// way the Google client library does.
func (g *GoogleAuth) Token() string {
	g.env.T.Helper()
	creds, err := credentials.NewCredentialsFromJSON(credentials.ServiceAccount, g.Account.JSON,
		&credentials.DetectOptions{Scopes: []string{"https://www.googleapis.com/auth/spreadsheets"}})
	if err != nil {
		g.env.T.Fatal(err)
	}
	tok, err := creds.Token(context.Background())
	if err != nil {
		g.env.T.Fatal(err)
	}
	return tok.Value
}

// ForeignKeyFile writes a key file for the same account but with a key
// Google does not know (a deleted or rotated key): the endpoint refuses it
// with "Invalid JWT Signature.".
func (g *GoogleAuth) ForeignKeyFile() string {
	g.env.T.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		g.env.T.Fatal(err)
	}
	js, err := googleauth.KeyFile(g.Account.Email, g.URL+"/token", key)
	if err != nil {
		g.env.T.Fatal(err)
	}
	return g.env.WriteFile("foreign-key.json", js)
}

// SheetsGet sends values.get to the Sheets emulator with an Authorization
// header (none when token is empty) and returns the status and the body.
func (e *Env) SheetsGet(token string) (int, string) {
	e.T.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.Sheets.URL+"/v4/spreadsheets/"+e.SpreadsheetID+"/values/Auth!A1", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.T.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate") + "\n" + string(b)
}

// WriteFile writes a file into the environment's folder and returns its path.
func (e *Env) WriteFile(name string, data []byte) string {
	e.T.Helper()
	p := filepath.Join(e.Dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		e.T.Fatal(err)
	}
	return p
}

// Check runs a role's --check in-process with this environment's settings
// changed by extra, and returns the exit code and what it printed.
func (e *Env) Check(role config.Role, extra map[string]string) (int, string) {
	e.T.Helper()
	env := map[string]string{}
	for k, v := range e.settings {
		env[k] = v
	}
	for k, v := range extra {
		env[k] = v
	}
	var out bytes.Buffer
	m := &app.Main{Role: role, ConfigPath: e.ConfigPath, Env: env, Stdout: &out, Stderr: &out}
	code := m.Check(context.Background())
	return code, out.String()
}

// CheckProcess runs a role binary with --check and this environment's
// settings plus extra (KEY=VALUE), and returns its exit code and output.
func (e *Env) CheckProcess(role string, extra ...string) (int, string) {
	e.T.Helper()
	cmd := exec.Command(filepath.Join(Binaries(e.T), role), "--config", e.ConfigPath, "--check")
	cmd.Env = append(append(os.Environ(), e.Env()...), extra...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		e.T.Fatalf("%s --check: %v", role, err)
	}
	return cmd.ProcessState.ExitCode(), string(out)
}

// StartLogged runs a role in-process like the binary does — its logger
// built from the configuration (log.level, log.format) writing to w — and
// stops it at cleanup.
func (e *Env) StartLogged(role config.Role, w io.Writer) *Role {
	e.T.Helper()
	cfg := e.Config(role)
	logger := obs.NewLogger(w, cfg.Log.Level, cfg.Log.Format).With("role", string(role))
	redisx.QuietLogs(logger)
	r, err := app.NewRole(role, cfg, logger)
	if err != nil {
		e.T.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		e.T.Fatal(err)
	}
	e.T.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = r.Stop(ctx)
	})
	out := &Role{Role: r}
	if a, ok := r.(interface{ Addr() string }); ok {
		out.Addr = a.Addr
	}
	return out
}
