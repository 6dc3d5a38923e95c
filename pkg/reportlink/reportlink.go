// Package reportlink is the contract of the signed links to Analytics 360
// PDF reports between the two roles that use them: the worker (package
// reports) writes an absolute link into the Queue sheet's report_url and
// names the PDF it sends to the chat; the bot (package miniapp) hands out
// relative links to the Mini App, verifies them and serves the PDF under
// that same name. A link is "/api/v1/reports/<id>.pdf?t=<token>", where the
// token is an HMAC-SHA256 over the request id and an expiry that it carries
// itself, keyed by a secret both roles derive from the bot token (Secret),
// so nothing is stored to check a link and no extra secret is distributed.
// It lives apart from both features so that neither imports the other.
package reportlink

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// PathPrefix is where the bot serves stored PDF reports:
// PathPrefix + <request id> + ".pdf?t=<token>".
const PathPrefix = "/api/v1/reports/"

// secretLabel separates report links from every other use of the bot
// token, so a report token can never be replayed as anything else.
const secretLabel = "marketingbot report links"

// Secret derives the key of report links from the bot token: the bot
// (which verifies links) and the worker (which writes them into the sheet)
// both have the token, so no extra secret has to be distributed, and a new
// token invalidates every link issued with the old one.
func Secret(botToken string) []byte {
	mac := hmac.New(sha256.New, []byte(botToken))
	mac.Write([]byte(secretLabel))
	return mac.Sum(nil)
}

// Token signs a link to one request's PDF that is valid until expires:
// "<unix expiry>.<base64url HMAC-SHA256(secret, id, expiry)>". The expiry is
// in the token, so the link needs nothing stored to be checked.
func Token(secret []byte, requestID string, expires time.Time) string {
	exp := strconv.FormatInt(expires.Unix(), 10)
	return exp + "." + base64.RawURLEncoding.EncodeToString(mac(secret, requestID, exp))
}

// Verify reports whether token was issued by Token for requestID with this
// secret and has not expired at now. The signature is compared in constant
// time.
func Verify(secret []byte, requestID, token string, now time.Time) bool {
	exp, sig, ok := strings.Cut(token, ".")
	if !ok || exp == "" || len(exp) > 19 {
		return false
	}
	unix, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || unix <= 0 || strconv.FormatInt(unix, 10) != exp {
		return false // a second spelling of the same expiry ("+17…", "017…") is not ours
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return false
	}
	valid := hmac.Equal(got, mac(secret, requestID, exp))
	return valid && now.Before(time.Unix(unix, 0))
}

func mac(secret []byte, requestID, exp string) []byte {
	m := hmac.New(sha256.New, secret)
	// The separator cannot occur in a decimal expiry, so (id, exp) pairs
	// never collide.
	m.Write([]byte(requestID))
	m.Write([]byte{'\n'})
	m.Write([]byte(exp))
	return m.Sum(nil)
}

// Path is the bot-relative signed link to a request's PDF; the Mini App API
// hands it out.
func Path(secret []byte, requestID string, expires time.Time) string {
	return PathPrefix + url.PathEscape(requestID) + ".pdf?t=" + url.QueryEscape(Token(secret, requestID, expires))
}

// URL is the absolute signed link written into the Queue sheet's
// report_url (H): baseURL (the bot's public address; a trailing slash is
// dropped) + "/api/v1/reports/<id>.pdf?t=<token>".
func URL(baseURL string, secret []byte, requestID string, expires time.Time) string {
	return strings.TrimRight(baseURL, "/") + Path(secret, requestID, expires)
}

// IsOurs reports whether link points at our own stored PDF of requestID
// (any host: the public URL may have changed since it was written), as
// opposed to an external report such as Apps Script's.
func IsOurs(link, requestID string) bool {
	u, err := url.Parse(strings.TrimSpace(link))
	if err != nil {
		return false
	}
	return u.Path == PathPrefix+requestID+".pdf"
}

// FileName is the PDF's file name in the chat and on download:
// "Аналитика360_MSK-100001.pdf". Characters that do not belong in a file
// name are replaced, so a hand-typed object code cannot break headers or paths.
func FileName(objectCode string) string {
	code := strings.Map(func(r rune) rune {
		switch {
		case unicode.IsLetter(r), unicode.IsDigit(r), r == '-', r == '_':
			return r
		default:
			return '_'
		}
	}, strings.TrimSpace(objectCode))
	if code == "" {
		code = "объект"
	}
	if r := []rune(code); len(r) > 40 {
		code = string(r[:40])
	}
	return "Аналитика360_" + code + ".pdf"
}
