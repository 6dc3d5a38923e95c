package systemtest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"marketingbot/pkg/config"
	gememu "marketingbot/sim/emulator/gemini"
	"marketingbot/sim/world"
)

const googleWait = 30 * time.Second

// googleAuthorize walks a demo partner (P-0001, phone +7 912 345-67-89)
// through authorization by their own contact.
func googleAuthorize(t *testing.T, e *world.Env, uid int64) {
	t.Helper()
	u := e.AddUser(uid, "Мария", "+79123456789")
	e.Send(u.ID, "/start")
	e.WaitBotMessages(u.ID, 1, googleWait)
	if _, err := e.Telegram.ShareContact(u.ID, "+79123456789", u.ID); err != nil {
		t.Fatal(err)
	}
	msgs := e.WaitBotMessages(u.ID, 3, googleWait)
	if !strings.Contains(msgs[1].Text, "Вы авторизованы") {
		t.Fatalf("authorization answer: %q", msgs[1].Text)
	}
}

// googleAppealHistory is the history cell of the partner's appeal row.
func googleAppealHistory(e *world.Env, uid int64) string {
	for _, r := range e.Sheet("Обращения")[1:] {
		if world.Cell([][]any{r}, 0, 3) == fmt.Sprint(uid) {
			return world.Cell([][]any{r}, 0, 4)
		}
	}
	return ""
}

// The production authentication path end to end: a service-account key
// file whose token_uri points at the token endpoint emulator, the
// non-deprecated credentials option, the real sheets/v4 client sending
// Bearer tokens to a Sheets emulator that requires them, a token refresh
// while the system works — and Gemini's API key header on every call.
func TestGoogleAuthEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	e := world.New(t, world.Options{})
	// cloud.google.com/go/auth refreshes a token 225 s before it expires:
	// with 230 s tokens it refreshes every few seconds of work.
	ga := e.GoogleAuth(230 * time.Second)
	e.StartAll()

	const uid = 7101
	googleAuthorize(t, e, uid)
	e.Send(uid, "Какая комиссия у партнёра?")
	msgs := e.WaitBotMessages(uid, 4, googleWait)
	if answer := msgs[3].Text; answer == "" || strings.Contains(answer, "недоступен") {
		t.Fatalf("AI answer: %q", answer)
	}
	deadline := time.Now().Add(googleWait)
	for !strings.Contains(googleAppealHistory(e, uid), "Какая комиссия") {
		if time.Now().After(deadline) {
			t.Fatalf("the history cell was not written: %q", googleAppealHistory(e, uid))
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The poller reads the sheets every second, so tokens go stale and are
	// refreshed while the system works; no request ever lacks a valid one.
	deadline = time.Now().Add(googleWait)
	for ga.Server.Issued() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d tokens issued in %s: no refresh", ga.Server.Issued(), googleWait)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if st := e.Sheets.AuthStats(); st.Unauthenticated != 0 || st.Forbidden != 0 || ga.Server.Refused() != 0 {
		t.Fatalf("refused: sheets %+v, token endpoint %d", st, ga.Server.Refused())
	}
	if e.Sheets.Stats().Reads == 0 || e.Sheets.Stats().Writes == 0 {
		t.Fatalf("no authenticated traffic: %+v", e.Sheets.Stats())
	}

	// Gemini: every call carried the configured key (the emulator refuses
	// anything else with 400/403).
	st := e.Gemini.Stats()
	if st.ByStatus["200"] == 0 || st.ByStatus["400"] != 0 || st.ByStatus["403"] != 0 {
		t.Fatalf("gemini calls by status %v", st.ByStatus)
	}

	// A token presented after its lifetime is refused, as Google does.
	tok := ga.Token()
	if code, body := e.SheetsGet(tok); code != http.StatusOK {
		t.Fatalf("fresh token: %d %s", code, body)
	}
	if code, body := e.SheetsGet(""); code != http.StatusUnauthorized || !strings.Contains(body, "CREDENTIALS_MISSING") {
		t.Fatalf("no token: %d %s", code, body)
	}
	ga.Advance(230 * time.Second)
	code, body := e.SheetsGet(tok)
	if code != http.StatusUnauthorized || !strings.Contains(body, `"status":"UNAUTHENTICATED"`) ||
		!strings.Contains(body, "ACCESS_TOKEN_EXPIRED") || !strings.Contains(body, `error="invalid_token"`) {
		t.Fatalf("expired token: %d %s", code, body)
	}
}

