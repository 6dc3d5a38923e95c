package deploy_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"marketingbot/pkg/config"
)

// unitFile is a parsed systemd unit: section -> key -> values in order.
type unitFile map[string]map[string][]string

func (u unitFile) get(section, key string) string {
	v := u[section][key]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

func parseUnit(t *testing.T, path string) unitFile {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := unitFile{}
	section := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasSuffix(line, "\\"):
			t.Errorf("%s:%d: continuation lines are not used here; keep one setting per line", path, n)
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			if _, dup := u[section]; dup {
				t.Errorf("%s:%d: section [%s] twice", path, n, section)
			}
			u[section] = map[string][]string{}
		default:
			key, val, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Errorf("%s:%d: not a setting inside a section: %q", path, n, line)
				continue
			}
			key = strings.TrimSpace(key)
			u[section][key] = append(u[section][key], strings.TrimSpace(val))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return u
}

// knownKeys are the settings these units may use, per section: a misspelt
// key is ignored by systemd with only a warning, so the test refuses it.
var knownKeys = map[string][]string{
	"Unit": {"Description", "Documentation", "After", "Before", "Wants", "Requires", "PartOf", "StartLimitIntervalSec", "StartLimitBurst"},
	"Service": {"Type", "NotifyAccess", "WatchdogSec", "Restart", "RestartSec", "TimeoutStartSec", "TimeoutStopSec",
		"User", "Group", "WorkingDirectory", "EnvironmentFile", "Environment", "ExecStartPre", "ExecStart", "KillSignal",
		"StandardOutput", "StandardError", "SyslogIdentifier",
		"NoNewPrivileges", "ProtectSystem", "ProtectHome", "ReadWritePaths", "PrivateTmp", "PrivateDevices",
		"ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups", "ProtectClock",
		"ProtectHostname", "RestrictAddressFamilies", "RestrictNamespaces", "RestrictRealtime", "RestrictSUIDSGID",
		"LockPersonality", "MemoryDenyWriteExecute", "SystemCallArchitectures", "SystemCallFilter",
		"SystemCallErrorNumber", "CapabilityBoundingSet", "AmbientCapabilities", "UMask"},
	"Install": {"WantedBy", "RequiredBy", "Also", "DefaultInstance"},
}

func TestSystemdUnits(t *testing.T) {
	t.Parallel()
	// Settings every role's unit must carry, and their exact values.
	common := map[string]string{
		"Type": "notify", "NotifyAccess": "main", "WatchdogSec": "30", "Restart": "on-failure",
		"TimeoutStopSec": "15", "User": "marketing", "Group": "marketing",
		"EnvironmentFile":  "/home/marketing/shared/.env",
		"WorkingDirectory": "/home/marketing/current",
		"NoNewPrivileges":  "yes", "ProtectSystem": "strict", "ProtectHome": "read-only",
		"PrivateTmp": "yes", "PrivateDevices": "yes", "ProtectKernelTunables": "yes",
		"ProtectKernelModules": "yes", "ProtectControlGroups": "yes",
		"RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX", "LockPersonality": "yes",
		"MemoryDenyWriteExecute": "yes", "SystemCallFilter": "@system-service", "CapabilityBoundingSet": "",
	}
	roles := []struct {
		file, role string
		env        map[string]string
	}{
		{file: "marketingbot-bot.service", role: "bot"},
		{file: "marketingbot-worker@.service", role: "worker",
			env: map[string]string{config.EnvName("http.worker_addr"): "127.0.0.1:92%i"}},
		{file: "marketingbot-poller.service", role: "poller"},
	}
	for _, r := range roles {
		t.Run(r.file, func(t *testing.T) {
			u := parseUnit(t, filepath.Join("systemd", r.file))
			checkKnownKeys(t, r.file, u)
			for key, want := range common {
				vals, ok := u["Service"][key]
				if !ok {
					t.Errorf("[Service] %s missing (want %q)", key, want)
				} else if got := vals[len(vals)-1]; got != want {
					t.Errorf("[Service] %s = %q, want %q", key, got, want)
				}
			}
			if u.get("Service", "RestartSec") == "" {
				t.Error("[Service] RestartSec missing")
			}
			want := "/home/marketing/current/bin/" + r.role + " --config /home/marketing/shared/config.yaml"
			if got := u.get("Service", "ExecStart"); got != want {
				t.Errorf("ExecStart = %q, want %q", got, want)
			}
			for _, key := range []string{"ExecStart", "ExecStartPre"} {
				for _, cmd := range u["Service"][key] {
					if bin := strings.TrimLeft(strings.Fields(cmd)[0], "-@+!:"); !filepath.IsAbs(bin) {
						t.Errorf("%s %q: the binary must be an absolute path", key, cmd)
					}
				}
			}
			// Anything writable must be listed; these roles write nothing.
			if rw := u["Service"]["ReadWritePaths"]; len(rw) > 0 {
				t.Errorf("ReadWritePaths = %q: the roles write nothing to disk", rw)
			}
			if u.get("Unit", "PartOf") != "marketingbot.target" || u.get("Install", "WantedBy") != "marketingbot.target" {
				t.Errorf("not grouped by marketingbot.target: PartOf=%q WantedBy=%q", u.get("Unit", "PartOf"), u.get("Install", "WantedBy"))
			}
			envs := map[string]string{}
			for _, e := range u["Service"]["Environment"] {
				k, v, _ := strings.Cut(e, "=")
				envs[k] = v
				if !isConfigEnv(k) {
					t.Errorf("Environment=%s: %s is no configuration key's variable", e, k)
				}
			}
			for k, v := range r.env {
				if envs[k] != v {
					t.Errorf("Environment %s = %q, want %q", k, envs[k], v)
				}
			}
		})
	}
	t.Run("marketingbot.target", func(t *testing.T) {
		u := parseUnit(t, filepath.Join("systemd", "marketingbot.target"))
		checkKnownKeys(t, "marketingbot.target", u)
		if u.get("Install", "WantedBy") != "multi-user.target" || u.get("Unit", "Description") == "" {
			t.Errorf("target: %v", u)
		}
	})
}

