package loadtest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/domain"
	"marketingbot/sim/demo"
	gememu "marketingbot/sim/emulator/gemini"
	sheetsemu "marketingbot/sim/emulator/sheets"
	tgemu "marketingbot/sim/emulator/telegram"
	"marketingbot/sim/fixtures"
	"marketingbot/sim/testutil"
)

type result struct {
	Mode           string         `json:"mode"`
	Stream         string         `json:"stream"`
	Workers        int            `json:"workers"`
	SheetsFleet    bool           `json:"sheets_fleet"`
	Users          int            `json:"users"`
	Messages       int            `json:"messages"`
	Replies        int            `json:"replies"`
	Lost           int            `json:"lost"`
	Duplicates     int            `json:"duplicates"`
	OutOfOrder     int            `json:"out_of_order"`
	DurationS      float64        `json:"duration_s"`
	AnsweredPerMin float64        `json:"answered_per_min"`
	LatencyMs      map[string]int `json:"latency_ms"`
	FirstVisibleMs map[string]int `json:"first_visible_ms"`
	Sheets         struct {
		Reads           int64 `json:"reads"`
		Writes          int64 `json:"writes"`
		MaxReadsPerMin  int   `json:"max_reads_per_min"`
		MaxWritesPerMin int   `json:"max_writes_per_min"`
		HTTP429         int64 `json:"http_429"`
	} `json:"sheets"`
	Telegram struct {
		Sends   int64 `json:"sends"`
		Drafts  int64 `json:"drafts"`
		HTTP429 int64 `json:"http_429"`
	} `json:"telegram"`
	// SheetsRequestsPerAnswer is (reads + writes) / answered messages.
	SheetsRequestsPerAnswer float64 `json:"sheets_requests_per_answer"`
	WorkerRSSMBMax          float64 `json:"worker_rss_mb_max"`
}

const spreadsheetID = "loadtest"

func logf(s settings, format string, args ...any) {
	if s.verbose {
		fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
	}
}

// operatorsChat is the operators' group of the run.
const operatorsChat = -1002000000000

func run(ctx context.Context, s settings, mode string) (*result, error) {
	dir, err := os.MkdirTemp("", "marketingbot-loadtest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	lr := &loadRun{s: s, mode: mode, dir: dir}
	defer lr.close()
	if err := lr.startRedis(ctx); err != nil {
		return nil, err
	}
	if err := lr.startEmulators(); err != nil {
		return nil, err
	}
	if err := lr.startRoles(); err != nil {
		return nil, err
	}
	lr.sh.ResetStats()
	logf(s, "%s, stream %s: %d users × %d messages over %s (%.0f/min offered), %d workers", mode, s.stream, s.users, s.messages, s.duration,
		float64(s.users*s.messages)/s.duration.Minutes(), s.workers)

	rss := lr.sampleRSS(ctx)
	if s.profileDir != "" {
		go profile(s.profileDir, mode, map[string]string{"worker": lr.workerAddrs[0], "bot": lr.botAddr})
	}
	tr := newTracker()
	lr.play(ctx, tr)
	if s.verbose {
		dumpStages(lr.workerAddrs[0])
	}
	rssMax := rss.stop()

	r := tr.result()
	r.Mode, r.Stream, r.Users, r.Workers = mode, s.stream, s.users, s.workers
	r.SheetsFleet = s.sheetsFleet
	st := lr.sh.Stats()
	r.Sheets.Reads, r.Sheets.Writes, r.Sheets.MaxReadsPerMin, r.Sheets.MaxWritesPerMin, r.Sheets.HTTP429 = st.Reads, st.Writes, st.MaxReadsPerMin, st.MaxWritesPerMin, st.HTTP429
	ts := lr.tg.Stats()
	r.Telegram.Sends, r.Telegram.Drafts, r.Telegram.HTTP429 = ts.Sends, ts.ByMethod["sendMessageDraft"], ts.HTTP429
	r.WorkerRSSMBMax = round1(rssMax)
	if answered := r.Messages - r.Lost; answered > 0 {
		r.SheetsRequestsPerAnswer = math.Round(float64(st.Reads+st.Writes)/float64(answered)*1000) / 1000
	}
	for _, p := range lr.procs {
		if p.exited() {
			return r, fmt.Errorf("%s exited during the run (log: %s)", p.name, p.log)
		}
	}
	return r, nil
}

// loadRun is one measured run: Redis, the emulators and the role processes
// it started, stopped by close in the reverse order.
type loadRun struct {
	s    settings
	mode string
	dir  string

	redisURL                    string
	tg                          *tgemu.Server
	sh                          *sheetsemu.Server
	tgURL, sheetsURL, geminiURL string
	users                       []tgemu.User

	procs       []*proc
	workers     []*proc
	workerAddrs []string
	botAddr     string

	closers []func()
}

// onClose registers f to run at close, before everything registered earlier.
func (lr *loadRun) onClose(f func()) { lr.closers = append(lr.closers, f) }

func (lr *loadRun) close() {
	for i := len(lr.closers) - 1; i >= 0; i-- {
		lr.closers[i]()
	}
}

// startRedis starts a private redis-server (or uses the given one) and
// flushes it.
func (lr *loadRun) startRedis(ctx context.Context) error {
	lr.redisURL = lr.s.redisURL
	if lr.redisURL == "" {
		r, err := startRedisServer(lr.dir)
		if err != nil {
			return err
		}
		lr.onClose(r.stop)
		lr.redisURL = r.url
	}
	opt, err := redis.ParseURL(lr.redisURL)
	if err != nil {
		return err
	}
	rdb := redis.NewClient(opt)
	lr.onClose(func() { _ = rdb.Close() })
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		return fmt.Errorf("redis %s: %w", lr.redisURL, err)
	}
	return nil
}

