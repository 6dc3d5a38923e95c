// Package sheetsbench measures the Sheets transport and store alone: N simulated users do
// read-modify-write turns on their appeal rows (the access pattern of a chat
// message) against the Sheets emulator with Google's quota switched on, once
// with batching and once per call (one request per operation, as the Python
// original did), and prints both side by side.
//
//	go run ./cmd/sheetsbench                       # 200 users, 2 × 3 emulated minutes
//	go run ./cmd/sheetsbench -users 50 -minutes 1 -minute 60s   # real minutes
//
// The emulator and the client share a shrunk quota window ("-minute 10s"
// means 60 requests per 10 s on both sides), so a run takes seconds while the
// figures are per emulated minute. Redis is needed for the shared limiter
// (-redis; a private key prefix is used and removed).
package sheetsbench

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/store"
	sheetsemu "marketingbot/sim/emulator/sheets"
	"marketingbot/sim/fixtures"
)

type result struct {
	Mode           string  `json:"mode"`
	Users          int     `json:"users"`
	Operations     int64   `json:"operations"`
	Errors         int64   `json:"errors"`
	OpsPerMin      float64 `json:"operations_per_min"`
	ReadsPerMin    float64 `json:"sheets_reads_per_min"`
	WritesPerMin   float64 `json:"sheets_writes_per_min"`
	MaxReadsInMin  int     `json:"max_reads_in_a_minute"`
	MaxWritesInMin int     `json:"max_writes_in_a_minute"`
	HTTP429        int64   `json:"http_429"`
	P95Ms          float64 `json:"op_latency_p95_ms"`
}

func Main() {
	users := flag.Int("users", 200, "simulated users, each doing read-modify-write turns back to back")
	minutes := flag.Int("minutes", 3, "emulated minutes per mode")
	minute := flag.Duration("minute", 10*time.Second, "length of an emulated minute (the quota window on both sides)")
	redisURL := flag.String("redis", "redis://127.0.0.1:6379/0", "Redis for the shared quota limiter")
	asJSON := flag.Bool("json", false, "print JSON instead of a table")
	flag.Parse()

	opt, err := redis.ParseURL(*redisURL)
	if err != nil {
		fail(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		fail(fmt.Errorf("redis %s: %w", *redisURL, err))
	}
	var results []result
	for _, batching := range []bool{true, false} {
		r, err := run(rdb, *users, *minutes, *minute, batching)
		if err != nil {
			fail(err)
		}
		results = append(results, r)
	}
	if *asJSON {
		json.NewEncoder(os.Stdout).Encode(map[string]any{"results": results, "ratio_ops": results[0].OpsPerMin / max(results[1].OpsPerMin, 1e-9)})
		return
	}
	fmt.Printf("%d users, %d emulated minutes of %s each, Google quota 60 reads + 60 writes per minute\n\n", *users, *minutes, *minute)
	fmt.Printf("%-10s %12s %12s %12s %10s %10s %8s %8s\n", "mode", "ops/min", "reads/min", "writes/min", "max r/min", "max w/min", "429s", "p95 ms")
	for _, r := range results {
		fmt.Printf("%-10s %12.0f %12.1f %12.1f %10d %10d %8d %8.0f\n", r.Mode, r.OpsPerMin, r.ReadsPerMin, r.WritesPerMin, r.MaxReadsInMin, r.MaxWritesInMin, r.HTTP429, r.P95Ms)
	}
	fmt.Printf("\nbatched / per-call: %.1f× the operations per minute\n", results[0].OpsPerMin/max(results[1].OpsPerMin, 1e-9))
}

func run(rdb *redis.Client, users, minutes int, minute time.Duration, batching bool) (result, error) {
	mode := map[bool]string{true: "batched", false: "per-call"}[batching]
	q := sheetsemu.DefaultQuota()
	q.Window = minute
	emu, err := sheetsemu.New(sheetsemu.Options{Quota: &q, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return result{}, err
	}
	defer emu.Close()
	hs := httptest.NewServer(emu)
	defer hs.Close()
	const id = "bench"
	var appeals [][]any
	base := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	for i := 0; i < users; i++ {
		appeals = append(appeals, []any{base.Add(time.Duration(i) * time.Second).Format(domain.SheetTimeLayout), "", "", fmt.Sprint(1000 + i), "start", "Новое", "", ""})
	}
	if err := emu.Load(id, fixtures.Spreadsheet(id, fixtures.DefaultTitles(), fixtures.Data{Appeals: appeals}, time.UTC)); err != nil {
		return result{}, err
	}
	prefix := fmt.Sprintf("sheetsbench:%d:%s:", time.Now().UnixNano(), mode)
	defer cleanup(rdb, prefix)
	o := fixtures.EmulatorStoreOptions(hs.URL, id, rdb)
	o.KeyPrefix = prefix
	o.Batching = batching
	o.QuotaWindow = minute
	o.Registry = prometheus.NewRegistry()
	g, sc, err := fixtures.OpenStore(context.Background(), o)
	if err != nil {
		return result{}, err
	}
	defer sc.Close()

	dur := time.Duration(minutes) * minute
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	var ops, errs atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	for i := 0; i < users; i++ {
		uid := int64(1000 + i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				t0 := time.Now()
				err := turn(ctx, g, uid)
				if ctx.Err() != nil {
					return
				}
				if err != nil {
					errs.Add(1)
					continue
				}
				ops.Add(1)
				mu.Lock()
				lat = append(lat, time.Since(t0))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	st := emu.Stats()
	perMin := func(n int64) float64 { return float64(n) / float64(minutes) }
	return result{Mode: mode, Users: users, Operations: ops.Load(), Errors: errs.Load(),
		OpsPerMin: perMin(ops.Load()), ReadsPerMin: perMin(st.Reads), WritesPerMin: perMin(st.Writes),
		MaxReadsInMin: st.MaxReadsPerMin, MaxWritesInMin: st.MaxWritesPerMin, HTTP429: st.HTTP429,
		P95Ms: float64(percentile(lat, 0.95)) / float64(time.Millisecond)}, nil
}

// turn is one chat turn's Sheets work: read the appeal, append a line, write it back.
func turn(ctx context.Context, g *store.Spreadsheet, uid int64) error {
	a, found, err := g.CurrentAppeal(ctx, uid)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("no appeal for %d", uid)
	}
	a.History += "\nx"
	a.UpdatedAt = time.Now()
	_, err = g.UpdateAppeal(ctx, a, domain.AppealFieldHistory)
	return err
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[int(p*float64(len(s)-1))]
}

func cleanup(rdb *redis.Client, prefix string) {
	ctx := context.Background()
	iter := rdb.Scan(ctx, 0, prefix+"*", 100).Iterator()
	for iter.Next(ctx) {
		rdb.Del(ctx, iter.Val())
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "sheetsbench:", err)
	os.Exit(1)
}
