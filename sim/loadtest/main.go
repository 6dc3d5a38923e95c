// Package loadtest measures the whole system under chat load: real Redis,
// the three emulators (Sheets quota ON at Google's 60 reads + 60 writes per
// minute, Gemini latency, Telegram flood limits ON) and bot, worker(s) and
// poller as separate OS processes built from this repository. N authorized
// users send M messages each with realistic pacing (bursts and think time);
// the tool waits for every reply and prints one JSON object:
//
//	{"mode","stream","users","messages","replies","lost","duplicates","out_of_order",
//	 "duration_s","answered_per_min","latency_ms":{"p50","p95","p99"},
//	 "first_visible_ms":{"p50","p95","p99"},
//	 "sheets":{"reads","writes","max_reads_per_min","max_writes_per_min","http_429"},
//	 "telegram":{"sends","drafts","http_429"},"worker_rss_mb_max"}
//
// latency_ms is from a user's message to the final reply that answers it
// (its first part), first_visible_ms to the first text the user could see
// of that reply: the first draft of a streamed answer (--stream on), else
// the reply itself; both by the Telegram emulator's clock of when the
// message or draft reached the chat. With --stream both it runs the same
// workload without and with streaming and adds {"stream_ratios":{…}} (on
// against off: answered_per_min, sheets_requests_per_answer, and the p50
// and p95 of first_visible_ms and latency_ms).
//
// A message counts as answered when a reply quotes it or a later message of
// the same user (quick successive messages are answered in one turn);
// lost = not answered before the drain deadline, duplicates = replies to
// messages already answered, out_of_order = a reply quoting an earlier
// message than the previous reply did; sheets_requests_per_answer is the
// Sheets requests (reads + writes) per answered message. With --mode both
// it runs batched and per-call on the same workload and adds
// {"ratio_answered_per_min"}. With a list of fleet sizes (--workers 1,3) it
// runs the same workload once per size, one after another, prints one line
// per run and then the ratios of every size against the first:
// {"mode","fleet_ratios":{"3_vs_1":{"p95","answered_per_min","sheets_requests_per_answer"}}}.
//
//	go run ./cmd/loadtest --quick                  # about a minute, batched
//	go run ./cmd/loadtest --mode both              # the full comparison, several minutes
//	go run ./cmd/loadtest --workers 1,3            # one worker process against three
//	go run ./cmd/loadtest --workers 1,3 --sheets-fleet=false  # the same, each process batching alone
//	go run ./cmd/loadtest --stream both            # answers streamed with drafts against not
//
// It exits non-zero on a harness failure, and with --strict when lost,
// duplicates or out_of_order is non-zero (CI).
package loadtest

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type settings struct {
	mode          string
	stream        string // "off" or "on" for a run; --stream may say "both"
	users         int
	messages      int
	duration      time.Duration // the messages are spread over this long
	workers       int           // worker processes of the run being made
	fleets        []int         // --workers: the fleet sizes to run, in order
	concurrency   int
	geminiLatency time.Duration
	drain         time.Duration
	redisURL      string
	binDir        string
	strict        bool
	verbose       bool
	profileDir    string
	sheetsFleet   bool // fleet-wide Sheets coalescing (sheets.fleet_coalescing)
}

