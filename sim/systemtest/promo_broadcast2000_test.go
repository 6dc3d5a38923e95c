package systemtest

import (
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mymmrac/telego"

	"marketingbot/pkg/config"
	"marketingbot/pkg/domain"
	"marketingbot/pkg/telegram"
	tgemu "marketingbot/sim/emulator/telegram"
	"marketingbot/sim/world"
)

// TestBroadcast2000 sends one promotion to 2,000 partners through the
// Telegram emulator with its flood limits on, while a chat conversation
// goes on through the same limiter; 5 % of the recipients blocked the bot.
func TestBroadcast2000(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	const n = 2000
	p := world.NewPromo(t, world.PromoOptions{Partners: n, Promotions: []domain.Promotion{
		promoPromotion("AUTUMN", "<b>Осенняя акция</b>\nКомиссия партнёра +5 п.п. до конца месяца.", domain.PromotionScheduled, time.Now().Add(-time.Minute)),
	}})
	blocked := map[int64]bool{}
	for i := 0; i < n; i += 20 {
		blocked[p.Partners[i].TelegramID] = true
		p.Block(p.Partners[i].TelegramID)
	}
	chatUsers := []int64{800001, 800002, 800003}
	for _, id := range chatUsers {
		if _, err := p.Telegram.PutUsers(tgemu.User{ID: id, FirstName: "Собеседник"}); err != nil {
			t.Fatal(err)
		}
	}
	p.StartWorker()
	finished, finishedAt := p.WatchStatus("AUTUMN", domain.PromotionSent)
	chat := promoStartChat(t, p, chatUsers, finished)

	p.Scan()
	started := time.Now()
	// The broadcast is paced by the wall clock (30/s), not by the CPU: it
	// runs on while this test waits for its turn among the parallel tests.
	// The conversation stops when the row says Отправлено, and every figure
	// comes from the emulator's call times or from that moment.
	t.Parallel()
	r := p.WaitStatus("AUTUMN", domain.PromotionSent, 150*time.Second)
	<-finished
	delays := chat.stop()
	if took := finishedAt().Sub(started); took > 150*time.Second {
		t.Errorf("the broadcast took %s, want at most 150 s", took)
	}

	if got := p.Telegram.Stats().HTTP429; got != 0 {
		t.Errorf("the emulator answered 429 %d times", got)
	}
	calls := p.Telegram.Calls("")
	promoCheckEveryoneOnce(t, p, r, blocked, calls)
	promoCheckRates(t, p, calls, chatUsers)
	promoCheckChatDelays(t, delays)
	if got := p.Counter("marketingbot_promo_sends_total", "sent"); int(got) != n-len(blocked) {
		t.Errorf("promo_sends_total{sent} = %v", got)
	}
	if got := p.Counter("marketingbot_promo_sends_total", "blocked"); int(got) != len(blocked) {
		t.Errorf("promo_sends_total{blocked} = %v", got)
	}
	p.GroupText("завершена", 5*time.Second)
}

// promoChat is a conversation during the broadcast: one reply a second to
// each of a few users, through the same limiter, at chat priority, until
// the broadcast ends (or stop).
type promoChat struct {
	done   chan struct{}
	wg     sync.WaitGroup
	mu     sync.Mutex
	delays []time.Duration
}

func promoStartChat(t *testing.T, p *world.Promo, users []int64, until <-chan struct{}) *promoChat {
	c := &promoChat{done: make(chan struct{})}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-c.done:
				return
			case <-until:
				return
			case <-tick.C:
			}
			var rw sync.WaitGroup
			for _, u := range users {
				rw.Add(1)
				go func() {
					defer rw.Done()
					start := time.Now()
					_, err := p.Svc.Sender.SendMessage(p.Ctx(30*time.Second), &telego.SendMessageParams{
						ChatID: telego.ChatID{ID: u}, Text: "Ответ " + strconv.Itoa(i),
					}, telegram.Options{Priority: telegram.PriorityChat})
					if err != nil {
						t.Errorf("chat reply: %v", err)
						return
					}
					c.mu.Lock()
					c.delays = append(c.delays, time.Since(start))
					c.mu.Unlock()
				}()
			}
			rw.Wait()
		}
	}()
	return c
}

