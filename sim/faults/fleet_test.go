package faults_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"marketingbot/configs"
	"marketingbot/pkg/domain"
	"marketingbot/pkg/history"
	"marketingbot/pkg/texts"
	"marketingbot/sim/demo"
	tgemu "marketingbot/sim/emulator/telegram"
	"marketingbot/sim/fixtures"
	"marketingbot/sim/testutil"
	"marketingbot/sim/world"
)

const (
	firstUser    = 7100
	appealsSheet = "Обращения"
	// delayedAfter: an answer slower than this counts as delayed in the figures.
	delayedAfter = 5 * time.Second
	// grace: how long a settled system is watched for late duplicates.
	grace = 3 * time.Second
)

// world is one test's running system plus the load it drives and what the
// users saw.
type fleet struct {
	t     *testing.T
	e     *world.Env
	tx    *texts.Texts
	rdb   *redis.Client
	users []int64

	mu    sync.Mutex
	sent  map[int64][]sentMsg           // user → messages in send order
	seen  map[int64]map[int64]time.Time // chat → bot message id → first seen
	last  map[int64]int64               // chat → last message id read
	errs  []error                       // load generator failures
	procs map[string]*world.Proc        // role → the newest process
	nproc int                           // processes started
}

type sentMsg struct {
	UpdateID, MessageID int64
	At                  time.Time
}

