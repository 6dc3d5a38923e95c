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

	"go.yaml.in/yaml/v3"

	"marketingbot/pkg/config"
)

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image         string         `yaml:"image"`
	Build         any            `yaml:"build"`
	Command       []string       `yaml:"command"`
	ContainerName string         `yaml:"container_name"`
	Ports         []string       `yaml:"ports"`
	Restart       string         `yaml:"restart"`
	EnvFile       any            `yaml:"env_file"`
	Environment   map[string]any `yaml:"environment"`
	Volumes       []string       `yaml:"volumes"`
	DependsOn     map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Healthcheck struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
	Deploy any `yaml:"deploy"`
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	b, err := os.ReadFile("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	// Interpolate like docker compose does with the variables unset.
	b = regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*:-([^}]*)\}`).ReplaceAll(b, []byte("$1"))
	if m := regexp.MustCompile(`\$\{[^}]*\}`).Find(b); m != nil {
		t.Fatalf("docker-compose.yml: %s has no default; docker compose would use an empty string", m)
	}
	var c composeFile
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return c
}

func TestCompose(t *testing.T) {
	t.Parallel()
	c := loadCompose(t)
	def := config.Defaults()
	roles := map[string]string{ // service -> the config key of its HTTP address
		"bot": "http.bot_addr", "worker": "http.worker_addr", "poller": "http.poller_addr",
	}
	defaultAddr := map[string]string{
		"http.bot_addr": def.HTTP.BotAddr, "http.worker_addr": def.HTTP.WorkerAddr, "http.poller_addr": def.HTTP.PollerAddr,
	}

	t.Run("redis", func(t *testing.T) { checkComposeRedis(t, c) })
	for service, addrKey := range roles {
		t.Run(service, func(t *testing.T) { checkComposeRole(t, c, service, addrKey, defaultAddr[addrKey]) })
	}
	t.Run("docker compose config", checkDockerComposeConfig)
}

// checkComposeRedis: Redis with AOF on a named volume and a health check.
func checkComposeRedis(t *testing.T, c composeFile) {
	r, ok := c.Services["redis"]
	if !ok {
		t.Fatal("no redis service")
	}
	if r.Image != "redis:7-alpine" {
		t.Errorf("redis image %q", r.Image)
	}
	if !strings.Contains(strings.Join(r.Command, " "), "--appendonly yes") {
		t.Errorf("redis without AOF: %q", r.Command)
	}
	if !strings.Contains(strings.Join(r.Healthcheck.Test, " "), "redis-cli ping") {
		t.Errorf("redis healthcheck %q", r.Healthcheck.Test)
	}
	var dataVolume string
	for _, v := range r.Volumes {
		if src, dst, _ := strings.Cut(v, ":"); dst == "/data" {
			dataVolume = src
		}
	}
	if _, ok := c.Volumes[dataVolume]; dataVolume == "" || !ok {
		t.Errorf("redis /data is not a named volume: %q (volumes %v)", r.Volumes, c.Volumes)
	}
}

// checkComposeRole checks the service of one role: its command, restart
// policy, environment, port, health check and read-only mounts.
func checkComposeRole(t *testing.T, c composeFile, service, addrKey, defaultAddr string) {
	s, ok := c.Services[service]
	if !ok {
		t.Fatalf("no %s service", service)
	}
	if len(s.Command) == 0 || s.Command[0] != service || !slices.Contains(s.Command, "--config") {
		t.Errorf("command %q does not run %s with --config", s.Command, service)
	}
	if s.Image == "" && s.Build == nil {
		t.Error("neither image nor build")
	}
	if s.Restart != "unless-stopped" {
		t.Errorf("restart %q", s.Restart)
	}
	if s.DependsOn["redis"].Condition != "service_healthy" {
		t.Errorf("depends_on redis: %+v", s.DependsOn)
	}
	if fmt.Sprint(s.EnvFile) != ".env" && fmt.Sprint(s.EnvFile) != "[.env]" {
		t.Errorf("env_file %v, want .env", s.EnvFile)
	}
	env := map[string]string{}
	for k, v := range s.Environment {
		env[k] = fmt.Sprint(v)
		if !isConfigEnv(k) {
			t.Errorf("environment %s is no configuration key's variable", k)
		}
	}
	if env["MARKETINGBOT_REDIS_URL"] != "redis://redis:6379/0" {
		t.Errorf("MARKETINGBOT_REDIS_URL = %q", env["MARKETINGBOT_REDIS_URL"])
	}
	addr := env[config.EnvName(addrKey)]
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host != "0.0.0.0" {
		t.Fatalf("%s = %q, want 0.0.0.0:<port> inside the container", config.EnvName(addrKey), addr)
	}
	if _, defPort, _ := net.SplitHostPort(defaultAddr); port != defPort {
		t.Errorf("port %s differs from the default %s the image documents", port, defPort)
	}
	probe := strings.Join(s.Healthcheck.Test, " ")
	if want := "wget -qO- http://127.0.0.1:" + port + "/readyz"; !strings.Contains(probe, want) {
		t.Errorf("healthcheck %q, want %q", probe, want)
	}
	mounts := map[string]string{}
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) != 3 || parts[2] != "ro" {
			t.Errorf("volume %q is not a read-only mount", v)
			continue
		}
		mounts[parts[1]] = parts[0]
	}
	if mounts["/etc/marketingbot/config.yaml"] != "./configs/config.yaml" {
		t.Errorf("config mount: %v", mounts)
	}
	creds := env[config.EnvName("sheets.credentials_file")]
	if creds == "" || mounts[creds] == "" {
		t.Errorf("credentials file %q is not mounted: %v", creds, mounts)
	}
	if service == "worker" {
		if s.ContainerName != "" || len(s.Ports) > 0 {
			t.Errorf("worker cannot scale: container_name %q, ports %q", s.ContainerName, s.Ports)
		}
	}
	for _, p := range s.Ports {
		if !strings.HasPrefix(p, "127.0.0.1:") {
			t.Errorf("port %q is published on every interface; publish on loopback for a reverse proxy", p)
		}
	}
}

// checkDockerComposeConfig has docker compose itself validate the file,
// where it is installed.
func checkDockerComposeConfig(t *testing.T) {
	if err := exec.Command("docker", "compose", "version").Run(); err != nil {
		t.Skipf("docker compose is not available here (%v); the YAML was checked above", err)
	}
	dir := t.TempDir()
	b, err := os.ReadFile("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "docker-compose.yml"), string(b), 0o644)
	writeFile(t, filepath.Join(dir, ".env"), "MARKETINGBOT_TELEGRAM_TOKEN=1:x\n", 0o600)
	writeFile(t, filepath.Join(dir, "configs", "config.yaml"), "{}\n", 0o644)
	writeFile(t, filepath.Join(dir, "credentials.json"), "{}\n", 0o644)
	cmd := exec.Command("docker", "compose", "-f", filepath.Join(dir, "docker-compose.yml"), "config", "--quiet")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("docker compose config: %v\n%s", err, out)
	}
}

// dockerfileStage is one FROM ... section with its instructions, continuation
// lines joined.
type dockerfileStage struct {
	from, name string
	lines      []string
}

func parseDockerfile(t *testing.T, path string) (args map[string]string, stages []*dockerfileStage) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	args = map[string]string{}
	var logical []string
	var cur strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || (line == "" && cur.Len() == 0) {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cur.WriteString(strings.TrimSuffix(line, "\\") + " ")
			continue
		}
		cur.WriteString(line)
		logical = append(logical, strings.Join(strings.Fields(cur.String()), " "))
		cur.Reset()
	}
	from := regexp.MustCompile(`(?i)^FROM\s+(\S+)(?:\s+AS\s+(\S+))?$`)
	for _, l := range logical {
		if m := from.FindStringSubmatch(l); m != nil {
			stages = append(stages, &dockerfileStage{from: m[1], name: m[2]})
			continue
		}
		if len(stages) == 0 {
			if rest, ok := strings.CutPrefix(l, "ARG "); ok {
				k, v, _ := strings.Cut(rest, "=")
				args[k] = v
			}
			continue
		}
		stages[len(stages)-1].lines = append(stages[len(stages)-1].lines, l)
	}
	return args, stages
}

func TestDockerfile(t *testing.T) {
	t.Parallel()
	args, stages := parseDockerfile(t, "../Dockerfile")
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a builder and a runtime stage", len(stages))
	}
	build, final := stages[0], stages[len(stages)-1]

	// The builder's Go must be the one go.mod asks for.
	gomod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(string(gomod))
	if m == nil {
		t.Fatal("no go directive in go.mod")
	}
	if !strings.HasPrefix(build.from, "golang:") || args["GO_VERSION"] != m[1] || !strings.Contains(build.from, "${GO_VERSION}") {
		t.Errorf("builder FROM %s with GO_VERSION=%q; go.mod wants go %s", build.from, args["GO_VERSION"], m[1])
	}
	buildRun := strings.Join(build.lines, "\n")
	for _, want := range []string{
		"--mount=type=cache,target=/go/pkg/mod",
		`CGO_ENABLED=0 go build -trimpath -ldflags="-s -w"`,
		"./cmd/bot ./cmd/worker ./cmd/poller",
	} {
		if !strings.Contains(buildRun, want) {
			t.Errorf("builder stage lacks %q", want)
		}
	}

	var user string
	var copies []string
	for _, l := range final.lines {
		if u, ok := strings.CutPrefix(l, "USER "); ok {
			user = u
		}
		if c, ok := strings.CutPrefix(l, "COPY "); ok {
			copies = append(copies, c)
		}
	}
	if name, _, _ := strings.Cut(user, ":"); name == "" || name == "root" || name == "0" {
		t.Errorf("final stage USER %q: must be a non-root user", user)
	}
	// The compose healthchecks run wget inside this image.
	if !strings.HasPrefix(final.from, "alpine:") {
		t.Errorf("final stage FROM %s: the healthchecks need busybox wget (alpine)", final.from)
	}
	allCopies := strings.Join(copies, "\n")
	if !strings.Contains(allCopies, "--from="+build.name) {
		t.Errorf("final stage does not copy the binaries from %q", build.name)
	}
	for _, want := range []string{"configs/config.example.yaml /etc/marketingbot/config.yaml", "configs/messages.ru.yaml", "configs/system_prompt.txt"} {
		if !strings.Contains(allCopies, want) {
			t.Errorf("final stage does not copy %s", want)
		}
	}
	for _, src := range []string{"configs/config.example.yaml", "configs/messages.ru.yaml", "configs/system_prompt.txt"} {
		if _, err := os.Stat(filepath.Join("..", src)); err != nil {
			t.Errorf("COPY source: %v", err)
		}
	}

	ignore, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{".env", "credentials.json", "configs/config.yaml", ".git"} {
		if !slices.Contains(strings.Split(string(ignore), "\n"), secret) {
			t.Errorf(".dockerignore does not exclude %s", secret)
		}
	}
}
