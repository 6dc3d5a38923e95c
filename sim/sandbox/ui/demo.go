package ui

import (
	"encoding/json"
	"fmt"
	"io/fs"
)

// DemoFile is a file the page's attach menu sends as a partner would: a
// voice note, a photo or a document bundled under demo/. Content is what
// the Gemini emulator is to hear or see in it (the sandbox registers it by
// the bytes' SHA-256 at start, see marketingbot/sim/emulator/gemini
// RegisterMedia), so the bot's answer is about something.
type DemoFile struct {
	// TestID is the attach menu's button (data-testid).
	TestID string `json:"testid"`
	// Kind is the control API's send_media kind: voice, photo or document.
	Kind     string `json:"kind"`
	Path     string `json:"path"` // in FS, served next to index.html
	FileName string `json:"file_name"`
	MimeType string `json:"mime_type"`
	Duration int    `json:"duration,omitempty"` // seconds, voice notes
	Caption  string `json:"caption,omitempty"`
	Content  string `json:"content"`
}

// DemoMediaPath is where the page reads DemoMedia (JSON), relative to
// itself.
const DemoMediaPath = "demo/media.json"

// DemoMedia are the bundled files. The photo is 800×600, under the
// bot's media.max_photo_side, so the bot downloads the bytes as sent (the
// emulator keeps the uploaded bytes as a photo's largest size) and their
// registered description applies. The voice note is 4 s of Ogg Opus
// silence: the words are the registered transcript.
var DemoMedia = []DemoFile{
	{
		TestID: "attach-voice", Kind: "voice", Path: "demo/voice.ogg", FileName: "voice.ogg", MimeType: "audio/ogg", Duration: 4,
		Content: "Здравствуйте! Подскажите, когда выплачивают вознаграждение партнёру после сделки?",
	},
	{
		TestID: "attach-photo", Kind: "photo", Path: "demo/photo.jpg", FileName: "photo.jpg", MimeType: "image/jpeg",
		Caption: "Как зафиксировать клиента на этот объект?",
		Content: "Фасад кирпичного дома с красной крышей, двор с газоном; подпись: «Демо-фото, ЖК „Северный“, 2-комн., 54 м²».",
	},
	{
		TestID: "attach-document", Kind: "document", Path: "demo/contract.pdf", FileName: "договор.pdf", MimeType: "application/pdf",
		Caption: "Мой агентский договор",
		Content: "Агентский договор партнёра № 360 (демо), страница 1 из 1.\n" +
			"Какую комиссию я получу за сделку?",
	},
}

// demoMediaJSON is DemoMedia as the page reads it, after checking that
// every file is embedded.
func demoMediaJSON() ([]byte, error) {
	for _, f := range DemoMedia {
		if _, err := fs.Stat(FS, f.Path); err != nil {
			return nil, fmt.Errorf("sandbox ui: demo file %s: %w", f.Path, err)
		}
	}
	return json.Marshal(DemoMedia)
}

// DemoFileBytes returns a bundled file's bytes.
func DemoFileBytes(f DemoFile) ([]byte, error) {
	return fs.ReadFile(FS, f.Path)
}
