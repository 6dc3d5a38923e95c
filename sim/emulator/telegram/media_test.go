package telegram_test

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"

	"github.com/mymmrac/telego"

	"marketingbot/sim/emulator/telegram"
)

func testPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		img.Set(x, x*h/w, color.RGBA{200, 30, 30, 255})
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// nextMessage long-polls the next update and returns its message.
func nextMessage(t *testing.T, e *emulator) *telego.Message {
	t.Helper()
	ups, err := e.bot.GetUpdates(ctxT(t), &telego.GetUpdatesParams{Timeout: 1})
	if err != nil || len(ups) != 1 || ups[0].Message == nil {
		t.Fatalf("updates %+v, %v", ups, err)
	}
	_, _ = e.bot.GetUpdates(ctxT(t), &telego.GetUpdatesParams{Offset: ups[0].UpdateID + 1, Timeout: 0})
	return ups[0].Message
}

// fetch reads a file the way a bot does: getFile, then the download URL.
func fetch(t *testing.T, e *emulator, fileID string) []byte {
	t.Helper()
	f, err := e.bot.GetFile(ctxT(t), &telego.GetFileParams{FileID: fileID})
	if err != nil {
		t.Fatalf("getFile: %v", err)
	}
	return download(t, e.bot.FileDownloadURL(f.FilePath))
}

func TestMediaVoiceNoteWithTelego(t *testing.T) {
	e := start(t, telegram.Options{})
	e.addUser(t, 42, "Мария")
	voice := []byte("OggS\x00\x02 voice bytes")
	var sent telegram.MediaSent
	e.mustDo(t, "POST", "/_emulator/send_media", telegram.MediaMessage{UserID: 42, Kind: "voice", Data: voice, Duration: 42}, &sent)

	m := nextMessage(t, e)
	if m.Voice == nil || m.Voice.Duration != 42 || m.Voice.MimeType != "audio/ogg" || m.Voice.FileSize != int64(len(voice)) {
		t.Fatalf("voice %+v", m.Voice)
	}
	if got := fetch(t, e, m.Voice.FileID); !bytes.Equal(got, voice) {
		t.Fatalf("downloaded %q", got)
	}
	// The bot copies it to a group: the copy is a voice note too.
	if _, err := e.srv.PutGroup(telegram.Group{ID: -100777, Title: "Операторы"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.bot.CopyMessage(ctxT(t), &telego.CopyMessageParams{ChatID: telego.ChatID{ID: -100777}, FromChatID: telego.ChatID{ID: 42}, MessageID: m.MessageID}); err != nil {
		t.Fatalf("copyMessage of a voice note: %v", err)
	}
	tr, _ := e.srv.Transcript(-100777, 0)
	if len(tr.Messages) != 1 || tr.Messages[0].Kind != "voice" || tr.Messages[0].Media == nil || tr.Messages[0].Media.Duration != 42 {
		t.Fatalf("group transcript %+v", tr.Messages)
	}
	// The state file keeps it.
	restored := telegram.New(telegram.Options{})
	defer restored.Close()
	if err := restored.Restore(e.srv.Snapshot()); err != nil {
		t.Fatal(err)
	}
	tr, _ = restored.Transcript(42, 0)
	if len(tr.Messages) != 1 || tr.Messages[0].Kind != "voice" || tr.Messages[0].Media == nil {
		t.Fatalf("restored transcript %+v", tr.Messages)
	}
}

func TestMediaPhotoHasSizes(t *testing.T) {
	e := start(t, telegram.Options{})
	e.addUser(t, 42, "Мария")
	pic := testPNG(t, 1000, 750)
	sent, err := e.srv.SendMedia(telegram.MediaMessage{UserID: 42, Kind: "photo", Data: pic, Caption: "План"})
	if err != nil {
		t.Fatal(err)
	}
	m := nextMessage(t, e)
	var sides []int
	for _, p := range m.Photo {
		sides = append(sides, max(p.Width, p.Height))
	}
	if len(sides) != 4 || sides[0] != 90 || sides[1] != 320 || sides[2] != 800 || sides[3] != 1000 || m.Caption != "План" {
		t.Fatalf("sizes %v, caption %q", sides, m.Caption)
	}
	if got := fetch(t, e, m.Photo[3].FileID); !bytes.Equal(got, pic) {
		t.Fatal("the largest size is not the uploaded picture")
	}
	small := fetch(t, e, m.Photo[1].FileID)
	if cfg, format, err := image.DecodeConfig(bytes.NewReader(small)); err != nil || format != "jpeg" || cfg.Width != 320 || cfg.Height != 240 {
		t.Fatalf("320 px size: %+v %s %v", cfg, format, err)
	}
	if len(sent.Files) != 4 || sent.Files[3].FileID != m.Photo[3].FileID {
		t.Fatalf("files %+v", sent.Files)
	}
}

func TestMediaDocumentAndTheDownloadLimit(t *testing.T) {
	e := start(t, telegram.Options{})
	e.addUser(t, 42, "Мария")
	pdf := []byte("%PDF-1.7 contract")
	if _, err := e.srv.SendMedia(telegram.MediaMessage{UserID: 42, Kind: "document", Data: pdf, FileName: "договор.pdf"}); err != nil {
		t.Fatal(err)
	}
	m := nextMessage(t, e)
	if m.Document == nil || m.Document.FileName != "договор.pdf" || m.Document.MimeType != "application/pdf" || !bytes.Equal(fetch(t, e, m.Document.FileID), pdf) {
		t.Fatalf("document %+v", m.Document)
	}
	big := bytes.Repeat([]byte("x"), telegram.MaxDownloadBytes+1)
	if _, err := e.srv.SendMedia(telegram.MediaMessage{UserID: 42, Kind: "document", Data: big, FileName: "big.zip"}); err != nil {
		t.Fatal(err)
	}
	m = nextMessage(t, e)
	_, err := e.bot.GetFile(ctxT(t), &telego.GetFileParams{FileID: m.Document.FileID})
	if err == nil || !strings.Contains(err.Error(), "Bad Request: file is too big") {
		t.Fatalf("getFile of 20 MB + 1: %v", err)
	}
}

func TestMediaRefusesWhatAClientCannotSend(t *testing.T) {
	e := start(t, telegram.Options{})
	e.addUser(t, 42, "Мария")
	for _, mm := range []telegram.MediaMessage{
		{UserID: 42, Kind: "voice"},
		{UserID: 42, Kind: "sticker", Data: []byte("x")},
		{UserID: 42, Kind: "photo", Data: []byte("not an image")},
		{UserID: 43, Kind: "voice", Data: []byte("OggS")},
	} {
		if _, err := e.srv.SendMedia(mm); err == nil {
			t.Errorf("%+v was accepted", mm)
		}
	}
}
