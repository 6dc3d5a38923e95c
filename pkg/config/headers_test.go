package config_test

import (
	"errors"
	"testing"

	"marketingbot/pkg/config"
)

func TestSheetHeaders(t *testing.T) {
	env := map[string]string{"MARKETINGBOT_SHEETS_HEADERS_AUTH_TELEGRAM_ID": "  TG  "}
	cfg, err := config.LoadFor(config.RoleWorker, config.Options{File: writeConfig(t, validYAML), Env: env})
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.Sheets.Headers.Map()
	if m["auth"]["telegram_id"] != "TG" || m["appeals"]["history"] != "текст_обращений" || len(m) != 9 || len(m["queue"]) != 11 {
		t.Errorf("headers: %v", m)
	}
	for _, tc := range []struct {
		env map[string]string
		key string
	}{
		{map[string]string{"MARKETINGBOT_SHEETS_HEADERS_APPEALS_STATUS": " "}, "sheets.headers.appeals.status"},
		{map[string]string{"MARKETINGBOT_SHEETS_HEADERS_AUTH_FULL_NAME": "telegram id"}, "sheets.headers.auth.telegram_id"},
	} {
		_, err := config.LoadFor(config.RoleWorker, config.Options{File: writeConfig(t, validYAML), Env: tc.env})
		var cerr *config.Error
		if !errors.As(err, &cerr) || cerr.Key != tc.key {
			t.Errorf("%v: got %v, want an error naming %s", tc.env, err, tc.key)
		}
	}
}
