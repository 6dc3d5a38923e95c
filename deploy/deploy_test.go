package deploy_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sandbox is a server layout in a temporary directory: base (the stand-in for
// /home/marketing) with shared/, a fake systemctl that records its calls and
// "runs" units by remembering which binary current pointed at, and an
// httptest server answering each unit's /readyz the way that binary says.
type sandbox struct {
	t      *testing.T
	base   string
	shared string
	state  string // fake systemctl's state and logs
	tools  string // fake systemctl, fake go
	ready  *httptest.Server
	env    []string
	builds int
}

const fakeSystemctl = `#!/usr/bin/env bash
# Fake systemctl for the deploy tests. It logs every call, lists the worker
# instances named in $state/workers, and on restart records which binary each
# unit would now run. A file $state/fail-restart-<unit> holding a release name
# makes restarting that unit fail while current points at that release.
set -u
state=@STATE@
base=@BASE@
printf '%s\n' "$*" >>"$state/systemctl.log"
case "${1:-}" in
list-units)
	if [ -f "$state/workers" ]; then
		while read -r w; do
			[ -n "$w" ] && printf 'marketingbot-worker@%s.service loaded active running MarketingBot worker %s\n' "$w" "$w"
		done <"$state/workers"
	fi
	# A stopped instance systemd still knows about: it must not be restarted.
	printf 'marketingbot-worker@09.service loaded inactive dead MarketingBot worker 09\n'
	;;
restart)
	shift
	cur=$(basename "$(readlink "$base/current")")
	for u in "$@"; do
		if [ -f "$state/fail-restart-$u" ] && [ "$(cat "$state/fail-restart-$u")" = "$cur" ]; then
			echo "Job for $u failed because the control process exited with error code." >&2
			exit 1
		fi
	done
	for u in "$@"; do
		case $u in
		marketingbot-worker@*.service) role=worker ;;
		marketingbot-bot.service) role=bot ;;
		marketingbot-poller.service) role=poller ;;
		*) echo "Unit $u not found." >&2; exit 5 ;;
		esac
		readlink -f "$base/current/bin/$role" >"$state/running-$u"
		printf '%s %s\n' "$u" "$cur" >>"$state/restarts.log"
	done
	;;
*)
	echo "fake systemctl: unexpected call: $*" >&2
	exit 1
	;;
esac
`

// fakeRole is a role binary: --check answers as told (and logs its arguments),
// and the readiness endpoint reads the "ready=" marker of the binary a unit runs.
const fakeRole = `#!/bin/sh
# fake marketingbot @ROLE@ build @BUILD@: check=@CHECK@ ready=@READY@
if [ "${1:-}" = "--check" ]; then
	echo "@ROLE@ $*" >>@STATE@/checks.log
	if [ "@CHECK@" = ok ]; then
		echo "OK @ROLE@: configuration valid, dependencies reachable"
		exit 0
	fi
	echo "FAIL @ROLE@: redis: dial tcp 127.0.0.1:6379: connect: connection refused"
	exit 1
fi
exit 0
`

func newSandbox(t *testing.T, workers ...string) *sandbox {
	t.Helper()
	if testing.Short() {
		t.Skip("runs deploy.sh/rollback.sh end to end; the full suite (make test) does, -short does not")
	}
	needTools(t, "bash", "flock", "curl", "timeout", "sha256sum")
	root := t.TempDir()
	s := &sandbox{
		t:      t,
		base:   filepath.Join(root, "home", "marketing"),
		state:  filepath.Join(root, "state"),
		tools:  filepath.Join(root, "tools"),
		shared: filepath.Join(root, "home", "marketing", "shared"),
	}
	for _, d := range []string{s.shared, s.state, s.tools} {
		mustMkdir(t, d)
	}
	writeFile(t, filepath.Join(s.shared, "config.yaml"), "log:\n  level: info\n", 0o600)
	writeFile(t, filepath.Join(s.shared, ".env"), "MARKETINGBOT_TELEGRAM_TOKEN=123:secret\n", 0o600)
	writeFile(t, filepath.Join(s.shared, "credentials.json"), `{"type":"service_account"}`, 0o600)
	writeFile(t, filepath.Join(s.state, "workers"), strings.Join(workers, "\n")+"\n", 0o644)
	writeFile(t, filepath.Join(s.tools, "systemctl"),
		strings.NewReplacer("@STATE@", shellQuote(s.state), "@BASE@", shellQuote(s.base)).Replace(fakeSystemctl), 0o755)

	s.ready = httptest.NewServer(http.HandlerFunc(s.serveReady))
	t.Cleanup(s.ready.Close)
	s.env = append(os.Environ(),
		"MARKETINGBOT_BASE="+s.base,
		"SYSTEMCTL="+filepath.Join(s.tools, "systemctl"),
		"READY_URL_BOT="+s.ready.URL+"/readyz/marketingbot-bot.service",
		"READY_URL_POLLER="+s.ready.URL+"/readyz/marketingbot-poller.service",
		"READY_URL_WORKER="+s.ready.URL+"/readyz/marketingbot-worker@%i.service",
		"READY_TIMEOUT=1",
		"READY_INTERVAL=0.05",
		"SMOKE_TIMEOUT=10",
		"FETCH=0",
		"REPO="+filepath.Join(root, "no-repo"),
		"HOME="+root,
		"TMPDIR="+root,
		"KEEP_RELEASES=5",
		"WORKERS=", // discover through the fake systemctl unless a test says otherwise
	)
	return s
}

// serveReady answers /readyz/<unit> like the process the unit runs would.
func (s *sandbox) serveReady(w http.ResponseWriter, r *http.Request) {
	unit := strings.TrimPrefix(r.URL.Path, "/readyz/")
	bin, err := os.ReadFile(filepath.Join(s.state, "running-"+filepath.Base(unit)))
	if err != nil {
		http.Error(w, "not ready: not running", http.StatusServiceUnavailable)
		return
	}
	code, err := os.ReadFile(strings.TrimSpace(string(bin)))
	if err != nil || !bytes.Contains(code, []byte("ready=yes")) {
		http.Error(w, "not ready: sheets: quota probe failed", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ready")
}

// roles writes a directory of fake role binaries and returns it. Each call
// makes distinct binaries, so releases named by content differ.
func (s *sandbox) roles(check map[string]string, ready bool) string {
	s.t.Helper()
	s.builds++
	dir := filepath.Join(s.state, fmt.Sprintf("build-%d", s.builds))
	mustMkdir(s.t, dir)
	for _, role := range []string{"bot", "worker", "poller"} {
		c := check[role]
		if c == "" {
			c = "ok"
		}
		writeFile(s.t, filepath.Join(dir, role), fakeRoleScript(role, s.state, s.builds, c, ready), 0o755)
	}
	return dir
}

func fakeRoleScript(role, state string, build int, check string, ready bool) string {
	r := "no"
	if ready {
		r = "yes"
	}
	return strings.NewReplacer("@ROLE@", role, "@BUILD@", fmt.Sprint(build), "@CHECK@", check,
		"@READY@", r, "@STATE@", shellQuote(state)).Replace(fakeRole)
}

type result struct {
	out      string
	err      error
	duration time.Duration
}

func (r result) failed() bool { return r.err != nil }

// run runs one of the scripts with the sandbox's environment plus env.
func (s *sandbox) run(script string, env []string, args ...string) result {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{script}, args...)...)
	cmd.Env = append(slices.Clone(s.env), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	res := result{out: out.String(), err: err, duration: time.Since(start)}
	if ctx.Err() != nil {
		s.t.Fatalf("%s %v did not finish in time:\n%s", script, args, res.out)
	}
	return res
}

// deploy releases fake binaries at the given timestamp and expects success.
func (s *sandbox) deploy(stamp string, env ...string) string {
	s.t.Helper()
	res := s.run("./deploy.sh", append([]string{"RELEASE_TIMESTAMP=" + stamp}, env...),
		"--binaries", s.roles(nil, true))
	if res.failed() {
		s.t.Fatalf("deploy at %s: %v\n%s", stamp, res.err, res.out)
	}
	return s.current()
}

func (s *sandbox) current() string {
	s.t.Helper()
	target, err := os.Readlink(filepath.Join(s.base, "current"))
	if errors.Is(err, os.ErrNotExist) {
		return ""
	}
	if err != nil {
		s.t.Fatal(err)
	}
	return filepath.Base(target)
}

func (s *sandbox) releases() []string {
	s.t.Helper()
	entries, err := os.ReadDir(filepath.Join(s.base, "releases"))
	if err != nil {
		s.t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// restarts returns "unit release" lines: which unit was (re)started onto
// which release, in order.
func (s *sandbox) restarts() []string { return s.lines("restarts.log") }

// systemctlCalls returns the restart invocations, one string per call.
func (s *sandbox) systemctlCalls() []string {
	var calls []string
	for _, l := range s.lines("systemctl.log") {
		if strings.HasPrefix(l, "restart ") {
			calls = append(calls, l)
		}
	}
	return calls
}

func (s *sandbox) lines(name string) []string {
	s.t.Helper()
	b, err := os.ReadFile(filepath.Join(s.state, name))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		s.t.Fatal(err)
	}
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}

// resetLogs forgets earlier calls so a test looks at one run only.
func (s *sandbox) resetLogs() {
	for _, name := range []string{"systemctl.log", "restarts.log", "checks.log"} {
		_ = os.Remove(filepath.Join(s.state, name))
	}
}

// running reports which release each unit runs now.
func (s *sandbox) running(unit string) string {
	s.t.Helper()
	b, err := os.ReadFile(filepath.Join(s.state, "running-"+unit))
	if err != nil {
		s.t.Fatalf("%s never started: %v", unit, err)
	}
	// .../releases/<name>/bin/<role>
	return filepath.Base(filepath.Dir(filepath.Dir(strings.TrimSpace(string(b)))))
}

var releaseName = regexp.MustCompile(`^\d{8}_\d{6}_[0-9a-f]{12}$`)

func TestDeploy(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, "01", "02", "03")
	first := s.deploy("20260101_100000")
	s.resetLogs()
	second := s.deploy("20260101_110000")

	for _, name := range []string{first, second} {
		if !releaseName.MatchString(name) {
			t.Errorf("release name %q does not look like YYYYMMDD_HHMMSS_<hash>", name)
		}
	}
	if !strings.HasPrefix(second, "20260101_110000_") || first == second {
		t.Fatalf("current = %s after deploying over %s", second, first)
	}
	rel := filepath.Join(s.base, "releases", second)
	for _, f := range []string{"config.yaml", ".env", "credentials.json"} {
		target, err := os.Readlink(filepath.Join(rel, f))
		if err != nil || target != filepath.Join(s.shared, f) {
			t.Errorf("%s in the release: link to %q (%v), want %s", f, target, err, filepath.Join(s.shared, f))
		}
	}
	if b, err := os.ReadFile(filepath.Join(rel, "REVISION")); err != nil || !strings.Contains(string(b), "release="+second) {
		t.Errorf("REVISION: %q, %v", b, err)
	}
	if slices.ContainsFunc(s.releases(), func(n string) bool { return strings.HasPrefix(n, ".") }) {
		t.Errorf("staging left behind: %v", s.releases())
	}

	wantChecks := []string{"bot", "worker", "poller"}
	checks := s.lines("checks.log")
	if len(checks) != len(wantChecks) {
		t.Fatalf("smoke test ran %d checks, want %d: %q", len(checks), len(wantChecks), checks)
	}
	for i, role := range wantChecks {
		want := role + " --check --config " + filepath.Join(s.shared, "config.yaml")
		if checks[i] != want {
			t.Errorf("check %d = %q, want %q", i, checks[i], want)
		}
	}

	// Workers one per systemctl call (the others keep working), then the
	// poller, the bot last; the stopped worker@09 is left alone.
	wantCalls := []string{
		"restart marketingbot-worker@01.service",
		"restart marketingbot-worker@02.service",
		"restart marketingbot-worker@03.service",
		"restart marketingbot-poller.service",
		"restart marketingbot-bot.service",
	}
	if got := s.systemctlCalls(); !slices.Equal(got, wantCalls) {
		t.Errorf("systemctl restarts:\n got %q\nwant %q", got, wantCalls)
	}
	for _, unit := range []string{"marketingbot-worker@01.service", "marketingbot-bot.service", "marketingbot-poller.service"} {
		if got := s.running(unit); got != second {
			t.Errorf("%s runs %s, want %s", unit, got, second)
		}
	}
}

func TestDeployBuildsFromGit(t *testing.T) {
	t.Parallel()
	needTools(t, "git", "tar")
	s := newSandbox(t, "01")
	g := newGitFixture(t, s)
	v1 := g.commit(1)
	g.clone()
	v2 := g.commit(2) // only in origin: the deploy must fetch it
	writeFakeGo(t, s)
	env := append(slices.Clone(g.env), "REPO="+g.repo, "GO="+filepath.Join(s.tools, "go"), "FETCH=1")

	tests := []struct {
		ref, stamp, want string
		build            int
	}{
		{ref: "main", stamp: "20260102_100000", want: v2, build: 102},
		{ref: v1[:10], stamp: "20260102_110000", want: v1, build: 101},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			res := s.run("./deploy.sh", append(slices.Clone(env), "RELEASE_TIMESTAMP="+tt.stamp), tt.ref)
			if res.failed() {
				t.Fatalf("deploy %s: %v\n%s", tt.ref, res.err, res.out)
			}
			cur := s.current()
			if want := tt.stamp + "_" + tt.want[:12]; cur != want {
				t.Fatalf("current = %s, want %s", cur, want)
			}
			rel := filepath.Join(s.base, "releases", cur)
			bin, err := os.ReadFile(filepath.Join(rel, "bin", "worker"))
			if err != nil || !strings.Contains(string(bin), fmt.Sprintf("build %d:", tt.build)) {
				t.Errorf("bin/worker is not the commit's build %d: %q %v", tt.build, bin, err)
			}
			if rev, _ := os.ReadFile(filepath.Join(rel, "REVISION")); !strings.Contains(string(rev), "commit="+tt.want) {
				t.Errorf("REVISION = %q, want commit=%s", rev, tt.want)
			}
			if _, err := os.Stat(filepath.Join(rel, "configs", "messages.ru.yaml")); err != nil {
				t.Errorf("the commit's configs/ are not in the release: %v", err)
			}
		})
	}
	calls := s.lines("go.log")
	if len(calls) != len(tests) {
		t.Fatalf("go called %d times, want %d: %q", len(calls), len(tests), calls)
	}
	for _, c := range calls {
		for _, want := range []string{"CGO_ENABLED=0", "pwd_has_cmd=yes", "build -trimpath", " -o ", "./cmd/bot ./cmd/worker ./cmd/poller"} {
			if !strings.Contains(c, want) {
				t.Errorf("go call %q lacks %q", c, want)
			}
		}
	}
	if res := s.run("./deploy.sh", env, "no-such-branch"); !res.failed() || !strings.Contains(res.out, "is not a commit") {
		t.Errorf("deploy of an unknown ref: err %v\n%s", res.err, res.out)
	}
}

