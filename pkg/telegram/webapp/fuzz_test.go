package webapp_test

import (
	"encoding/json"
	"net/url"
	"strconv"
	"testing"
	"time"

	tu "github.com/mymmrac/telego/telegoutil"

	"marketingbot/pkg/telegram/webapp"
)

// FuzzValidate feeds arbitrary strings to Validate. It must never panic, and
// whatever it accepts must also pass telego's independent implementation of
// Telegram's check: an input accepted by us alone would be a forgery hole.
func FuzzValidate(f *testing.F) {
	f.Add(signed(testToken, nil))
	f.Add(signed(testToken, map[string]string{"start_param": "a b&c=d"}))
	f.Add(signed(testToken, map[string]string{"user": `{"id":1,"first_name":"\u0000\n"}`}))
	f.Add(tamperHash(signed(testToken, nil)))
	f.Add("hash=&auth_date=1")
	f.Add("%")
	f.Add("a=1;b=2&hash=00")
	f.Fuzz(func(t *testing.T, initData string) {
		data, err := webapp.Validate(initData, testToken, 0, testNow)
		if err != nil {
			return
		}
		if _, err := tu.ValidateWebAppData(testToken, initData); err != nil {
			t.Fatalf("Validate accepted %q, telego rejects it: %v", initData, err)
		}
		if data.User.ID <= 0 || data.AuthDate.IsZero() {
			t.Fatalf("accepted data without user or auth_date: %+v", data)
		}
	})
}

// FuzzSignRoundTrip signs arbitrary field values: Validate and telego must
// both accept the result and Validate must return the values unchanged.
func FuzzSignRoundTrip(f *testing.F) {
	f.Add(int64(42), "Anna", "anna", "object_42", "AAHdF6IQ")
	f.Add(int64(1), "Иван\nПетров", "", "a&b=c+d%20", "")
	f.Add(int64(7), "\x00\"\\", "x y", "=", "&")
	f.Fuzz(func(t *testing.T, id int64, firstName, username, startParam, queryID string) {
		if id <= 0 {
			return
		}
		user, err := json.Marshal(webapp.User{ID: id, FirstName: firstName, Username: username})
		if err != nil {
			t.Fatal(err)
		}
		var want webapp.User // what a decoder sees after JSON's UTF-8 repair
		if err := json.Unmarshal(user, &want); err != nil {
			t.Fatal(err)
		}
		v := url.Values{
			"user":      {string(user)},
			"auth_date": {strconv.FormatInt(testNow.Unix(), 10)},
		}
		if startParam != "" {
			v.Set("start_param", startParam)
		}
		if queryID != "" {
			v.Set("query_id", queryID)
		}
		initData := webapp.Sign(v, testToken)

		data, err := webapp.Validate(initData, testToken, time.Minute, testNow)
		if err != nil {
			t.Fatalf("Validate(Sign(%v)): %v", v, err)
		}
		if _, err := tu.ValidateWebAppData(testToken, initData); err != nil {
			t.Fatalf("telego rejects Sign(%v): %v", v, err)
		}
		if data.User != want || data.StartParam != startParam || data.QueryID != queryID {
			t.Fatalf("round trip changed fields: got %+v / %q / %q", data.User, data.StartParam, data.QueryID)
		}
	})
}
