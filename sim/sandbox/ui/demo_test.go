package ui_test

import (
	"bytes"
	"encoding/json"
	"image"
	_ "image/jpeg"
	"io"
	"net/http/httptest"
	"reflect"
	"testing"

	"marketingbot/pkg/config"
	"marketingbot/sim/sandbox/ui"
)

// TestDemoMedia: the page gets the demo list as the sandbox registers it,
// every file is served, holds what its type says (Gemini checks the
// signature), and the photo is small enough that the bot downloads the
// bytes as sent (the emulator keeps them as the largest size), so the
// content registered for those bytes is what Gemini sees.
func TestDemoMedia(t *testing.T) {
	h, err := ui.NewHandler(validEndpoints())
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) []byte {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/"+path, nil))
		if rec.Code != 200 {
			t.Fatalf("GET /%s: %d", path, rec.Code)
		}
		b, _ := io.ReadAll(rec.Body)
		return b
	}
	var list []ui.DemoFile
	if err := json.Unmarshal(get(ui.DemoMediaPath), &list); err != nil || !reflect.DeepEqual(list, ui.DemoMedia) {
		t.Fatalf("%s = %+v (%v), want ui.DemoMedia", ui.DemoMediaPath, list, err)
	}
	signatures := map[string]string{"audio/ogg": "OggS", "image/jpeg": "\xff\xd8\xff", "application/pdf": "%PDF-"}
	kinds := map[string]bool{}
	for _, f := range ui.DemoMedia {
		b := get(f.Path)
		if sig, ok := signatures[f.MimeType]; !ok || !bytes.HasPrefix(b, []byte(sig)) {
			t.Errorf("%s (%s) starts %q: not what its type says", f.Path, f.MimeType, b[:min(len(b), 8)])
		}
		if f.Content == "" || f.TestID == "" || kinds[f.Kind] {
			t.Errorf("%s: testid %q, kind %q (one file a kind), content %q", f.Path, f.TestID, f.Kind, f.Content)
		}
		kinds[f.Kind] = true
		if f.Kind == "photo" {
			img, _, err := image.DecodeConfig(bytes.NewReader(b))
			if side := config.Defaults().Media.MaxPhotoSide; err != nil || max(img.Width, img.Height) > side {
				t.Errorf("%s: %dx%d (%v), want a picture within media.max_photo_side %d", f.Path, img.Width, img.Height, err, side)
			}
		}
	}
	for _, k := range []string{"voice", "photo", "document"} {
		if !kinds[k] {
			t.Errorf("no demo %s", k)
		}
	}
}