// gitFixture is an origin repository of fake roles and a clone of it, the
// REPO a deploy builds from.
type gitFixture struct {
	t            *testing.T
	s            *sandbox
	origin, repo string
	env          []string // git's environment: no user or system configuration
}

func newGitFixture(t *testing.T, s *sandbox) *gitFixture {
	root := t.TempDir()
	g := &gitFixture{t: t, s: s, origin: filepath.Join(root, "origin"), repo: filepath.Join(root, "repo"),
		env: []string{"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "HOME=" + root,
			"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com"}}
	mustMkdir(t, g.origin)
	g.git(g.origin, "init", "-q", "-b", "main")
	return g
}

func (g *gitFixture) git(dir string, args ...string) string {
	g.t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), g.env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		g.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit writes the source of the fake roles for one version and commits it.
func (g *gitFixture) commit(version int) string {
	for _, role := range []string{"bot", "worker", "poller"} {
		writeFile(g.t, filepath.Join(g.origin, "cmd", role, "role.sh"), fakeRoleScript(role, g.s.state, 100+version, "ok", true), 0o755)
	}
	writeFile(g.t, filepath.Join(g.origin, "configs", "messages.ru.yaml"), fmt.Sprintf("version: %d\n", version), 0o644)
	g.git(g.origin, "add", "-A")
	g.git(g.origin, "commit", "-q", "-m", fmt.Sprintf("version %d", version))
	return g.git(g.origin, "rev-parse", "HEAD")
}