// newFleet starts Redis and the emulators for a fault test with n
// authorized users (no roles yet). It skips in -short and runs the test in
// parallel with the other fault tests.
func newFleet(t *testing.T, n int, settings map[string]string) *fleet {
	t.Helper()
	if testing.Short() {
		t.Skip("fault test: runs bot, worker and poller as processes for about a minute")
	}
	t.Parallel()
	var ids []int64
	for i := range n {
		ids = append(ids, int64(firstUser+i))
	}
	e := world.New(t, world.Options{Data: authorizedData(ids...), Settings: settings})
	for _, id := range ids {
		e.AddUser(id, "Партнёр", "")
	}
	tx, err := texts.Parse(configs.MessagesRU)
	if err != nil {
		t.Fatal(err)
	}
	w := &fleet{t: t, e: e, tx: tx, rdb: e.Redis.Client(), users: ids,
		sent: map[int64][]sentMsg{}, seen: map[int64]map[int64]time.Time{}, last: map[int64]int64{},
		procs: map[string]*world.Proc{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.observe(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return w
}

// authorizedData: one authorized partner per Telegram id, demo knowledge.
func authorizedData(ids ...int64) *fixtures.Data {
	d := fixtures.Data{Knowledge: demo.Knowledge()}
	for i, id := range ids {
		d.Partners = append(d.Partners, domain.Partner{Code: fmt.Sprintf("P-%04d", i+1), Phone: fmt.Sprintf("+7 900 %07d", i+1),
			FullName: fmt.Sprintf("Партнёров Партнёр%d Иванович", i+1), Status: "authorized", TelegramID: id})
	}
	return &d
}

// ---- processes ----

var roleAddrKey = map[string]string{
	"bot":    "MARKETINGBOT_HTTP_BOT_ADDR",
	"worker": "MARKETINGBOT_HTTP_WORKER_ADDR",
	"poller": "MARKETINGBOT_HTTP_POLLER_ADDR",
}

// proc is a role process with its HTTP address (/readyz, /metrics).
type proc struct {
	*world.Proc
	Addr string
}

// start runs a role as an OS process on a known HTTP port and waits until
// its /readyz answers 200.
func (w *fleet) start(role string) *proc {
	w.t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(w.t))
	p := &proc{Addr: addr}
	if dir := os.Getenv("FAULTS_LOG_DIR"); dir != "" {
		// Registered first, so it runs after the process was killed.
		w.mu.Lock()
		w.nproc++
		name := filepath.Join(dir, fmt.Sprintf("%s-%02d-%s.log", w.t.Name(), w.nproc, role))
		w.mu.Unlock()
		w.t.Cleanup(func() { _ = os.WriteFile(name, []byte(p.Output()), 0o644) })
	}
	p.Proc = w.e.StartProcess(role, roleAddrKey[role]+"="+addr)
	w.mu.Lock()
	w.procs[role] = p.Proc
	w.mu.Unlock()
	w.waitFor(role+" ready", time.Minute, func() (bool, string) {
		if p.Exited() {
			w.t.Fatalf("%s exited at start:\n%s", role, p.Output())
		}
		code, body := httpGet("http://" + addr + "/readyz")
		return code == http.StatusOK, fmt.Sprintf("/readyz %d %s", code, body)
	})
	return p
}

// startAll runs bot, poller and the given number of workers.
func (w *fleet) startAll(workers int) (bot, poller *proc, ws []*proc) {
	for range workers {
		ws = append(ws, w.start("worker"))
	}
	poller = w.start("poller")
	bot = w.start("bot")
	return bot, poller, ws
}

// terminate sends SIGTERM and requires a clean exit (code 0) within 10 s.
func (w *fleet) terminate(p *proc) time.Duration {
	w.t.Helper()
	took, code := p.Terminate(10 * time.Second)
	if code != 0 {
		w.t.Fatalf("%s: exit code %d %s after SIGTERM (-1: still running after 10 s, killed)\n%s", p.Role, code, took, tail(p.Output()))
	}
	if took >= 10*time.Second {
		w.t.Fatalf("%s took %s to stop after SIGTERM", p.Role, took)
	}
	return took
}

func tail(s string) string {
	if len(s) > 3000 {
		return "…" + s[len(s)-3000:]
	}
	return s
}

func httpGet(url string) (int, string) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// metric returns the value of a sample line of /metrics ("name" or
// `name{label="x"}`), and false if there is none.
func metric(metrics, sample string) (float64, bool) {
	for _, line := range strings.Split(metrics, "\n") {
		if rest, ok := strings.CutPrefix(line, sample+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return v, err == nil
		}
	}
	return 0, false
}

// slowTelegram puts a proxy in front of the Telegram emulator for the roles
// started afterwards: it holds every sendMessage answer for d after the
// message was delivered (latency on the way back), so a worker may lose
// its Redis while its message is already out.
func (w *fleet) slowTelegram(d time.Duration) {
	url := w.answerLater(w.e.Telegram, d, func(r *http.Request) (hold, count bool) {
		return strings.HasSuffix(strings.ToLower(r.URL.Path), "/sendmessage"), false
	}, nil)
	w.e.Set("MARKETINGBOT_TELEGRAM_API_URL", url)
}

// answerLater is a proxy in front of an emulator: the requests pick holds
// are served at once (their effects happen) and their answers held for d;
// held counts the answers being held now of the requests pick counts. It
// returns the proxy's URL.
func (w *fleet) answerLater(h http.Handler, d time.Duration, pick func(*http.Request) (hold, count bool), held *atomic.Int32) string {
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		hold, count := pick(r)
		if !hold {
			h.ServeHTTP(rw, r)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if count {
			held.Add(1)
			defer held.Add(-1)
		}
		time.Sleep(d)
		for k, v := range rec.Header() {
			rw.Header()[k] = v
		}
		rw.WriteHeader(rec.Code)
		_, _ = rw.Write(rec.Body.Bytes())
	}))
	w.t.Cleanup(srv.Close)
	return srv.URL
}

// ---- load ----

// load makes every user send rounds messages, one round per `every`, the
// users spread evenly over the round, in the background. The returned
// channel closes when everything was sent.
func (w *fleet) load(rounds int, every time.Duration) <-chan struct{} {
	done := make(chan struct{})
	gap := every / time.Duration(len(w.users))
	go func() {
		defer close(done)
		next := time.Now()
		for r := 1; r <= rounds; r++ {
			for _, uid := range w.users {
				w.send(uid, fmt.Sprintf("Вопрос %d: какая у меня комиссия за сделку?", r))
				next = next.Add(gap)
				time.Sleep(time.Until(next))
			}
		}
	}()
	return done
}

