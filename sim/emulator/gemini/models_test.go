package gemini

import (
	"context"
	"net/http"
	"slices"
	"testing"
)

// Without an allowlist the emulator knows the current models only: a shut
// down name is 404 on models.get and generateContent, as on Google.
func TestDefaultModelsAreCurrent(t *testing.T) {
	_, ts := startEmulator(t, Options{APIKey: testKey})
	client := newClient(t, ts.URL, testKey)
	for _, m := range []string{"gemini-3-flash-preview", "gemini-3.5-flash", "gemini-3.8-flash"} {
		if _, err := client.Models.Get(context.Background(), m, nil); err != nil {
			t.Errorf("models.get %s: %v", m, err)
		}
	}
	for _, m := range []string{"gemini-1.5-pro", "gemini-2.0-flash", "gemini-2.5-pro", "gemini-2.5-flash", "gemini-3-pro-preview"} {
		_, err := client.Models.Get(context.Background(), m, nil)
		if e := asAPIError(t, err); e.Code != http.StatusNotFound || e.Message != "models/"+m+" is not found for API version v1beta." {
			t.Errorf("models.get %s: %+v", m, e)
		}
		_, err = client.Models.GenerateContent(context.Background(), m, conversation(), nil)
		if e := asAPIError(t, err); e.Code != http.StatusNotFound || e.Status != "NOT_FOUND" {
			t.Errorf("generateContent %s: %+v", m, e)
		}
	}
}

// A model taken away at run time answers 404 from the next call on; Reset
// brings the Options' models back.
func TestSetModelsAtRunTime(t *testing.T) {
	s, ts := startEmulator(t, Options{APIKey: testKey, Models: []string{testModel, "gemini-3.5-flash"}})
	client := newClient(t, ts.URL, testKey)
	if _, err := client.Models.GenerateContent(context.Background(), testModel, conversation(), nil); err != nil {
		t.Fatal(err)
	}
	var got modelsJSON
	if code := doJSON(t, http.MethodPut, ts.URL+"/_emulator/models", nil, modelsJSON{Models: []string{"models/gemini-3.5-flash"}}, &got); code != http.StatusOK {
		t.Fatalf("PUT models: %d", code)
	}
	if !slices.Equal(got.Models, []string{"gemini-3.5-flash"}) {
		t.Fatalf("models now %v", got.Models)
	}
	_, err := client.Models.GenerateContent(context.Background(), testModel, conversation(), nil)
	if e := asAPIError(t, err); e.Code != http.StatusNotFound {
		t.Fatalf("a removed model: %+v", e)
	}
	if code := doJSON(t, http.MethodGet, ts.URL+"/_emulator/models", nil, nil, &got); code != http.StatusOK || len(got.Models) != 1 {
		t.Fatalf("GET models: %d %v", code, got.Models)
	}
	s.Reset()
	if !slices.Equal(s.Models(), []string{testModel, "gemini-3.5-flash"}) {
		t.Fatalf("after Reset: %v", s.Models())
	}
	s.SetModels(nil)
	if !slices.Equal(s.Models(), DefaultModels) {
		t.Fatalf("SetModels(nil): %v", s.Models())
	}
}