func (g *gitFixture) clone() {
	cloneCmd := exec.Command("git", "clone", "-q", g.origin, g.repo)
	cloneCmd.Env = append(os.Environ(), g.env...)
	if out, err := cloneCmd.CombinedOutput(); err != nil {
		g.t.Fatalf("git clone: %v\n%s", err, out)
	}
}

// writeFakeGo installs the sandbox's stand-in for go.
func writeFakeGo(t *testing.T, s *sandbox) {
	// A stand-in for go: "builds" ./cmd/<role> by copying its role.sh, and
	// logs how it was called.
	goLog := filepath.Join(s.state, "go.log")
	writeFile(t, filepath.Join(s.tools, "go"), `#!/usr/bin/env bash
set -eu
echo "CGO_ENABLED=${CGO_ENABLED:-unset} pwd_has_cmd=$([ -d cmd ] && echo yes || echo no) $*" >>`+shellQuote(goLog)+`
out=""; pkgs=()
shift # build
while (($#)); do
	case $1 in
	-o) out=$2; shift 2 ;;
	-*) shift ;;
	*) pkgs+=("$1"); shift ;;
	esac
done
for p in "${pkgs[@]}"; do cp "$p/role.sh" "$out/$(basename "$p")"; chmod +x "$out/$(basename "$p")"; done
`, 0o755)
}