func Main() {
	var s settings
	quick := flag.Bool("quick", false, "a short run (about a minute): 100 users × 6 messages over 40 s, batched")
	flag.StringVar(&s.mode, "mode", "batched", "batched | per-call | both")
	flag.StringVar(&s.stream, "stream", "off", "off | on | both: answers streamed with drafts (gemini.stream); off is how earlier figures were taken")
	flag.IntVar(&s.users, "users", 320, "simulated authorized users")
	flag.IntVar(&s.messages, "messages", 8, "messages each user sends")
	flag.DurationVar(&s.duration, "duration", 2*time.Minute, "the messages are spread over this long: offered load = users × messages / duration")
	workers := flag.String("workers", "1", "worker processes; a comma-separated list (1,3) runs the same workload once per fleet size and prints the ratios against the first")
	flag.IntVar(&s.concurrency, "concurrency", 128, "tasks in flight per worker")
	flag.DurationVar(&s.geminiLatency, "gemini-latency", 800*time.Millisecond, "latency of every Gemini answer")
	flag.DurationVar(&s.drain, "drain", 2*time.Minute, "how long to wait for the last replies after the last message")
	flag.StringVar(&s.redisURL, "redis", "", "attach to this Redis (flushed!) instead of starting a private redis-server")
	flag.StringVar(&s.binDir, "bin", "", "use the role binaries in this folder instead of building them")
	flag.BoolVar(&s.strict, "strict", false, "exit 1 when lost, duplicates or out_of_order is not zero")
	flag.BoolVar(&s.verbose, "v", false, "progress on stderr")
	flag.BoolVar(&s.sheetsFleet, "sheets-fleet", true, "fleet-wide Sheets coalescing; false: each process batches only its own calls (as before the fleet coalescer)")
	flag.StringVar(&s.profileDir, "profile", "", "save 20 s CPU profiles of the worker and the bot here (go tool pprof)")
	flag.Parse()
	fleets, err := parseFleets(*workers)
	if err != nil {
		fail(err)
	}
	s.fleets = fleets
	if *quick {
		s.users, s.messages, s.duration, s.drain = 100, 6, 40*time.Second, time.Minute
		if s.mode == "both" {
			s.mode = "batched"
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if s.binDir == "" { // build once for every run of this invocation
		dir, err := os.MkdirTemp("", "marketingbot-loadtest-bin-")
		if err != nil {
			fail(err)
		}
		defer os.RemoveAll(dir)
		if s.binDir, err = build(dir); err != nil {
			fail(err)
		}
	}

	var results []*result
	modes := []string{s.mode}
	if s.mode == "both" {
		modes = []string{"batched", "per-call"}
	}
	streams, err := parseStream(s.stream)
	if err != nil {
		fail(err)
	}
	enc := json.NewEncoder(os.Stdout)
	for _, m := range modes {
		if m != "batched" && m != "per-call" {
			fail(fmt.Errorf("--mode %q: expected batched, per-call or both", m))
		}
		var perStream []*result
		for _, st := range streams {
			s.stream = st
			perFleet := runFleets(ctx, s, m, enc)
			perStream = append(perStream, perFleet[0])
		}
		if len(perStream) == 2 {
			_ = enc.Encode(map[string]any{"mode": m, "stream_ratios": streamRatios(perStream[0], perStream[1])})
		}
		results = append(results, perStream[0])
	}
	if len(results) == 2 && results[1].AnsweredPerMin > 0 {
		_ = enc.Encode(map[string]float64{"ratio_answered_per_min": round1(results[0].AnsweredPerMin / results[1].AnsweredPerMin)})
	}
	if s.strict {
		for _, r := range results {
			if r.Mode == "batched" && (r.Lost != 0 || r.Duplicates != 0 || r.OutOfOrder != 0) {
				fmt.Fprintf(os.Stderr, "loadtest: FAILED: lost=%d duplicates=%d out_of_order=%d\n", r.Lost, r.Duplicates, r.OutOfOrder)
				os.Exit(1)
			}
		}
	}
}

// runFleets runs the workload once per fleet size, printing each result,
// then the ratios of the sizes when there are several.
func runFleets(ctx context.Context, s settings, mode string, enc *json.Encoder) []*result {
	var perFleet []*result
	for _, n := range s.fleets {
		s.workers = n
		r, err := run(ctx, s, mode)
		if err != nil {
			fail(err)
		}
		_ = enc.Encode(r) // as soon as it is known: a long comparison shows its progress
		perFleet = append(perFleet, r)
	}
	if len(perFleet) > 1 {
		_ = enc.Encode(map[string]any{"mode": mode, "stream": s.stream, "fleet_ratios": fleetRatios(perFleet)})
	}
	return perFleet
}

// parseStream reads --stream: the streaming settings to run, in order.
func parseStream(v string) ([]string, error) {
	switch v {
	case "off", "on":
		return []string{v}, nil
	case "both":
		return []string{"off", "on"}, nil
	}
	return nil, fmt.Errorf("--stream %q: expected off, on or both", v)
}

// streamRatios compares a streamed run with the same workload unstreamed
// (on / off).
func streamRatios(off, on *result) map[string]float64 {
	ratio := func(a, b float64) float64 {
		if b == 0 {
			return 0
		}
		return math.Round(a/b*1000) / 1000
	}
	return map[string]float64{
		"answered_per_min":           ratio(on.AnsweredPerMin, off.AnsweredPerMin),
		"sheets_requests_per_answer": ratio(on.SheetsRequestsPerAnswer, off.SheetsRequestsPerAnswer),
		"first_visible_p50":          ratio(float64(on.FirstVisibleMs["p50"]), float64(off.FirstVisibleMs["p50"])),
		"first_visible_p95":          ratio(float64(on.FirstVisibleMs["p95"]), float64(off.FirstVisibleMs["p95"])),
		"final_p50":                  ratio(float64(on.LatencyMs["p50"]), float64(off.LatencyMs["p50"])),
		"final_p95":                  ratio(float64(on.LatencyMs["p95"]), float64(off.LatencyMs["p95"])),
	}
}

// parseFleets reads --workers: "3" or "1,3,5".
func parseFleets(v string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("--workers %q: expected worker counts ≥ 1 separated by commas (1,3)", v)
		}
		out = append(out, n)
	}
	return out, nil
}

// fleetRatios compares every run with the first of the list (N vs first).
func fleetRatios(rs []*result) map[string]map[string]float64 {
	out := map[string]map[string]float64{}
	base := rs[0]
	ratio := func(a, b float64) float64 {
		if b == 0 {
			return 0
		}
		return math.Round(a/b*100) / 100
	}
	for _, r := range rs[1:] {
		out[fmt.Sprintf("%d_vs_%d", r.Workers, base.Workers)] = map[string]float64{
			"p95":                        ratio(float64(r.LatencyMs["p95"]), float64(base.LatencyMs["p95"])),
			"answered_per_min":           ratio(r.AnsweredPerMin, base.AnsweredPerMin),
			"sheets_requests_per_answer": ratio(r.SheetsRequestsPerAnswer, base.SheetsRequestsPerAnswer),
		}
	}
	return out
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "loadtest:", err)
	os.Exit(2)
}
