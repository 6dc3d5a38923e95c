// Package obs is what every role exposes to operations: structured logging
// (log/slog, JSON to stdout for journald), Prometheus metrics on a private
// registry, and an HTTP server with /healthz (the process is alive), /readyz
// (its dependencies answer) and /metrics.
package obs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every metric name.
const Namespace = "marketingbot"

// NewLogger builds the process logger. level is debug|info|warn|error, format json|text.
func NewLogger(w io.Writer, level, format string) *slog.Logger {
	var lv slog.Level
	switch strings.ToLower(level) {
	case "debug":
		lv = slog.LevelDebug
	case "warn":
		lv = slog.LevelWarn
	case "error":
		lv = slog.LevelError
	default:
		lv = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lv}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// NewRegistry returns a registry with the Go and process collectors. Each
// role (and each in-process role in tests) has its own: no global state.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Check is a readiness probe: nil means ready.
type Check func(ctx context.Context) error

// Server serves health, readiness, metrics and whatever else a role mounts.
type Server struct {
	Mux    *http.ServeMux
	addr   string
	log    *slog.Logger
	srv    *http.Server
	ln     net.Listener
	mu     sync.Mutex
	checks map[string]Check
}

// NewServer prepares a server on addr with /healthz, /readyz and /metrics.
func NewServer(addr string, reg *prometheus.Registry, log *slog.Logger) *Server {
	s := &Server{Mux: http.NewServeMux(), addr: addr, log: log, checks: map[string]Check{}}
	s.Mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	s.Mux.HandleFunc("GET /readyz", s.ready)
	s.Mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	return s
}

// EnablePprof mounts /debug/pprof: profiling the roles under load is part of
// operating them. Only for private addresses (worker, poller), never the
// bot's public one.
func (s *Server) EnablePprof() {
	s.Mux.HandleFunc("/debug/pprof/", pprof.Index)
	s.Mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	s.Mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	s.Mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
}

// AddCheck registers a readiness check.
func (s *Server) AddCheck(name string, c Check) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks[name] = c
}

// Ready runs every check; the first failure is returned with its name.
func (s *Server) Ready(ctx context.Context) error {
	s.mu.Lock()
	checks := make(map[string]Check, len(s.checks))
	for k, v := range s.checks {
		checks[k] = v
	}
	s.mu.Unlock()
	var errs []error
	for name, c := range checks {
		if err := c(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := s.Ready(ctx); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "not ready: %v\n", err)
		return
	}
	io.WriteString(w, "ready\n")
}

// UseListener makes Start serve on ln, already bound, instead of listening
// on the configured address. For a host that must know the address before
// the role's configuration is written (the sandbox puts the bot's address
// into its Mini App URL) and keeps the port from being taken meanwhile.
func (s *Server) UseListener(ln net.Listener) { s.ln = ln }

// Start listens (unless UseListener gave a listener) and serves in the
// background. The bound address (useful with port 0) is returned by Addr.
func (s *Server) Start() error {
	if s.ln == nil {
		ln, err := net.Listen("tcp", s.addr)
		if err != nil {
			return fmt.Errorf("http: listen %s: %w", s.addr, err)
		}
		s.ln = ln
	}
	ln := s.ln
	s.srv = &http.Server{Handler: s.Mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server stopped", "err", err)
		}
	}()
	return nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string {
	if s.ln == nil {
		return s.addr
	}
	return s.ln.Addr().String()
}

// Shutdown stops accepting requests and waits for in-flight ones.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.srv == nil {
		if s.ln != nil { // given by UseListener, never served
			_ = s.ln.Close()
		}
		return nil
	}
	return s.srv.Shutdown(ctx)
}
