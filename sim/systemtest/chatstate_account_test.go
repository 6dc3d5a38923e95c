package systemtest

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"marketingbot/pkg/domain"
	"marketingbot/sim/demo"
	"marketingbot/sim/fixtures"
	"marketingbot/sim/testutil"
	"marketingbot/sim/world"
)

// Account state follows the Auth sheet: who may use the Mini App is what
// the sheet binds, whether the bot or a person changed the binding.

// chatstateAuthorize makes uid share its own contact and waits for the
// bot's welcome (the success message and the menu).
func chatstateAuthorize(t *testing.T, c *world.Chatstate, uid int64, phone string) {
	t.Helper()
	before := len(c.BotMessages(uid))
	if _, err := c.Telegram.ShareContact(uid, phone, uid); err != nil {
		t.Fatal(err)
	}
	msgs := c.WaitBotMessages(uid, before+2, chatWait)
	if !strings.Contains(msgs[before].Text, "Вы авторизованы") {
		t.Fatalf("user %d: %q, want the success message", uid, msgs[before].Text)
	}
}

func chatstateWantMiniApp(t *testing.T, c *world.Chatstate, uid int64, want int) {
	t.Helper()
	if status, code := c.MiniAppMe(uid); status != want || (want == http.StatusForbidden && code != "not_partner") {
		t.Fatalf("Mini App for %d: %d %q, want %d", uid, status, code, want)
	}
}

// A person clears an account's Telegram ID in the Auth sheet: the next
// auth scan takes the Mini App from it, although the record the chat put
// at authorization would otherwise last an hour. The poller starts after
// the edit, so its first scan is the one that must see it.
func TestChatstatePersonUnbindsAnAccount(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	const uid = 9501
	d := &fixtures.Data{Knowledge: demo.Knowledge(), Partners: []domain.Partner{
		{Code: "P-0001", Phone: "+7 900 000-00-01", FullName: "Партнёров Партнёр Иванович"}}}
	c := world.NewChatstate(t, world.Options{Data: d})
	c.AddUser(uid, "Мария", "+79000000001")
	chatstateAuthorize(t, c, uid, "+79000000001")
	chatstateWantMiniApp(t, c, uid, http.StatusOK)

	c.SetCell("Auth", "Код партнера", "P-0001", "Telegram ID", "")
	c.StartPoller()
	testutil.Eventually(t, 10*time.Second, "the unbound account refused by the Mini App", func() bool {
		status, code := c.MiniAppMe(uid)
		return status == http.StatusForbidden && code == "not_partner"
	})
}

// A partner's row is bound again to a new Telegram account by the bot.
// P-0001: the old account (it had authorized a minute ago) is refused by
// the Mini App at once and is asked to authorize in the chat. P-0002: the
// old account had blocked the bot; the new one is not taken for blocked —
// bot_blocked_at is cleared and a promotion reaches it. The poller (scans,
// promotions) starts only after the rebinding, so nothing but the bot's own
// writes can have made it so.
func TestChatstateRowReboundToANewAccount(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	const oldA, newA, oldB, newB = 9601, 9602, 9603, 9604
	d := &fixtures.Data{Knowledge: demo.Knowledge(), Partners: []domain.Partner{
		{Code: "P-0001", Phone: "+7 900 000-00-01", FullName: "Первый Партнёр"},
		{Code: "P-0002", Phone: "+7 900 000-00-02", FullName: "Второй Партнёр", Status: domain.PartnerStatusAuthorized,
			TelegramID: oldB, AuthorizedAt: time.Now().Add(-30 * 24 * time.Hour), BotBlockedAt: time.Now().Add(-24 * time.Hour)},
	}, Promotions: []domain.Promotion{{ID: "promo-1", Title: "Скидка", Text: "Скидка 5% на ипотеку до конца месяца",
		StartsAt: time.Now().Add(-time.Minute), Status: domain.PromotionScheduled}}}
	c := world.NewChatstate(t, world.Options{Data: d})
	c.AddUser(oldA, "Старый", "+79000000001")
	c.AddUser(newA, "Новый", "+79000000001")
	c.AddUser(oldB, "Старый", "+79000000002")
	c.AddUser(newB, "Новый", "+79000000002")

	chatstateAuthorize(t, c, oldA, "+79000000001")
	chatstateWantMiniApp(t, c, oldA, http.StatusOK)
	chatstateAuthorize(t, c, newA, "+79000000001")
	chatstateWantMiniApp(t, c, oldA, http.StatusForbidden) // at once: no scan has run
	chatstateWantMiniApp(t, c, newA, http.StatusOK)
	before := len(c.BotMessages(oldA))
	c.Send(oldA, "Какая комиссия партнёра за сделку?")
	if msgs := c.WaitBotMessages(oldA, before+1, chatWait); !strings.Contains(string(msgs[before].ReplyMarkup), "request_contact") {
		t.Fatalf("the old account was answered %q, want the request to authorize", msgs[before].Text)
	}

	chatstateAuthorize(t, c, newB, "+79000000002")
	row := c.Row("Auth", "Код партнера", "P-0002")
	if row["Telegram ID"] != strconv.Itoa(newB) || row["bot_blocked_at"] != "" {
		t.Fatalf("P-0002 after the new account authorized: %v", row)
	}

	c.StartPoller()
	for _, uid := range []int64{newA, newB} {
		testutil.Eventually(t, 30*time.Second, "the promotion reaching "+strconv.FormatInt(uid, 10), func() bool {
			return chatstatePromos(c, uid) == 1
		})
	}
	testutil.Eventually(t, 30*time.Second, "the promotion finished", func() bool {
		return c.Row("Акции", "id", "promo-1")["status"] == string(domain.PromotionSent)
	})
	for _, uid := range []int64{oldA, oldB} {
		if n := chatstatePromos(c, uid); n != 0 {
			t.Fatalf("the promotion reached the old account %d", uid)
		}
	}
	chatstateWantMiniApp(t, c, oldA, http.StatusForbidden) // the scans keep it so
}

// chatstatePromos counts the promotion's messages in uid's chat.
func chatstatePromos(c *world.Chatstate, uid int64) int {
	n := 0
	for _, m := range c.BotMessages(uid) {
		if strings.Contains(m.Text, "Скидка 5%") {
			n++
		}
	}
	return n
}
