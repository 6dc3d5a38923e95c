package sheets

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/xuri/excelize/v2"
)

// TestControlAPI walks the control API in order; each step sees what the
// previous ones left (the spreadsheet put first, the reads counted so far).
func TestControlAPI(t *testing.T) {
	e := newEnv(t, Options{})
	controlPutSpreadsheet(t, e)
	controlStats(t, e)
	controlFaults(t, e)
	controlQuota(t, e)
	t.Run("xlsx download and upload", func(t *testing.T) { controlXLSX(t, e) })
	t.Run("cors", func(t *testing.T) { controlCORS(t, e) })
	t.Run("errors", func(t *testing.T) { controlErrors(t, e) })
	controlDeleteAndReset(t, e)
}

// controlPutSpreadsheet puts spreadsheet sb1, which the API then serves.
func controlPutSpreadsheet(t *testing.T, e *env) {
	put := Spreadsheet{Title: "Sandbox", Sheets: []Sheet{{
		Title:    "Очередь",
		Rows:     [][]any{{"id", "status", "n"}, {"u-1", "NEW", 3}, {"u-2", nil, true}, {nil, nil, nil, "sum"}},
		Formulas: map[string]string{"E4": "=SUM(C2:C3)"},
	}}}
	var snap Spreadsheet
	if code := controlCall(t, e, http.MethodPut, "/_emulator/spreadsheets/sb1", put, &snap); code != 200 {
		t.Fatalf("PUT spreadsheet: %d", code)
	}
	sh := snap.Sheets[0]
	if snap.SpreadsheetID != "sb1" || snap.Title != "Sandbox" || sh.RowCount != 1000 || sh.ColumnCount != 26 || sh.SheetID == nil {
		t.Errorf("snapshot header = %+v", snap)
	}
	deepEqual(t, "rows", sh.Rows, [][]any{
		{"id", "status", "n"}, {"u-1", "NEW", 3.0}, {"u-2", "", true}, {"", "", "", "sum", FormulaPlaceholder},
	})
	deepEqual(t, "formulas", sh.Formulas, map[string]string{"E4": "=SUM(C2:C3)"})

	// The API sees what the control API put.
	vr, err := e.api.Spreadsheets.Values.Get("sb1", "'Очередь'!A2:B2").Do()
	if err != nil {
		t.Fatal(err)
	}
	deepEqual(t, "values", vr.Values, [][]any{row("u-1", "NEW")})

	var ids struct {
		IDs []string `json:"spreadsheet_ids"`
	}
	controlCall(t, e, http.MethodGet, "/_emulator/spreadsheets", nil, &ids)
	deepEqual(t, "ids", ids.IDs, []string{"sb1"})
}

// controlStats: one read so far; reset zeroes the counters.
func controlStats(t *testing.T, e *env) {
	var stats map[string]any
	if code := controlCall(t, e, http.MethodGet, "/_emulator/stats", nil, &stats); code != 200 {
		t.Fatalf("stats: %d", code)
	}
	for _, key := range []string{"reads", "writes", "max_reads_per_min", "max_writes_per_min", "http_429", "http_5xx_injected", "by_method", "window_s"} {
		if _, ok := stats[key]; !ok {
			t.Errorf("stats lacks %q: %v", key, stats)
		}
	}
	if stats["reads"] != 1.0 || stats["window_s"] != 0.0 && stats["window_s"] != 60.0 {
		t.Errorf("stats = %v", stats)
	}
	controlCall(t, e, http.MethodPost, "/_emulator/stats/reset", nil, &stats)
	if stats["reads"] != 0.0 {
		t.Errorf("after reset: %v", stats)
	}
}