func TestDeployFailures(t *testing.T) {
	t.Parallel()
	for _, tt := range deployFailures {
		t.Run(tt.name, func(t *testing.T) { checkDeployFailure(t, tt) })
	}
}

// deployFailure is a deploy that fails and what it must leave.
type deployFailure struct {
	name string
	// setup prepares the sandbox and returns the --binaries directory.
	setup       func(s *sandbox, stamp string) string
	skipFirst   bool   // no release before this deploy
	wantOut     string // in the output
	rollback    bool   // the release went live and was rolled back
	wantRelease bool   // the failed release stays (marked FAILED)
}

// deployFailures are the ways a deploy fails.
var deployFailures = []deployFailure{
	{
		name:    "smoke test fails",
		setup:   func(s *sandbox, _ string) string { return s.roles(map[string]string{"worker": "fail"}, true) },
		wantOut: "smoke test failed: worker --check exited 1: FAIL worker: redis",
	},
	{
		name:        "not ready after restart",
		setup:       func(s *sandbox, _ string) string { return s.roles(nil, false) },
		wantOut:     "rolled back to ",
		rollback:    true,
		wantRelease: true,
	},
	{
		name: "bot restart fails",
		setup: func(s *sandbox, stamp string) string {
			dir := s.roles(nil, true)
			// The release name is stamp + content hash; fail the bot only on it.
			name := stamp + "_" + sha256Prefix(s.t, dir)
			writeFile(s.t, filepath.Join(s.state, "fail-restart-marketingbot-bot.service"), name+"\n", 0o644)
			return dir
		},
		wantOut:     "restart marketingbot-bot.service failed",
		rollback:    true,
		wantRelease: true,
	},
	{
		name:        "first release not ready",
		setup:       func(s *sandbox, _ string) string { return s.roles(nil, false) },
		skipFirst:   true,
		wantOut:     "no previous release to return to",
		wantRelease: true,
	},
}

