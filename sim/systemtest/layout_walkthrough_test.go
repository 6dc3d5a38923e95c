package systemtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"marketingbot/pkg/config"
	"marketingbot/pkg/domain"
	"marketingbot/pkg/store"
	"marketingbot/sim/demo"
	tgemu "marketingbot/sim/emulator/telegram"
	"marketingbot/sim/fixtures"
	"marketingbot/sim/listinggen"
	"marketingbot/sim/testutil"
	"marketingbot/sim/world"
)

// The header contract end to end: a spreadsheet laid out like a team's own
// — every sheet's columns shuffled, headers typed in other case, the team's
// own columns (notes, numbers, text that looks like a formula, real
// formulas) between ours, a sheet of the team's own, the sheets in another
// order — and the roles as the binaries wire them.

const (
	layoutUID       = int64(9301)
	layoutPhone     = "+79123456789"
	layoutColleague = int64(9302) // already authorized: receives the promotion too
)

// layoutData is the team's spreadsheet content: partners, an old appeal and
// an old Queue row of someone else (with the team's cells in their rows),
// the market, the knowledge base and a draft promotion.
func layoutData() (fixtures.Data, string) {
	now := time.Now().UTC().Truncate(24 * time.Hour)
	listings := listinggen.Generate(listinggen.Config{Seed: 15, N: 400, Now: now})
	old := time.Date(2026, 1, 10, 9, 0, 0, 0, time.UTC)
	return fixtures.Data{
		Partners: []domain.Partner{
			{Code: "P-0001", Phone: "+7 (912) 345-67-89", FullName: "Иванова Мария Сергеевна"},
			{Code: "P-0002", Phone: "89130001122", FullName: "Петров Алексей", Status: domain.PartnerStatusAuthorized, TelegramID: layoutColleague},
		},
		Appeals: [][]any{{"2026-01-10 12:00:00", "@old", "P-0009", "555", "[10.01.2026 12:00] Партнёр #u1: старое", "Решено", "2026-01-10 12:05:00", ""}},
		Queue: [][]any{{"old-req-1", "2026-01-10 12:00:00", listinggen.Codes(listings, 1)[0], "555", "P-0009", "DONE",
			"2026-01-10 12:01:00", "", "", "2026-01-10 12:02:00", "итог"}},
		Listings:   listings,
		Knowledge:  demo.Knowledge(),
		Promotions: []domain.Promotion{{ID: "promo-1", Title: "Скидка", Text: "Скидка 5% на ипотеку", StartsAt: old, Audience: "all", Status: domain.PromotionDraft}},
	}, listinggen.Codes(listings, 2)[1]
}

func TestLayoutShuffledSpreadsheetWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	layout := fixtures.Shuffled(15)
	data, code := layoutData()
	e := world.New(t, world.Options{Settings: map[string]string{"MARKETINGBOT_HTTP_PUBLIC_URL": "http://127.0.0.1:1"}})
	e.LoadLayout(layout, data)
	before := e.TeamCells(layout)
	if len(before) < 30 {
		t.Fatalf("the fixture has only %d cells of the team's: %v", len(before), before)
	}
	e.Start(config.RoleWorker)
	e.Start(config.RolePoller)
	bot := e.Start(config.RoleBot)
	e.AddUser(layoutColleague, "Алексей", "")

	layoutAuthorizeAndChat(t, e)
	layoutEscalate(t, e)
	layoutOrderAnalytics(t, e, "http://"+bot.Addr(), code)
	layoutPromote(t, e, layout)

	// Cell by cell: nothing of the team's changed.
	if diff := world.DiffCells(before, e.TeamCells(layout)); len(diff) > 0 {
		t.Errorf("the team's cells changed:\n%s", strings.Join(diff, "\n"))
	}
	layoutCheckOurCells(t, e, layout, code)
}

func layoutAuthorizeAndChat(t *testing.T, e *world.Env) {
	t.Helper()
	u := e.AddUser(layoutUID, "Мария", layoutPhone)
	e.Send(u.ID, "/start")
	e.WaitBotMessages(u.ID, 1, chatWait)
	if _, err := e.Telegram.ShareContact(u.ID, layoutPhone, u.ID); err != nil {
		t.Fatal(err)
	}
	msgs := e.WaitBotMessages(u.ID, 2, chatWait)
	if !layoutAny(msgs, "Вы авторизованы как партнёр P-0001") {
		t.Fatalf("authorization: %v", msgs)
	}
	// The answer is the message that quotes the question: authorization may
	// still be sending its menu when the question goes out.
	q := e.Send(u.ID, "Какая комиссия партнёра за сделку?")
	answer := layoutReplyTo(t, e, u.ID, q.MessageID)
	if answer == "" || strings.Contains(answer, "не могу ответить") {
		t.Fatalf("chat turn: %q", answer)
	}
}

// layoutReplyTo waits for the bot's message that quotes message id and
// returns its text.
func layoutReplyTo(t *testing.T, e *world.Env, uid, id int64) string {
	t.Helper()
	var text string
	testutil.Eventually(t, chatWait, "the reply to the partner's message", func() bool {
		for _, m := range e.BotMessages(uid) {
			if m.ReplyToMessageID == id {
				text = m.Text
				return true
			}
		}
		return false
	})
	return text
}

