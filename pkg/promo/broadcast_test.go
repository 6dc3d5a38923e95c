package promo_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mymmrac/telego"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/projection"
	"marketingbot/pkg/telegram"
	tgemu "marketingbot/sim/emulator/telegram"
	"marketingbot/sim/fixtures"
)

// TestBroadcast2000 sends one promotion to 2,000 partners through the
// Telegram emulator with its flood limits on, while a chat conversation
// goes on through the same limiter; 5 % of the recipients blocked the bot.
func TestBroadcast2000(t *testing.T) {
	if testing.Short() {
		t.Skip("2,000 recipients take about 70 s")
	}
	t.Parallel()
	const n = 2000
	e := newEnv(t, envOptions{partners: n, concurrency: 64, promotions: []domain.Promotion{
		promotion("AUTUMN", "<b>Осенняя акция</b>\nКомиссия партнёра +5 п.п. до конца месяца.", domain.PromotionScheduled, time.Now().Add(-time.Minute)),
	}})
	blocked := map[int64]bool{}
	for i := 0; i < n; i += 20 {
		blocked[e.partners[i].TelegramID] = true
	}
	var ids []int64
	for id := range blocked {
		ids = append(ids, id)
	}
	e.block(ids...)
	chatUsers := []int64{800001, 800002, 800003}
	var users []user
	for _, id := range chatUsers {
		users = append(users, user{ID: id, FirstName: "Собеседник"})
	}
	e.control("POST", "/_emulator/users", users, nil)

	// A conversation at the same time: one reply a second to each of three
	// users, through the same Sender and limiter, at chat priority.
	stop := make(chan struct{})
	var (
		mu     sync.Mutex
		delays []time.Duration
		wg     sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			var rw sync.WaitGroup
			for _, u := range chatUsers {
				rw.Add(1)
				go func() {
					defer rw.Done()
					start := time.Now()
					_, err := e.deps.Sender.SendMessage(ctxT(t, 30*time.Second), &telego.SendMessageParams{
						ChatID: telego.ChatID{ID: u}, Text: "Ответ " + strconv.Itoa(i),
					}, telegram.Options{Priority: telegram.PriorityChat})
					if err != nil {
						t.Errorf("chat reply: %v", err)
						return
					}
					mu.Lock()
					delays = append(delays, time.Since(start))
					mu.Unlock()
				}()
			}
			rw.Wait()
		}
	}()

	e.scan()
	r := e.waitStatus("AUTUMN", domain.PromotionSent, 150*time.Second)
	close(stop)
	wg.Wait()

	if got := e.tg.Stats().HTTP429; got != 0 {
		t.Errorf("the emulator answered 429 %d times", got)
	}
	if sent, failed, nb := cellNum(r, 7), cellNum(r, 8), cellNum(r, 9); sent != n-len(blocked) || failed != 0 || nb != len(blocked) {
		t.Errorf("row counters sent/failed/blocked = %d/%d/%d, want %d/0/%d", sent, failed, nb, n-len(blocked), len(blocked))
	}
	if cellStr(r, 10) == "" {
		t.Error("finished_at is empty")
	}
	calls := e.tg.Calls("")
	perChat := sendsTo(calls)
	for _, p := range e.partners {
		id := strconv.FormatInt(p.TelegramID, 10)
		got := e.promoCount(p.TelegramID, "Осенняя акция")
		if blocked[p.TelegramID] {
			if got != 0 || perChat[id][403] != 1 || len(perChat[id]) != 1 {
				t.Errorf("blocked %s: %d messages, calls %v; want none and one 403 attempt", id, got, perChat[id])
			}
			continue
		}
		if got != 1 {
			t.Errorf("recipient %s got the promotion %d times", id, got)
		}
	}
	checkBlockedInAuth(t, e, blocked)

	// The sustained rate over the middle 80 % of the run: what the limiter
	// admitted for the broadcast (deliveries and 403 attempts), the
	// deliveries alone, and everything including the chat replies.
	var attempts, delivered, all []time.Time
	for _, c := range calls {
		if (c.Method != "sendMessage" && c.Method != "sendPhoto") || c.Status == 429 {
			continue
		}
		all = append(all, c.Time)
		if chat := mustInt(fmt.Sprint(c.Params["chat_id"])); chat > 0 && !slices.Contains(chatUsers, chat) {
			attempts = append(attempts, c.Time)
			if c.Status == 200 {
				delivered = append(delivered, c.Time)
			}
		}
	}
	limit := e.cfg.Telegram.GlobalPerSecond
	burst := float64(e.deps.Sender.Limiter.Global.Burst)
	rate, _ := sustained(attempts)
	okRate, _ := sustained(delivered)
	allRate, allWindow := sustained(all)
	t.Logf("broadcast: %d attempts (%d delivered, %d blocked) in %.1f s; sustained %.1f/s = %.0f %% of the configured %.0f/s (deliveries %.1f/s = %.0f %%)",
		len(attempts), len(delivered), len(attempts)-len(delivered), attempts[len(attempts)-1].Sub(attempts[0]).Seconds(),
		rate, 100*rate/limit, limit, okRate, 100*okRate/limit)
	t.Logf("all sends incl. chat replies: sustained %.1f/s = %.0f %%, peak %d in a 1 s window", allRate, 100*allRate/limit, peak(all, time.Second))
	if rate < 0.8*limit {
		t.Errorf("sustained broadcast rate %.1f/s is below 80 %% of %.0f/s", rate, limit)
	}
	if allRate > limit+burst/allWindow {
		t.Errorf("sustained rate %.1f/s is above the limit %.0f/s plus its burst", allRate, limit)
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(delays)
	p50, p95, mx := delays[len(delays)/2], delays[len(delays)*95/100], delays[len(delays)-1]
	t.Logf("chat replies during the broadcast: %d, delay p50 %s p95 %s max %s", len(delays), p50, p95, mx)
	if p95 > 3*time.Second {
		t.Errorf("chat replies were delayed by the broadcast: p95 %s", p95)
	}
	if got := counter(t, e, "marketingbot_promo_sends_total", "sent"); int(got) != n-len(blocked) {
		t.Errorf("promo_sends_total{sent} = %v", got)
	}
	if got := counter(t, e, "marketingbot_promo_sends_total", "blocked"); int(got) != len(blocked) {
		t.Errorf("promo_sends_total{blocked} = %v", got)
	}
	e.groupText("завершена", 5*time.Second)
}