// checkDeployFailure runs one of deployFailures.
func checkDeployFailure(t *testing.T, tt deployFailure) {
	t.Parallel()
	s := newSandbox(t, "01", "02")
	old := ""
	if !tt.skipFirst {
		old = s.deploy("20260103_100000")
	}
	s.resetLogs()
	const stamp = "20260103_110000"
	res := s.run("./deploy.sh", []string{"RELEASE_TIMESTAMP=" + stamp}, "--binaries", tt.setup(s, stamp))
	if !res.failed() {
		t.Fatalf("deploy succeeded:\n%s", res.out)
	}
	if !strings.Contains(res.out, tt.wantOut) || !strings.Contains(res.out, "==> FAILED") {
		t.Errorf("output lacks %q:\n%s", tt.wantOut, res.out)
	}
	if !tt.skipFirst && s.current() != old {
		t.Errorf("current = %s, want the old release %s", s.current(), old)
	}
	var failed string
	for _, r := range s.releases() {
		if strings.HasPrefix(r, stamp) {
			failed = r
		}
	}
	if tt.wantRelease != (failed != "") {
		t.Fatalf("releases %v: failed release kept = %v, want %v", s.releases(), failed != "", tt.wantRelease)
	}
	if failed != "" {
		if _, err := os.Stat(filepath.Join(s.base, "releases", failed, "FAILED")); err != nil {
			t.Errorf("failed release %s is not marked: %v", failed, err)
		}
	}
	if tt.wantRelease && tt.skipFirst && s.current() != failed {
		t.Errorf("current = %s, want the only release %s", s.current(), failed)
	}
	restarts := s.restarts()
	if !tt.wantRelease && len(s.systemctlCalls()) != 0 {
		t.Errorf("restarts after a failed smoke test: %q", s.systemctlCalls())
	}
	if tt.rollback {
		// The new release went live on part of the fleet, then every
		// role went back to the old one; the bot ends on the old release.
		if len(restarts) == 0 || !strings.HasSuffix(restarts[0], " "+failed) {
			t.Errorf("the new release never started: %q", restarts)
		}
		for _, unit := range []string{"marketingbot-worker@01.service", "marketingbot-worker@02.service", "marketingbot-poller.service", "marketingbot-bot.service"} {
			if got := s.running(unit); got != old {
				t.Errorf("%s runs %s after the rollback, want %s", unit, got, old)
			}
		}
		last := s.systemctlCalls()[len(s.systemctlCalls())-1]
		if want := "restart marketingbot-worker@01.service marketingbot-worker@02.service marketingbot-poller.service marketingbot-bot.service"; last != want {
			t.Errorf("rollback restart = %q, want %q", last, want)
		}
	}
}

