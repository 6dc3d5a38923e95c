package ai_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"testing"
	"time"

	"marketingbot/pkg/ai"
)

func TestGenerateSendsInlineMediaAndAsksForJSON(t *testing.T) {
	f := newClient(t, time.Second, textAnswer(`{"transcript":"Какая комиссия?","answer":"Три процента."}`))
	voice := []byte("OggS\x00voice bytes")
	req := ai.Request{System: "Ты помощник.", Turns: []ai.Turn{
		{Role: ai.RoleUser, Text: "Привет"},
		{Role: ai.RoleModel, Text: "Здравствуйте"},
		{Role: ai.RoleUser, Text: "Голосовое 0:03", Media: []ai.Blob{{MIMEType: "audio/ogg", Data: voice}}},
	}, JSONSchema: ai.MediaSchema("transcript", "дословно", "ответ"), MaxOutputTokens: 4096}
	ans, err := f.client.Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	got := ai.ParseMediaAnswer(ans.Text, "transcript")
	if got != (ai.MediaAnswer{Content: "Какая комиссия?", Answer: "Три процента."}) {
		t.Fatalf("parsed %+v", got)
	}
	body := f.gem.got()[0].body
	contents := body["contents"].([]any)
	last := contents[len(contents)-1].(map[string]any)
	parts := last["parts"].([]any)
	if len(parts) != 2 {
		t.Fatalf("last turn has %d parts, want media + text: %v", len(parts), parts)
	}
	inline, _ := parts[0].(map[string]any)["inlineData"].(map[string]any)
	data, _ := base64.StdEncoding.DecodeString(inline["data"].(string))
	if inline["mimeType"] != "audio/ogg" || !bytes.Equal(data, voice) {
		t.Fatalf("inline part %v", parts[0])
	}
	if parts[1].(map[string]any)["text"] != "Голосовое 0:03" {
		t.Fatalf("text part %v", parts[1])
	}
	cfg := body["generationConfig"].(map[string]any)
	schema, _ := cfg["responseJsonSchema"].(map[string]any)
	if cfg["responseMimeType"] != "application/json" || schema["type"] != "object" || cfg["maxOutputTokens"] != float64(4096) {
		t.Fatalf("generationConfig %v", cfg)
	}
}

func TestGenerateWithoutMediaAsksForText(t *testing.T) {
	f := newClient(t, time.Second, textAnswer("ok"))
	if _, err := f.client.Generate(context.Background(), hello); err != nil {
		t.Fatal(err)
	}
	cfg := f.gem.got()[0].body["generationConfig"].(map[string]any)
	if _, ok := cfg["responseMimeType"]; ok || cfg["maxOutputTokens"] != float64(512) {
		t.Fatalf("a text turn changed its config: %v", cfg)
	}
}

func TestGenerateRejectedMediaIsNotRetried(t *testing.T) {
	rejected := answer{http.StatusBadRequest, `{"error":{"code":400,"message":"The document has no pages.","status":"INVALID_ARGUMENT"}}`}
	f := newClient(t, 2*time.Second, rejected, textAnswer("never"))
	_, err := f.client.Generate(context.Background(), ai.Request{Turns: []ai.Turn{
		{Role: ai.RoleUser, Text: "Что в договоре?", Media: []ai.Blob{{MIMEType: "application/pdf", Data: []byte("not a pdf")}}}}})
	if !errors.Is(err, ai.ErrRejected) || !errors.Is(err, ai.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrRejected (and ErrUnavailable)", err)
	}
	if msg := ai.RejectionMessage(err); msg != "The document has no pages." {
		t.Fatalf("RejectionMessage = %q", msg)
	}
	if n := len(f.gem.got()); n != 1 {
		t.Fatalf("%d calls for a rejected request", n)
	}
	// A refused API key is not a rejected request.
	key := answer{http.StatusBadRequest, `{"error":{"code":400,"message":"API key not valid.","status":"INVALID_ARGUMENT",` +
		`"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID"}]}}`}
	f = newClient(t, time.Second, key)
	if _, err := f.client.Generate(context.Background(), hello); errors.Is(err, ai.ErrRejected) || !errors.Is(err, ai.ErrUnavailable) {
		t.Fatalf("a refused key: %v", err)
	}
}

func TestParseMediaAnswer(t *testing.T) {
	cases := []struct {
		name string
		text string
		want ai.MediaAnswer
	}{
		{"object", `{"description":"План квартиры","answer":"Это двушка."}`, ai.MediaAnswer{Content: "План квартиры", Answer: "Это двушка."}},
		{"fenced", "```json\n{\"description\":\"Фото\",\"answer\":\"Да\"}\n```", ai.MediaAnswer{Content: "Фото", Answer: "Да"}},
		{"escapes", `{"description":"кавычки \"ёлочки\"\nи строка","answer":"a\u00e9"}`, ai.MediaAnswer{Content: "кавычки \"ёлочки\"\nи строка", Answer: "aé"}},
		{"cut in the answer", `{"description":"Договор аренды","answer":"Срок договора — два го`,
			ai.MediaAnswer{Content: "Договор аренды", Answer: "Срок договора — два го", Malformed: true}},
		{"cut in an escape", `{"description":"Текст\u04`, ai.MediaAnswer{Content: "Текст", Malformed: true}},
		{"cut before the answer", `{"description":"Договор"`, ai.MediaAnswer{Content: "Договор", Malformed: true}},
		{"plain text", "Это договор аренды.", ai.MediaAnswer{Answer: "Это договор аренды.", Malformed: true}},
		{"wrong types", `{"description":42,"answer":"ok"}`, ai.MediaAnswer{Answer: "ok", Malformed: true}},
		{"missing answer", `{"description":"Фото"}`, ai.MediaAnswer{Content: "Фото", Malformed: true}},
		{"empty", ``, ai.MediaAnswer{Malformed: true}},
	}
	for _, tc := range cases {
		if got := ai.ParseMediaAnswer(tc.text, "description"); got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
