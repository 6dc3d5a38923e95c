// Package loadtest measures the whole system under chat load: real Redis,
// the three emulators (Sheets quota ON at Google's 60 reads + 60 writes per
// minute, Gemini latency, Telegram flood limits ON) and bot, worker(s) and
// poller as separate OS processes built from this repository. N authorized
// users send M messages each with realistic pacing (bursts and think time);
// the tool waits for every reply and prints one JSON object:
//
//	{"mode","users","messages","replies","lost","duplicates","out_of_order",
//	 "duration_s","answered_per_min","latency_ms":{"p50","p95","p99"},
//	 "sheets":{"reads","writes","max_reads_per_min","max_writes_per_min","http_429"},
//	 "telegram":{"sends","http_429"},"worker_rss_mb_max"}
//
// A message counts as answered when a reply quotes it or a later message of
// the same user (quick successive messages are answered in one turn);
// lost = not answered before the drain deadline, duplicates = replies to
// messages already answered, out_of_order = a reply quoting an earlier
// message than the previous reply did. With --mode both it runs batched and
// per-call on the same workload and adds {"ratio_answered_per_min"}.
//
//	go run ./cmd/loadtest --quick            # about a minute, batched
//	go run ./cmd/loadtest --mode both        # the full comparison, several minutes
//
// It exits non-zero on a harness failure, and with --strict when lost,
// duplicates or out_of_order is non-zero (CI).
package loadtest

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

type settings struct {
	mode          string
	users         int
	messages      int
	duration      time.Duration // the messages are spread over this long
	workers       int
	concurrency   int
	geminiLatency time.Duration
	drain         time.Duration
	redisURL      string
	binDir        string
	strict        bool
	verbose       bool
	profileDir    string
}

func Main() {
	var s settings
	quick := flag.Bool("quick", false, "a short run (about a minute): 100 users × 6 messages over 40 s, batched")
	flag.StringVar(&s.mode, "mode", "batched", "batched | per-call | both")
	flag.IntVar(&s.users, "users", 320, "simulated authorized users")
	flag.IntVar(&s.messages, "messages", 8, "messages each user sends")
	flag.DurationVar(&s.duration, "duration", 2*time.Minute, "the messages are spread over this long: offered load = users × messages / duration")
	flag.IntVar(&s.workers, "workers", 1, "worker processes (each batches its own Sheets requests: more processes split the same quota into smaller batches and wait longer for it)")
	flag.IntVar(&s.concurrency, "concurrency", 128, "tasks in flight per worker")
	flag.DurationVar(&s.geminiLatency, "gemini-latency", 800*time.Millisecond, "latency of every Gemini answer")
	flag.DurationVar(&s.drain, "drain", 2*time.Minute, "how long to wait for the last replies after the last message")
	flag.StringVar(&s.redisURL, "redis", "", "attach to this Redis (flushed!) instead of starting a private redis-server")
	flag.StringVar(&s.binDir, "bin", "", "use the role binaries in this folder instead of building them")
	flag.BoolVar(&s.strict, "strict", false, "exit 1 when lost, duplicates or out_of_order is not zero")
	flag.BoolVar(&s.verbose, "v", false, "progress on stderr")
	flag.StringVar(&s.profileDir, "profile", "", "save 20 s CPU profiles of the worker and the bot here (go tool pprof)")
	flag.Parse()
	if *quick {
		s.users, s.messages, s.duration, s.drain = 100, 6, 40*time.Second, time.Minute
		if s.mode == "both" {
			s.mode = "batched"
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	var results []*result
	modes := []string{s.mode}
	if s.mode == "both" {
		modes = []string{"batched", "per-call"}
	}
	for _, m := range modes {
		if m != "batched" && m != "per-call" {
			fail(fmt.Errorf("--mode %q: expected batched, per-call or both", m))
		}
		r, err := run(ctx, s, m)
		if err != nil {
			fail(err)
		}
		results = append(results, r)
	}
	enc := json.NewEncoder(os.Stdout)
	for _, r := range results {
		_ = enc.Encode(r)
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

func fail(err error) {
	fmt.Fprintln(os.Stderr, "loadtest:", err)
	os.Exit(2)
}
