// Package app wires the roles — bot, worker, poller — from configuration:
// it is where adapters meet, and the only package that imports them all.
// cmd/<role>/main.go are thin shells around Main; cmd/sandbox and the
// end-to-end tests build the same roles in-process.
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"marketingbot/pkg/config"
	"marketingbot/pkg/obs"
	"marketingbot/pkg/redisx"
)

// Role is a running process role.
type Role interface {
	// Start brings the role up and returns; work continues in the background.
	Start(ctx context.Context) error
	// Stop stops intake, finishes or hands back in-flight work, releases resources.
	Stop(ctx context.Context) error
	// Check verifies the dependencies (--check and the deploy smoke test).
	Check(ctx context.Context) error
	// Failed delivers a fatal runtime error, if one happens.
	Failed() <-chan error
}

// Exit codes.
const (
	ExitOK     = 0
	ExitFail   = 1
	ExitConfig = 2
)

// StopTimeout bounds a graceful stop; systemd and the brief allow 10 s.
const StopTimeout = 9 * time.Second

// Main is the command-line program of one role.
type Main struct {
	Role       config.Role
	ConfigPath string
	CheckOnly  bool
	InitSheets bool              // --init-sheets: create missing sheets and header cells, then exit (initsheets.go)
	Env        map[string]string // nil: process environment
	Stdout     io.Writer
	Stderr     io.Writer

	Config *config.Config
	Logger *slog.Logger
	role   Role
}

// NewMain returns a Main for role writing to the process's stdout/stderr.
func NewMain(role config.Role) *Main {
	return &Main{Role: role, Stdout: os.Stdout, Stderr: os.Stderr}
}

// ParseFlags reads --config and --check.
func (m *Main) ParseFlags(args []string) error {
	fs := flag.NewFlagSet("marketingbot-"+string(m.Role), flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.StringVar(&m.ConfigPath, "config", defaultConfigPath(), "path of the YAML configuration file")
	fs.BoolVar(&m.CheckOnly, "check", false, "validate the configuration, check the dependencies, print a verdict and exit 0 (ok) or 1")
	fs.BoolVar(&m.InitSheets, "init-sheets", false, "worker, poller: add missing sheets and header cells to the spreadsheet (never touching data), print what was done and exit")
	return fs.Parse(args)
}

func defaultConfigPath() string {
	if p := os.Getenv(config.EnvPrefix + "_CONFIG"); p != "" {
		return p
	}
	if _, err := os.Stat("configs/config.yaml"); err == nil {
		return "configs/config.yaml"
	}
	return ""
}

// Load reads and validates the configuration and builds the logger.
func (m *Main) Load() error {
	cfg, err := config.LoadFor(m.Role, config.Options{File: m.ConfigPath, Env: m.Env})
	if err != nil {
		return err
	}
	m.Config = cfg
	m.Logger = obs.NewLogger(m.Stdout, cfg.Log.Level, cfg.Log.Format).With("role", string(m.Role))
	redisx.QuietLogs(m.Logger)
	return nil
}

// Run loads the configuration and starts the role.
func (m *Main) Run(ctx context.Context) error {
	if err := m.Load(); err != nil {
		return err
	}
	role, err := NewRole(m.Role, m.Config, m.Logger)
	if err != nil {
		return err
	}
	if err := role.Start(ctx); err != nil {
		_ = role.Stop(context.Background())
		return err
	}
	m.role = role
	m.Logger.Info("started", "config", m.Config.File)
	return nil
}

// Failed reports a fatal runtime error of the running role.
func (m *Main) Failed() <-chan error {
	if m.role == nil {
		return nil
	}
	return m.role.Failed()
}

// Close stops the role within ctx.
func (m *Main) Close(ctx context.Context) error {
	if m.role == nil {
		return nil
	}
	err := m.role.Stop(ctx)
	m.Logger.Info("stopped", "err", err)
	return err
}

// Check validates the configuration and the dependencies and prints one
// line: OK, or FAIL with every problem found ("FAIL worker: gemini: …;
// sheets: …"; see check.go).
func (m *Main) Check(ctx context.Context) int {
	fail := func(err error) int {
		fmt.Fprintf(m.Stdout, "FAIL %s: %s\n", m.Role, oneLine(err.Error()))
		return ExitFail
	}
	if err := m.Load(); err != nil {
		return fail(err)
	}
	m.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	redisx.QuietLogs(m.Logger)
	role, err := NewRole(m.Role, m.Config, m.Logger)
	if err != nil {
		return fail(err)
	}
	defer role.Stop(context.Background())
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := role.Check(ctx); err != nil {
		return fail(err)
	}
	fmt.Fprintf(m.Stdout, "OK %s: configuration valid, dependencies reachable\n", m.Role)
	return ExitOK
}

// NewRole builds the role named by r.
func NewRole(r config.Role, cfg *config.Config, log *slog.Logger) (Role, error) {
	switch r {
	case config.RoleBot:
		return NewBot(cfg, log, BotOptions{})
	case config.RoleWorker:
		return NewWorker(cfg, log, WorkerOptions{})
	case config.RolePoller:
		return NewPoller(cfg, log, PollerOptions{})
	}
	return nil, fmt.Errorf("app: unknown role %q", r)
}

// Execute is the whole life of a role process: flags, config, start, wait for
// SIGINT/SIGTERM (or a fatal error), graceful stop. It returns the exit code.
func Execute(role config.Role, args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	m := NewMain(role)
	if err := m.ParseFlags(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitConfig
	}
	if m.CheckOnly {
		return m.Check(ctx)
	}
	if m.InitSheets {
		return m.RunInitSheets(ctx)
	}
	if err := m.Run(ctx); err != nil {
		fmt.Fprintln(m.Stderr, err.Error())
		var cerr *config.Error
		if errors.As(err, &cerr) {
			return ExitConfig
		}
		return ExitFail
	}
	notifyReady(m.Logger)
	stopWatchdog := startWatchdog(ctx, m.Logger)
	code := ExitOK
	select {
	case <-ctx.Done():
	case err := <-m.Failed():
		m.Logger.Error("fatal", "err", err)
		code = ExitFail
	}
	stop() // a second signal now kills the process the default way
	stopWatchdog()
	notifyStopping()
	closeCtx, cancel := context.WithTimeout(context.Background(), StopTimeout)
	defer cancel()
	if err := m.Close(closeCtx); err != nil {
		code = ExitFail
	}
	return code
}

func fileMissing(path string) bool {
	_, err := os.Stat(path)
	return path == "" || errors.Is(err, os.ErrNotExist)
}
