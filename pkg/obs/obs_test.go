package obs_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"marketingbot/pkg/obs"
)

func newServer(addr string) *obs.Server {
	return obs.NewServer(addr, prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// A listener handed over with UseListener is what the server serves on; the
// configured address is not listened on.
func TestUseListenerServesOnTheGivenListener(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := newServer("256.0.0.1:1") // unusable: listening on it would fail
	s.UseListener(ln)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	if s.Addr() != ln.Addr().String() {
		t.Fatalf("Addr() = %s, want %s", s.Addr(), ln.Addr())
	}
	resp, err := http.Get("http://" + s.Addr() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: %s", resp.Status)
	}
}

// A server that was handed a listener but never started closes it on
// Shutdown: the port is not held after a failed start.
func TestShutdownClosesAnUnservedListener(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := newServer("127.0.0.1:0")
	s.UseListener(ln)
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Shutdown: %v, want net.ErrClosed", err)
	}
}

// Start without a listener listens on the configured address.
func TestStartListensOnTheAddress(t *testing.T) {
	t.Parallel()
	s := newServer("127.0.0.1:0")
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	if _, port, _ := net.SplitHostPort(s.Addr()); port == "0" || port == "" {
		t.Fatalf("Addr() = %s, want the bound port", s.Addr())
	}
}