func (w *fleet) send(uid int64, text string) {
	at := time.Now()
	s, err := w.e.Telegram.SendText(uid, text)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		w.errs = append(w.errs, fmt.Errorf("user %d: send: %w", uid, err))
		return
	}
	w.sent[uid] = append(w.sent[uid], sentMsg{UpdateID: s.UpdateID, MessageID: s.MessageID, At: at})
}

// waitLoad waits for the load generator and fails on its errors.
func (w *fleet) waitLoad(done <-chan struct{}) {
	w.t.Helper()
	<-done
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := errors.Join(w.errs...); err != nil {
		w.t.Fatal(err)
	}
}

func (w *fleet) sentCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, s := range w.sent {
		n += len(s)
	}
	return n
}

// observe records when each bot message first appears in a user's chat.
func (w *fleet) observe(ctx context.Context) {
	for ctx.Err() == nil {
		for _, uid := range w.users {
			w.mu.Lock()
			after := w.last[uid]
			w.mu.Unlock()
			tr, err := w.e.Telegram.Transcript(uid, after)
			if err != nil {
				continue
			}
			now := time.Now()
			w.mu.Lock()
			for _, m := range tr.Messages {
				if m.FromBot {
					if w.seen[uid] == nil {
						w.seen[uid] = map[int64]time.Time{}
					}
					if _, ok := w.seen[uid][m.MessageID]; !ok {
						w.seen[uid][m.MessageID] = now
					}
				}
				w.last[uid] = max(w.last[uid], m.MessageID)
			}
			w.mu.Unlock()
		}
		select {
		case <-ctx.Done():
		case <-time.After(150 * time.Millisecond):
		}
	}
}

// firstBotMessageAfter is when the first bot message seen at or after t appeared.
func (w *fleet) firstBotMessageAfter(t time.Time) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var first time.Time
	for _, byID := range w.seen {
		for _, at := range byID {
			if !at.Before(t) && (first.IsZero() || at.Before(first)) {
				first = at
			}
		}
	}
	return first, !first.IsZero()
}

// ---- waiting ----

