package systemtest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mymmrac/telego"

	"marketingbot/pkg/domain"
	tgemu "marketingbot/sim/emulator/telegram"
	"marketingbot/sim/fixtures"
	"marketingbot/sim/world"
)

func promoPromotion(id, text string, status domain.PromotionStatus, startsAt time.Time) domain.Promotion {
	return domain.Promotion{ID: id, Title: "Акция " + id, Text: text, StartsAt: startsAt, Audience: "all", Status: status}
}

// promoSendsTo counts the calls of the message-sending methods aimed at
// chatID, by HTTP status.
func promoSendsTo(calls []tgemu.Call) map[string]map[int]int {
	out := map[string]map[int]int{}
	for _, c := range calls {
		if c.Method != "sendMessage" && c.Method != "sendPhoto" {
			continue
		}
		chat, _ := c.Params["chat_id"].(string)
		if out[chat] == nil {
			out[chat] = map[int]int{}
		}
		out[chat][c.Status]++
	}
	return out
}

// promoCheckButton: one inline button opening the Mini App's promotions screen.
func promoCheckButton(t *testing.T, markup json.RawMessage) {
	t.Helper()
	var kb telego.InlineKeyboardMarkup
	if err := json.Unmarshal(markup, &kb); err != nil || len(kb.InlineKeyboard) != 1 || len(kb.InlineKeyboard[0]) != 1 {
		t.Fatalf("reply_markup %s", markup)
	}
	b := kb.InlineKeyboard[0][0]
	if b.WebApp == nil || b.WebApp.URL != world.PromoMiniAppURL+"?screen=promotions" || b.Text == "" {
		t.Errorf("button %+v", b)
	}
}

// promoCalled reports whether a call of method to chat had parameter name
// holding want (object parameters are compared as raw JSON). Calls to other
// chats (every chat text carries link_preview_options too) do not count.
func promoCalled(p *world.Promo, method string, chat int64, name, want string) bool {
	for _, c := range p.Telegram.Calls(method) {
		if fmt.Sprint(c.Params["chat_id"]) != fmt.Sprint(chat) {
			continue
		}
		if v, ok := c.Params[name]; ok {
			b, _ := json.Marshal(v)
			if strings.Contains(string(b), want) {
				return true
			}
		}
	}
	return false
}

// promoCheckBlockedInAuth: Auth G is set exactly for the users who blocked the bot.
func promoCheckBlockedInAuth(t *testing.T, p *world.Promo, blocked map[int64]bool) {
	t.Helper()
	rows := p.Sheet(fixtures.DefaultTitles().Auth)
	marked := 0
	for _, r := range rows[1:] {
		id := int64(world.PromoCellNum(r, 4))
		has := world.PromoCellStr(r, 6) != ""
		if has != blocked[id] {
			t.Errorf("Auth row of %d: bot_blocked_at %q, blocked %v", id, world.PromoCellStr(r, 6), blocked[id])
		}
		if has {
			marked++
		}
	}
	if marked != len(blocked) {
		t.Errorf("%d Auth rows marked blocked, want %d", marked, len(blocked))
	}
}

func promoMustInt(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// promoSustained is the rate over the middle 80 % of the times, and that
// window in seconds.
func promoSustained(ts []time.Time) (perSecond, window float64) {
	ts = slices.Clone(ts)
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	lo, hi := len(ts)/10, len(ts)*9/10
	window = ts[hi].Sub(ts[lo]).Seconds()
	return float64(hi-lo) / window, window
}

// promoPeak is the largest number of times in any window of length d.
func promoPeak(ts []time.Time, d time.Duration) int {
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