func TestRollback(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, "01", "02", "03")
	a := s.deploy("20260104_100000")
	b := s.deploy("20260104_110000")
	s.resetLogs()

	res := s.run("./rollback.sh", nil)
	if res.failed() {
		t.Fatalf("rollback: %v\n%s", res.err, res.out)
	}
	// Measured, not asserted (tests never assert wall-clock speed): the
	// figure goes into the release notes.
	t.Logf("rollback.sh took %v (switch + restart of 5 fake units + readiness)", res.duration)
	if s.current() != a {
		t.Fatalf("current = %s, want %s", s.current(), a)
	}
	// One systemctl call for all roles: fast, and the bot is restarted (stop,
	// then start), never run twice.
	want := []string{"restart marketingbot-worker@01.service marketingbot-worker@02.service marketingbot-worker@03.service marketingbot-poller.service marketingbot-bot.service"}
	if got := s.systemctlCalls(); !slices.Equal(got, want) {
		t.Errorf("systemctl restarts:\n got %q\nwant %q", got, want)
	}
	if got := s.running("marketingbot-bot.service"); got != a {
		t.Errorf("bot runs %s, want %s", got, a)
	}
	if res := s.run("./rollback.sh", nil); !res.failed() || !strings.Contains(res.out, "no release before "+a) {
		t.Errorf("rollback past the oldest release: %v\n%s", res.err, res.out)
	}
	if res := s.run("./rollback.sh", nil, "--to", b); res.failed() || s.current() != b {
		t.Errorf("rollback --to %s: current %s, %v\n%s", b, s.current(), res.err, res.out)
	}

	// A release that failed after going live is skipped: deploy a not-ready
	// build (rolled back automatically to b), deploy a good one, roll back.
	bad := s.run("./deploy.sh", []string{"RELEASE_TIMESTAMP=20260104_120000"}, "--binaries", s.roles(nil, false))
	if !bad.failed() || s.current() != b {
		t.Fatalf("not-ready deploy: %v, current %s\n%s", bad.err, s.current(), bad.out)
	}
	c := s.deploy("20260104_130000")
	if res := s.run("./rollback.sh", nil); res.failed() || s.current() != b {
		t.Errorf("rollback from %s: current %s, want %s (skipping the failed release)\n%s", c, s.current(), b, res.out)
	}
	list := s.run("./rollback.sh", nil, "--list")
	if list.failed() || !strings.Contains(list.out, b+" (current)") || !strings.Contains(list.out, "(FAILED: ") {
		t.Errorf("--list:\n%s", list.out)
	}
	if res := s.run("./rollback.sh", nil, "--to", "20990101_000000_nothere"); !res.failed() || !strings.Contains(res.out, "no release 20990101_000000_nothere") {
		t.Errorf("rollback --to a missing release: %v\n%s", res.err, res.out)
	}
}