// startEmulators starts the three emulators with Google's and Telegram's
// limits on, and loads the users and the spreadsheet.
func (lr *loadRun) startEmulators() error {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	lr.tg = tgemu.New(tgemu.Options{Logger: quiet})
	tgSrv := httptest.NewServer(lr.tg)
	lr.onClose(tgSrv.Close)
	lr.onClose(lr.tg.Close)
	lr.tgURL = tgSrv.URL
	sh, err := sheetsemu.New(sheetsemu.Options{Logger: quiet}) // DefaultQuota: 60/60 per minute per user
	if err != nil {
		return err
	}
	lr.sh = sh
	shSrv := httptest.NewServer(sh)
	lr.onClose(shSrv.Close)
	lr.onClose(func() { _ = sh.Close() })
	lr.sheetsURL = shSrv.URL
	gm := gememu.New(gememu.Options{APIKey: "loadtest-key", Latency: lr.s.geminiLatency, Jitter: lr.s.geminiLatency / 8, Logger: quiet})
	gmSrv := httptest.NewServer(gm)
	lr.onClose(gmSrv.Close)
	lr.onClose(gm.Close)
	lr.geminiURL = gmSrv.URL
	return lr.loadUsers()
}

// loadUsers creates the authorized partners in Telegram and in the sheet.
func (lr *loadRun) loadUsers() error {
	if _, err := lr.tg.PutGroup(tgemu.Group{ID: operatorsChat, Title: "Операторы"}); err != nil {
		return err
	}
	var partners []domain.Partner
	for i := 0; i < lr.s.users; i++ {
		id := int64(50_000_000 + i)
		partners = append(partners, domain.Partner{Code: fmt.Sprintf("LT-%05d", i), Phone: fmt.Sprintf("7900%07d", i),
			FullName: fmt.Sprintf("Нагрузкин Тест%d Иванович", i), Status: domain.PartnerStatusAuthorized, TelegramID: id})
		lr.users = append(lr.users, tgemu.User{ID: id, FirstName: "Тест", LastName: strconv.Itoa(i), LanguageCode: "ru"})
	}
	if _, err := lr.tg.PutUsers(lr.users...); err != nil {
		return err
	}
	loc, _ := time.LoadLocation("Europe/Moscow")
	return lr.sh.Load(spreadsheetID, fixtures.Spreadsheet(spreadsheetID, fixtures.DefaultTitles(),
		fixtures.Data{Partners: partners, Knowledge: demo.Knowledge()}, loc))
}

