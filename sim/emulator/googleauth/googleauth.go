// Package googleauth emulates Google's OAuth 2.0 token endpoint
// (oauth2.googleapis.com/token) for service accounts, so that the production
// authentication path — a service-account JSON key whose token_uri points
// here, read by the unmodified Google client libraries — runs in tests and
// in the sandbox without the internet.
//
// It speaks the JWT-bearer grant (RFC 7523) the way Google does: the client
// posts grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer and an
// assertion, a JWT signed with RS256 by the service account's private key,
// with iss = the account's email, aud = the token endpoint, a scope claim
// and iat/exp at most an hour apart. The emulator verifies the signature
// against the public key registered for that account (its own verification,
// with golang-jwt, not the client library's code), and issues an opaque
// access token that expires after Options.TokenTTL. Resource servers (the
// Sheets emulator) ask Check whether a Bearer token is valid and carries a
// scope; an unknown or expired token is refused, as Google answers 401.
package googleauth

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// GrantType is the only grant the endpoint accepts.
const GrantType = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// Options configure a Server.
type Options struct {
	// TokenTTL is the lifetime of issued access tokens (Google: one hour).
	TokenTTL time.Duration
	// Now is the emulator's clock (tests move it to expire tokens).
	Now func() time.Time
}

// Server is the token endpoint: an http.Handler answering POST /token.
type Server struct {
	ttl time.Duration
	now func() time.Time

	mu       sync.Mutex
	accounts map[string]*rsa.PublicKey // client email → public key
	tokens   map[string]grant
	issued   int
	refused  int
}

type grant struct {
	email  string
	scopes []string
	expiry time.Time
}

// New builds a token endpoint with no accounts.
func New(o Options) *Server {
	if o.TokenTTL <= 0 {
		o.TokenTTL = time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Server{ttl: o.TokenTTL, now: o.Now, accounts: map[string]*rsa.PublicKey{}, tokens: map[string]grant{}}
}

// AddAccount registers a service account's public key.
func (s *Server) AddAccount(email string, key *rsa.PublicKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accounts[email] = key
}

// ServiceAccount is a generated service-account key file and its private key.
type ServiceAccount struct {
	Email string
	JSON  []byte // the key file as Google's console downloads it
	Key   *rsa.PrivateKey
}

// NewServiceAccount generates a key pair, registers its public half and
// returns the key file with token_uri set to tokenURI (this server's /token).
func (s *Server) NewServiceAccount(email, tokenURI string) (ServiceAccount, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return ServiceAccount{}, err
	}
	s.AddAccount(email, &key.PublicKey)
	js, err := KeyFile(email, tokenURI, key)
	return ServiceAccount{Email: email, JSON: js, Key: key}, err
}

// KeyFile renders a service-account key file for key.
func KeyFile(email, tokenURI string, key *rsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	kid := make([]byte, 20)
	_, _ = rand.Read(kid)
	_, domain, _ := strings.Cut(email, "@")
	project, _, _ := strings.Cut(domain, ".")
	return json.MarshalIndent(map[string]string{
		"type":                        "service_account",
		"project_id":                  project,
		"private_key_id":              hex.EncodeToString(kid),
		"private_key":                 string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":                email,
		"client_id":                   "100000000000000000001",
		"auth_uri":                    "https://accounts.google.com/o/oauth2/auth",
		"token_uri":                   tokenURI,
		"auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
		"universe_domain":             "googleapis.com",
	}, "", "  ")
}

// Issued is how many access tokens were issued; Refused how many token
// requests were refused.
func (s *Server) Issued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issued
}

// Tokens lists every access token issued so far (tests look for them in
// logs, where they must never appear).
func (s *Server) Tokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.tokens))
	for t := range s.tokens {
		out = append(out, t)
	}
	return out
}

// Principal is the service account a token was issued to ("" for a token
// this endpoint never issued). Resource servers count quotas per account,
// as Google does, not per token.
func (s *Server) Principal(token string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokens[token].email
}

// Refused counts refused token requests.
func (s *Server) Refused() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused
}

// ErrInvalidToken means a Bearer token is unknown or expired (Google: 401).
var ErrInvalidToken = errors.New("invalid or expired access token")