// stop ends the conversation and returns the reply delays, sorted.
func (c *promoChat) stop() []time.Duration {
	close(c.done)
	c.wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	slices.Sort(c.delays)
	return c.delays
}

// promoCheckEveryoneOnce: the row's counters, and every recipient got the
// promotion once, except those who blocked the bot (one 403 attempt each).
func promoCheckEveryoneOnce(t *testing.T, p *world.Promo, r []any, blocked map[int64]bool, calls []tgemu.Call) {
	t.Helper()
	n := len(p.Partners)
	if sent, failed, nb := world.PromoCellNum(r, 7), world.PromoCellNum(r, 8), world.PromoCellNum(r, 9); sent != n-len(blocked) || failed != 0 || nb != len(blocked) {
		t.Errorf("row counters sent/failed/blocked = %d/%d/%d, want %d/0/%d", sent, failed, nb, n-len(blocked), len(blocked))
	}
	if world.PromoCellStr(r, 10) == "" {
		t.Error("finished_at is empty")
	}
	perChat := promoSendsTo(calls)
	for _, pt := range p.Partners {
		id := strconv.FormatInt(pt.TelegramID, 10)
		got := p.PromoCount(pt.TelegramID, "Осенняя акция")
		if blocked[pt.TelegramID] {
			if got != 0 || perChat[id][403] != 1 || len(perChat[id]) != 1 {
				t.Errorf("blocked %s: %d messages, calls %v; want none and one 403 attempt", id, got, perChat[id])
			}
			continue
		}
		if got != 1 {
			t.Errorf("recipient %s got the promotion %d times", id, got)
		}
	}
	promoCheckBlockedInAuth(t, p, blocked)
}

// promoCheckRates logs the sustained rate over the middle 80 %
// of the run: what the limiter admitted for the broadcast (deliveries and
// 403 attempts), the deliveries alone, and everything including the chat
// replies.
func promoCheckRates(t *testing.T, p *world.Promo, calls []tgemu.Call, chatUsers []int64) {
	t.Helper()
	var attempts, delivered, all []time.Time
	for _, c := range calls {
		if (c.Method != "sendMessage" && c.Method != "sendPhoto") || c.Status == 429 {
			continue
		}
		all = append(all, c.Time)
		if chat := promoMustInt(fmt.Sprint(c.Params["chat_id"])); chat > 0 && !slices.Contains(chatUsers, chat) {
			attempts = append(attempts, c.Time)
			if c.Status == 200 {
				delivered = append(delivered, c.Time)
			}
		}
	}
	limit := p.Config(config.RoleWorker).Telegram.GlobalPerSecond
	burst := float64(p.Svc.Sender.Limiter.Global.Burst)
	rate, _ := promoSustained(attempts)
	okRate, _ := promoSustained(delivered)
	allRate, allWindow := promoSustained(all)
	t.Logf("broadcast: %d attempts (%d delivered, %d blocked) in %.1f s; sustained %.1f/s = %.0f %% of the configured %.0f/s (deliveries %.1f/s = %.0f %%)",
		len(attempts), len(delivered), len(attempts)-len(delivered), attempts[len(attempts)-1].Sub(attempts[0]).Seconds(),
		rate, 100*rate/limit, limit, okRate, 100*okRate/limit)
	t.Logf("all sends incl. chat replies: sustained %.1f/s = %.0f %%, peak %d in a 1 s window", allRate, 100*allRate/limit, promoPeak(all, time.Second))
	// The rates are figures, logged above: a test does not assert speed
	// (parallel worlds on two cores share the CPU). What it asserts is the
	// ceiling: the fleet never sends faster than Telegram allows.
	if allRate > limit+burst/allWindow {
		t.Errorf("sustained rate %.1f/s is above the limit %.0f/s plus its burst", allRate, limit)
	}
}

// promoCheckChatDelays logs how long chat replies took during the broadcast.
func promoCheckChatDelays(t *testing.T, delays []time.Duration) {
	t.Helper()
	p50, p95, mx := delays[len(delays)/2], delays[len(delays)*95/100], delays[len(delays)-1]
	// A figure, not an assertion (no test asserts speed); that chat replies
	// go ahead of broadcasts is the limiter's rule, unit-tested in pkg/telegram.
	t.Logf("chat replies during the broadcast: %d, delay p50 %s p95 %s max %s", len(delays), p50, p95, mx)
}
