package telegram

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"marketingbot/pkg/telegram/webapp"
)

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
	userJSON, err := json.Marshal(webapp.User{
		ID: user.ID, FirstName: user.FirstName, LastName: user.LastName, Username: user.Username,
		LanguageCode: user.LanguageCode, AllowsWriteToPM: true,
	})
	if err != nil {
		return "", fmt.Errorf("telegram emulator: init data: %w", err)
	}
	var queryID [16]byte
	_, _ = rand.Read(queryID[:])
	values := url.Values{
		"query_id":  {"AAH" + base64.RawURLEncoding.EncodeToString(queryID[:])},
		"user":      {string(userJSON)},
		"auth_date": {strconv.FormatInt(authDate.Unix(), 10)},
	}
	if startParam != "" {
		values.Set("start_param", startParam)
	}
	return webapp.Sign(values, s.opts.Token), nil
}
