package telegram

import (
	"errors"
	"net/url"
	"strconv"
	"testing"
	"time"

	tu "github.com/mymmrac/telego/telegoutil"

	"marketingbot/pkg/telegram/webapp"
)

// TestSignInitDataPublishedVector signs the fields of initData published
// with a bot token in the documentation of the telegram-mini-apps project
// (init-data-golang) and expects the hash printed there: a check of the
// emulator's signer against data signed by Telegram itself, independent of
// the client. Only hash is left out of the data-check-string; the newer
// signature field is signed like any other.
func TestSignInitDataPublishedVector(t *testing.T) {
	const (
		token    = "7342037359:AAHI25ES9xCOMPokpYoz-p8XVrZUdygo2J4"
		initData = "user=%7B%22id%22%3A279058397%2C%22first_name%22%3A%22Vladislav%20%2B%20-%20%3F%20%5C%2F%22%2C%22last_name%22%3A%22Kibenko%22%2C%22username%22%3A%22vdkfrost%22%2C%22language_code%22%3A%22ru%22%2C%22is_premium%22%3Atrue%2C%22allows_write_to_pm%22%3Atrue%2C%22photo_url%22%3A%22https%3A%5C%2F%5C%2Ft.me%5C%2Fi%5C%2Fuserpic%5C%2F320%5C%2F4FPEE4tmP3ATHa57u6MqTDih13LTOiMoKoLDRG4PnSA.svg%22%7D&chat_instance=8134722200314281151&chat_type=private&auth_date=1733509682&signature=TYJxVcisqbWjtodPepiJ6ghziUL94-KNpG8Pau-X7oNNLNBM72APCpi_RKiUlBvcqo5L-LAxIc3dnTzcZX_PDg&hash=a433d8f9847bd6addcc563bff7cc82c89e97ea0d90c11fe5729cae6796a36d73"
		wantHash = "a433d8f9847bd6addcc563bff7cc82c89e97ea0d90c11fe5729cae6796a36d73"
	)
	values, err := url.ParseQuery(initData)
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string]string{}
	for k := range values {
		fields[k] = values.Get(k)
	}
	signed, err := url.ParseQuery(signInitData(fields, token))
	if err != nil {
		t.Fatal(err)
	}
	if got := signed.Get("hash"); got != wantHash {
		t.Errorf("hash = %s, want %s", got, wantHash)
	}
	// The client accepts Telegram's own data too.
	if _, err := webapp.Validate(initData, token, 0, time.Unix(1733509682, 0)); err != nil {
		t.Errorf("client refuses the published initData: %v", err)
	}
}

// TestClientValidatesEmulatorInitData cross-checks the emulator's signer
// with the client's validator (pkg/telegram/webapp) and telego's: what the
// emulator signs passes, and changing any field, or signing with another
// token, fails with a signature mismatch.
func TestClientValidatesEmulatorInitData(t *testing.T) {
	const token = "123456:emulator-token"
	now := time.Unix(1_750_000_000, 0)
	for _, tt := range []struct {
		name   string
		fields map[string]string
	}{
		{"plain", map[string]string{
			"query_id": "AAHq", "auth_date": strconv.FormatInt(now.Unix(), 10),
			"user": `{"id":1001,"first_name":"Anna","allows_write_to_pm":true}`,
		}},
		{"escaping", map[string]string{
			"query_id": "AAH-_", "auth_date": strconv.FormatInt(now.Unix(), 10), "start_param": "obj_7&x=1\n+%",
			"user": `{"id":1002,"first_name":"Анна Мария","last_name":"O'Neil","username":"anna_m","language_code":"ru"}`,
		}},
		{"stale hash replaced", map[string]string{
			"auth_date": strconv.FormatInt(now.Unix(), 10), "hash": "00",
			"user": `{"id":7,"first_name":"Ivan"}`,
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			initData := signInitData(tt.fields, token)
			data, err := webapp.Validate(initData, token, time.Hour, now)
			if err != nil {
				t.Fatalf("client refuses emulator initData %q: %v", initData, err)
			}
			if data.StartParam != tt.fields["start_param"] || data.QueryID != tt.fields["query_id"] {
				t.Errorf("client read %+v from %q", data, initData)
			}
			if _, err := tu.ValidateWebAppData(token, initData); err != nil {
				t.Errorf("telego refuses emulator initData: %v", err)
			}
			if _, err := webapp.Validate(initData, token+"x", time.Hour, now); !errors.Is(err, webapp.ErrBadSignature) {
				t.Errorf("other token: err = %v", err)
			}
			for k := range tt.fields {
				if k == "hash" {
					continue
				}
				tampered, _ := url.ParseQuery(initData)
				tampered.Set(k, tampered.Get(k)+" ")
				if _, err := webapp.Validate(tampered.Encode(), token, time.Hour, now); !errors.Is(err, webapp.ErrBadSignature) {
					t.Errorf("%s tampered: err = %v", k, err)
				}
			}
		})
	}
}