// roleEnv is the configuration every role process gets.
func (lr *loadRun) roleEnv() []string {
	batching := "true"
	if lr.mode == "per-call" {
		batching = "false"
	}
	return []string{
		"MARKETINGBOT_TELEGRAM_TOKEN=" + lr.tg.Token(),
		"MARKETINGBOT_TELEGRAM_API_URL=" + lr.tgURL,
		"MARKETINGBOT_TELEGRAM_POLL_TIMEOUT=5s",
		"MARKETINGBOT_TELEGRAM_OPERATORS_CHAT_ID=" + strconv.Itoa(operatorsChat),
		"MARKETINGBOT_REDIS_URL=" + lr.redisURL,
		"MARKETINGBOT_SHEETS_SPREADSHEET_ID=" + spreadsheetID,
		"MARKETINGBOT_SHEETS_ENDPOINT=" + lr.sheetsURL,
		"MARKETINGBOT_SHEETS_BATCHING=" + batching,
		"MARKETINGBOT_SHEETS_FLEET_COALESCING=" + strconv.FormatBool(lr.s.sheetsFleet),
		"MARKETINGBOT_GEMINI_API_KEY=loadtest-key",
		"MARKETINGBOT_GEMINI_BASE_URL=" + lr.geminiURL,
		"MARKETINGBOT_GEMINI_STREAM=" + strconv.FormatBool(lr.s.stream == "on"),
		"MARKETINGBOT_WORKER_CONCURRENCY=" + strconv.Itoa(lr.s.concurrency),
		"MARKETINGBOT_CHAT_USER_MESSAGES_PER_MINUTE=120",
		"MARKETINGBOT_LOG_LEVEL=warn",
		"MARKETINGBOT_APP_MESSAGES_FILE=",
	}
}

// startRoles starts the workers, the poller and the bot as OS processes
// and waits until the bot and the workers are ready.
func (lr *loadRun) startRoles() error {
	bin := lr.s.binDir // built once by Main unless --bin was given
	cfgPath := filepath.Join(lr.dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte("app:\n  timezone: Europe/Moscow\n"), 0o600); err != nil {
		return err
	}
	env := lr.roleEnv()
	lr.onClose(func() {
		for _, p := range lr.procs {
			p.stop()
		}
	})
	start := func(role, addr string) *proc {
		p, err := startProc(filepath.Join(bin, role), cfgPath, append(env, "MARKETINGBOT_HTTP_"+strings.ToUpper(role)+"_ADDR="+addr), filepath.Join(lr.dir, role+".log"))
		if err != nil {
			fail(err)
		}
		lr.procs = append(lr.procs, p)
		return p
	}
	for i := 0; i < lr.s.workers; i++ {
		a := freeAddr()
		lr.workerAddrs = append(lr.workerAddrs, a)
		lr.workers = append(lr.workers, start("worker", a))
	}
	start("poller", freeAddr())
	lr.botAddr = freeAddr()
	start("bot", lr.botAddr)
	if err := waitReady("http://"+lr.botAddr+"/readyz", 30*time.Second); err != nil {
		return fmt.Errorf("bot: %w (log: %s)", err, filepath.Join(lr.dir, "bot.log"))
	}
	for _, a := range lr.workerAddrs {
		if err := waitReady("http://"+a+"/readyz", 30*time.Second); err != nil {
			return fmt.Errorf("worker: %w", err)
		}
	}
	return nil
}

// rssSampler records the largest resident set of the worker processes.
type rssSampler struct {
	mu     sync.Mutex
	max    float64
	cancel context.CancelFunc
}

