package sheets

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// listingRows builds a listings sheet (Объекты; docs/ARCHITECTURE.md, "The
// spreadsheet contract") of n rows × 13 columns.
func listingRows(n int) [][]any {
	rows := make([][]any, 0, n+1)
	rows = append(rows, []any{"code", "type", "city", "district", "address", "rooms", "area_m2", "floor",
		"price_rub", "listed_at", "status", "closed_at", "sold_price_rub"})
	for i := range n {
		rows = append(rows, []any{
			fmt.Sprintf("OBJ-%06d", i), "квартира", "Москва", "Хамовники", fmt.Sprintf("ул. Льва Толстого, %d", i%200),
			1 + i%5, 30.5 + float64(i%90), 1 + i%25, 5_000_000 + i*1000, "2025-01-02 10:00:00", "active", "", "",
		})
	}
	return rows
}

func benchServer(b *testing.B, n int) *Server {
	b.Helper()
	srv, err := New(Options{Quota: &Quota{}})
	if err != nil {
		b.Fatal(err)
	}
	err = srv.Load(bookID, Spreadsheet{Sheets: []Sheet{{Title: "Объекты", RowCount: n + 1000, Rows: listingRows(n)}}})
	if err != nil {
		b.Fatal(err)
	}
	return srv
}

func serve(b *testing.B, srv *Server, method, target, body string) int {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("%s %s: %d %s", method, target, rec.Code, rec.Body.String())
	}
	return rec.Body.Len()
}

func valuesPath(rng, suffix string) string {
	return "/v4/spreadsheets/" + bookID + "/values/" + url.PathEscape(rng) + suffix
}

// BenchmarkValuesGetListing reads a whole 100,000 × 13 listings sheet.
func BenchmarkValuesGetListing(b *testing.B) {
	srv := benchServer(b, 100_000)
	target := valuesPath("'Объекты'!A1:M", "")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		b.SetBytes(int64(serve(b, srv, http.MethodGet, target, "")))
	}
}

// BenchmarkValuesGetRow reads one row of the 100,000-row sheet, the
// gateway's typical lookup.
func BenchmarkValuesGetRow(b *testing.B) {
	srv := benchServer(b, 100_000)
	target := valuesPath("'Объекты'!A50000:M50000", "")
	b.ReportAllocs()
	for b.Loop() {
		serve(b, srv, http.MethodGet, target, "")
	}
}

// BenchmarkAppendRow appends one row below a 100,000-row table; the table
// detection walks the whole table each time, as Google's does.
func BenchmarkAppendRow(b *testing.B) {
	srv := benchServer(b, 100_000)
	target := valuesPath("'Объекты'!A:M", ":append?valueInputOption=RAW&insertDataOption=INSERT_ROWS")
	body := `{"values":[["OBJ-X","дом","Тверь","","","3","80","1","9000000","2025-02-01 00:00:00","active","",""]]}`
	b.ReportAllocs()
	for b.Loop() {
		serve(b, srv, http.MethodPost, target, body)
	}
}

// BenchmarkUpdateLongCell rewrites a 45,000-character history cell.
func BenchmarkUpdateLongCell(b *testing.B) {
	srv := benchServer(b, 1000)
	target := valuesPath("'Объекты'!E2", "?valueInputOption=RAW")
	body := `{"values":[["` + strings.Repeat("история ", 45000/8) + `"]]}`
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		serve(b, srv, http.MethodPut, target, body)
	}
}

// BenchmarkXLSXSave writes the 100,000-row sheet as .xlsx.
func BenchmarkXLSXSave(b *testing.B) {
	srv := benchServer(b, 100_000)
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := srv.WriteXLSX(context.Background(), bookID, &buf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len())/1e6, "MB/file")
}

// BenchmarkXLSXLoad reads it back.
func BenchmarkXLSXLoad(b *testing.B) {
	srv := benchServer(b, 100_000)
	var buf bytes.Buffer
	if err := srv.WriteXLSX(context.Background(), bookID, &buf); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.ReportAllocs()
	for b.Loop() {
		if err := srv.LoadXLSX(context.Background(), "copy", bytes.NewReader(data), int64(len(data))); err != nil {
			b.Fatal(err)
		}
	}
}