func mustInt(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// sustained is the rate over the middle 80 % of the times, and that window in seconds.
func sustained(ts []time.Time) (perSecond, window float64) {
	ts = slices.Clone(ts)
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	lo, hi := len(ts)/10, len(ts)*9/10
	window = ts[hi].Sub(ts[lo]).Seconds()
	return float64(hi-lo) / window, window
}

// peak is the largest number of times in any window of length d.
func peak(ts []time.Time, d time.Duration) int {
	ts = slices.Clone(ts)
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	best, j := 0, 0
	for i := range ts {
		for ts[i].Sub(ts[j]) >= d {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

// checkBlockedInAuth: Auth G is set exactly for the users who blocked the bot.
func checkBlockedInAuth(t *testing.T, e *env, blocked map[int64]bool) {
	t.Helper()
	rows := e.sheet(fixtures.DefaultTitles().Auth)
	marked := 0
	for _, r := range rows[1:] {
		id := int64(cellNum(r, 4))
		has := cellStr(r, 6) != ""
		if has != blocked[id] {
			t.Errorf("Auth row of %d: bot_blocked_at %q, blocked %v", id, cellStr(r, 6), blocked[id])
		}
		if has {
			marked++
		}
	}
	if marked != len(blocked) {
		t.Errorf("%d Auth rows marked blocked, want %d", marked, len(blocked))
	}
}

// TestBlockedAndFailedRecipients: 5 % blocked the bot, two accounts do not
// exist, and the Bot API has a burst of 502s; a photo promotion.
func TestBlockedAndFailedRecipients(t *testing.T) {
	t.Parallel()
	const n = 200
	noUser := func(i int) bool { return i == 7 || i == 77 }
	e := newEnv(t, envOptions{partners: n, noUser: noUser, concurrency: 64, promotions: []domain.Promotion{{
		ID: "PHOTO", Title: "Фото-акция", Text: "<b>Новые объекты</b> в каталоге", ImageURL: "https://img.example/p.jpg",
		StartsAt: time.Now().Add(-time.Minute), Audience: "all", Status: domain.PromotionScheduled,
	}}})
	blocked := map[int64]bool{}
	for i := 3; i < n; i += 20 {
		blocked[e.partners[i].TelegramID] = true
		e.block(e.partners[i].TelegramID)
		if err := e.deps.Projection.PutPartner(ctxT(t, time.Second), projection.Partner{TelegramID: e.partners[i].TelegramID, Code: e.partners[i].Code}, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	// More 502s than the Sender retries in one go: some sends go back to asynq.
	e.control("POST", "/_emulator/faults", tgemu.Fault{Method: "sendPhoto", Status: 502, Count: 12}, nil)

	e.scan()
	r := e.waitStatus("PHOTO", domain.PromotionSent, 60*time.Second)
	want := n - len(blocked) - 2
	if sent, failed, nb := cellNum(r, 7), cellNum(r, 8), cellNum(r, 9); sent != want || failed != 2 || nb != len(blocked) {
		t.Errorf("row counters sent/failed/blocked = %d/%d/%d, want %d/2/%d", sent, failed, nb, want, len(blocked))
	}
	perChat := sendsTo(e.tg.Calls(""))
	for i, p := range e.partners {
		id := strconv.FormatInt(p.TelegramID, 10)
		switch {
		case noUser(i):
			if perChat[id][400] != 1 || perChat[id][200] != 0 {
				t.Errorf("missing account %s: calls %v, want one 400", id, perChat[id])
			}
		case blocked[p.TelegramID]:
			if perChat[id][403] != 1 || perChat[id][200] != 0 {
				t.Errorf("blocked %s: calls %v, want exactly one 403 attempt", id, perChat[id])
			}
			if _, ok, _ := e.deps.Projection.Partner(ctxT(t, time.Second), p.TelegramID); ok {
				t.Errorf("blocked %s is still in the partners projection", id)
			}
		default:
			msgs := e.botMessages(p.TelegramID)
			if len(msgs) != 1 || msgs[0].Kind != "photo" || msgs[0].Photo == nil || msgs[0].Caption != "Новые объекты в каталоге" {
				t.Fatalf("recipient %s: %d messages %+v", id, len(msgs), msgs)
			}
			checkButton(t, msgs[0].ReplyMarkup)
		}
	}
	checkBlockedInAuth(t, e, blocked)
	for _, c := range e.tg.Calls("sendPhoto") {
		if c.Params["photo"] != "https://img.example/p.jpg" {
			t.Fatalf("sendPhoto with photo %v", c.Params["photo"])
		}
	}
	if got := e.tg.Stats().HTTP429; got != 0 {
		t.Errorf("the emulator answered 429 %d times", got)
	}
	note := e.groupText("завершена", 5*time.Second)
	if !strings.Contains(note.Text, fmt.Sprintf("доставлено %d", want)) || !strings.Contains(note.Text, fmt.Sprintf("заблокировали бота %d", len(blocked))) {
		t.Errorf("finished note: %q", note.Text)
	}
}

// checkButton: one inline button opening the Mini App's promotions screen.
func checkButton(t *testing.T, markup json.RawMessage) {
	t.Helper()
	var kb telego.InlineKeyboardMarkup
	if err := json.Unmarshal(markup, &kb); err != nil || len(kb.InlineKeyboard) != 1 || len(kb.InlineKeyboard[0]) != 1 {
		t.Fatalf("reply_markup %s", markup)
	}
	b := kb.InlineKeyboard[0][0]
	if b.WebApp == nil || b.WebApp.URL != miniAppURL+"?screen=promotions" || b.Text == "" {
		t.Errorf("button %+v", b)
	}
}

// TestMessageFormats covers how a promotion becomes a message, and the
// promotions that cannot be sent at all.
func TestMessageFormats(t *testing.T) {
	t.Parallel()
	long := "<b>Большая акция</b>\n" + strings.Repeat("Подробные условия акции для партнёров сети. ", 30)
	now := time.Now().Add(-time.Minute)
	promos := []domain.Promotion{
		{ID: "LONG", Title: "Длинная", Text: long, ImageURL: "https://img.example/long.png", Audience: "A-", StartsAt: now, Status: domain.PromotionScheduled},
		{ID: "BROKEN", Title: "Сломанный HTML", Text: "<b>Скидка 5% & <подарок>", Audience: "B-", StartsAt: now, Status: domain.PromotionScheduled},
		{ID: "ONLYPHOTO", Title: "Только фото", ImageURL: "https://img.example/only.jpg", Audience: "C-", StartsAt: now, Status: domain.PromotionScheduled},
		{ID: "HTML", Title: "HTML", Text: "<i>Курсив</i> и <a href=\"https://example.com\">ссылка</a>", Audience: "D-", StartsAt: now, Status: domain.PromotionScheduled},
		{ID: "EMPTY", Title: "Пустая", Audience: "E-", StartsAt: now, Status: domain.PromotionScheduled},
		{ID: "HUGE", Title: "Огромная", Text: strings.Repeat("слово ", 1000), Audience: "E-", StartsAt: now, Status: domain.PromotionScheduled},
	}
	groups := []string{"A-", "B-", "C-", "D-", "E-"}
	e := newEnv(t, envOptions{partners: 3 * len(groups), code: func(i int) string { return groups[i/3] + strconv.Itoa(i) },
		concurrency: 16, promotions: promos})
	e.scan()
	for _, id := range []string{"LONG", "BROKEN", "ONLYPHOTO", "HTML"} {
		e.waitStatus(id, domain.PromotionSent, 30*time.Second)
	}
	for _, id := range []string{"EMPTY", "HUGE"} {
		e.waitStatus(id, domain.PromotionFailed, 30*time.Second)
		e.groupText("("+id+") не запущена", 5*time.Second)
	}
	tests := []struct {
		group string
		check func(t *testing.T, m tgemu.TranscriptMessage)
	}{
		{"A-", func(t *testing.T, m tgemu.TranscriptMessage) {
			if m.Kind != "text" || !strings.HasPrefix(m.Text, "Большая акция") || m.ParseMode != "HTML" {
				t.Errorf("long text with image: %+v", m)
			}
			if !strings.Contains(callParam(e, "sendMessage", "link_preview_options"), "https://img.example/long.png") {
				t.Error("the image is not the link preview of the long text")
			}
		}},
		{"B-", func(t *testing.T, m tgemu.TranscriptMessage) {
			if m.Kind != "text" || m.ParseMode != "" || m.Text != "Скидка 5% & <подарок>" {
				t.Errorf("rejected HTML must arrive as plain text: %+v", m)
			}
		}},
		{"C-", func(t *testing.T, m tgemu.TranscriptMessage) {
			if m.Kind != "photo" || m.Caption != "" || m.Photo == nil || !strings.Contains(callParam(e, "sendPhoto", "photo"), "https://img.example/only.jpg") {
				t.Errorf("photo without text: %+v", m)
			}
		}},
		{"D-", func(t *testing.T, m tgemu.TranscriptMessage) {
			if m.Kind != "text" || m.Text != "Курсив и ссылка" || m.ParseMode != "HTML" || len(m.Entities) == 0 {
				t.Errorf("HTML text: %+v", m)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.group, func(t *testing.T) {
			for i, p := range e.partners {
				if groups[i/3] != tc.group {
					continue
				}
				msgs := e.botMessages(p.TelegramID)
				if len(msgs) != 1 {
					t.Fatalf("%d: %d messages", p.TelegramID, len(msgs))
				}
				tc.check(t, msgs[0])
				checkButton(t, msgs[0].ReplyMarkup)
			}
		})
	}
	for i, p := range e.partners {
		if groups[i/3] == "E-" && len(e.botMessages(p.TelegramID)) != 0 {
			t.Errorf("%d got a message from a promotion that cannot be sent", p.TelegramID)
		}
	}

	// The operator fixes the text and schedules it again: a broadcast that
	// sent nothing can start again (its old task is replaced).
	e.setCell("EMPTY", 2, "Исправленная акция")
	e.setStatus("EMPTY", domain.PromotionScheduled)
	e.scan()
	e.waitStatus("EMPTY", domain.PromotionSent, 30*time.Second)
	for i, p := range e.partners {
		if groups[i/3] == "E-" {
			if got := e.promoCount(p.TelegramID, "Исправленная акция"); got != 1 {
				t.Errorf("%d got the fixed promotion %d times", p.TelegramID, got)
			}
		}
	}
}

// callParam returns a parameter of the first call of method that has it.
func callParam(e *env, method, name string) string {
	for _, c := range e.tg.Calls(method) {
		if v, ok := c.Params[name]; ok {
			b, _ := json.Marshal(v) // object parameters are raw JSON
			return string(b)
		}
	}
	return ""
}