// sampleRSS samples the workers' RSS every half second until stop; close
// stops it too, should the run end early.
func (lr *loadRun) sampleRSS(ctx context.Context) *rssSampler {
	ctx, cancel := context.WithCancel(ctx)
	r := &rssSampler{cancel: cancel}
	lr.onClose(cancel)
	go func() {
		for ctx.Err() == nil {
			for _, w := range lr.workers {
				if mb := rssMB(w.cmd.Process.Pid); mb > 0 {
					r.mu.Lock()
					r.max = math.Max(r.max, mb)
					r.mu.Unlock()
				}
			}
			time.Sleep(500 * time.Millisecond)
		}
	}()
	return r
}

// stop ends the sampling and returns the largest RSS seen, in MB.
func (r *rssSampler) stop() float64 {
	r.cancel()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.max
}

// play has every user send its messages on its schedule while watching
// all chats for replies, then waits up to the drain time for the last ones.
func (lr *loadRun) play(ctx context.Context, tr *tracker) {
	began := time.Now()
	var wg sync.WaitGroup
	for i, u := range lr.users {
		plan := schedule(rand.New(rand.NewPCG(uint64(i), 42)), lr.s.messages, lr.s.duration)
		wg.Go(func() { lr.send(ctx, tr, i, u, plan, began) })
	}
	watchCtx, watchStop := context.WithCancel(ctx)
	lr.onClose(watchStop)
	go lr.watchReplies(watchCtx, tr)
	wg.Wait()
	sendEnd := time.Now()
	logf(lr.s, "all %d messages sent in %s; waiting for replies", tr.total(), sendEnd.Sub(began).Round(time.Second))
	deadline := sendEnd.Add(lr.s.drain)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if tr.unanswered() == 0 {
			break
		}
		logf(lr.s, "%d unanswered", tr.unanswered())
		time.Sleep(time.Second)
	}
	time.Sleep(2 * time.Second) // late duplicates would show up now
	watchStop()
}

// send is user number i sending its messages at began + plan[n].
func (lr *loadRun) send(ctx context.Context, tr *tracker, i int, u tgemu.User, plan []time.Duration, began time.Time) {
	for n, at := range plan {
		if d := time.Until(began.Add(at)); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return
			}
		}
		st, err := lr.tg.SendText(u.ID, question(rand.New(rand.NewPCG(uint64(i), uint64(n))), n+1))
		if err != nil {
			fail(err)
		}
		tr.sent(u.ID, st.MessageID)
	}
}