func TestRollbackSmoke(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	res := s.run("./deploy.sh", []string{"RELEASE_TIMESTAMP=20260105_100000"}, "--binaries", s.roles(nil, true))
	if res.failed() || !strings.Contains(res.out, "no marketingbot-worker@ instance is running") {
		t.Fatalf("deploy without workers: %v\n%s", res.err, res.out)
	}
	a := s.current()
	// Break a's poller check after the fact (say, its config went stale):
	// --smoke refuses to switch, a plain rollback does not test.
	s.deploy("20260105_110000")
	poller := filepath.Join(s.base, "releases", a, "bin", "poller")
	writeFile(t, poller, fakeRoleScript("poller", s.state, 99, "fail", true), 0o755)
	b := s.current()
	if res := s.run("./rollback.sh", nil, "--smoke"); !res.failed() || !strings.Contains(res.out, "smoke test of "+a+" failed") || s.current() != b {
		t.Errorf("rollback --smoke onto a failing release: current %s, %v\n%s", s.current(), res.err, res.out)
	}
	if res := s.run("./rollback.sh", nil); res.failed() || s.current() != a {
		t.Errorf("rollback: current %s, %v\n%s", s.current(), res.err, res.out)
	}
	// WORKERS names the instances when systemd cannot (first start).
	s.resetLogs()
	if res := s.run("./rollback.sh", []string{"WORKERS=05 07"}, "--to", b); res.failed() {
		t.Fatalf("rollback with WORKERS: %v\n%s", res.err, res.out)
	}
	want := []string{"restart marketingbot-worker@05.service marketingbot-worker@07.service marketingbot-poller.service marketingbot-bot.service"}
	if got := s.systemctlCalls(); !slices.Equal(got, want) {
		t.Errorf("with WORKERS=\"05 07\":\n got %q\nwant %q", got, want)
	}
}

func TestDeployPrunes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		keep    int
		deploys int
		// rollbackTo, if >= 0, rolls back to that deploy (by index) before
		// the last deploy, so the previous release is an old one.
		rollbackTo int
		want       []int // indexes of the deploys left
	}{
		{name: "keep 3 of 5", keep: 3, deploys: 5, rollbackTo: -1, want: []int{2, 3, 4}},
		{name: "keep 1 still keeps previous", keep: 1, deploys: 3, rollbackTo: -1, want: []int{1, 2}},
		{name: "old previous survives", keep: 3, deploys: 5, rollbackTo: 1, want: []int{1, 3, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newSandbox(t, "01")
			keep := fmt.Sprintf("KEEP_RELEASES=%d", tt.keep)
			var names []string
			for i := range tt.deploys {
				if i == tt.deploys-1 && tt.rollbackTo >= 0 {
					if res := s.run("./rollback.sh", nil, "--to", names[tt.rollbackTo]); res.failed() {
						t.Fatalf("rollback: %v\n%s", res.err, res.out)
					}
				}
				names = append(names, s.deploy(fmt.Sprintf("20260106_1%d0000", i), keep))
			}
			var want []string
			for _, i := range tt.want {
				want = append(want, names[i])
			}
			if got := s.releases(); !slices.Equal(got, want) {
				t.Errorf("releases left:\n got %v\nwant %v", got, want)
			}
		})
	}
}

