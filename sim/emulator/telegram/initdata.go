package telegram

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// webAppUser is the "user" field of initData (WebAppUser in Telegram's
// Mini Apps documentation), limited to what the emulator knows of a user.
type webAppUser struct {
	ID              int64  `json:"id"`
	FirstName       string `json:"first_name"`
	LastName        string `json:"last_name,omitempty"`
	Username        string `json:"username,omitempty"`
	LanguageCode    string `json:"language_code,omitempty"`
	AllowsWriteToPM bool   `json:"allows_write_to_pm,omitempty"`
}

// InitData returns Mini App initData for the user, signed with the bot
// token exactly as Telegram signs Telegram.WebApp.initData. A zero
// authDate means now.
func (s *Server) InitData(userID int64, authDate time.Time, startParam string) (string, error) {
	s.mu.Lock()
	var user User
	u, err := s.userLocked(userID)
	if u != nil {
		user = *u
	}
	s.mu.Unlock()
	if err != nil {
		return "", err
	}
	if authDate.IsZero() {
		authDate = time.Now()
	}
	userJSON, err := json.Marshal(webAppUser{
		ID: user.ID, FirstName: user.FirstName, LastName: user.LastName, Username: user.Username,
		LanguageCode: user.LanguageCode, AllowsWriteToPM: true,
	})
	if err != nil {
		return "", fmt.Errorf("telegram emulator: init data: %w", err)
	}
	var queryID [16]byte
	_, _ = rand.Read(queryID[:])
	fields := map[string]string{
		"query_id":  "AAH" + base64.RawURLEncoding.EncodeToString(queryID[:]),
		"user":      string(userJSON),
		"auth_date": strconv.FormatInt(authDate.Unix(), 10),
	}
	if startParam != "" {
		fields["start_param"] = startParam
	}
	return signInitData(fields, s.opts.Token), nil
}

// signInitData adds the hash Telegram puts into initData and encodes the
// fields as a query string. This is the emulator's own implementation of
// "Validating data received via the Mini App" in Telegram's Bot API
// documentation, independent of the client's validator (pkg/telegram/webapp)
// so that the emulator checks the client rather than agreeing with it:
//
//	data_check_string = the fields except hash, sorted by key, as key=value lines joined by "\n"
//	secret_key        = HMAC-SHA256(message = bot token, key = "WebAppData")
//	hash              = hex(HMAC-SHA256(message = data_check_string, key = secret_key))
//
// The newer "signature" field (Ed25519, for validation by third parties
// without the token) is not produced: the client does not read it.
func signInitData(fields map[string]string, botToken string) string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		if k != "hash" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	lines := make([]string, len(keys))
	query := url.Values{}
	for i, k := range keys {
		lines[i] = k + "=" + fields[k]
		query.Set(k, fields[k])
	}
	secretKey := hmacSHA256([]byte("WebAppData"), []byte(botToken))
	query.Set("hash", hex.EncodeToString(hmacSHA256(secretKey, []byte(strings.Join(lines, "\n")))))
	return query.Encode()
}

func hmacSHA256(key, message []byte) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write(message)
	return mac.Sum(nil)
}
