package sheets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"cloud.google.com/go/auth"
	"cloud.google.com/go/auth/credentials"
	sheetsapi "google.golang.org/api/sheets/v4"
)

// AuthError means no access token could be had for the service account of
// a credentials file: Google's token endpoint refused the key (a deleted or
// rotated key, the file of another account) or could not be reached. It
// names the file, never its content.
type AuthError struct {
	File string
	Err  error
}

func (e *AuthError) Error() string {
	var ae *auth.Error
	if errors.As(e.Err, &ae) && ae.Response != nil {
		return fmt.Sprintf("sheets: Google's token endpoint refused the service account of %s (HTTP %d%s): check that the file's key is still active in Google Cloud",
			e.File, ae.Response.StatusCode, tokenErrorText(ae.Body))
	}
	return fmt.Sprintf("sheets: no access token for the service account of %s: %v", e.File, e.Err)
}

func (e *AuthError) Unwrap() error { return e.Err }

// Permanent reports a refusal that trying again will not change (a 4xx of
// the token endpoint other than 408/429); network trouble and 5xx are
// worth retrying.
func (e *AuthError) Permanent() bool {
	var ae *auth.Error
	if !errors.As(e.Err, &ae) || ae.Response == nil {
		return false
	}
	return !ae.Temporary() && ae.Response.StatusCode >= 400 && ae.Response.StatusCode < 500
}

// tokenErrorText renders the OAuth error of a token response body
// (RFC 6749 §5.2: error, error_description) as ": code: description".
func tokenErrorText(body []byte) string {
	var b struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(body, &b) != nil || b.Error == "" {
		return ""
	}
	s := ": " + b.Error
	if b.Description != "" {
		s += ": " + b.Description
	}
	return s
}

// authRefused: the request never left because Google will not give us a
// token; retrying cannot help and it is no sign of a Sheets outage.
func authRefused(err error) bool {
	var ae *AuthError
	return errors.As(err, &ae) && ae.Permanent()
}

// authFailed: the request never left for want of a token (so it was
// certainly not applied).
func authFailed(err error) bool {
	var ae *AuthError
	return errors.As(err, &ae)
}

// serviceAccountFile is what we read of a key file to check it.
type serviceAccountFile struct {
	Type        string `json:"type"`
	ClientEmail string `json:"client_email"`
	PrivateKey  string `json:"private_key"`
	TokenURI    string `json:"token_uri"`
}

// serviceAccountCredentials reads a service-account key file and returns
// credentials for the Sheets scope whose token failures are *AuthError
// naming the file, and the account's email. A file that cannot be read or
// is not a service-account key is refused here, with a message that names
// the file and never quotes it.
func serviceAccountCredentials(path string) (*auth.Credentials, string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, "", fmt.Errorf("sheets: credentials file %s cannot be read: %v", path, err)
	}
	var f serviceAccountFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, "", fmt.Errorf("sheets: credentials file %s is not JSON: expected the service-account key (JSON) downloaded from Google Cloud", path)
	}
	if f.Type != "service_account" {
		return nil, "", fmt.Errorf("sheets: credentials file %s is not a service-account key (type %q): expected type \"service_account\", the JSON key of a service account from Google Cloud", path, f.Type)
	}
	var missing []string
	for _, kv := range [][2]string{{"client_email", f.ClientEmail}, {"private_key", f.PrivateKey}, {"token_uri", f.TokenURI}} {
		if strings.TrimSpace(kv[1]) == "" {
			missing = append(missing, kv[0])
		}
	}
	if len(missing) > 0 {
		return nil, "", fmt.Errorf("sheets: credentials file %s lacks %s: expected a complete service-account key", path, strings.Join(missing, ", "))
	}
	base, err := credentials.NewCredentialsFromJSON(credentials.ServiceAccount, b,
		&credentials.DetectOptions{Scopes: []string{sheetsapi.SpreadsheetsScope}})
	if err != nil {
		return nil, "", fmt.Errorf("sheets: credentials file %s is unusable: %w", path, err)
	}
	return auth.NewCredentials(&auth.CredentialsOptions{
		TokenProvider:          fileTokenProvider{file: path, tp: base.TokenProvider},
		JSON:                   base.JSON(),
		ProjectIDProvider:      auth.CredentialsPropertyFunc(base.ProjectID),
		QuotaProjectIDProvider: auth.CredentialsPropertyFunc(base.QuotaProjectID),
		UniverseDomainProvider: auth.CredentialsPropertyFunc(base.UniverseDomain),
	}), f.ClientEmail, nil
}

// fileTokenProvider is the service account's (cached, self-refreshing)
// token provider; its failures name the key file.
type fileTokenProvider struct {
	file string
	tp   auth.TokenProvider
}

func (p fileTokenProvider) Token(ctx context.Context) (*auth.Token, error) {
	t, err := p.tp.Token(ctx)
	if err != nil {
		return nil, &AuthError{File: p.file, Err: err}
	}
	return t, nil
}

// errHTTPClientWithCredentials: the Google client uses a given
// *http.Client as it is and would send no token.
var errHTTPClientWithCredentials = errors.New("sheets: HTTPClient cannot be combined with CredentialsFile (it would bypass authentication)")