// --check names what is wrong with Google's credentials and models, on one
// line, exit 1; everything right is OK, exit 0.
func TestGoogleCheckVerdicts(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	e := world.New(t, world.Options{})
	ga := e.GoogleAuth(time.Hour)
	notSA := e.WriteFile("adc.json", []byte(`{"type":"authorized_user","client_id":"x","client_secret":"y","refresh_token":"z"}`))
	missing := e.Dir + "/no-such-key.json"
	foreign := ga.ForeignKeyFile()

	cases := []struct {
		name  string
		role  config.Role
		extra map[string]string
		want  []string // all in the one line
	}{
		{"all good", config.RoleWorker, nil, []string{"OK worker"}},
		{"all good (poller)", config.RolePoller, nil, []string{"OK poller"}},
		{"wrong gemini key", config.RoleWorker, map[string]string{"MARKETINGBOT_GEMINI_API_KEY": "wrong-gemini-key"},
			[]string{"FAIL worker: gemini: the API key was refused (HTTP 400 INVALID_ARGUMENT): API key not valid. Please pass a valid API key."}},
		{"unregistered service-account key", config.RoleWorker, map[string]string{"MARKETINGBOT_SHEETS_CREDENTIALS_FILE": foreign},
			[]string{"FAIL worker: sheets: Google's token endpoint refused the service account of " + foreign, "invalid_grant: Invalid JWT Signature."}},
		{"unregistered key (poller)", config.RolePoller, map[string]string{"MARKETINGBOT_SHEETS_CREDENTIALS_FILE": foreign},
			[]string{"FAIL poller: sheets: Google's token endpoint refused the service account of " + foreign}},
		{"missing credentials file", config.RoleWorker, map[string]string{"MARKETINGBOT_SHEETS_CREDENTIALS_FILE": missing},
			[]string{"FAIL worker: config: sheets.credentials_file " + missing + " cannot be read"}},
		{"not a service-account key", config.RoleWorker, map[string]string{"MARKETINGBOT_SHEETS_CREDENTIALS_FILE": notSA},
			[]string{"FAIL worker: sheets: credentials file " + notSA + ` is not a service-account key (type "authorized_user")`}},
		{"retired analysis model", config.RoleWorker, map[string]string{"MARKETINGBOT_GEMINI_POLISH_ANALYTICS": "true", "MARKETINGBOT_GEMINI_ANALYSIS_MODEL": "gemini-1.5-pro"},
			[]string{`FAIL worker: gemini: model "gemini-1.5-pro" (gemini.analysis_model) does not exist: retired or misspelled`}},
		{"retired model and refused key together", config.RoleWorker, map[string]string{"MARKETINGBOT_GEMINI_CHAT_MODEL": "gemini-2.5-flash",
			"MARKETINGBOT_SHEETS_CREDENTIALS_FILE": foreign},
			[]string{"FAIL worker: sheets: Google's token endpoint refused the service account of " + foreign,
				`; gemini: model "gemini-2.5-flash" (gemini.chat_model) does not exist: retired or misspelled`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out := e.Check(c.role, c.extra)
			wantCode := 1
			if strings.HasPrefix(c.want[0], "OK") {
				wantCode = 0
			}
			if code != wantCode || strings.Count(out, "\n") != 1 {
				t.Fatalf("exit %d, output %q: want exit %d and one line", code, out, wantCode)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("verdict %q lacks %q", out, w)
				}
			}
			if strings.Contains(out, "wrong-gemini-key") || strings.Contains(out, "PRIVATE KEY") {
				t.Errorf("the verdict quotes a secret: %q", out)
			}
		})
	}
}

// A model Google shuts down while the system runs: each message gets the
// usual fallback reply after exactly one generateContent call (404 is not
// retried), the log says which model and which setting, the metrics too.
func TestGoogleModelDisappearsAtRunTime(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	e := world.New(t, world.Options{Settings: map[string]string{"MARKETINGBOT_LOG_LEVEL": "info"}})
	var logs googleLogBuffer
	worker := e.StartLogged(config.RoleWorker, &logs)
	e.Start(config.RolePoller)
	e.Start(config.RoleBot)
	fallback := googleFallbackText(t)

	const uid = 7201
	googleAuthorize(t, e, uid)
	e.Send(uid, "Первый вопрос про комиссию")
	msgs := e.WaitBotMessages(uid, 4, googleWait)
	if strings.TrimSpace(msgs[3].Text) == strings.TrimSpace(fallback) {
		t.Fatalf("the model still exists, yet the fallback came")
	}

	chat := e.Config(config.RoleWorker).Gemini.ChatModel
	e.Gemini.SetModels([]string{"gemini-3.5-flash"}) // the chat model is shut down
	for i, q := range []string{"Второй вопрос", "Третий вопрос"} {
		e.Send(uid, q)
		msgs = e.WaitBotMessages(uid, 5+i, googleWait)
		if got := msgs[4+i].Text; strings.TrimSpace(got) != strings.TrimSpace(fallback) {
			t.Fatalf("message %d: reply %q, want the fallback", i+2, got)
		}
	}
	time.Sleep(2 * time.Second) // a retry would come within the retry budget
	notFound := 0
	for _, r := range e.Gemini.Requests(gememu.RequestFilter{Model: chat, Method: gememu.MethodGenerateContent}) {
		if r.Status == http.StatusNotFound {
			notFound++
		}
	}
	if notFound != 2 {
		t.Fatalf("%d generateContent calls answered 404, want exactly 2 (one per message)", notFound)
	}
	if !logs.hasError(chat, "gemini.chat_model") {
		t.Fatalf("no ERROR line naming %s and gemini.chat_model:\n%s", chat, logs.String())
	}
	metrics := googleMetrics(t, worker.Addr())
	for _, want := range []string{
		`marketingbot_gemini_model_available{model="` + chat + `"} 0`,
		`marketingbot_gemini_calls_total{model="` + chat + `",result="model_not_found"} 2`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