// controlFaults: an injected fault fails the next call; DELETE clears them.
func controlFaults(t *testing.T, e *env) {
	if code := controlCall(t, e, http.MethodPost, "/_emulator/faults",
		map[string]any{"status": 503, "count": 1, "methods": []string{"values.get"}}, nil); code != 200 {
		t.Fatalf("POST faults: %d", code)
	}
	_, err := e.api.Spreadsheets.Values.Get("sb1", "A1").Do()
	wantAPIError(t, err, 503, "")
	if code := controlCall(t, e, http.MethodPost, "/_emulator/faults", map[string]any{"status": 302}, nil); code != 400 {
		t.Errorf("bad fault accepted: %d", code)
	}
	controlCall(t, e, http.MethodPost, "/_emulator/faults", map[string]any{"status": 500}, nil)
	controlCall(t, e, http.MethodDelete, "/_emulator/faults", nil, nil)
	if _, err := e.api.Spreadsheets.Values.Get("sb1", "A1").Do(); err != nil {
		t.Errorf("after DELETE faults: %v", err)
	}
}

// controlQuota: a lowered read quota refuses the next read.
func controlQuota(t *testing.T, e *env) {
	var q quotaJSON
	if code := controlCall(t, e, http.MethodPut, "/_emulator/quota", quotaJSON{ReadsPerWindow: 1, WindowMS: 60000}, &q); code != 200 || q.ReadsPerWindow != 1 {
		t.Fatalf("PUT quota: %d %+v", code, q)
	}
	// The two reads accepted earlier this minute already used the budget.
	_, err := e.api.Spreadsheets.Values.Get("sb1", "A1").Do()
	wantAPIError(t, err, 429, "")
	controlCall(t, e, http.MethodPut, "/_emulator/quota", quotaJSON{}, nil)
}

func controlXLSX(t *testing.T, e *env) {
	resp, err := e.ts.Client().Get(e.ts.URL + "/_emulator/spreadsheets/sb1/xlsx")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("download: %d %s", resp.StatusCode, data)
	}
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("downloaded file does not open: %v", err)
	}
	defer f.Close()
	if v, _ := f.GetCellValue("Очередь", "B2"); v != "NEW" {
		t.Errorf("B2 in the file = %q", v)
	}
	req, _ := http.NewRequest(http.MethodPut, e.ts.URL+"/_emulator/spreadsheets/copy/xlsx", bytes.NewReader(data))
	resp, err = e.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("upload: %d", resp.StatusCode)
	}
	a, _ := e.srv.Snapshot("sb1")
	b, _ := e.srv.Snapshot("copy")
	b.SpreadsheetID = a.SpreadsheetID
	deepEqual(t, "uploaded copy", b, a)
}

func controlCORS(t *testing.T, e *env) {
	req, _ := http.NewRequest(http.MethodOptions, e.ts.URL+"/_emulator/stats", nil)
	req.Header.Set("Origin", "http://localhost:5173")
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
}

func controlErrors(t *testing.T, e *env) {
	var ce controlError
	if code := controlCall(t, e, http.MethodGet, "/_emulator/spreadsheets/nope", nil, &ce); code != 404 || ce.Error == "" {
		t.Errorf("unknown spreadsheet: %d %+v", code, ce)
	}
	if code := controlCall(t, e, http.MethodPut, "/_emulator/spreadsheets/bad",
		Spreadsheet{Sheets: []Sheet{{Title: "A"}, {Title: "a"}}}, &ce); code != 400 {
		t.Errorf("duplicate titles: %d %+v", code, ce)
	}
	if code := controlCall(t, e, http.MethodGet, "/_emulator/nothing", nil, &ce); code != 404 {
		t.Errorf("unknown endpoint: %d", code)
	}
}

// controlDeleteAndReset deletes the copy, then resets everything.
func controlDeleteAndReset(t *testing.T, e *env) {
	var ids struct {
		IDs []string `json:"spreadsheet_ids"`
	}
	if code := controlCall(t, e, http.MethodDelete, "/_emulator/spreadsheets/copy", nil, nil); code != 200 {
		t.Errorf("DELETE: %d", code)
	}
	controlCall(t, e, http.MethodPost, "/_emulator/reset", nil, nil)
	controlCall(t, e, http.MethodGet, "/_emulator/spreadsheets", nil, &ids)
	if len(ids.IDs) != 0 {
		t.Errorf("after reset: %v", ids.IDs)
	}
	_, err := e.api.Spreadsheets.Get("sb1").Do()
	wantAPIError(t, err, 404, "")
}
