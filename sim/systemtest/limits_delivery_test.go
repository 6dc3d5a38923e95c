package systemtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/mymmrac/telego"
	"github.com/prometheus/client_golang/prometheus"

	"marketingbot/pkg/config"
	"marketingbot/pkg/domain"
	"marketingbot/pkg/telegram"
	"marketingbot/pkg/telegram/tghtml"
	tgemu "marketingbot/sim/emulator/telegram"
	"marketingbot/sim/world"
)

// The other send paths at Telegram's limits, on sim/world through the real
// telego client against the Telegram emulator (which counts as Telegram
// does): promotions, analytics deliveries, the operators' notice of a
// refused relay, and a callback notification.

// limitsPromoHTML is Telegram HTML of exactly n visible units with bold,
// links and code throughout; seed starts every paragraph.
func limitsPromoHTML(n int, seed string) string {
	var b strings.Builder
	for i := 0; ; i++ {
		chunk := fmt.Sprintf(`%s %d: <b>скидка на объекты 😀 до конца месяца</b>, <a href="https://example.com/?p=%d&amp;x=1">подробности</a> и <code>код &lt;%d&gt;</code>. `, seed, i, i, i)
		if tghtml.VisibleLen(b.String()+chunk) > n {
			break
		}
		b.WriteString(chunk)
	}
	for tghtml.VisibleLen(b.String()) < n {
		b.WriteString("я")
	}
	return b.String()
}

func TestLimitsPromotions(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	cases := []struct {
		audience string
		uid      int64
		units    int
		photo    bool // one photo with the whole text as its caption
		parts    int
	}{
		{"LONG", 9321, 10000, false, 3},
		{"CAPA", 9322, 1024, true, 1},
		{"CAPB", 9323, 1025, false, 1},
		{"EXACT", 9324, 4096, false, 1},
	}
	d := limitsData()
	for _, c := range cases {
		d.Partners = append(d.Partners, domain.Partner{Code: c.audience + "-1", Phone: fmt.Sprintf("+7 901 %07d", c.uid), FullName: "Акций Получатель",
			Status: "authorized", TelegramID: c.uid})
		d.Promotions = append(d.Promotions, domain.Promotion{Row: len(d.Promotions) + 2, ID: "P-" + c.audience, Title: "Акция " + c.audience,
			Text: limitsPromoHTML(c.units, c.audience), ImageURL: "https://img.example/" + c.audience + ".jpg", Audience: c.audience,
			Status: domain.PromotionScheduled})
	}
	e := world.New(t, world.Options{Data: d})
	for _, c := range cases {
		e.AddUser(c.uid, "Получатель", "")
	}
	e.StartAll()
	for i, c := range cases {
		want := tghtml.Plain(d.Promotions[i].Text)
		msgs := e.WaitBotText(c.uid, 0, want, limitsWait)
		if len(msgs) != c.parts || (msgs[0].Photo != nil) != c.photo {
			t.Fatalf("%s: %d messages (first a photo: %v), want %d (photo: %v)", c.audience, len(msgs), msgs[0].Photo != nil, c.parts, c.photo)
		}
		for j, m := range msgs {
			if world.UTF16Len(m.Text) > 4096 || world.UTF16Len(m.Caption) > 1024 {
				t.Fatalf("%s: message %d over the limit", c.audience, j)
			}
			if has := strings.Contains(string(m.ReplyMarkup), "web_app"); has != (j == len(msgs)-1) {
				t.Fatalf("%s: message %d has the button: %v (it goes under the last)", c.audience, j, has)
			}
		}
	}
	// Too long for a caption: the image is the text's link preview.
	for _, call := range e.Telegram.Calls("sendMessage") {
		if limitsParam(call, "chat_id") == "9323" && !strings.Contains(limitsParam(call, "link_preview_options"), "CAPB.jpg") {
			t.Fatalf("the 1,025-unit promotion went without its image: %s", limitsParam(call, "link_preview_options"))
		}
	}
}

