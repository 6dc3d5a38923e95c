package world

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"net/http"
	"strings"
	"time"

	gememu "marketingbot/sim/emulator/gemini"
	tgemu "marketingbot/sim/emulator/telegram"
)

// Helpers of the whole-system tests of media in
// (sim/systemtest/media_*_test.go): files with real bytes, and what the
// Gemini emulator is to hear or see in them.

// MediaVoice is an OGG file's bytes (the signature Gemini checks), told
// apart by seed.
func MediaVoice(seed string) []byte {
	return append([]byte("OggS\x00\x02"), []byte(strings.Repeat("opus:"+seed+";", 64))...)
}

// MediaJPEG is a w×h JPEG picture, told apart by seed.
func MediaJPEG(w, h int, seed string) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	shade := uint8(len(seed) * 37)
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), shade, 255})
		}
	}
	var buf bytes.Buffer
	_ = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85})
	return buf.Bytes()
}

// MediaPDF is a small PDF's bytes carrying text.
func MediaPDF(text string) []byte {
	return []byte("%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n% " + text + "\n%%EOF\n")
}

// SendMedia makes a user send a file. content, when not empty, is what
// Gemini is to hear or see in it: it is registered for every file the
// message carries (each of a photo's sizes), so whichever the bot takes
// reads the same.
func (e *Env) SendMedia(mm tgemu.MediaMessage, content string) tgemu.MediaSent {
	e.T.Helper()
	if content != "" && mm.Kind != "photo" {
		e.Gemini.RegisterMedia(mm.Data, content)
	}
	sent, err := e.Telegram.SendMedia(mm)
	if err != nil {
		e.T.Fatal(err)
	}
	if content != "" && mm.Kind == "photo" {
		for _, f := range sent.Files {
			e.Gemini.RegisterMedia(e.fileBytes(f), content)
		}
	}
	return sent
}

// fileBytes downloads a file the emulator holds.
func (e *Env) fileBytes(f tgemu.FileInfo) []byte {
	e.T.Helper()
	resp, err := http.Get(e.TelegramURL + f.URL)
	if err != nil {
		e.T.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		e.T.Fatalf("file %s: %d %v", f.FileID, resp.StatusCode, err)
	}
	return b
}

// MediaCalls counts the Bot API calls of method (e.g. "getFile") and the
// Gemini generateContent calls made so far.
func (e *Env) MediaCalls(method string) (telegram, gemini int) {
	return len(e.Telegram.Calls(method)), len(e.Gemini.Requests(gememu.RequestFilter{Method: gememu.MethodGenerateContent}))
}

// MediaWaitMessage waits until a message of chatID after message id after
// satisfies ok, and returns it.
func (e *Env) MediaWaitMessage(chatID, after int64, timeout time.Duration, what string, ok func(m tgemu.TranscriptMessage) bool) tgemu.TranscriptMessage {
	e.T.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, m := range e.ChatMessages(chatID, after) {
			if ok(m) {
				return m
			}
		}
		if time.Now().After(deadline) {
			e.T.Fatalf("chat %d: no %s after %s:%s", chatID, what, timeout, texts(e.ChatMessages(chatID, after)))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
