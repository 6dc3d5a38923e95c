package reports

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"marketingbot/pkg/config"
)

// ReportPathPrefix is where the bot serves stored PDF reports:
// ReportPathPrefix + <request id> + ".pdf?t=<token>".
const ReportPathPrefix = "/api/v1/reports/"

// reportSecretLabel separates report links from every other use of the bot
// token, so a report token can never be replayed as anything else.
const reportSecretLabel = "marketingbot report links"

// ReportSecret derives the key of report links from the bot token: the bot
// (which verifies links) and the worker (which writes them into the sheet)
// both have the token, so no extra secret has to be distributed, and a new
// token invalidates every link issued with the old one.
func ReportSecret(cfg *config.Config) []byte {
	mac := hmac.New(sha256.New, []byte(cfg.Telegram.Token))
	mac.Write([]byte(reportSecretLabel))
	return mac.Sum(nil)
}

// ReportToken signs a link to one request's PDF that is valid until expires:
// "<unix expiry>.<base64url HMAC-SHA256(secret, id, expiry)>". The expiry is
// in the token, so the link needs nothing stored to be checked.
func ReportToken(secret []byte, requestID string, expires time.Time) string {
	exp := strconv.FormatInt(expires.Unix(), 10)
	return exp + "." + base64.RawURLEncoding.EncodeToString(reportMAC(secret, requestID, exp))
}

// VerifyReportToken reports whether token was issued by ReportToken for
// requestID with this secret and has not expired at now. The signature is
// compared in constant time.
func VerifyReportToken(secret []byte, requestID, token string, now time.Time) bool {
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
	valid := hmac.Equal(got, reportMAC(secret, requestID, exp))
	return valid && now.Before(time.Unix(unix, 0))
}

func reportMAC(secret []byte, requestID, exp string) []byte {
	mac := hmac.New(sha256.New, secret)
	// The separator cannot occur in a decimal expiry, so (id, exp) pairs
	// never collide.
	mac.Write([]byte(requestID))
	mac.Write([]byte{'\n'})
	mac.Write([]byte(exp))
	return mac.Sum(nil)
}

// ReportPath is the bot-relative signed link to a request's PDF; the Mini App
// API hands it out.
func ReportPath(secret []byte, requestID string, expires time.Time) string {
	return ReportPathPrefix + url.PathEscape(requestID) + ".pdf?t=" + url.QueryEscape(ReportToken(secret, requestID, expires))
}

// ReportURL is the absolute signed link written into the Queue sheet's
// report_url (H): cfg.PublicBaseURL() + "/api/v1/reports/<id>.pdf?t=<token>".
func ReportURL(cfg *config.Config, requestID string, expires time.Time) string {
	return cfg.PublicBaseURL() + ReportPath(ReportSecret(cfg), requestID, expires)
}

// IsReportURL reports whether link points at our own stored PDF of
// requestID (any host: the public URL may have changed since it was
// written), as opposed to an external report such as Apps Script's.
func IsReportURL(link, requestID string) bool {
	u, err := url.Parse(strings.TrimSpace(link))
	if err != nil {
		return false
	}
	return u.Path == ReportPathPrefix+requestID+".pdf"
}

// ReportFileName is the PDF's file name in the chat and on download:
// "Аналитика360_MSK-100001.pdf". Characters that do not belong in a file
// name are replaced, so a hand-typed object code cannot break headers or paths.
func ReportFileName(objectCode string) string {
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
