package gemini

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"google.golang.org/genai"
)

const mediaSystem = "Ты помощник.\n\n# База знаний\n[Знание 1]\nТема: Ипотека\nВопрос: ипотека ставка банк\nОтвет: Ставка по партнёрской ипотеке — от 6 %.\n"

func mediaSchema(field string) map[string]any {
	return map[string]any{"type": "object", "properties": map[string]any{
		field: map[string]any{"type": "string"}, "answer": map[string]any{"type": "string"}}, "required": []string{field, "answer"}}
}

func TestMediaRegisteredVoiceNoteIsHeard(t *testing.T) {
	s, ts := startEmulator(t, Options{APIKey: testKey})
	c := newClient(t, ts.URL, testKey)
	voice := []byte("OggS\x00\x02 a voice note")
	s.RegisterMedia(voice, "Подскажите ставку по ипотеке для клиента")
	cfg := &genai.GenerateContentConfig{SystemInstruction: genai.NewContentFromText(mediaSystem, ""),
		ResponseMIMEType: "application/json", ResponseJsonSchema: mediaSchema("transcript")}
	contents := []*genai.Content{genai.NewContentFromParts([]*genai.Part{genai.NewPartFromBytes(voice, "audio/ogg"),
		genai.NewPartFromText("Партнёр прислал голосовое 0:04.")}, genai.RoleUser)}
	resp, err := c.Models.GenerateContent(context.Background(), testModel, contents, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Transcript, Answer string }
	if err := json.Unmarshal([]byte(resp.Text()), &got); err != nil {
		t.Fatalf("not the JSON asked for: %q", resp.Text())
	}
	if got.Transcript != "Подскажите ставку по ипотеке для клиента" || !strings.Contains(got.Answer, "от 6 %") {
		t.Fatalf("got %+v", got)
	}

	// Unregistered bytes hold nothing the model could make out.
	other := []byte("OggS something else")
	contents[0].Parts[0] = genai.NewPartFromBytes(other, "audio/ogg")
	resp, err = c.Models.GenerateContent(context.Background(), testModel, contents, cfg)
	if err != nil {
		t.Fatal(err)
	}
	got.Transcript, got.Answer = "x", ""
	if err := json.Unmarshal([]byte(resp.Text()), &got); err != nil || got.Transcript != "" || got.Answer == "" {
		t.Fatalf("unregistered media: %q (%v)", resp.Text(), err)
	}
}

func TestMediaInlineDataIsValidatedLikeGoogle(t *testing.T) {
	_, ts := startEmulator(t, Options{APIKey: testKey})
	c := newClient(t, ts.URL, testKey)
	cases := []struct {
		name string
		mime string
		data []byte
		want string
	}{
		{"unsupported type", "application/zip", []byte("PK\x03\x04"), "Unsupported MIME type: application/zip"},
		{"image type Gemini does not read", "image/gif", []byte("GIF89a"), "MIME type must be image/png, image/jpeg, image/webp, image/heic, or image/heif."},
		{"not an image", "image/jpeg", []byte("not a jpeg"), "Unable to process input image."},
		{"not a PDF", "application/pdf", []byte("hello"), "The document has no pages."},
		{"not OGG", "audio/ogg", []byte("RIFF"), "Request contains an invalid argument."},
		{"no type", "", []byte("OggS"), "mime_type is required"},
	}
	for _, tc := range cases {
		contents := []*genai.Content{genai.NewContentFromParts([]*genai.Part{{InlineData: &genai.Blob{MIMEType: tc.mime, Data: tc.data}},
			genai.NewPartFromText("Что это?")}, genai.RoleUser)}
		_, err := c.Models.GenerateContent(context.Background(), testModel, contents, nil)
		apiErr := asAPIError(t, err)
		if apiErr.Code != 400 || apiErr.Status != "INVALID_ARGUMENT" || !strings.Contains(apiErr.Message, tc.want) {
			t.Errorf("%s: %d %s %q, want 400 INVALID_ARGUMENT %q", tc.name, apiErr.Code, apiErr.Status, apiErr.Message, tc.want)
		}
	}
	ok := []*genai.Content{genai.NewContentFromParts([]*genai.Part{genai.NewPartFromBytes([]byte("%PDF-1.7 contract"), "application/pdf"),
		genai.NewPartFromText("Что это?")}, genai.RoleUser)}
	if _, err := c.Models.GenerateContent(context.Background(), testModel, ok, nil); err != nil {
		t.Fatalf("a PDF was refused: %v", err)
	}
}

func TestMediaInlineLimit(t *testing.T) {
	b64 := func(n int) string { return strings.Repeat("A", (n+2)/3*4) } // n bytes, rounded up to whole groups
	req := func(parts ...Part) GenerateRequest {
		return GenerateRequest{Contents: []Content{{Role: roleUser, Parts: parts}}}
	}
	pdf := Part{InlineData: &Blob{MIMEType: "application/pdf", Data: b64(MaxPDFBytes + 3)}}
	if e := validateMedia(req(pdf)); e == nil || e.Code != 400 || !strings.Contains(e.Message, "Request payload size exceeds the limit: 52428800 bytes.") {
		t.Fatalf("a PDF over 50 MB: %+v", e)
	}
	audio := Part{InlineData: &Blob{MIMEType: "audio/ogg", Data: b64(MaxInlineBytes / 2)}}
	if e := validateMedia(req(audio, audio, audio)); e == nil || !strings.Contains(e.Message, "exceeds the limit: 104857600 bytes.") {
		t.Fatalf("150 MB of audio: %+v", e)
	}
	if e := checkInlineSize(req(audio)); e != nil {
		t.Fatalf("50 MB of audio refused: %+v", e)
	}
}

func TestMediaStructuredOutputIsCutByTheOutputCap(t *testing.T) {
	s, ts := startEmulator(t, Options{APIKey: testKey})
	c := newClient(t, ts.URL, testKey)
	photo := []byte("\xff\xd8\xff\xe0 a floor plan")
	s.RegisterMedia(photo, "План двухкомнатной квартиры площадью 54 квадратных метра с балконом и раздельным санузлом")
	if _, err := s.AddOutcome(Outcome{FinishReason: "MAX_TOKENS", Count: 1}); err != nil {
		t.Fatal(err)
	}
	cfg := &genai.GenerateContentConfig{ResponseMIMEType: "application/json", ResponseJsonSchema: mediaSchema("description")}
	contents := []*genai.Content{genai.NewContentFromParts([]*genai.Part{genai.NewPartFromBytes(photo, "image/jpeg")}, genai.RoleUser)}
	resp, err := c.Models.GenerateContent(context.Background(), testModel, contents, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Candidates[0].FinishReason != genai.FinishReasonMaxTokens || json.Valid([]byte(resp.Text())) || !strings.HasPrefix(resp.Text(), "{") {
		t.Fatalf("want a cut JSON object with MAX_TOKENS: %s %q", resp.Candidates[0].FinishReason, resp.Text())
	}
}

func TestMediaRegistryControlAPI(t *testing.T) {
	s, ts := startEmulator(t, Options{APIKey: testKey})
	hash := MediaHash([]byte("OggS x"))
	var out map[string]string
	doJSON(t, "POST", ts.URL+"/_emulator/media", nil, map[string]string{"sha256": hash, "text": "расшифровка"}, &out)
	if out["sha256"] != hash || s.MediaRegistry()[hash] != "расшифровка" {
		t.Fatalf("registered %v, registry %v", out, s.MediaRegistry())
	}
	s.Reset()
	if len(s.MediaRegistry()) != 0 {
		t.Fatal("reset kept the registry")
	}
}