func layoutEscalate(t *testing.T, e *world.Env) {
	t.Helper()
	q := e.Send(layoutUID, "Позовите, пожалуйста, живой человек нужен")
	testutil.Eventually(t, chatWait, "the escalation notice after the partner's request", func() bool {
		for _, m := range e.BotMessages(layoutUID) {
			if m.MessageID > q.MessageID && strings.Contains(m.Text, "Передаю ваш вопрос оператору") {
				return true
			}
		}
		return false
	})
	card := chatWaitGroup(t, e, 1)[0]
	if !strings.Contains(card.Text, "P-0001") {
		t.Fatalf("card: %q", card.Text)
	}
	if _, err := e.Telegram.Press(e.Operator.ID, e.OperatorsChat, card.MessageID, chatCallbackData(t, card.ReplyMarkup, "op:take:")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Telegram.GroupSend(tgemu.GroupMessage{ChatID: e.OperatorsChat, UserID: e.Operator.ID,
		Text: "Добрый день! Комиссия — 2,5 %.", ReplyToMessageID: card.MessageID}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, chatWait, "the operator's reply in the chat", func() bool {
		return layoutAny(e.BotMessages(layoutUID), "Комиссия — 2,5 %")
	})
}

// layoutOrderAnalytics orders a report through the bot's Mini App API, as
// the Mini App does, and waits for the PDF in the chat.
func layoutOrderAnalytics(t *testing.T, e *world.Env, bot, code string) {
	t.Helper()
	initData, err := e.Telegram.InitData(layoutUID, time.Now(), "")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]string{"object_code": code})
	var status int
	testutil.Eventually(t, chatWait, "the order accepted", func() bool {
		req, _ := http.NewRequest(http.MethodPost, bot+"/api/v1/analytics", bytes.NewReader(body))
		req.Header.Set("Authorization", "tma "+initData)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		status = resp.StatusCode
		return status == http.StatusAccepted
	})
	testutil.Eventually(t, 60*time.Second, "the report's PDF in the chat", func() bool {
		for _, m := range e.BotMessages(layoutUID) {
			if m.Document != nil && strings.HasSuffix(m.Document.FileName, ".pdf") {
				return true
			}
		}
		return false
	})
}

// layoutPromote schedules the draft promotion as an operator does (its
// status cell) and waits for both authorized partners to get it.
func layoutPromote(t *testing.T, e *world.Env, l fixtures.Layout) {
	t.Helper()
	title := e.Titles().Promotions
	e.WriteCell(title, l.Col(store.SheetPromotions, "status"), 2, string(domain.PromotionScheduled))
	for _, uid := range []int64{layoutUID, layoutColleague} {
		testutil.Eventually(t, 30*time.Second, fmt.Sprintf("the promotion at %d", uid), func() bool {
			return layoutAny(e.BotMessages(uid), "Скидка 5% на ипотеку")
		})
	}
	testutil.Eventually(t, 30*time.Second, "the promotion row Отправлено", func() bool {
		rows := e.LayoutRows(l, store.SheetPromotions, "id", "promo-1")
		return len(rows) == 1 && rows[0]["status"] == "Отправлено" && rows[0]["sent"] == "2" && rows[0]["finished_at"] != ""
	})
}

// layoutCheckOurCells reads our rows by the layout's columns: every value
// the walk-through wrote is under its header.
func layoutCheckOurCells(t *testing.T, e *world.Env, l fixtures.Layout, code string) {
	t.Helper()
	uid := fmt.Sprint(layoutUID)
	auth := e.LayoutRows(l, store.SheetAuth, "partner_code", "P-0001")
	if len(auth) != 1 || auth[0]["telegram_id"] != uid || auth[0]["status"] != "authorized" || auth[0]["authorized_at"] == "" ||
		auth[0]["bot_blocked_at"] != "" || auth[0]["phone"] != "+7 (912) 345-67-89" {
		t.Errorf("Auth row: %v", auth)
	}
	appeals := e.LayoutRows(l, store.SheetAppeals, "telegram_id", uid)
	if len(appeals) != 1 || appeals[0]["status"] != "В работе" || appeals[0]["partner_code"] != "P-0001" || appeals[0]["operator"] != "Ольга Оператор" ||
		!strings.Contains(appeals[0]["history"], "Какая комиссия") || !strings.Contains(appeals[0]["history"], "Комиссия — 2,5 %") ||
		appeals[0]["created_at"] == "" || appeals[0]["updated_at"] == "" {
		t.Errorf("Appeals row: %v", appeals)
	}
	queue := e.LayoutRows(l, store.SheetQueue, "telegram_id", uid)
	if len(queue) != 1 || queue[0]["object_code"] != code || queue[0]["status"] != "DONE" || queue[0]["requester"] != "P-0001" ||
		queue[0]["delivered_at"] == "" || !strings.Contains(queue[0]["result_text"], code) || queue[0]["id"] == "" {
		t.Errorf("Queue row: %v", queue)
	}
	if old := e.LayoutRows(l, store.SheetQueue, "id", "old-req-1"); len(old) != 1 || old[0]["result_text"] != "итог" {
		t.Errorf("the old Queue row: %v", old)
	}
}

func layoutAny(msgs []tgemu.TranscriptMessage, want string) bool {
	for _, m := range msgs {
		if strings.Contains(m.Text, want) || strings.Contains(m.Caption, want) {
			return true
		}
	}
	return false
}
