package app

import (
	"testing"

	"marketingbot/pkg/config"
	"marketingbot/pkg/store"
)

// The configuration's default headers are the store's contract, field for
// field: a field added to one and not the other fails here.
func TestDefaultHeadersAreTheStoresSchema(t *testing.T) {
	h := storeHeaders(config.Defaults().Sheets.Headers)
	if len(h) != len(store.SheetKeys) {
		t.Fatalf("config has headers for %d sheets, the store %d", len(h), len(store.SheetKeys))
	}
	for _, k := range store.SheetKeys {
		fields := store.Schema(k)
		if len(h[k]) != len(fields) {
			t.Errorf("%s: config has %d headers, the store %d fields", k, len(h[k]), len(fields))
		}
		for _, f := range fields {
			if got, ok := h[k][f.Key]; !ok || got != f.Header {
				t.Errorf("sheets.headers.%s.%s = %q, the store's default is %q", k, f.Key, got, f.Header)
			}
		}
	}
}
