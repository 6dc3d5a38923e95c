package sheets

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/auth/credentials"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
	sheetsapi "google.golang.org/api/sheets/v4"

	"marketingbot/sim/emulator/googleauth"
)

// authEnv is the emulator in authentication mode with Google's token
// endpoint emulated beside it and a service account registered there.
type authEnv struct {
	*env
	clock *fakeClock
	key   []byte // the service-account key file
}

func newAuthEnv(t *testing.T) *authEnv {
	t.Helper()
	clock := &fakeClock{now: time.Now()} // the client signs its assertions with the real time
	ga := googleauth.New(googleauth.Options{TokenTTL: time.Hour, Now: clock.Now})
	gts := httptest.NewServer(ga)
	t.Cleanup(gts.Close)
	sa, err := ga.NewServiceAccount("bot@team.iam.gserviceaccount.com", gts.URL+"/token")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, Options{Auth: ga})
	e.load(t, "s1", Spreadsheet{Sheets: []Sheet{{Title: "Auth", Rows: [][]any{{"code"}, {"P-1"}}}}})
	return &authEnv{env: e, clock: clock, key: sa.JSON}
}

// client is the real sheets/v4 client with the service account's key and
// the given scopes, as production builds it against Google.
func (a *authEnv) client(t *testing.T, scopes ...string) *sheetsapi.Service {
	t.Helper()
	api, err := sheetsapi.NewService(context.Background(), option.WithEndpoint(a.ts.URL),
		option.WithAuthCredentialsJSON(option.ServiceAccount, a.key), option.WithScopes(scopes...))
	if err != nil {
		t.Fatal(err)
	}
	return api
}

// token fetches an access token for scopes from the token endpoint.
func (a *authEnv) token(t *testing.T, scopes ...string) string {
	t.Helper()
	creds, err := credentials.NewCredentialsFromJSON(credentials.ServiceAccount, a.key, &credentials.DetectOptions{Scopes: scopes})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := creds.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tok.Value
}