func TestLimitsAnalyticsDelivery(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	const uid = 9331
	e := world.New(t, world.Options{Data: limitsData(uid)})
	e.AddUser(uid, "Партнёр", "")
	e.StartAll()
	rig := e.Reports(nil)
	ctx, cancel := context.WithTimeout(context.Background(), limitsWait)
	defer cancel()
	// The caption "PDF-отчёт «Аналитика 360» по объекту <code>" of 1,025
	// units (a hand-edited code), and a summary of 10,000.
	prefix := world.UTF16Len(strings.ReplaceAll(rig.Texts.AnalyticsReportCaption, "{{.Code}}", ""))
	code := strings.Repeat("К", 1025-prefix-2) + "😀"
	summary := world.LimitsText(10000, "Сводка")
	if err := rig.Projection.PutReport(ctx, "lim-1", []byte("%PDF-1.4 limits"), time.Hour); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := rig.Store.AppendRequest(ctx, domain.AnalyticsRequest{ID: "lim-1", CreatedAt: now, ObjectCode: code, TelegramID: uid,
		Requester: "P-0001", Status: domain.RequestStatusDone, UpdatedAt: now, ResultText: summary}); err != nil {
		t.Fatal(err)
	}
	msgs := e.WaitBotText(uid, 0, summary, limitsWait)
	if len(msgs) < 3 {
		t.Fatalf("%d messages for a 10,000-unit summary", len(msgs))
	}
	// The PDF with the caption's beginning, then the rest of the caption.
	var all []tgemu.TranscriptMessage
	doc := -1
	for deadline := time.Now().Add(limitsWait); ; time.Sleep(50 * time.Millisecond) {
		all, doc = e.BotMessages(uid), -1
		for i, m := range all {
			if m.Document != nil {
				doc = i
			}
		}
		if doc >= 0 && strings.Contains(world.NoSpace(world.Visible(all[doc:])), world.NoSpace(code)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the PDF (message %d of %d) is not followed by the rest of its caption", doc, len(all))
		}
	}
	if doc == len(all)-1 {
		t.Fatal("the whole caption went with the PDF")
	}
	for i, m := range all {
		if world.UTF16Len(m.Text) > 4096 || world.UTF16Len(m.Caption) > 1024 {
			t.Fatalf("message %d over the limit", i)
		}
	}
}

// limitsParam is a logged Bot API call's parameter as text.
func limitsParam(c tgemu.Call, name string) string {
	switch v := c.Params[name].(type) {
	case string:
		return v
	case json.RawMessage:
		return string(v)
	case []byte:
		return string(v)
	}
	return fmt.Sprint(c.Params[name])
}

// Telegram refuses an operator's relay for good: the operator is told in a
// reply to their message, the history has the reply and says it was not
// delivered, the partner is not told anything failed.
func TestLimitsOperatorToldOfRefusedRelay(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	const uid = 9341
	e, card := limitsEscalated(t, uid)
	if err := e.Telegram.AddFault(tgemu.Fault{Method: "sendMessage", Status: 400, Description: "Bad Request: PEER_ID_INVALID", Count: 1}); err != nil {
		t.Fatal(err)
	}
	op, err := e.Telegram.GroupSend(tgemu.GroupMessage{ChatID: e.OperatorsChat, UserID: e.Operator.ID, Text: "Ответ, который Telegram не примет", ReplyToMessageID: card.MessageID})
	if err != nil {
		t.Fatal(err)
	}
	notice := e.WaitBotText(e.OperatorsChat, op.MessageID, "Не доставлено партнёру", limitsWait)
	if notice[0].ReplyToMessageID != op.MessageID || !strings.Contains(notice[0].Text, "PEER_ID_INVALID") {
		t.Fatalf("notice %q replies to %d, want a reply to the operator's %d naming Telegram's answer", notice[0].Text, notice[0].ReplyToMessageID, op.MessageID)
	}
	e.WaitHistory(uid, limitsWait, func(h string) bool {
		return strings.Contains(h, "Ответ, который Telegram не примет") && strings.Contains(h, "Сообщение не доставлено партнёру")
	})
	limitsNoFailureNotice(t, e, uid)
}

// A callback notification longer than Telegram's 200 characters is fitted
// by the Sender and accepted by the emulator (which refuses 201).
func TestLimitsCallbackNotification(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	const uid = 9351
	e := world.New(t, world.Options{})
	e.AddUser(uid, "Партнёр", "")
	cfg := e.Config(config.RoleWorker).Telegram
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	bot, err := telegram.NewBot(telegram.BotOptions{Token: cfg.Token, APIURL: cfg.APIURL, RequestTimeout: 5 * time.Second}, log)
	if err != nil {
		t.Fatal(err)
	}
	s := telegram.NewSender(bot, nil, prometheus.NewRegistry(), log)
	ctx := context.Background()
	kb := &telego.InlineKeyboardMarkup{InlineKeyboard: [][]telego.InlineKeyboardButton{{{Text: "Да", CallbackData: "yes"}}}}
	sent, err := telegram.SendText(ctx, s, telegram.Text{ChatID: uid, Body: "Кнопка", Markup: kb}, telegram.Options{})
	if err != nil {
		t.Fatal(err)
	}
	press, err := e.Telegram.Press(uid, uid, int64(sent.First()), "yes")
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("Уведомление о нажатии 😀 ", 20)
	if err := s.AnswerCallbackQuery(ctx, &telego.AnswerCallbackQueryParams{CallbackQueryID: press.CallbackQueryID, Text: long}); err != nil {
		t.Fatal(err)
	}
	cb, err := e.Telegram.Callback(press.CallbackQueryID)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(cb)
	if !cb.Answered || world.UTF16Len(cb.Text) > 200 || !strings.HasSuffix(cb.Text, "…") || !strings.HasPrefix(long, strings.TrimSuffix(cb.Text, "…")) {
		t.Fatalf("callback %s", b)
	}
}
