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
