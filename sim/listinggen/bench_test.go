package listinggen

import "testing"

func BenchmarkGenerate100k(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Generate(Config{Seed: 1, N: 100_000, Now: testNow})
	}
}