// waitFor polls cond until it holds, at most limit and never past the
// test's deadline (minus a margin for cleanup).
func (w *fleet) waitFor(what string, limit time.Duration, cond func() (bool, string)) time.Time {
	w.t.Helper()
	deadline := time.Now().Add(limit)
	if d, ok := w.t.Deadline(); ok && d.Add(-20*time.Second).Before(deadline) {
		deadline = d.Add(-20 * time.Second)
	}
	for {
		ok, detail := cond()
		if ok {
			return time.Now()
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("timed out after %s waiting for %s: %s", limit, what, detail)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// appeals returns the Appeals rows by Telegram id.
func (w *fleet) appeals() map[int64][][]any {
	out := map[int64][][]any{}
	for _, r := range w.e.Sheet(appealsSheet)[1:] {
		id, err := strconv.ParseInt(world.Cell([][]any{r}, 0, 3), 10, 64)
		if err == nil {
			out[id] = append(out[id], r)
		}
	}
	return out
}

// unanswered lists users whose last message has no answer line (AI or
// fallback) in the Appeals sheet yet; the answer is written after it was sent.
func (w *fleet) unanswered() []int64 {
	rows := w.appeals()
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []int64
	for _, uid := range w.users {
		s := w.sent[uid]
		if len(s) == 0 {
			continue
		}
		last := strconv.FormatInt(s[len(s)-1].UpdateID, 10)
		found := false
		for _, r := range rows[uid] {
			cell := world.Cell([][]any{r}, 0, 4)
			if history.Contains(cell, "a"+last) || history.Contains(cell, "s-ai-"+last) {
				found = true
				break
			}
		}
		if !found {
			out = append(out, uid)
		}
	}
	return out
}

// busy describes chat work still queued or running (empty = quiet): the
// chat queue's pending, active (including tasks leased by a dead worker),
// retry and scheduled tasks, and users' inboxes.
func (w *fleet) busy() string {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var parts []string
	for _, k := range []struct{ key, kind string }{
		{"asynq:{chat}:pending", "list"}, {"asynq:{chat}:active", "list"},
		{"asynq:{chat}:retry", "zset"}, {"asynq:{chat}:scheduled", "zset"}, {"mb:chat:inboxes", "set"},
	} {
		var n int64
		var err error
		switch k.kind {
		case "list":
			n, err = w.rdb.LLen(ctx, k.key).Result()
		case "zset":
			n, err = w.rdb.ZCard(ctx, k.key).Result()
		default:
			n, err = w.rdb.SCard(ctx, k.key).Result()
		}
		if err != nil {
			return fmt.Sprintf("redis: %v", err)
		}
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", k.key, n))
		}
	}
	return strings.Join(parts, " ")
}

// settle waits until every user's last message is answered (within limit)
// and the chat work is quiet (within quietLimit: tasks leased by a killed
// worker come back only after asynq's lease expiry plus its recoverer's
// 30 s margin), watches a little longer for late duplicates, and returns
// when everything was answered and when the work became quiet.
func (w *fleet) settle(limit, quietLimit time.Duration) (answered, quiet time.Time) {
	w.t.Helper()
	answered = w.waitFor("every message answered", limit, func() (bool, string) {
		u := w.unanswered()
		return len(u) == 0, fmt.Sprintf("%d users without an answer to their last message: %v; chat work: %s", len(u), u, w.busy())
	})
	quiet = w.waitFor("chat queue and inboxes quiet", quietLimit, func() (bool, string) {
		b := w.busy()
		return b == "", b
	})
	time.Sleep(grace)
	if b := w.busy(); b != "" {
		w.t.Fatalf("new chat work after the system was quiet: %s", b)
	}
	return answered, quiet
}

// ---- the verdict ----

// answer is one bot answer and the user messages it answers.
type answer struct {
	kind    string // "ai" (a reply quoting the last message) or "fallback"
	updates []int64
	botMsg  int64
}

// check verifies the guarantees for every user: each message answered
// exactly once (a reply, or the AI fallback), in order, and the Appeals
// sheet's history holding each user line exactly once followed by its
// answer. It returns the answers by user.
func (w *fleet) check() (map[int64][]answer, error) {
	rows := w.appeals()
	w.mu.Lock()
	sent := make(map[int64][]sentMsg, len(w.sent))
	for k, v := range w.sent {
		sent[k] = slices.Clone(v)
	}
	w.mu.Unlock()
	out := map[int64][]answer{}
	var errs []error
	for _, uid := range w.users {
		tr, err := w.e.Telegram.Transcript(uid, 0)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var bot []tgemu.TranscriptMessage
		for _, m := range tr.Messages {
			if m.FromBot {
				bot = append(bot, m)
			}
		}
		ans, err := w.checkUser(uid, sent[uid], rows[uid], bot)
		out[uid] = ans
		if err != nil {
			errs = append(errs, fmt.Errorf("user %d: %w", uid, err))
		}
		if len(errs) >= 10 {
			errs = append(errs, errors.New("(further users not checked)"))
			break
		}
	}
	return out, errors.Join(errs...)
}

func (w *fleet) checkUser(uid int64, sent []sentMsg, rows [][]any, bot []tgemu.TranscriptMessage) ([]answer, error) {
	if len(rows) != 1 {
		return nil, fmt.Errorf("%d appeal rows, want 1", len(rows))
	}
	cell := world.Cell(rows, 0, 4)
	msgOf := map[int64]int64{} // update id → message id
	for _, s := range sent {
		msgOf[s.UpdateID] = s.MessageID
	}
	// The history: u<id> lines in send order, each group followed by the
	// answer line named after its last message.
	var ans []answer
	var group []int64
	seen := map[string]bool{}
	next := 0
	for _, turn := range history.Parse(cell, nil) {
		if seen[turn.ID] {
			return ans, fmt.Errorf("history line %q twice: %s", turn.ID, oneLine(cell))
		}
		seen[turn.ID] = true
		switch {
		case turn.Role == history.RoleUser:
			if next >= len(sent) || turn.ID != "u"+strconv.FormatInt(sent[next].UpdateID, 10) {
				return ans, fmt.Errorf("history user line %q out of order or unknown (want message %d of %d): %s", turn.ID, next+1, len(sent), oneLine(cell))
			}
			group = append(group, sent[next].UpdateID)
			next++
		case turn.Role == history.RoleAI && strings.HasPrefix(turn.ID, "a"),
			turn.Role == history.RoleSystem && strings.HasPrefix(turn.ID, "s-ai-"):
			kind, id := "ai", strings.TrimPrefix(turn.ID, "a")
			if turn.Role == history.RoleSystem {
				kind, id = "fallback", strings.TrimPrefix(turn.ID, "s-ai-")
			}
			if len(group) == 0 || id != strconv.FormatInt(group[len(group)-1], 10) {
				return ans, fmt.Errorf("history answer line %q does not follow the messages it answers (%v): %s", turn.ID, group, oneLine(cell))
			}
			ans = append(ans, answer{kind: kind, updates: group})
			group = nil
		default:
			return ans, fmt.Errorf("unexpected history line %s #%s %q: %s", turn.Role, turn.ID, turn.Text, oneLine(cell))
		}
	}
	if next < len(sent) {
		return ans, fmt.Errorf("history lacks user line u%d (message %d of %d): %s", sent[next].UpdateID, next+1, len(sent), oneLine(cell))
	}
	if len(group) > 0 {
		return ans, fmt.Errorf("messages %v have no answer line in the history: %s", group, oneLine(cell))
	}
	// The chat: exactly one bot message per answer, in the same order.
	replies := map[int64]int{}
	for _, m := range bot {
		if m.ReplyToMessageID != 0 {
			replies[m.ReplyToMessageID]++
		}
	}
	for mid, n := range replies {
		if n > 1 {
			return ans, fmt.Errorf("message %d answered %d times: %s", mid, n, botTexts(bot))
		}
	}
	if len(bot) != len(ans) {
		return ans, fmt.Errorf("%d bot messages for %d answers in the history (%d messages sent): %s", len(bot), len(ans), len(sent), botTexts(bot))
	}
	for i, a := range ans {
		m := bot[i]
		last := a.updates[len(a.updates)-1]
		switch a.kind {
		case "ai":
			if m.ReplyToMessageID != msgOf[last] {
				return ans, fmt.Errorf("bot message %d (%d of %d) replies to %d, want %d (the last of %v): %s", m.MessageID, i+1, len(bot), m.ReplyToMessageID, msgOf[last], a.updates, botTexts(bot))
			}
		case "fallback":
			if m.ReplyToMessageID != 0 || strings.TrimSpace(m.Text) != strings.TrimSpace(w.tx.AIFallback) {
				return ans, fmt.Errorf("bot message %d (%d of %d) should be the AI fallback for %v: %s", m.MessageID, i+1, len(bot), a.updates, botTexts(bot))
			}
		}
		ans[i].botMsg = m.MessageID
	}
	return ans, nil
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " | ")
	if len(s) > 1500 {
		s = s[:1500] + "…"
	}
	return s
}

func botTexts(ms []tgemu.TranscriptMessage) string {
	var b strings.Builder
	for _, m := range ms {
		t := m.Text
		if r := []rune(t); len(r) > 40 {
			t = string(r[:40]) + "…"
		}
		fmt.Fprintf(&b, "\n  [%d reply_to=%d] %q", m.MessageID, m.ReplyToMessageID, t)
	}
	return b.String()
}

// verify runs check and fails the test on a broken guarantee; it returns
// the answers for the figures.
func (w *fleet) verify() map[int64][]answer {
	w.t.Helper()
	ans, err := w.check()
	if err != nil {
		w.t.Fatal(err)
	}
	return ans
}

// ---- figures ----

type figures struct {
	messages, answers, merged, fallbacks int
	delayed                              int           // answered later than delayedAfter
	maxLatency, p50                      time.Duration // send → answer seen
}

func (w *fleet) figures(ans map[int64][]answer) figures {
	w.mu.Lock()
	defer w.mu.Unlock()
	var f figures
	var lat []time.Duration
	for uid, as := range ans {
		at := map[int64]time.Time{}
		for _, s := range w.sent[uid] {
			at[s.UpdateID] = s.At
		}
		for _, a := range as {
			f.answers++
			if a.kind == "fallback" {
				f.fallbacks++
			}
			if len(a.updates) > 1 {
				f.merged += len(a.updates)
			}
			seen, ok := w.seen[uid][a.botMsg]
			if !ok {
				seen = time.Now()
			}
			for _, u := range a.updates {
				f.messages++
				d := seen.Sub(at[u])
				lat = append(lat, d)
				if d > delayedAfter {
					f.delayed++
				}
			}
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) > 0 {
		f.maxLatency, f.p50 = lat[len(lat)-1], lat[len(lat)/2]
	}
	return f
}

// report logs the recovery figures of a fault that ended at faultEnd; all
// is when every message had its answer.
func (w *fleet) report(fault string, faultEnd, all time.Time, ans map[int64][]answer) {
	w.t.Helper()
	f := w.figures(ans)
	first := "none"
	if at, ok := w.firstBotMessageAfter(faultEnd); ok {
		first = "+" + at.Sub(faultEnd).Round(100*time.Millisecond).String()
	}
	w.t.Logf("%s: %d messages from %d users answered exactly once by %d answers (%d fallbacks, %d messages merged into shared answers); "+
		"after the fault ended: first answer %s, last answer %+.1fs; %d messages delayed over %s; latency p50 %s, max %s",
		fault, f.messages, len(w.users), f.answers, f.fallbacks, f.merged, first, all.Sub(faultEnd).Seconds(),
		f.delayed, delayedAfter, f.p50.Round(10*time.Millisecond), f.maxLatency.Round(100*time.Millisecond))
}

// activeChatTasks counts chat tasks being processed now.
// killOutsideSendWindow is kill -9 of p at a moment when no part of a text
// is between leaving for Telegram and its record in Redis: the one window
// in which a kill makes a message go twice, which the design accepts (the
// Bot API has no idempotency key). A part's step holds an intent ("?…")
// from right before its request leaves until the record replaces it, so p
// is frozen (SIGSTOP), the steps are looked at, and p is killed if none
// holds an intent, or let go on and tried again a little later. The other
// worker's parts count too (intents do not say whose they are), which only
// makes the moment rarer.
func (w *fleet) killOutsideSendWindow(p *proc) {
	w.t.Helper()
	ctx := context.Background()
	start := time.Now()
	deadline := start.Add(20 * time.Second)
	for looks := 1; ; looks++ {
		if err := p.Freeze(); err != nil {
			w.t.Fatal(err)
		}
		n, err := w.partsInFlight(ctx)
		if err != nil {
			w.t.Fatal(err)
		}
		if n == 0 {
			p.Kill()
			w.t.Logf("%s killed outside the send-to-record window at look %d, %s after the first", p.Role, looks, time.Since(start).Round(time.Millisecond))
			return
		}
		if err := p.Thaw(); err != nil {
			w.t.Fatal(err)
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("%d parts were always on their way to Telegram for 20 s: no moment to kill %s outside that window", n, p.Role)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// partsInFlight counts the chat's step keys that hold an intent.
func (w *fleet) partsInFlight(ctx context.Context) (int, error) {
	n := 0
	iter := w.rdb.Scan(ctx, 0, "*chat:step:*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return 0, err
	}
	for len(keys) > 0 {
		batch := keys[:min(len(keys), 500)]
		keys = keys[len(batch):]
		vals, err := w.rdb.MGet(ctx, batch...).Result()
		if err != nil {
			return 0, err
		}
		for _, v := range vals {
			if s, ok := v.(string); ok && strings.HasPrefix(s, "?") {
				n++
			}
		}
	}
	return n, nil
}

func (w *fleet) activeChatTasks() int64 {
	n, _ := w.rdb.LLen(context.Background(), "asynq:{chat}:active").Result()
	return n
}