// TestWorkerPorts checks the instance port scheme against the defaults the
// deploy scripts probe and the other roles' ports.
func TestWorkerPorts(t *testing.T) {
	t.Parallel()
	lib, err := os.ReadFile("lib.sh")
	if err != nil {
		t.Fatal(err)
	}
	def := config.Defaults()
	defaults := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^(READY_URL_\w+)=\$\{\w+:-([^}]+)\}$`).FindAllStringSubmatch(string(lib), -1) {
		defaults[m[1]] = m[2]
	}
	_, botPort, _ := net.SplitHostPort(def.HTTP.BotAddr)
	_, pollerPort, _ := net.SplitHostPort(def.HTTP.PollerAddr)
	_, workerPort, _ := net.SplitHostPort(def.HTTP.WorkerAddr)
	want := map[string]string{
		"READY_URL_BOT":    "http://127.0.0.1:" + botPort + "/readyz",
		"READY_URL_POLLER": "http://127.0.0.1:" + pollerPort + "/readyz",
		"READY_URL_WORKER": "http://127.0.0.1:92%i/readyz", // Environment= in marketingbot-worker@.service
	}
	for k, v := range want {
		if defaults[k] != v {
			t.Errorf("lib.sh %s default = %q, want %q", k, defaults[k], v)
		}
	}
	taken := map[string]bool{botPort: true, pollerPort: true, workerPort: true}
	for i := 1; i <= 99; i++ {
		port := fmt.Sprintf("92%02d", i)
		if taken[port] {
			t.Errorf("worker@%02d port %s collides with another role's default", i, port)
		}
		taken[port] = true
	}
}

func checkKnownKeys(t *testing.T, name string, u unitFile) {
	t.Helper()
	for section, keys := range u {
		allowed, ok := knownKeys[section]
		if !ok {
			t.Errorf("%s: unknown section [%s]", name, section)
			continue
		}
		for key := range keys {
			if !slices.Contains(allowed, key) {
				t.Errorf("%s: [%s] %s is not a known setting", name, section, key)
			}
		}
	}
}

func isConfigEnv(name string) bool {
	for _, k := range config.Keys() {
		if config.EnvName(k) == name {
			return true
		}
	}
	return false
}

// TestSystemdAnalyzeVerify runs systemd's own checker where it exists. It
// checks that ExecStart binaries exist, so the units are verified as copies
// whose /home/marketing points into a temporary tree with stand-in binaries.
func TestSystemdAnalyzeVerify(t *testing.T) {
	t.Parallel()
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed; TestSystemdUnits validated the syntax")
	}
	root := t.TempDir()
	home := filepath.Join(root, "home", "marketing")
	for _, role := range []string{"bot", "worker", "poller"} {
		writeFile(t, filepath.Join(home, "current", "bin", role), "#!/bin/sh\n", 0o755)
	}
	units := filepath.Join(root, "units")
	files := map[string]string{ // source -> name to verify (the template as an instance)
		"marketingbot-bot.service":     "marketingbot-bot.service",
		"marketingbot-worker@.service": "marketingbot-worker@01.service",
		"marketingbot-poller.service":  "marketingbot-poller.service",
		"marketingbot.target":          "marketingbot.target",
	}
	var paths []string
	for src, dst := range files {
		b, err := os.ReadFile(filepath.Join("systemd", src))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(units, dst)
		writeFile(t, p, strings.ReplaceAll(string(b), "/home/marketing/", home+"/"), 0o644)
		paths = append(paths, p)
	}
	cmd := exec.Command(analyze, append([]string{"verify", "--man=no"}, paths...)...)
	cmd.Env = append(os.Environ(), "SYSTEMD_LOG_COLOR=0")
	out, err := cmd.CombinedOutput()
	// Other units on the machine may draw warnings; only ours count.
	var ours []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "marketingbot") {
			ours = append(ours, line)
		}
	}
	if err != nil || len(ours) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, strings.Join(ours, "\n"))
	}
	t.Logf("systemd-analyze verify: %d units clean", len(paths))
}