// watchReplies reads every chat's new messages until ctx ends and hands
// the bot's to the tracker.
func (lr *loadRun) watchReplies(ctx context.Context, tr *tracker) {
	after := map[int64]int64{}
	for ctx.Err() == nil {
		for _, u := range lr.users {
			t, err := lr.tg.Transcript(u.ID, after[u.ID])
			if err != nil {
				continue
			}
			for _, m := range t.Messages {
				after[u.ID] = m.MessageID
				if m.FromBot {
					tr.reply(u.ID, m.ReplyToMessageID, shownAt(m))
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// shown is when a reply reached the chat, and when its first text did
// (its first draft, when it replaced one).
type shown struct {
	final, first time.Time
}

// shownAt reads both from the emulator's clock (the time of reading if the
// emulator did not say).
func shownAt(m tgemu.TranscriptMessage) shown {
	at := m.SentAt
	if at.IsZero() {
		at = time.Now()
	}
	first := at
	if m.Draft != nil && !m.Draft.Since.IsZero() && m.Draft.Since.Before(at) {
		first = m.Draft.Since
	}
	return shown{final: at, first: first}
}

// schedule is when one user sends each of its messages, from the start of
// the run: turns spread at random over the whole duration (so the offered
// rate is users × messages / duration throughout the run, not only at its
// start), a quarter of them quick bursts of 2–3 messages 0.3–1 s apart, as
// people type.
func schedule(rng *rand.Rand, messages int, duration time.Duration) []time.Duration {
	var bursts []int
	for left := messages; left > 0; {
		n := 1
		if rng.Float64() < 0.25 {
			n = min(2+rng.IntN(2), left)
		}
		bursts = append(bursts, n)
		left -= n
	}
	// The burst starts, sorted, leaving room for the burst itself at the end.
	room := duration - 3*time.Second
	if room <= 0 {
		room = duration
	}
	starts := make([]time.Duration, len(bursts))
	for i := range starts {
		starts[i] = time.Duration(rng.Float64() * float64(room))
	}
	slices.Sort(starts)
	var plan []time.Duration
	for i, n := range bursts {
		at := starts[i]
		if k := len(plan); k > 0 && at <= plan[k-1] {
			at = plan[k-1] + 300*time.Millisecond // never overtake one's own previous message
		}
		for b := 0; b < n; b++ {
			plan = append(plan, at)
			at += time.Duration(300+rng.IntN(700)) * time.Millisecond
		}
	}
	return plan
}

var topics = []string{"Какая комиссия партнёра за сделку?", "Как зафиксировать клиента?", "Какие сейчас акции?",
	"Как заказать Аналитику 360 по объекту?", "Когда выплачивают вознаграждение?", "Какие документы нужны для сделки?",
	"Есть ли ипотека с господдержкой?", "Как работает эксклюзив?", "Сколько действует фиксация клиента?", "Как связаться с куратором?"}

func question(rng *rand.Rand, n int) string {
	return fmt.Sprintf("%s (%d)", topics[rng.IntN(len(topics))], n)
}

// tracker correlates replies with messages per user.
type tracker struct {
	mu      sync.Mutex
	msgs    map[int64][]*sentMsg
	replies int
	dups    int
	order   int
	last    map[int64]int64
	first   time.Time
	lastRep time.Time
}

type sentMsg struct {
	id       int64
	at       time.Time
	answered time.Time
	visible  time.Time // the first text of its answer
}

func newTracker() *tracker {
	return &tracker{msgs: map[int64][]*sentMsg{}, last: map[int64]int64{}}
}

func (t *tracker) sent(uid, id int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.first.IsZero() {
		t.first = time.Now()
	}
	t.msgs[uid] = append(t.msgs[uid], &sentMsg{id: id, at: time.Now()})
}

func (t *tracker) reply(uid, replyTo int64, sh shown) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if replyTo == 0 {
		return // not an answer (a notice); answers quote the message they cover
	}
	at := sh.final
	t.replies++
	t.lastRep = at
	if replyTo < t.last[uid] {
		t.order++
	}
	if replyTo <= t.last[uid] {
		t.dups++
		return
	}
	t.last[uid] = replyTo
	for _, m := range t.msgs[uid] {
		if m.id <= replyTo && m.answered.IsZero() {
			m.answered = at
			m.visible = sh.first
			if m.visible.Before(m.at) {
				m.visible = m.at // a draft of a turn that began before this message was sent
			}
		}
	}
}

func (t *tracker) total() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, ms := range t.msgs {
		n += len(ms)
	}
	return n
}

func (t *tracker) unanswered() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, ms := range t.msgs {
		for _, m := range ms {
			if m.answered.IsZero() {
				n++
			}
		}
	}
	return n
}

func (t *tracker) result() *result {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := &result{Replies: t.replies, Duplicates: t.dups, OutOfOrder: t.order}
	var lat, vis []float64
	answered := 0
	for _, ms := range t.msgs {
		for _, m := range ms {
			r.Messages++
			if m.answered.IsZero() {
				r.Lost++
				continue
			}
			answered++
			lat = append(lat, float64(m.answered.Sub(m.at).Milliseconds()))
			vis = append(vis, float64(m.visible.Sub(m.at).Milliseconds()))
		}
	}
	dur := t.lastRep.Sub(t.first)
	r.DurationS = round1(dur.Seconds())
	if dur > 0 {
		r.AnsweredPerMin = round1(float64(answered) / dur.Minutes())
	}
	r.LatencyMs, r.FirstVisibleMs = percentiles(lat), percentiles(vis)
	return r
}

// percentiles are the p50, p95 and p99 of xs (sorted in place).
func percentiles(xs []float64) map[string]int {
	slices.Sort(xs)
	pct := func(p float64) int {
		if len(xs) == 0 {
			return 0
		}
		return int(xs[int(math.Ceil(p*float64(len(xs))))-1])
	}
	return map[string]int{"p50": pct(0.50), "p95": pct(0.95), "p99": pct(0.99)}
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }

// ---- processes ----

type proc struct {
	name string
	log  string
	cmd  *exec.Cmd
	done chan struct{}
}

func startProc(bin, cfg string, env []string, logPath string) (*proc, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--config", cfg)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{name: filepath.Base(bin), log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); f.Close(); close(p.done) }()
	return p, nil
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) stop() {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(12 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func build(dir string) (string, error) {
	out := filepath.Join(dir, "bin")
	cmd := exec.Command("go", "build", "-o", out+string(os.PathSeparator), "./cmd/bot", "./cmd/worker", "./cmd/poller")
	cmd.Dir = repoRoot()
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, b)
	}
	return out, nil
}

func repoRoot() string {
	if root, err := testutil.ModuleRoot(); err == nil {
		return root
	}
	wd, _ := os.Getwd()
	return wd
}

type redisServer struct {
	url  string
	cmd  *exec.Cmd
	done chan struct{}
}

func startRedisServer(dir string) (*redisServer, error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, fmt.Errorf("redis-server not installed (or pass --redis URL): %w", err)
	}
	addr := freeAddr()
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	r := &redisServer{url: "redis://" + addr + "/0", cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(r.done) }()
	for i := 0; i < 100; i++ {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return r, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.stop()
	return nil, fmt.Errorf("redis-server on %s did not start", addr)
}

func (r *redisServer) stop() {
	_ = r.cmd.Process.Kill()
	<-r.done
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "127.0.0.1:0"
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitReady(url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// rssMB reads VmRSS from /proc (Linux).
func rssMB(pid int) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "VmRSS:") {
			fields := strings.Fields(sc.Text())
			if len(fields) >= 2 {
				kb, _ := strconv.ParseFloat(fields[1], 64)
				return kb / 1024
			}
		}
	}
	return 0
}

// profile saves CPU profiles of the roles a few seconds into the run.
func profile(dir, mode string, addrs map[string]string) {
	_ = os.MkdirAll(dir, 0o755)
	time.Sleep(10 * time.Second)
	var wg sync.WaitGroup
	for role, addr := range addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get("http://" + addr + "/debug/pprof/profile?seconds=20")
			if err != nil {
				return
			}
			defer resp.Body.Close()
			f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s-%s.pprof", mode, role)))
			if err != nil {
				return
			}
			defer f.Close()
			_, _ = io.Copy(f, resp.Body)
		}()
	}
	wg.Wait()
}

// dumpStages prints the chat stage histograms of one worker (means), to see
// where a turn's time goes.
func dumpStages(addr string) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return
	}
	defer resp.Body.Close()
	sums, counts := map[string]float64{}, map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		for _, suffix := range []string{"_sum", "_count"} {
			for _, fam := range []string{"marketingbot_chat_stage_seconds", "marketingbot_sheets_quota_wait_seconds", "marketingbot_sheets_request_duration_seconds", "marketingbot_sheets_batch_operations", "marketingbot_telegram_limiter_wait_seconds"} {
				if strings.HasPrefix(line, fam+suffix+"{") {
					f := strings.Fields(line)
					v, _ := strconv.ParseFloat(f[len(f)-1], 64)
					key := fam + f[0][len(fam+suffix):strings.Index(f[0], "}")+1]
					if suffix == "_sum" {
						sums[key] += v
					} else {
						counts[key] += v
					}
				}
			}
		}
	}
	keys := make([]string, 0, len(sums))
	for k := range sums {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if counts[k] > 0 {
			fmt.Fprintf(os.Stderr, "  %-90s n=%-6.0f mean=%.3f\n", k, counts[k], sums[k]/counts[k])
		}
	}
}