// raw sends values.get with an Authorization header (none when empty).
func (a *authEnv) raw(t *testing.T, authorization string) (int, http.Header, apiError) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, a.ts.URL+"/v4/spreadsheets/s1/values/Auth", nil)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Error apiError `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, resp.Header, body.Error
}

func reasonOf(e apiError) string {
	for _, d := range e.Details {
		if m, ok := d.(map[string]any); ok {
			if r, ok := m["reason"].(string); ok {
				return r
			}
		}
	}
	return ""
}

func TestAuthRealClientWithServiceAccount(t *testing.T) {
	a := newAuthEnv(t)
	api := a.client(t, ScopeSpreadsheets)
	got, err := api.Spreadsheets.Values.Get("s1", "Auth!A2").Do()
	if err != nil {
		t.Fatalf("authenticated read: %v", err)
	}
	if len(got.Values) != 1 || got.Values[0][0] != "P-1" {
		t.Fatalf("values = %v", got.Values)
	}
	if _, err := api.Spreadsheets.Values.Update("s1", "Auth!B2", &sheetsapi.ValueRange{Values: [][]any{{"x"}}}).
		ValueInputOption("RAW").Do(); err != nil {
		t.Fatalf("authenticated write: %v", err)
	}
	if st := a.srv.AuthStats(); st != (AuthStats{}) {
		t.Fatalf("refusals %+v", st)
	}
}

func TestAuthMissingToken(t *testing.T) {
	a := newAuthEnv(t)
	_, err := a.api.Spreadsheets.Values.Get("s1", "Auth").Do() // the env's client sends no credentials
	wantAPIError(t, err, http.StatusUnauthorized, msgMissingCreds)
	var gerr *googleapi.Error
	if errors.As(err, &gerr) && gerr.Header.Get("WWW-Authenticate") != authRealm {
		t.Errorf("WWW-Authenticate = %q", gerr.Header.Get("WWW-Authenticate"))
	}
	code, _, body := a.raw(t, "")
	if code != 401 || body.Status != "UNAUTHENTICATED" || reasonOf(body) != reasonMissing {
		t.Errorf("raw: %d %+v", code, body)
	}
	if st := a.srv.AuthStats(); st.Unauthenticated != 2 {
		t.Errorf("stats %+v", st)
	}
	if n := a.srv.Stats().ByMethod[MethodValuesGet]; n != 0 {
		t.Errorf("a refused request reached the API: by_method %d", n)
	}
}

func TestAuthInvalidAndExpiredToken(t *testing.T) {
	a := newAuthEnv(t)
	code, h, body := a.raw(t, "Bearer ya29.made-up")
	if code != 401 || body.Status != "UNAUTHENTICATED" || body.Message != msgInvalidCreds {
		t.Fatalf("made-up token: %d %+v", code, body)
	}
	if got := h.Get("WWW-Authenticate"); got != authRealm+`, error="invalid_token"` {
		t.Errorf("WWW-Authenticate = %q", got)
	}

	tok := a.token(t, ScopeSpreadsheets)
	if code, _, body := a.raw(t, "Bearer "+tok); code != 200 {
		t.Fatalf("fresh token: %d %+v", code, body)
	}
	a.clock.Advance(time.Hour) // the token's lifetime
	code, _, body = a.raw(t, "Bearer "+tok)
	if code != 401 || body.Message != msgInvalidCreds || reasonOf(body) != reasonExpired {
		t.Fatalf("expired token: %d %+v", code, body)
	}
	if code, _, _ := a.raw(t, "Basic dXNlcjpwYXNz"); code != 401 {
		t.Errorf("basic auth: %d", code)
	}
}

func TestAuthInsufficientScope(t *testing.T) {
	a := newAuthEnv(t)
	api := a.client(t, ScopeSpreadsheetsReadonly)
	if _, err := api.Spreadsheets.Values.Get("s1", "Auth").Do(); err != nil {
		t.Fatalf("read with a read-only scope: %v", err)
	}
	_, err := api.Spreadsheets.Values.Update("s1", "Auth!B2", &sheetsapi.ValueRange{Values: [][]any{{"x"}}}).
		ValueInputOption("RAW").Do()
	wantAPIError(t, err, http.StatusForbidden, msgInsufficient)
	var gerr *googleapi.Error
	if errors.As(err, &gerr) && !strings.Contains(gerr.Header.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
		t.Errorf("WWW-Authenticate = %q", gerr.Header.Get("WWW-Authenticate"))
	}
	if rows := a.rows(t, "s1", "Auth"); len(rows[1]) != 1 {
		t.Errorf("a refused write was applied: %v", rows)
	}
	other := a.client(t, "https://www.googleapis.com/auth/calendar")
	_, err = other.Spreadsheets.Values.Get("s1", "Auth").Do()
	wantAPIError(t, err, http.StatusForbidden, msgInsufficient)
	if st := a.srv.AuthStats(); st.Forbidden != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestAuthSwitchedOff(t *testing.T) {
	a := newAuthEnv(t)
	a.srv.RequireAuth(nil)
	if _, err := a.api.Spreadsheets.Values.Get("s1", "Auth").Do(); err != nil {
		t.Fatalf("without authentication: %v", err)
	}
}

// Quotas count per account, as Google's per-user quota does: a refreshed
// token is the same user.
func TestAuthQuotaPerAccount(t *testing.T) {
	a := newAuthEnv(t)
	a.srv.SetQuota(Quota{ReadsPerWindow: 2, Window: time.Hour})
	first, second := a.token(t, ScopeSpreadsheets), a.token(t, ScopeSpreadsheets)
	if first == second {
		t.Fatal("the same token twice")
	}
	for i, tok := range []string{first, second} {
		if code, _, body := a.raw(t, "Bearer "+tok); code != 200 {
			t.Fatalf("read %d: %d %+v", i+1, code, body)
		}
	}
	if code, _, _ := a.raw(t, "Bearer "+second); code != http.StatusTooManyRequests {
		t.Fatalf("third read of the account: %d, want 429", code)
	}
}
