package sheets

import (
	"errors"
	"net/http"
	"strings"
	"sync"
)

// OAuth 2.0 scopes that grant access to spreadsheets, as Google documents
// them for the Sheets API: reads accept any of them, writes only the
// read-write ones.
const (
	ScopeSpreadsheets         = "https://www.googleapis.com/auth/spreadsheets"
	ScopeSpreadsheetsReadonly = "https://www.googleapis.com/auth/spreadsheets.readonly"
	ScopeDrive                = "https://www.googleapis.com/auth/drive"
	ScopeDriveReadonly        = "https://www.googleapis.com/auth/drive.readonly"
	ScopeDriveFile            = "https://www.googleapis.com/auth/drive.file"
)

var (
	readScopes  = []string{ScopeSpreadsheets, ScopeSpreadsheetsReadonly, ScopeDrive, ScopeDriveReadonly, ScopeDriveFile}
	writeScopes = []string{ScopeSpreadsheets, ScopeDrive, ScopeDriveFile}
)

// TokenChecker validates an OAuth 2.0 access token for one scope: nil when
// the token is valid and carries it. The token endpoint emulator
// (sim/emulator/googleauth) satisfies it. The emulator tells the failures
// apart by methods of the error, so it needs no import of the checker's
// package: Expired() bool for a token that has expired (401,
// ACCESS_TOKEN_EXPIRED), InsufficientScope() bool for a valid token without
// the scope (403); any other error is an invalid token (401).
type TokenChecker interface {
	Check(token, scope string) error
}

// AuthStats counts the API requests the authentication mode refused.
type AuthStats struct {
	Unauthenticated int `json:"unauthenticated"` // 401: no, unknown or expired token
	Forbidden       int `json:"forbidden"`       // 403: token without a spreadsheets scope
}

// authGate is the optional Bearer-token requirement of the API. With no
// checker every request passes, as in the sandbox and most tests.
type authGate struct {
	mu      sync.Mutex
	checker TokenChecker
	stats   AuthStats
}

// RequireAuth makes every API request need "Authorization: Bearer <token>"
// with a token checker accepts for a spreadsheets scope, the way
// sheets.googleapis.com does; nil switches authentication off again. The
// control API never needs a token.
func (s *Server) RequireAuth(checker TokenChecker) {
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	s.auth.checker = checker
}

// AuthStats returns how many requests authentication refused.
func (s *Server) AuthStats() AuthStats {
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	return s.auth.stats
}

// authenticate answers a request that fails authentication the way Google
// does (status, JSON error, WWW-Authenticate) and returns false; true lets
// the request through.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, method string) bool {
	s.auth.mu.Lock()
	checker := s.auth.checker
	s.auth.mu.Unlock()
	if checker == nil {
		return true
	}
	scopes := readScopes
	if methodKinds[method] == opWrite {
		scopes = writeScopes
	}
	e, challenge := checkBearer(checker, r, method, scopes)
	if e == nil {
		return true
	}
	s.auth.mu.Lock()
	if e.Code == http.StatusForbidden {
		s.auth.stats.Forbidden++
	} else {
		s.auth.stats.Unauthenticated++
	}
	s.auth.mu.Unlock()
	w.Header().Set("WWW-Authenticate", challenge)
	writeAPIError(w, e)
	return false
}

// quotaCaller is who a request counts against: with authentication, the
// account the token belongs to when the checker can tell (Google counts
// per user, and a refreshed token is the same user), else callerOf.
func (s *Server) quotaCaller(r *http.Request) string {
	s.auth.mu.Lock()
	checker := s.auth.checker
	s.auth.mu.Unlock()
	if p, ok := checker.(interface{ Principal(token string) string }); ok {
		if token, ok := bearerToken(r); ok {
			if who := p.Principal(token); who != "" {
				return "user:" + who
			}
		}
	}
	return callerOf(r)
}

// Google's texts (sheets.googleapis.com, 2024-2026).
const (
	authRealm        = `Bearer realm="https://accounts.google.com/"`
	msgMissingCreds  = "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
	msgInvalidCreds  = "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
	msgInsufficient  = "Request had insufficient authentication scopes."
	reasonMissing    = "CREDENTIALS_MISSING"
	reasonExpired    = "ACCESS_TOKEN_EXPIRED"
	reasonScope      = "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
	sheetsRPCService = "google.apps.sheets.v4.SpreadsheetsService."
)

// checkBearer returns nil for a request with a valid token carrying one of
// scopes, else Google's error and the WWW-Authenticate challenge (RFC 6750).
func checkBearer(checker TokenChecker, r *http.Request, method string, scopes []string) (*apiError, string) {
	token, ok := bearerToken(r)
	if !ok {
		e := newAPIError(http.StatusUnauthorized, "%s", msgMissingCreds)
		e.Details = []any{errorInfo(reasonMissing, method)}
		return e, authRealm
	}
	var firstErr error
	for _, scope := range scopes {
		err := checker.Check(token, scope)
		if err == nil {
			return nil, ""
		}
		if firstErr == nil {
			firstErr = err
		}
		if !scopeMissing(err) {
			break // an invalid token is invalid for every scope
		}
	}
	if scopeMissing(firstErr) {
		e := newAPIError(http.StatusForbidden, "%s", msgInsufficient)
		e.Details = []any{errorInfo(reasonScope, method)}
		return e, authRealm + `, error="insufficient_scope", scope="` + strings.Join(writeScopes, " ") + `"`
	}
	e := newAPIError(http.StatusUnauthorized, "%s", msgInvalidCreds)
	if expired(firstErr) {
		e.Details = []any{errorInfo(reasonExpired, method)}
	}
	return e, authRealm + `, error="invalid_token"`
}

func scopeMissing(err error) bool {
	var e interface{ InsufficientScope() bool }
	return errors.As(err, &e) && e.InsufficientScope()
}

func expired(err error) bool {
	var e interface{ Expired() bool }
	return errors.As(err, &e) && e.Expired()
}

// bearerToken is the token of "Authorization: Bearer <token>".
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

// rpcNames are the RPC methods Google names in ErrorInfo.metadata.method.
var rpcNames = map[string]string{
	MethodGet:               "GetSpreadsheet",
	MethodBatchUpdate:       "BatchUpdateSpreadsheet",
	MethodValuesGet:         "GetValues",
	MethodValuesBatchGet:    "BatchGetValues",
	MethodValuesUpdate:      "UpdateValues",
	MethodValuesBatchUpdate: "BatchUpdateValues",
	MethodValuesAppend:      "AppendValues",
	MethodValuesClear:       "ClearValues",
	MethodValuesBatchClear:  "BatchClearValues",
}

func errorInfo(reason, method string) map[string]any {
	return map[string]any{
		"@type":  "type.googleapis.com/google.rpc.ErrorInfo",
		"reason": reason,
		"domain": "googleapis.com",
		"metadata": map[string]any{
			"method":  sheetsRPCService + rpcNames[method],
			"service": "sheets.googleapis.com",
		},
	}
}
