package analytics

import (
	"sync"
	"testing"
	"time"

	"marketingbot/pkg/domain"
	"marketingbot/sim/listinggen"
)

var benchData = sync.OnceValues(func() ([]domain.Listing, time.Time) {
	now := time.Date(2025, 6, 15, 12, 0, 0, 0, DefaultOptions().Location)
	return listinggen.Generate(listinggen.Config{Seed: 2025, N: 100_000, Now: now}), now
})

// BenchmarkAnalyze100k measures one analysis over 100,000 listings; the
// index is built once, as the worker does while its listings cache is fresh.
func BenchmarkAnalyze100k(b *testing.B) {
	listings, now := benchData()
	e := NewEngine(listings, DefaultOptions())
	codes := listinggen.Codes(listings, 60)
	competitors := 0
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r, err := e.Analyze(codes[i%len(codes)], now)
		if err != nil {
			b.Fatal(err)
		}
		competitors += len(r.Competitors)
	}
	b.ReportMetric(float64(competitors)/float64(b.N), "competitors/op")
}

// BenchmarkNewEngine100k measures indexing a fresh copy of the sheet.
func BenchmarkNewEngine100k(b *testing.B) {
	listings, _ := benchData()
	b.ReportAllocs()
	for b.Loop() {
		NewEngine(listings, DefaultOptions())
	}
}

// BenchmarkRenderPDF measures rendering the report of an object analyzed over
// 100,000 listings and reports the PDF size.
func BenchmarkRenderPDF(b *testing.B) {
	listings, now := benchData()
	e := NewEngine(listings, DefaultOptions())
	r, err := e.Analyze(listinggen.Codes(listings, 1)[0], now)
	if err != nil {
		b.Fatal(err)
	}
	size := 0
	b.ReportAllocs()
	for b.Loop() {
		pdf, err := RenderPDF(r)
		if err != nil {
			b.Fatal(err)
		}
		size = len(pdf)
	}
	b.ReportMetric(float64(size), "pdf_bytes")
	b.ReportMetric(float64(size)/1024, "pdf_KiB")
}
