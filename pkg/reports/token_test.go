package reports_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"marketingbot/pkg/config"
	"marketingbot/pkg/reports"
)

func TestReportToken(t *testing.T) {
	cfg := config.Defaults()
	cfg.Telegram.Token = "123456:secret-token-for-tests"
	secret := reports.ReportSecret(&cfg)
	now := time.Unix(1_750_000_000, 0)
	exp := now.Add(time.Hour)
	tok := reports.ReportToken(secret, "req-1", exp)
	expStr, sig, _ := strings.Cut(tok, ".")

	other := cfg
	other.Telegram.Token = "123456:another-token-entirely"
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
		{"another bot token", reports.ReportSecret(&other), "req-1", tok, now, false},
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
			if got := reports.VerifyReportToken(tt.secret, tt.id, tt.token, tt.now); got != tt.ok {
				t.Fatalf("VerifyReportToken = %v, want %v", got, tt.ok)
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

func TestReportURL(t *testing.T) {
	cfg := config.Defaults()
	cfg.Telegram.Token = "123456:secret-token-for-tests"
	cfg.HTTP.PublicURL = "https://bot.example.com/"
	exp := time.Now().Add(time.Hour)
	link := reports.ReportURL(&cfg, "5f0c-id", exp)
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "https" || u.Host != "bot.example.com" || u.Path != "/api/v1/reports/5f0c-id.pdf" {
		t.Fatalf("link %s", link)
	}
	if !reports.VerifyReportToken(reports.ReportSecret(&cfg), "5f0c-id", u.Query().Get("t"), time.Now()) {
		t.Fatal("the link's token does not verify")
	}
	for link, want := range map[string]bool{
		link: true,
		"http://old-host:8081/api/v1/reports/5f0c-id.pdf?t=x": true,
		"https://bot.example.com/api/v1/reports/other.pdf":    false,
		"https://script.google.com/macros/5f0c-id.pdf":        false,
		"": false,
	} {
		if got := reports.IsReportURL(link, "5f0c-id"); got != want {
			t.Errorf("IsReportURL(%q) = %v, want %v", link, got, want)
		}
	}
}

func TestReportFileName(t *testing.T) {
	for code, want := range map[string]string{
		"MSK-100001":             "Аналитика360_MSK-100001.pdf",
		" msk-1 ":                "Аналитика360_msk-1.pdf",
		`../"x"\r\n`:             "Аналитика360_____x__r_n.pdf",
		"":                       "Аналитика360_объект.pdf",
		strings.Repeat("Ж", 100): "Аналитика360_" + strings.Repeat("Ж", 40) + ".pdf",
	} {
		if got := reports.ReportFileName(code); got != want {
			t.Errorf("ReportFileName(%q) = %q, want %q", code, got, want)
		}
	}
}
