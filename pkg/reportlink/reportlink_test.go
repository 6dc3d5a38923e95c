package reportlink_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"marketingbot/pkg/reportlink"
)

const botToken = "123456:secret-token-for-tests"

func TestToken(t *testing.T) {
	secret := reportlink.Secret(botToken)
	now := time.Unix(1_750_000_000, 0)
	exp := now.Add(time.Hour)
	tok := reportlink.Token(secret, "req-1", exp)
	expStr, sig, _ := strings.Cut(tok, ".")

	tests := []struct {
		name   string
		secret []byte
		id     string
		token  string
		now    time.Time
		ok     bool
	}{
		{"valid", secret, "req-1", tok, now, true},
		{"valid until the last second", secret, "req-1", tok, exp.Add(-time.Second), true},
		{"expired", secret, "req-1", tok, exp, false},
		{"another request", secret, "req-2", tok, now, false},
		{"another bot token", reportlink.Secret("123456:another-token-entirely"), "req-1", tok, now, false},
		{"expiry extended", secret, "req-1", "9" + tok, now, false},
		{"expiry respelt", secret, "req-1", "0" + tok, now, false},
		{"expiry with sign", secret, "req-1", "+" + tok, now, false},
		{"signature flipped", secret, "req-1", expStr + "." + flip(sig), now, false},
		{"signature truncated", secret, "req-1", expStr + "." + sig[:20], now, false},
		{"no signature", secret, "req-1", expStr + ".", now, false},
		{"no expiry", secret, "req-1", "." + sig, now, false},
		{"empty", secret, "req-1", "", now, false},
		{"garbage", secret, "req-1", "not a token", now, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := reportlink.Verify(tt.secret, tt.id, tt.token, tt.now); got != tt.ok {
				t.Fatalf("Verify = %v, want %v", got, tt.ok)
			}
		})
	}
}

func flip(s string) string {
	b := []byte(s)
	if b[0] == 'A' {
		b[0] = 'B'
	} else {
		b[0] = 'A'
	}
	return string(b)
}

// TestSecret pins the derivation: a link signed before this package moved
// (or by another build of the worker) still verifies; the value was computed
// by the code this package replaced.
func TestSecret(t *testing.T) {
	secret := reportlink.Secret(botToken)
	if len(secret) != 32 {
		t.Fatalf("secret has %d bytes, want 32", len(secret))
	}
	if string(secret) == string(reportlink.Secret(botToken+"x")) {
		t.Fatal("two bot tokens give the same secret")
	}
	const want = "1750003600.uAFuR2bILtIwaC9lxOPkTcYPvZUaoYBnVynNlwGBZl4"
	if got := reportlink.Token(secret, "req-1", time.Unix(1_750_003_600, 0)); got != want {
		t.Fatalf("Token = %q, want %q", got, want)
	}
}

func TestURL(t *testing.T) {
	secret := reportlink.Secret(botToken)
	exp := time.Now().Add(time.Hour)
	link := reportlink.URL("https://bot.example.com/", secret, "5f0c-id", exp)
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "https" || u.Host != "bot.example.com" || u.Path != "/api/v1/reports/5f0c-id.pdf" {
		t.Fatalf("link %s", link)
	}
	if !reportlink.Verify(secret, "5f0c-id", u.Query().Get("t"), time.Now()) {
		t.Fatal("the link's token does not verify")
	}
	if p := reportlink.Path(secret, "5f0c-id", exp); "https://bot.example.com"+p != link {
		t.Fatalf("Path %q is not the relative form of URL %q", p, link)
	}
	for link, want := range map[string]bool{
		link: true,
		"http://old-host:8081/api/v1/reports/5f0c-id.pdf?t=x": true,
		"https://bot.example.com/api/v1/reports/other.pdf":    false,
		"https://script.google.com/macros/5f0c-id.pdf":        false,
		"": false,
	} {
		if got := reportlink.IsOurs(link, "5f0c-id"); got != want {
			t.Errorf("IsOurs(%q) = %v, want %v", link, got, want)
		}
	}
}

func TestFileName(t *testing.T) {
	for code, want := range map[string]string{
		"MSK-100001":             "Аналитика360_MSK-100001.pdf",
		" msk-1 ":                "Аналитика360_msk-1.pdf",
		`../"x"\r\n`:             "Аналитика360_____x__r_n.pdf",
		"":                       "Аналитика360_объект.pdf",
		strings.Repeat("Ж", 100): "Аналитика360_" + strings.Repeat("Ж", 40) + ".pdf",
	} {
		if got := reportlink.FileName(code); got != want {
			t.Errorf("FileName(%q) = %q, want %q", code, got, want)
		}
	}
}
