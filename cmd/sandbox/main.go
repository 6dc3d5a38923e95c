// Command sandbox runs the whole MarketingBot system on this machine with no
// accounts: embedded Redis, the Telegram, Sheets and Gemini emulators, and the
// bot, worker and poller wired exactly as in production. Open the printed UI
// address to chat as a partner, answer as an operator, open the Mini App and
// look at the spreadsheet and the job queues.
//
//	go run ./cmd/sandbox [--addr 127.0.0.1:8080] [--data ./sandbox-data] [--reset] [--open]
//	                     [--redis redis://…] [--spreadsheet export.xlsx] [--flat-group]
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"marketingbot/pkg/obs"
	"marketingbot/sim/sandbox"
)

func main() {
	start := time.Now()
	var o sandbox.Options
	var open bool
	var logLevel string
	flag.StringVar(&o.Addr, "addr", "127.0.0.1:8080", "address of the sandbox web page")
	flag.StringVar(&o.DataDir, "data", "./sandbox-data", "folder for the spreadsheet (.xlsx), the Telegram and Redis state")
	flag.BoolVar(&o.Reset, "reset", false, "start clean: a fresh demo spreadsheet, no chats, empty queues")
	flag.BoolVar(&open, "open", false, "open the web page in a browser")
	flag.StringVar(&o.RedisURL, "redis", "", "use this Redis instead of the embedded one (redis://host:port/db)")
	flag.StringVar(&o.Spreadsheet, "spreadsheet", "", "load this .xlsx export of the production spreadsheet (on the first run or with --reset)")
	flag.BoolVar(&o.FlatGroup, "flat-group", false, "the operators' group without topics (cards and replies instead of a topic per partner)")
	flag.IntVar(&o.Listings, "listings", 5000, "demo listings to generate for Analytics 360")
	flag.StringVar(&logLevel, "log", "warn", "log level: debug, info, warn, error")
	flag.Parse()
	o.Logger = obs.NewLogger(os.Stderr, logLevel, "text")

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	sb, err := sandbox.Start(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		os.Exit(1)
	}
	e := sb.Endpoints
	fmt.Printf("MarketingBot sandbox is ready (%.1fs)\n", time.Since(start).Seconds())
	fmt.Printf("  web page         %s\n", e.UI)
	fmt.Printf("  Mini App         %s\n", e.MiniApp)
	fmt.Printf("  asynq queues     %s   (user admin, password in %s)\n", e.AdminQueues, filepath.Join(o.DataDir, "admin-password"))
	fmt.Printf("  metrics          %s  %s  %s\n", e.Metrics.Bot, e.Metrics.Worker, e.Metrics.Poller)
	fmt.Printf("  Telegram API     %s   (control: %s)\n", e.TelegramAPI, e.TelegramControl)
	fmt.Printf("  Sheets API       %s   (control: %s)\n", e.SheetsAPI, e.SheetsControl)
	if e.GeminiControl != "" {
		fmt.Printf("  Gemini API       %s   (emulator; set MARKETINGBOT_GEMINI_API_KEY to use Google's)\n", e.GeminiAPI)
	} else {
		fmt.Printf("  Gemini API       Google (MARKETINGBOT_GEMINI_API_KEY is set)\n")
	}
	fmt.Printf("  endpoints        %s\n", filepath.Join(o.DataDir, "endpoints.json"))
	fmt.Printf("  object codes to try in Analytics 360: %v\n", sb.DemoCodes())
	fmt.Println("Ctrl-C stops everything; the next run continues with the saved data.")
	if open {
		openBrowser(e.UI)
	}
	<-ctx.Done()
	stop()
	fmt.Println("stopping…")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := sb.Stop(sctx); err != nil {
		slog.Error("stop", "err", err)
		os.Exit(1)
	}
}

func openBrowser(url string) {
	cmd := "xdg-open"
	if runtime.GOOS == "darwin" {
		cmd = "open"
	}
	_ = exec.Command(cmd, url).Start()
}
