// Package testutil holds helpers shared by tests: private redis-server
// processes (so that parallel test packages never see each other's asynq
// queues, and fault tests can stop "Redis" without touching the machine's
// one), free ports and polling helpers.
package testutil

import (
	"context"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a redis-server child process owned by one test.
type Redis struct {
	Port int
	dir  string
	mu   sync.Mutex
	cmd  *exec.Cmd
	t    testing.TB
}

// StartRedis starts a private redis-server on a free port; it is killed when
// the test ends. It fails the test when redis-server is not installed
// (.ci/run installs it).
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server is not installed (apt-get install redis-server; .ci/run does it): %v", err)
	}
	r := &Redis{Port: FreePort(t), dir: t.TempDir(), t: t}
	r.Start()
	t.Cleanup(r.Stop)
	return r
}

// Addr is host:port.
func (r *Redis) Addr() string { return "127.0.0.1:" + strconv.Itoa(r.Port) }

// URL is the redis:// URL for config.
func (r *Redis) URL() string { return "redis://" + r.Addr() + "/0" }

// Client returns a go-redis client closed at cleanup.
func (r *Redis) Client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: r.Addr()})
	r.t.Cleanup(func() { c.Close() })
	return c
}

// Start (re)starts the server on the same port and waits until it answers.
func (r *Redis) Start() {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil {
		return
	}
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(r.Port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.dir, "--logfile", filepath.Join(r.dir, "redis.log"))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		r.t.Fatalf("start redis-server: %v", err)
	}
	r.cmd = cmd
	deadline := time.Now().Add(10 * time.Second)
	for {
		c := redis.NewClient(&redis.Options{Addr: r.Addr(), DialTimeout: 200 * time.Millisecond})
		err := c.Ping(context.Background()).Err()
		c.Close()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("redis-server on %s did not answer: %v", r.Addr(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the server (data is lost: it persists nothing).
func (r *Redis) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_, _ = r.cmd.Process.Wait()
	r.cmd = nil
}

// FreePort reserves a TCP port for the rest of the test, for servers that
// must be told their port before they start (a redis-server that is stopped
// and restarted on the same port, a role process started with its HTTP
// address).
//
// Asking the kernel for port 0 and closing the listener is not enough: such a
// port comes from the ephemeral range, which every outgoing connection of
// every process on the machine draws from too, so another test's client
// socket can take it before our server binds it ("address already in use").
// Ports are therefore taken below (or above) the ephemeral range, where only
// explicit binds land, and reserved across test processes (go test runs
// packages in parallel) with an exclusive lock on a file per port, held until
// the test ends.
func FreePort(t testing.TB) int {
	t.Helper()
	lo, hi := reservableRange()
	dir := filepath.Join(os.TempDir(), "marketingbot-test-ports")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("free port: %v", err)
	}
	for range 1000 {
		port := lo + rand.IntN(hi-lo)
		f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(port)), os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			t.Fatalf("free port: %v", err)
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
			f.Close() // another test holds it
			continue
		}
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			f.Close() // something outside the tests listens there
			continue
		}
		ln.Close()
		t.Cleanup(func() { f.Close() }) // closing releases the lock
		return port
	}
	t.Fatalf("free port: no free port in %d-%d after 1000 tries", lo, hi)
	return 0
}

// reservableRange is a port range outside the kernel's ephemeral one
// (net.ipv4.ip_local_port_range, 32768-60999 by default).
func reservableRange() (lo, hi int) {
	elo, ehi := 32768, 60999
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if a, err1 := strconv.Atoi(f[0]); err1 == nil {
				if z, err2 := strconv.Atoi(f[1]); err2 == nil {
					elo, ehi = a, z
				}
			}
		}
	}
	if elo-1-20000 >= 2000 {
		return 20000, elo - 1 // the usual case: 20000-32767
	}
	if 65535-ehi >= 2000 {
		return ehi + 1, 65535
	}
	return 10000, elo - 1
}

// Eventually polls cond until it is true or the timeout passes.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
