// Package webapp validates the initData string a Telegram Mini App sends with
// every API call (Telegram.WebApp.initData) and, for emulators and tests, signs
// one.
//
// Telegram signs initData with the bot token: hash = hex(HMAC-SHA256(
// key = HMAC-SHA256(key = "WebAppData", msg = bot_token), msg = data_check_string)),
// where data_check_string is every field except hash, sorted by key, written
// as key=value and joined by "\n". Validate recomputes that hash, compares it
// in constant time and only then looks at the fields, so nothing unverified
// reaches the caller. Every failure wraps one of the sentinel errors, letting
// the HTTP layer answer 401 with a precise reason.
package webapp

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors; Validate wraps them with details, test with errors.Is.
var (
	// ErrMissingHash: the data carries no hash field at all.
	ErrMissingHash = errors.New("webapp: init data has no hash")
	// ErrBadSignature: the hash does not match the data for this bot token.
	ErrBadSignature = errors.New("webapp: init data signature mismatch")
	// ErrExpired: auth_date is older than the allowed age, or too far in the future.
	ErrExpired = errors.New("webapp: init data expired")
	// ErrMalformed: the data is not a query string Telegram could have produced
	// (bad escaping, repeated keys, missing or invalid auth_date or user).
	ErrMalformed = errors.New("webapp: malformed init data")
)

// MaxFutureSkew is how far auth_date may lie ahead of now. Telegram's clock
// and ours differ a little; more than this means forged or replayed data
// from a machine with a broken clock, which we refuse like expired data.
const MaxFutureSkew = time.Minute

// secretKeyLabel is the fixed HMAC key Telegram uses to derive the secret from the bot token.
const secretKeyLabel = "WebAppData"

// User is the Telegram user who opened the Mini App (the "user" field).
type User struct {
	ID              int64  `json:"id"`
	FirstName       string `json:"first_name"`
	LastName        string `json:"last_name,omitempty"`
	Username        string `json:"username,omitempty"`
	LanguageCode    string `json:"language_code,omitempty"`
	IsPremium       bool   `json:"is_premium,omitempty"`
	AllowsWriteToPM bool   `json:"allows_write_to_pm,omitempty"`
	PhotoURL        string `json:"photo_url,omitempty"`
}

// Data is validated initData.
type Data struct {
	User       User
	AuthDate   time.Time
	QueryID    string
	StartParam string
	// Raw holds every field as received, hash included, for fields this
	// type does not model (chat_instance, chat_type, signature, …).
	Raw url.Values
}

// Validate checks initData signed for botToken and returns its fields.
// maxAge bounds how old auth_date may be relative to now; maxAge <= 0
// disables that bound (the future-skew bound still applies). A user field
// with a positive id is required: every launch mode that produces initData
// for a bot's Mini App includes it, and callers identify the user by it.
func Validate(initData, botToken string, maxAge time.Duration, now time.Time) (Data, error) {
	values, err := url.ParseQuery(initData)
	if err != nil {
		return Data{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	for key, vs := range values {
		if len(vs) > 1 {
			// Telegram never repeats a key; accepting repeats would make the
			// meaning of "the" value depend on which one a reader picks.
			return Data{}, fmt.Errorf("%w: field %q repeated", ErrMalformed, key)
		}
	}
	got := values.Get("hash")
	if got == "" {
		return Data{}, ErrMissingHash
	}
	want := hash(values, botToken)
	if !hmac.Equal([]byte(got), []byte(want)) {
		return Data{}, ErrBadSignature
	}

	authUnix, err := strconv.ParseInt(values.Get("auth_date"), 10, 64)
	if err != nil || authUnix <= 0 {
		return Data{}, fmt.Errorf("%w: invalid auth_date %q", ErrMalformed, values.Get("auth_date"))
	}
	authDate := time.Unix(authUnix, 0)
	if maxAge > 0 && now.Sub(authDate) > maxAge {
		return Data{}, fmt.Errorf("%w: auth_date %s is older than %s", ErrExpired, authDate.UTC().Format(time.RFC3339), maxAge)
	}
	if authDate.Sub(now) > MaxFutureSkew {
		return Data{}, fmt.Errorf("%w: auth_date %s is in the future", ErrExpired, authDate.UTC().Format(time.RFC3339))
	}

	var user User
	if err := json.Unmarshal([]byte(values.Get("user")), &user); err != nil {
		return Data{}, fmt.Errorf("%w: user: %v", ErrMalformed, err)
	}
	if user.ID <= 0 {
		return Data{}, fmt.Errorf("%w: user has no id", ErrMalformed)
	}
	return Data{
		User:       user,
		AuthDate:   authDate,
		QueryID:    values.Get("query_id"),
		StartParam: values.Get("start_param"),
		Raw:        values,
	}, nil
}

// Sign returns initData for values signed with botToken, URL-encoded like
// Telegram.WebApp.initData. A hash already in values is replaced; values
// itself is not modified.
func Sign(values url.Values, botToken string) string {
	signed := make(url.Values, len(values)+1)
	for k, vs := range values {
		if k != "hash" {
			signed[k] = append([]string(nil), vs...)
		}
	}
	signed.Set("hash", hash(signed, botToken))
	return signed.Encode()
}

// hash computes the hex signature of every field except hash.
func hash(values url.Values, botToken string) string {
	keys := make([]string, 0, len(values))
	for k := range values {
		if k != "hash" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var check strings.Builder
	for _, k := range keys {
		for _, v := range values[k] {
			if check.Len() > 0 {
				check.WriteByte('\n')
			}
			check.WriteString(k)
			check.WriteByte('=')
			check.WriteString(v)
		}
	}
	secret := hmac.New(sha256.New, []byte(secretKeyLabel))
	secret.Write([]byte(botToken))
	mac := hmac.New(sha256.New, secret.Sum(nil))
	mac.Write([]byte(check.String()))
	return hex.EncodeToString(mac.Sum(nil))
}
