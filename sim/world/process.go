package world

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"marketingbot/sim/testutil"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// Binaries builds cmd/bot, cmd/worker and cmd/poller once per test binary
// (with -race when the tests run with it) and returns their folder.
func Binaries(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		var root string
		if root, buildErr = testutil.ModuleRoot(); buildErr != nil {
			return
		}
		binDir, buildErr = os.MkdirTemp("", "marketingbot-e2e-bin-")
		if buildErr != nil {
			return
		}
		args := []string{"build", "-o", binDir + string(os.PathSeparator)}
		if raceEnabled {
			args = append(args, "-race")
		}
		args = append(args, "./cmd/bot", "./cmd/worker", "./cmd/poller")
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out.String())
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

// Proc is a role running as its own OS process.
type Proc struct {
	Role string
	cmd  *exec.Cmd
	out  *testutil.SyncBuffer
	done chan struct{}
	err  error
}

// StartProcess runs a role binary with this environment's configuration;
// extra are additional KEY=VALUE settings. It is killed at cleanup.
func (e *Env) StartProcess(role string, extra ...string) *Proc {
	e.T.Helper()
	bin := filepath.Join(Binaries(e.T), role)
	cmd := exec.Command(bin, "--config", e.ConfigPath)
	cmd.Env = append(append(os.Environ(), e.Env()...), extra...)
	p := &Proc{Role: role, cmd: cmd, out: &testutil.SyncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		e.T.Fatalf("start %s: %v", role, err)
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	e.T.Cleanup(func() {
		p.Kill()
		if e.T.Failed() {
			e.T.Logf("%s output:\n%s", role, tail(p.out.String(), 4000))
		}
	})
	return p
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// Kill is kill -9.
func (p *Proc) Kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Freeze stops the process where it is (SIGSTOP); Thaw lets it go on.
func (p *Proc) Freeze() error { return p.cmd.Process.Signal(syscall.SIGSTOP) }

// Thaw resumes a frozen process (SIGCONT).
func (p *Proc) Thaw() error { return p.cmd.Process.Signal(syscall.SIGCONT) }

// Terminate sends SIGTERM and waits up to timeout; it returns how long the
// process took to exit and its exit code (-1 if it had to be killed).
func (p *Proc) Terminate(timeout time.Duration) (time.Duration, int) {
	start := time.Now()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return time.Since(start), p.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		p.Kill()
		return time.Since(start), -1
	}
}

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Output is what the process printed so far.
func (p *Proc) Output() string { return p.out.String() }