func TestConcurrentDeployRefused(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, "01")
	a := s.deploy("20260107_100000")
	s.resetLogs()

	// Hold the lock the way a running deploy does (flock(2) on the same file).
	f, err := os.OpenFile(filepath.Join(s.base, ".deploy.lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		script string
		args   []string
	}{
		{"./deploy.sh", []string{"--binaries", s.roles(nil, true)}},
		{"./rollback.sh", nil},
	}
	for _, tt := range tests {
		res := s.run(tt.script, []string{"RELEASE_TIMESTAMP=20260107_110000"}, tt.args...)
		t.Logf("%s refused after %v", tt.script, res.duration)
		if !res.failed() || !strings.Contains(res.out, "another deploy or rollback is running") {
			t.Errorf("%s while the lock is held: %v\n%s", tt.script, res.err, res.out)
		}
	}
	if s.current() != a || len(s.releases()) != 1 || len(s.systemctlCalls()) != 0 {
		t.Errorf("a refused run changed something: current %s, releases %v, restarts %q", s.current(), s.releases(), s.systemctlCalls())
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_UN); err != nil {
		t.Fatal(err)
	}
	s.deploy("20260107_120000")
}

func TestDeployRejectsBadInput(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	good := s.roles(nil, true)
	missing := t.TempDir()
	tests := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"no arguments", nil, nil, "deploy.sh COMMIT_OR_REF"},
		{"missing binaries", nil, []string{"--binaries", missing}, missing + "/bot not found"},
		{"keep zero", []string{"KEEP_RELEASES=0"}, []string{"--binaries", good}, "KEEP_RELEASES must be a positive number"},
		{"no config", []string{"CONFIG_FILE=" + filepath.Join(missing, "config.yaml")}, []string{"--binaries", good}, "config.yaml not found"},
		{"bad timestamp", []string{"RELEASE_TIMESTAMP=tomorrow"}, []string{"--binaries", good}, "RELEASE_TIMESTAMP must look like"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := s.run("./deploy.sh", tt.env, tt.args...)
			if !res.failed() || !strings.Contains(res.out, tt.want) {
				t.Errorf("err %v, output lacks %q:\n%s", res.err, tt.want, res.out)
			}
		})
	}
	s.deploy("20260108_100000")
	// A timestamp not after the newest release would break name order.
	res := s.run("./deploy.sh", []string{"RELEASE_TIMESTAMP=20260108_090000"}, "--binaries", s.roles(nil, true))
	if !res.failed() || !strings.Contains(res.out, "is not after the newest release") {
		t.Errorf("older timestamp: %v\n%s", res.err, res.out)
	}
}

func sha256Prefix(t *testing.T, dir string) string {
	t.Helper()
	cmd := exec.Command("bash", "-c", `cat bot worker poller | sha256sum | cut -c1-12`)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// needTools fails the test when a tool is missing: the scripts need them on
// every server, and a skipped test would hide a broken deploy.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is required by the deploy scripts and their tests: %v", tool, err)
		}
	}
}

func mustMkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	mustMkdir(t, filepath.Dir(path))
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// TestScriptsLint parses the scripts with bash -n and, where installed, runs
// shellcheck over them.
func TestScriptsLint(t *testing.T) {
	t.Parallel()
	needTools(t, "bash")
	scripts := []string{"deploy.sh", "rollback.sh", "lib.sh"}
	for _, s := range scripts {
		if out, err := exec.Command("bash", "-n", s).CombinedOutput(); err != nil {
			t.Errorf("bash -n %s: %v\n%s", s, err, out)
		}
	}
	for _, s := range scripts[:2] {
		if fi, err := os.Stat(s); err != nil || fi.Mode()&0o111 == 0 {
			t.Errorf("%s is not executable (%v)", s, err)
		}
	}
	sc, err := exec.LookPath("shellcheck")
	if err != nil {
		t.Skip("shellcheck not installed; bash -n passed")
	}
	if out, err := exec.Command(sc, append([]string{"-x"}, scripts...)...).CombinedOutput(); err != nil {
		t.Errorf("shellcheck: %v\n%s", err, out)
	}
}
