package webapp_test

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	tu "github.com/mymmrac/telego/telegoutil"

	"marketingbot/pkg/telegram/webapp"
)

const testToken = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"

var testNow = time.Date(2025, 11, 20, 12, 0, 0, 0, time.UTC)

// signed builds initData the way Telegram does for a bot's Mini App, with
// the given fields overriding the defaults (an empty value removes a field).
func signed(token string, overrides map[string]string) string {
	v := url.Values{}
	v.Set("query_id", "AAHdF6IQAAAAAN0XohDhrOrc")
	v.Set("user", `{"id":279058397,"first_name":"Иван","last_name":"Петров","username":"ivan","language_code":"ru","allows_write_to_pm":true}`)
	v.Set("auth_date", strconv.FormatInt(testNow.Add(-time.Minute).Unix(), 10))
	for k, val := range overrides {
		if val == "" {
			v.Del(k)
			continue
		}
		v.Set(k, val)
	}
	return webapp.Sign(v, token)
}

func TestValidate(t *testing.T) {
	good := signed(testToken, map[string]string{"start_param": "object_42"})
	tests := []struct {
		name     string
		initData string
		token    string
		maxAge   time.Duration
		wantErr  error
	}{
		{name: "valid", initData: good, token: testToken, maxAge: time.Hour},
		{name: "valid without age limit", initData: signed(testToken, map[string]string{"auth_date": "1"}), token: testToken},
		{name: "other bot token", initData: good, token: "987654321:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0", maxAge: time.Hour, wantErr: webapp.ErrBadSignature},
		{name: "tampered user", initData: strings.Replace(good, "279058397", "279058398", 1), token: testToken, maxAge: time.Hour, wantErr: webapp.ErrBadSignature},
		{name: "tampered hash", initData: tamperHash(good), token: testToken, maxAge: time.Hour, wantErr: webapp.ErrBadSignature},
		{name: "upper-case hash", initData: upperHash(good), token: testToken, maxAge: time.Hour, wantErr: webapp.ErrBadSignature},
		{name: "field added after signing", initData: good + "&start_param2=x", token: testToken, maxAge: time.Hour, wantErr: webapp.ErrBadSignature},
		{name: "missing hash", initData: withoutHash(good), token: testToken, maxAge: time.Hour, wantErr: webapp.ErrMissingHash},
		{name: "empty", initData: "", token: testToken, maxAge: time.Hour, wantErr: webapp.ErrMissingHash},
		{name: "expired", initData: signed(testToken, map[string]string{"auth_date": strconv.FormatInt(testNow.Add(-2*time.Hour).Unix(), 10)}), token: testToken, maxAge: time.Hour, wantErr: webapp.ErrExpired},
		{name: "from the future", initData: signed(testToken, map[string]string{"auth_date": strconv.FormatInt(testNow.Add(10*time.Minute).Unix(), 10)}), token: testToken, maxAge: time.Hour, wantErr: webapp.ErrExpired},
		{name: "small clock skew", initData: signed(testToken, map[string]string{"auth_date": strconv.FormatInt(testNow.Add(30*time.Second).Unix(), 10)}), token: testToken, maxAge: time.Hour},
		{name: "missing auth_date", initData: signed(testToken, map[string]string{"auth_date": ""}), token: testToken, maxAge: time.Hour, wantErr: webapp.ErrMalformed},
		{name: "non-numeric auth_date", initData: signed(testToken, map[string]string{"auth_date": "yesterday"}), token: testToken, maxAge: time.Hour, wantErr: webapp.ErrMalformed},
		{name: "missing user", initData: signed(testToken, map[string]string{"user": ""}), token: testToken, maxAge: time.Hour, wantErr: webapp.ErrMalformed},
		{name: "user is not JSON", initData: signed(testToken, map[string]string{"user": "ivan"}), token: testToken, maxAge: time.Hour, wantErr: webapp.ErrMalformed},
		{name: "user without id", initData: signed(testToken, map[string]string{"user": `{"first_name":"X"}`}), token: testToken, maxAge: time.Hour, wantErr: webapp.ErrMalformed},
		{name: "bad escaping", initData: good + "&x=%zz", token: testToken, maxAge: time.Hour, wantErr: webapp.ErrMalformed},
		{name: "repeated key", initData: good + "&auth_date=1", token: testToken, maxAge: time.Hour, wantErr: webapp.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := webapp.Validate(tt.initData, tt.token, tt.maxAge, testNow)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Validate() error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Validate() error = %v", err)
			}
			if data.User.ID != 279058397 || data.User.FirstName != "Иван" || data.User.Username != "ivan" || data.User.LanguageCode != "ru" {
				t.Errorf("User = %+v", data.User)
			}
			if data.Raw.Get("hash") == "" {
				t.Error("Raw lost the hash")
			}
			// Telego's validator is an independent implementation of the same rule.
			if _, err := tu.ValidateWebAppData(tt.token, tt.initData); err != nil {
				t.Errorf("telego rejects what Validate accepted: %v", err)
			}
		})
	}
}

