package systemtest

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	sheetsemu "marketingbot/sim/emulator/sheets"
	"marketingbot/sim/fixtures"
	"marketingbot/sim/testutil"
)

// BenchmarkSheetsReadModifyWrite is a chat turn's access pattern (read a user's
// appeal row, append to its history, write it back) from 64 concurrent
// callers, batched and per-call. The client keeps its request budget (55
// reads + 55 writes per window) but the window is shrunk from a minute to a
// second so a run is short: ns/op is time under that compressed quota. The
// custom metrics are the Sheets requests one operation costs, which is what
// Google's quota counts (cmd/sheetsbench runs the pattern with real-minute
// figures).
func BenchmarkSheetsReadModifyWrite(b *testing.B) {
	for _, mode := range []struct {
		name     string
		batching bool
	}{{"batched", true}, {"per-call", false}} {
		b.Run(mode.name, func(b *testing.B) {
			const users = 64
			r := testutil.StartRedis(b)
			emu := fixtures.StartSheets(b, &sheetsemu.Quota{})
			if err := emu.Load(sheetsSID, fixtures.Spreadsheet(sheetsSID, fixtures.DefaultTitles(), fixtures.Data{Appeals: sheetsSeedAppeals(users)}, sheetsMSK)); err != nil {
				b.Fatal(err)
			}
			o := fixtures.EmulatorStoreOptions(emu.URL, sheetsSID, r.Client())
			o.Location = sheetsMSK
			o.Batching = mode.batching
			o.QuotaWindow = time.Second
			g := fixtures.NewStore(b, o)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			var next atomic.Int64
			emu.ResetStats()
			b.SetParallelism(users / 2) // GOMAXPROCS × 32 callers
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				id := 1000 + next.Add(1)%users
				n := 0
				for pb.Next() {
					n++
					if err := sheetsRMW(ctx, g, id, n); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			st := emu.Stats()
			b.ReportMetric(float64(st.Reads)/float64(b.N), "reads/op")
			b.ReportMetric(float64(st.Writes)/float64(b.N), "writes/op")
		})
	}
}