// ErrTokenExpired means a token this endpoint issued has expired (Google:
// 401 with reason ACCESS_TOKEN_EXPIRED). It is also ErrInvalidToken.
var ErrTokenExpired error = tokenError{}

// ErrInsufficientScope means the token lacks the scope (Google: 403).
var ErrInsufficientScope error = scopeError{}

// The errors of Check say what they are through methods, so that a resource
// server (the Sheets emulator) can tell them apart without importing this
// package: Expired() for an expired token, InsufficientScope() for a token
// without the scope.
type tokenError struct{}

func (tokenError) Error() string           { return "access token expired" }
func (tokenError) Expired() bool           { return true }
func (tokenError) Is(target error) bool    { return target == ErrInvalidToken }
func (scopeError) Error() string           { return "insufficient authentication scopes" }
func (scopeError) InsufficientScope() bool { return true }

type scopeError struct{}

// Check validates an access token for a resource that needs scope.
func (s *Server) Check(token, scope string) error {
	s.mu.Lock()
	g, ok := s.tokens[token]
	s.mu.Unlock()
	switch {
	case !ok:
		return ErrInvalidToken
	case !s.now().Before(g.expiry):
		return ErrTokenExpired
	}
	for _, sc := range g.scopes {
		if sc == scope {
			return nil
		}
	}
	return ErrInsufficientScope
}

// ServeHTTP answers POST /token.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/token" || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		s.refuse(w, "invalid_request", "Could not parse the request body.")
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != GrantType {
		s.refuse(w, "unsupported_grant_type", "Invalid grant_type: "+gt)
		return
	}
	aud := "http://" + r.Host + "/token"
	if r.TLS != nil {
		aud = "https://" + r.Host + "/token"
	}
	g, code, desc := s.verify(r.PostForm.Get("assertion"), aud)
	if code != "" {
		s.refuse(w, code, desc)
		return
	}
	token := "ya29.emu-" + randomHex(24)
	s.mu.Lock()
	s.tokens[token] = g
	s.issued++
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token": token, "expires_in": int(s.ttl / time.Second), "token_type": "Bearer",
	})
}

// claims are the assertion's claims (Google's names).
type claims struct {
	Scope string `json:"scope"`
	jwt.RegisteredClaims
}

// verify checks an assertion and returns the grant, or Google's error code
// and description.
func (s *Server) verify(assertion, audience string) (grant, string, string) {
	if assertion == "" {
		return grant{}, "invalid_request", "Missing required parameter: assertion"
	}
	var c claims
	now := s.now()
	_, err := jwt.ParseWithClaims(assertion, &c, func(t *jwt.Token) (any, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		key, ok := s.accounts[c.Issuer]
		if !ok {
			return nil, errUnknownAccount
		}
		return key, nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithLeeway(5*time.Minute), jwt.WithExpirationRequired(), jwt.WithIssuedAt())
	switch {
	case errors.Is(err, errUnknownAccount):
		return grant{}, "invalid_grant", "Invalid grant: account not found"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return grant{}, "invalid_grant", "Invalid JWT Signature."
	case err != nil:
		return grant{}, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim."
	}
	if !audienceIs(c.Audience, audience) {
		return grant{}, "invalid_grant", "Invalid JWT: Failed audience check. The expected value was " + audience + "."
	}
	if c.ExpiresAt.Sub(c.IssuedAt.Time) > time.Hour {
		return grant{}, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim."
	}
	scopes := strings.Fields(c.Scope)
	if len(scopes) == 0 {
		return grant{}, "invalid_scope", "Invalid OAuth scope or ID token audience provided."
	}
	return grant{email: c.Issuer, scopes: scopes, expiry: now.Add(s.ttl)}, "", ""
}

var errUnknownAccount = errors.New("unknown service account")

func audienceIs(aud jwt.ClaimStrings, want string) bool {
	for _, a := range aud {
		if a == want {
			return true
		}
	}
	return false
}

func (s *Server) refuse(w http.ResponseWriter, code, desc string) {
	s.mu.Lock()
	s.refused++
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// BearerToken extracts the token of an "Authorization: Bearer …" header.
func BearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}