func TestValidateFields(t *testing.T) {
	initData := signed(testToken, map[string]string{"start_param": "object_42"})
	data, err := webapp.Validate(initData, testToken, time.Hour, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := data.AuthDate, testNow.Add(-time.Minute); !got.Equal(want) {
		t.Errorf("AuthDate = %s, want %s", got, want)
	}
	if data.QueryID != "AAHdF6IQAAAAAN0XohDhrOrc" || data.StartParam != "object_42" || data.User.LastName != "Петров" || !data.User.AllowsWriteToPM {
		t.Errorf("Data = %+v", data)
	}
}

func TestSignDoesNotModifyInput(t *testing.T) {
	v := url.Values{"auth_date": {"1"}, "hash": {"stale"}}
	out := webapp.Sign(v, testToken)
	if v.Get("hash") != "stale" || len(v) != 2 {
		t.Errorf("Sign modified its input: %v", v)
	}
	parsed, err := url.ParseQuery(out)
	if err != nil {
		t.Fatal(err)
	}
	if h := parsed.Get("hash"); len(h) != 64 || h == "stale" {
		t.Errorf("hash = %q, want a fresh 64-digit hex HMAC", h)
	}
	if _, err := tu.ValidateWebAppData(testToken, out); err != nil {
		t.Errorf("telego rejects Sign output: %v", err)
	}
}

func tamperHash(initData string) string {
	v, _ := url.ParseQuery(initData)
	h := []byte(v.Get("hash"))
	if h[0] == '0' {
		h[0] = '1'
	} else {
		h[0] = '0'
	}
	v.Set("hash", string(h))
	return v.Encode()
}

func upperHash(initData string) string {
	v, _ := url.ParseQuery(initData)
	v.Set("hash", strings.ToUpper(v.Get("hash")))
	return v.Encode()
}

func withoutHash(initData string) string {
	v, _ := url.ParseQuery(initData)
	v.Del("hash")
	return v.Encode()
}

func ExampleValidate() {
	const token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"
	now := time.Unix(1763640000, 0)
	initData := webapp.Sign(url.Values{
		"query_id":  {"AAHdF6IQAAAAAN0XohDhrOrc"},
		"user":      {`{"id":42,"first_name":"Anna","username":"anna"}`},
		"auth_date": {strconv.FormatInt(now.Unix(), 10)},
	}, token)

	data, err := webapp.Validate(initData, token, 24*time.Hour, now.Add(time.Hour))
	fmt.Println(data.User.ID, data.User.Username, err)

	_, err = webapp.Validate(initData, token, 24*time.Hour, now.Add(48*time.Hour))
	fmt.Println(errors.Is(err, webapp.ErrExpired))
	// Output:
	// 42 anna <nil>
	// true
}
