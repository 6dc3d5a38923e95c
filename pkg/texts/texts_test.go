package texts_test

import (
	"strings"
	"testing"

	"marketingbot/configs"
	"marketingbot/pkg/texts"
)

func TestDefaultMessagesComplete(t *testing.T) {
	tx, err := texts.Load("")
	if err != nil {
		t.Fatal(err)
	}
	got := tx.Render(tx.AuthSuccess, map[string]any{"Name": "Анна", "Code": "P-0001"})
	if !strings.Contains(got, "Анна") || !strings.Contains(got, "P-0001") {
		t.Fatalf("render: %q", got)
	}
	if tx.Media("voice") == "" || tx.Media("unknown-kind") != tx.Media("other") {
		t.Fatal("media labels")
	}
}

func TestMissingKeyNamed(t *testing.T) {
	raw := strings.Replace(string(configs.MessagesRU), "ai_fallback:", "ai_fallback_typo:", 1)
	_, err := texts.Parse([]byte(raw))
	if err == nil || !strings.Contains(err.Error(), "ai_fallback") {
		t.Fatalf("got %v", err)
	}
	raw = strings.Replace(string(configs.MessagesRU), `throttled: "`, `throttled: "{{.Broken`, 1)
	if _, err := texts.Parse([]byte(raw)); err == nil || !strings.Contains(err.Error(), "throttled") {
		t.Fatalf("broken template: %v", err)
	}
}

// A button's answer is shown by Telegram only up to 200 characters: a longer
// one is refused at start, by name.
func TestButtonUnknownWithinTelegramsLimit(t *testing.T) {
	tx, err := texts.Load("")
	if err != nil {
		t.Fatal(err)
	}
	if n := len([]rune(tx.ButtonUnknown)); n == 0 || n > 200 {
		t.Fatalf("button_unknown has %d characters", n)
	}
	raw := strings.Replace(string(configs.MessagesRU), `button_unknown: "`, `button_unknown: "`+strings.Repeat("я", 200), 1)
	if _, err := texts.Parse([]byte(raw)); err == nil || !strings.Contains(err.Error(), "button_unknown") {
		t.Fatalf("a 200+ character answer: %v", err)
	}
}
