package systemtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"marketingbot/sim/demo"
	"marketingbot/sim/fixtures"
	"marketingbot/sim/listinggen"
	"marketingbot/sim/testutil"
	"marketingbot/sim/world"
)

// Secrets never reach the logs: the whole system runs as its binaries at
// log level debug — authorization, a chat turn, an analytics order from the
// Mini App, the admin UI, and --check with refused keys — and nothing any
// role printed holds the bot token, the Gemini API key (right or wrong), a
// piece of the service account's private key, an access token the token
// endpoint issued, the admin password or the Redis password.
func TestGoogleSecretsNeverLogged(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	now := time.Now().UTC().Truncate(24 * time.Hour)
	listings := listinggen.Generate(listinggen.Config{Seed: 7, N: 300, Now: now})
	code := listinggen.Codes(listings, 1)[0]
	e := world.New(t, world.Options{Data: &fixtures.Data{Partners: demo.Partners(), Knowledge: demo.Knowledge(), Listings: listings}})
	ga := e.GoogleAuth(230 * time.Second) // tokens refreshed every few seconds

	redisPassword := googleSecret("redis")
	if err := e.Redis.Client().ConfigSet(context.Background(), "requirepass", redisPassword).Err(); err != nil {
		t.Fatal(err)
	}
	adminPassword := googleSecret("admin")
	botAddr := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	for k, v := range map[string]string{
		"MARKETINGBOT_LOG_LEVEL":      "debug",
		"MARKETINGBOT_REDIS_URL":      fmt.Sprintf("redis://:%s@%s/0", redisPassword, e.Redis.Addr()),
		"MARKETINGBOT_ADMIN_USERNAME": "admin",
		"MARKETINGBOT_ADMIN_PASSWORD": adminPassword,
		"MARKETINGBOT_HTTP_BOT_ADDR":  botAddr,
	} {
		e.Set(k, v)
	}
	procs := []*world.Proc{e.StartProcess("worker"), e.StartProcess("poller"), e.StartProcess("bot")}

	const uid = 7301
	googleAuthorize(t, e, uid)
	e.Send(uid, "Какая комиссия у партнёра?")
	e.WaitBotMessages(uid, 4, googleWait)
	googleOrderAnalytics(t, e, botAddr, uid, code)
	testutil.Eventually(t, googleWait, "the analytics PDF in the chat", func() bool {
		for _, m := range e.BotMessages(uid) {
			if m.Document != nil {
				return true
			}
		}
		return false
	})
	googleAdminPage(t, botAddr, adminPassword)
	testutil.Eventually(t, googleWait, "a token refresh", func() bool { return ga.Server.Issued() >= 2 })

	var outputs []string
	wrongGeminiKey := googleSecret("gemini")
	for _, role := range []string{"worker", "poller", "bot"} {
		c, out := e.CheckProcess(role, "MARKETINGBOT_GEMINI_API_KEY="+wrongGeminiKey,
			"MARKETINGBOT_SHEETS_CREDENTIALS_FILE="+ga.ForeignKeyFile())
		if role != "bot" && (c != 1 || !strings.Contains(out, "FAIL "+role)) {
			t.Errorf("%s --check with refused keys: exit %d, %q", role, c, out)
		}
		outputs = append(outputs, out)
	}
	for _, p := range procs {
		if !strings.Contains(p.Output(), `"msg":"started"`) {
			t.Errorf("%s printed no log: %q", p.Role, p.Output())
		}
		outputs = append(outputs, p.Output())
	}
	logs := strings.Join(outputs, "\n")
	if !strings.Contains(logs, `"level":"DEBUG"`) {
		t.Fatal("nothing was logged at debug level: the test would prove nothing")
	}

	secrets := map[string]string{
		"the bot token":        e.Telegram.Token(),
		"the Gemini API key":   "test-gemini-key",
		"the wrong Gemini key": wrongGeminiKey,
		"the admin password":   adminPassword,
		"the Redis password":   redisPassword,
	}
	for i, tok := range ga.Server.Tokens() {
		secrets[fmt.Sprintf("access token %d", i+1)] = tok
	}
	for what, s := range secrets {
		if i := strings.Index(logs, s); i >= 0 {
			t.Errorf("%s is in the logs: …%s…", what, logs[max(0, i-200):min(len(logs), i+len(s)+40)])
		}
	}
	if leak := googlePEMSlice(string(ga.Account.JSON), logs); leak != "" {
		t.Errorf("a piece of the private key is in the logs: %q", leak)
	}
	if len(ga.Server.Tokens()) < 2 {
		t.Errorf("%d access tokens issued: the refresh path was not exercised", len(ga.Server.Tokens()))
	}
}

// googleSecret is a random secret that cannot occur by chance.
func googleSecret(what string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return what + "S3cr3t" + hex.EncodeToString(b)
}

// googleOrderAnalytics orders an Analytics 360 report from the Mini App.
func googleOrderAnalytics(t *testing.T, e *world.Env, botAddr string, uid int64, code string) {
	t.Helper()
	initData, err := e.Telegram.InitData(uid, time.Now(), "")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]string{"object_code": code})
	var status int
	testutil.Eventually(t, googleWait, "the Mini App to accept the order", func() bool {
		req, _ := http.NewRequest(http.MethodPost, "http://"+botAddr+"/api/v1/analytics", strings.NewReader(string(body)))
		req.Header.Set("Authorization", "tma "+initData)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		status = resp.StatusCode
		return status == http.StatusAccepted
	})
}

// googleAdminPage opens the asynq admin UI with the admin password.
func googleAdminPage(t *testing.T, botAddr, password string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+botAddr+"/admin/queues", nil)
	req.SetBasicAuth("admin", password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("admin UI: %d", resp.StatusCode)
	}
}

// googlePEMSlice returns a 40-character piece of the private key in the
// key file that occurs in text, or "".
func googlePEMSlice(keyFile, text string) string {
	var f struct {
		PrivateKey string `json:"private_key"`
	}
	_ = json.Unmarshal([]byte(keyFile), &f)
	windows := map[string]bool{}
	for _, line := range strings.Split(f.PrivateKey, "\n") {
		if strings.HasPrefix(line, "-----") {
			continue
		}
		for i := 0; i+40 <= len(line); i++ {
			windows[line[i:i+40]] = true
		}
	}
	for i := 0; i+40 <= len(text); i++ {
		if windows[text[i:i+40]] {
			return text[i : i+40]
		}
	}
	return ""
}
