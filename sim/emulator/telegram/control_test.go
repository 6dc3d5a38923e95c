package telegram_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mymmrac/telego"
	ta "github.com/mymmrac/telego/telegoapi"
	tu "github.com/mymmrac/telego/telegoutil"

	"marketingbot/pkg/telegram/webapp"
	"marketingbot/sim/emulator/telegram"
)

// updates fetches and confirms everything pending.
func (e *emulator) updates(t *testing.T) []telego.Update {
	t.Helper()
	ctx := ctxT(t)
	got, err := e.bot.GetUpdates(ctx, &telego.GetUpdatesParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) > 0 {
		if _, err := e.bot.GetUpdates(ctx, &telego.GetUpdatesParams{Offset: got[len(got)-1].UpdateID + 1}); err != nil {
			t.Fatal(err)
		}
	}
	return got
}

func TestControlUsers(t *testing.T) {
	e := start(t, telegram.Options{})
	bulk := make([]map[string]any, 2000)
	for i := range bulk {
		bulk[i] = map[string]any{"id": 5000 + i, "first_name": fmt.Sprintf("Load %d", i)}
	}
	var created []telegram.User
	e.mustDo(t, http.MethodPost, "/_emulator/users", bulk, &created)
	if len(created) != 2000 {
		t.Fatalf("bulk created %d users", len(created))
	}
	// A partial update keeps the other fields.
	var u telegram.User
	e.mustDo(t, http.MethodPost, "/_emulator/users", map[string]any{"id": 5000, "phone": "79990000000"}, &u)
	if u.FirstName != "Load 0" || u.Phone != "79990000000" {
		t.Errorf("updated user = %+v", u)
	}
	var list []telegram.User
	e.mustDo(t, http.MethodGet, "/_emulator/users", nil, &list)
	if len(list) != 2000 || list[0].ID != 5000 {
		t.Errorf("listed %d users, first %+v", len(list), list[0])
	}

	tests := []struct {
		name   string
		path   string
		body   any
		status int
	}{
		{name: "send from unknown user", path: "/_emulator/send", body: map[string]any{"user_id": 1, "text": "hi"}, status: http.StatusNotFound},
		{name: "empty text", path: "/_emulator/send", body: map[string]any{"user_id": 5000, "text": ""}, status: http.StatusBadRequest},
		{name: "typo in field", path: "/_emulator/send", body: map[string]any{"userid": 5000, "text": "x"}, status: http.StatusBadRequest},
		{name: "non-positive user id", path: "/_emulator/users", body: map[string]any{"id": 0}, status: http.StatusBadRequest},
		{name: "positive group id", path: "/_emulator/groups", body: map[string]any{"id": 5, "title": "x"}, status: http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body map[string]string
			if status := e.do(t, http.MethodPost, tt.path, tt.body, &body); status != tt.status || body["error"] == "" {
				t.Errorf("status %d body %v, want %d with an error", status, body, tt.status)
			}
		})
	}
}

func TestControlInjectUpdate(t *testing.T) {
	e := start(t, telegram.Options{})
	e.addUser(t, 1001, "Anna")
	var sent telegram.Sent
	e.mustDo(t, http.MethodPost, "/_emulator/updates", json.RawMessage(`{"message":{"from":{"id":1001,"is_bot":false,"first_name":"Anna"},"photo":[{"file_id":"small","file_unique_id":"s","width":90,"height":90},{"file_id":"big","file_unique_id":"b","width":800,"height":600}],"caption":"my flat"}}`), &sent)
	var other telegram.Sent
	e.mustDo(t, http.MethodPost, "/_emulator/updates", json.RawMessage(`{"message":{"chat":{"id":1001,"type":"private"},"location":{"latitude":55.75,"longitude":37.61}}}`), &other)
	var cb telegram.Sent
	e.mustDo(t, http.MethodPost, "/_emulator/updates", json.RawMessage(`{"callback_query":{"id":"forged","from":{"id":1001,"is_bot":false,"first_name":"Anna"},"chat_instance":"1","data":"stale"}}`), &cb)

	got := e.updates(t)
	if len(got) != 3 {
		t.Fatalf("got %d updates", len(got))
	}
	photo := got[0].Message
	if got[0].UpdateID != int(sent.UpdateID) || photo == nil || photo.MessageID != int(sent.MessageID) || photo.Date == 0 || photo.Chat.ID != 1001 || len(photo.Photo) != 2 || photo.Caption != "my flat" {
		t.Errorf("photo update = %+v / %+v", got[0], photo)
	}
	if loc := got[1].Message; loc == nil || loc.Location == nil || loc.From == nil || loc.From.ID != 1001 || loc.MessageID != photo.MessageID+1 {
		t.Errorf("location update = %+v", loc)
	}
	if got[2].CallbackQuery == nil || got[2].CallbackQuery.Data != "stale" {
		t.Errorf("callback update = %+v", got[2])
	}
	// The bot may answer an injected query like any other, once.
	ctx := ctxT(t)
	if err := e.bot.AnswerCallbackQuery(ctx, &telego.AnswerCallbackQueryParams{CallbackQueryID: "forged", Text: "Кнопка устарела"}); err != nil {
		t.Fatalf("answer an injected query: %v", err)
	}
	if err := e.bot.AnswerCallbackQuery(ctx, &telego.AnswerCallbackQueryParams{CallbackQueryID: "forged"}); err == nil {
		t.Error("an injected query answered twice")
	}
	var answer telegram.CallbackAnswer
	e.mustDo(t, http.MethodGet, "/_emulator/callbacks/forged", nil, &answer)
	if !answer.Answered || answer.Text != "Кнопка устарела" || answer.UserID != 1001 || answer.Data != "stale" {
		t.Errorf("injected callback answer = %+v", answer)
	}
	// An id is generated when missing; a used one is refused.
	var gen telegram.Sent
	e.mustDo(t, http.MethodPost, "/_emulator/updates", json.RawMessage(`{"callback_query":{"from":{"id":1001,"is_bot":false,"first_name":"Anna"},"data":"x"}}`), &gen)
	if q := e.updates(t); len(q) != 1 || q[0].CallbackQuery == nil || q[0].CallbackQuery.ID == "" || q[0].CallbackQuery.ChatInstance == "" {
		t.Errorf("generated callback update = %+v", q)
	}
	var used map[string]string
	if status := e.do(t, http.MethodPost, "/_emulator/updates", json.RawMessage(`{"callback_query":{"id":"forged","from":{"id":1001,"is_bot":false,"first_name":"Anna"},"data":"x"}}`), &used); status != http.StatusBadRequest {
		t.Errorf("a used callback query id: status %d %v", status, used)
	}

	var chat telegram.Transcript
	e.mustDo(t, http.MethodGet, "/_emulator/chats/1001", nil, &chat)
	if len(chat.Messages) != 2 || chat.Messages[0].Kind != "photo" || chat.Messages[0].Photo.FileID != "big" || chat.Messages[1].Kind != "location" {
		t.Errorf("transcript = %+v", chat.Messages)
	}

	for _, bad := range []string{`[]`, `{}`, `{"message":{"text":"no chat, no sender"}}`, `{"message":{},"edited_message":{}}`, `{"callback_query":{"data":"no sender"}}`} {
		var body map[string]string
		if status := e.do(t, http.MethodPost, "/_emulator/updates", json.RawMessage(bad), &body); status != http.StatusBadRequest {
			t.Errorf("inject %s: status %d %v, want 400", bad, status, body)
		}
	}
}

func TestControlContactEditPress(t *testing.T) {
	e := start(t, telegram.Options{})
	e.addUser(t, 1001, "Anna")
	e.addUser(t, 1002, "Boris")
	ctx := ctxT(t)

	var own, forwarded, other telegram.Sent
	e.mustDo(t, http.MethodPost, "/_emulator/contact", map[string]any{"user_id": 1001, "phone": "+79001112233"}, &own)
	e.mustDo(t, http.MethodPost, "/_emulator/contact", map[string]any{"user_id": 1001, "phone": "+70000000000", "contact_user_id": 0}, &forwarded)
	e.mustDo(t, http.MethodPost, "/_emulator/contact", map[string]any{"user_id": 1001, "contact_user_id": 1002}, &other)
	var text telegram.Sent
	e.mustDo(t, http.MethodPost, "/_emulator/send", map[string]any{"user_id": 1001, "text": "helo"}, &text)
	var edited telegram.Sent
	e.mustDo(t, http.MethodPost, "/_emulator/edit", map[string]any{"user_id": 1001, "message_id": text.MessageID, "text": "hello"}, &edited)

	got := e.updates(t)
	if len(got) != 5 {
		t.Fatalf("got %d updates", len(got))
	}
	if c := got[0].Message.Contact; c == nil || c.PhoneNumber != "+79001112233" || c.UserID != 1001 || c.FirstName != "Anna" {
		t.Errorf("own contact = %+v", c)
	}
	if c := got[1].Message.Contact; c == nil || c.UserID != 0 {
		t.Errorf("forwarded card = %+v, want no user_id", c)
	}
	if c := got[2].Message.Contact; c == nil || c.UserID != 1002 || c.FirstName != "Boris" || c.PhoneNumber != "79001234567" {
		t.Errorf("someone else's card = %+v", c)
	}
	if em := got[4].EditedMessage; em == nil || em.MessageID != int(text.MessageID) || em.Text != "hello" || em.EditDate == 0 {
		t.Errorf("edited message = %+v", em)
	}

	// A bot message with buttons, pressed by the user.
	m, err := e.bot.SendMessage(ctx, tu.Message(tu.ID(1001), "Rate us").WithReplyMarkup(tu.InlineKeyboard(
		tu.InlineKeyboardRow(tu.InlineKeyboardButton("Good").WithCallbackData("rate:5"), tu.InlineKeyboardButton("Bad").WithCallbackData("rate:1")))))
	if err != nil {
		t.Fatal(err)
	}
	var pressed telegram.Pressed
	e.mustDo(t, http.MethodPost, "/_emulator/press", map[string]any{"user_id": 1001, "message_id": m.MessageID, "data": "rate:5"}, &pressed)
	var missing map[string]string
	if status := e.do(t, http.MethodPost, "/_emulator/press", map[string]any{"user_id": 1001, "message_id": m.MessageID, "data": "rate:3"}, &missing); status != http.StatusBadRequest {
		t.Errorf("press of a button that does not exist: status %d", status)
	}
	got = e.updates(t)
	cq := got[0].CallbackQuery
	if cq == nil || cq.ID != pressed.CallbackQueryID || cq.Data != "rate:5" || cq.From.ID != 1001 {
		t.Fatalf("callback query = %+v", cq)
	}
	if msg, ok := cq.Message.(*telego.Message); !ok || msg.MessageID != m.MessageID || msg.Text != "Rate us" {
		t.Errorf("callback message = %#v", cq.Message)
	}
	if err := e.bot.AnswerCallbackQuery(ctx, &telego.AnswerCallbackQueryParams{CallbackQueryID: cq.ID, Text: "Спасибо!"}); err != nil {
		t.Fatal(err)
	}
	if err := e.bot.AnswerCallbackQuery(ctx, &telego.AnswerCallbackQueryParams{CallbackQueryID: cq.ID}); err == nil || !strings.Contains(err.Error(), "query is too old") {
		t.Errorf("second answer: err = %v", err)
	}
	var answer telegram.CallbackAnswer
	e.mustDo(t, http.MethodGet, "/_emulator/callbacks/"+url.PathEscape(cq.ID), nil, &answer)
	if !answer.Answered || answer.Text != "Спасибо!" {
		t.Errorf("callback answer = %+v", answer)
	}
	var calls []telegram.Call
	e.mustDo(t, http.MethodGet, "/_emulator/calls?method=answerCallbackQuery", nil, &calls)
	if len(calls) != 2 || calls[0].Params["text"] != "Спасибо!" || calls[0].Status != 200 || calls[1].Status != 400 {
		t.Errorf("answerCallbackQuery calls = %+v", calls)
	}
}

func TestControlGroups(t *testing.T) {
	e := start(t, telegram.Options{})
	e.addUser(t, 1001, "Anna")
	e.addUser(t, 2001, "Operator")
	ctx := ctxT(t)
	e.mustDo(t, http.MethodPost, "/_emulator/groups", map[string]any{"id": -1001234567890, "title": "Operators", "is_forum": false}, nil)

	card, err := e.bot.SendMessage(ctx, tu.Message(tu.ID(-1001234567890), "Escalation: Anna"))
	if err != nil {
		t.Fatal(err)
	}
	if card.Chat.Type != "supergroup" || card.Chat.Title != "Operators" {
		t.Errorf("group chat = %+v", card.Chat)
	}
	var sent telegram.Sent
	e.mustDo(t, http.MethodPost, "/_emulator/group_send", map[string]any{"chat_id": -1001234567890, "user_id": 2001, "text": "Здравствуйте, Анна", "reply_to_message_id": card.MessageID}, &sent)
	got := e.updates(t)
	m := got[0].Message
	if m == nil || m.Chat.ID != -1001234567890 || m.From.ID != 2001 || m.ReplyToMessage == nil || m.ReplyToMessage.Text != "Escalation: Anna" || m.ReplyToMessage.From == nil || !m.ReplyToMessage.From.IsBot {
		t.Fatalf("group reply = %+v", m)
	}
	var body map[string]string
	if status := e.do(t, http.MethodPost, "/_emulator/group_send", map[string]any{"chat_id": -1001234567890, "user_id": 2001, "text": "x", "reply_to_message_id": 999}, &body); status != http.StatusNotFound {
		t.Errorf("reply to a missing message: status %d", status)
	}
}

func TestControlBlock(t *testing.T) {
	e := start(t, telegram.Options{})
	e.addUser(t, 1001, "Anna")
	ctx := ctxT(t)
	var blocked map[string]int64
	e.mustDo(t, http.MethodPost, "/_emulator/block", map[string]any{"user_id": 1001, "blocked": true}, &blocked)
	if blocked["update_id"] == 0 {
		t.Fatal("no my_chat_member update")
	}
	_, err := e.bot.SendMessage(ctx, tu.Message(tu.ID(1001), "promo"))
	var apiErr *ta.Error
	if !errors.As(err, &apiErr) || apiErr.ErrorCode != 403 || apiErr.Description != "Forbidden: bot was blocked by the user" {
		t.Errorf("send to blocked user: %v", err)
	}
	e.mustDo(t, http.MethodPost, "/_emulator/block", map[string]any{"user_id": 1001, "blocked": false}, nil)
	if _, err := e.bot.SendMessage(ctx, tu.Message(tu.ID(1001), "welcome back")); err != nil {
		t.Errorf("send after unblock: %v", err)
	}
	got := e.updates(t)
	if len(got) != 2 || got[0].MyChatMember == nil || got[1].MyChatMember == nil {
		t.Fatalf("updates = %+v", got)
	}
	if got[0].MyChatMember.OldChatMember.MemberStatus() != "member" || got[0].MyChatMember.NewChatMember.MemberStatus() != "kicked" {
		t.Errorf("block update = %+v", got[0].MyChatMember)
	}
	if got[1].MyChatMember.NewChatMember.MemberStatus() != "member" {
		t.Errorf("unblock update = %+v", got[1].MyChatMember)
	}
}

func TestControlTranscript(t *testing.T) {
	e := start(t, telegram.Options{})
	e.addUser(t, 1001, "Anna")
	ctx := ctxT(t)
	var sent telegram.Sent
	e.mustDo(t, http.MethodPost, "/_emulator/send", map[string]any{"user_id": 1001, "text": "Где отчёт?"}, &sent)
	if err := e.bot.SendChatAction(ctx, &telego.SendChatActionParams{ChatID: tu.ID(1001), Action: telego.ChatActionTyping}); err != nil {
		t.Fatal(err)
	}
	var chat telegram.Transcript
	e.mustDo(t, http.MethodGet, "/_emulator/chats/1001", nil, &chat)
	if chat.ChatAction == nil || chat.ChatAction.Action != "typing" || !chat.ChatAction.Until.After(time.Now()) {
		t.Errorf("chat action = %+v", chat.ChatAction)
	}

	// A waiting read returns as soon as the bot answers.
	done := make(chan telegram.Transcript, 1)
	go func() {
		var newer telegram.Transcript
		e.mustDo(t, http.MethodGet, fmt.Sprintf("/_emulator/chats/1001?after=%d&wait=10", sent.MessageID), nil, &newer)
		done <- newer
	}()
	time.Sleep(50 * time.Millisecond)
	if _, err := e.bot.SendMessage(ctx, tu.Message(tu.ID(1001), "<b>Готово</b>").WithParseMode(telego.ModeHTML).
		WithReplyMarkup(tu.Keyboard(tu.KeyboardRow(tu.KeyboardButton("Поделиться номером").WithRequestContact())))); err != nil {
		t.Fatal(err)
	}
	newer := <-done
	if len(newer.Messages) != 1 {
		t.Fatalf("after=%d returned %+v", sent.MessageID, newer.Messages)
	}
	m := newer.Messages[0]
	if !m.FromBot || m.Text != "Готово" || m.RawText != "<b>Готово</b>" || m.ParseMode != "HTML" || len(m.Entities) == 0 || !strings.Contains(string(m.ReplyMarkup), "request_contact") {
		t.Errorf("bot message = %+v", m)
	}
	if newer.ChatAction != nil {
		t.Errorf("a bot message should end the chat action, got %+v", newer.ChatAction)
	}
	e.mustDo(t, http.MethodGet, "/_emulator/chats/1001", nil, &chat)
	if len(chat.Messages) != 2 || chat.Messages[0].FromBot || chat.Messages[0].Text != "Где отчёт?" || chat.Messages[0].From.ID != 1001 {
		t.Errorf("full transcript = %+v", chat.Messages)
	}
	if status := e.do(t, http.MethodGet, "/_emulator/chats/777", nil, nil); status != http.StatusNotFound {
		t.Errorf("unknown chat: status %d", status)
	}
}

func TestControlInitData(t *testing.T) {
	e := start(t, telegram.Options{})
	e.addUser(t, 1001, "Anna")
	now := time.Now()

	var resp struct {
		InitData string `json:"init_data"`
	}
	e.mustDo(t, http.MethodGet, "/_emulator/initdata?user_id=1001&start_param=obj_7", nil, &resp)
	if _, err := tu.ValidateWebAppData(e.srv.Token(), resp.InitData); err != nil {
		t.Errorf("telego rejects emulator initData: %v", err)
	}
	data, err := webapp.Validate(resp.InitData, e.srv.Token(), time.Hour, now)
	if err != nil {
		t.Fatalf("webapp.Validate: %v", err)
	}
	if data.User.ID != 1001 || data.User.FirstName != "Anna" || data.StartParam != "obj_7" || data.QueryID == "" {
		t.Errorf("data = %+v", data)
	}

	tampered := strings.Replace(resp.InitData, "Anna", "Eve", 1)
	if _, err := webapp.Validate(tampered, e.srv.Token(), time.Hour, now); !errors.Is(err, webapp.ErrBadSignature) {
		t.Errorf("tampered: err = %v", err)
	}
	if _, err := tu.ValidateWebAppData(e.srv.Token(), tampered); err == nil {
		t.Error("telego accepts tampered data")
	}
	old := now.Add(-48 * time.Hour).Unix()
	e.mustDo(t, http.MethodGet, "/_emulator/initdata?user_id=1001&auth_date="+strconv.FormatInt(old, 10), nil, &resp)
	if _, err := webapp.Validate(resp.InitData, e.srv.Token(), 24*time.Hour, now); !errors.Is(err, webapp.ErrExpired) {
		t.Errorf("expired: err = %v", err)
	}
	if status := e.do(t, http.MethodGet, "/_emulator/initdata?user_id=9", nil, nil); status != http.StatusNotFound {
		t.Errorf("unknown user: status %d", status)
	}
}

func TestControlFaultsCallsStats(t *testing.T) {
	e := start(t, telegram.Options{})
	e.addUser(t, 1001, "Anna")
	ctx := ctxT(t)

	e.mustDo(t, http.MethodPost, "/_emulator/faults", telegram.Fault{Method: "sendMessage", Status: 429, RetryAfter: 7, Count: 2}, nil)
	for i := range 2 {
		status, env := e.botAPI(t, "sendMessage", map[string]any{"chat_id": 1001, "text": "x"})
		if status != 429 || env.ErrorCode != 429 || env.Parameters == nil || env.Parameters.RetryAfter != 7 || env.Description != "Too Many Requests: retry after 7" {
			t.Errorf("faulted call %d: %d %+v", i, status, env)
		}
	}
	if _, err := e.bot.SendMessage(ctx, tu.Message(tu.ID(1001), "through")); err != nil {
		t.Errorf("fault outlived its count: %v", err)
	}

	e.mustDo(t, http.MethodPost, "/_emulator/faults", telegram.Fault{Method: "*", Status: 502, Count: -1}, nil)
	for _, method := range []string{"getMe", "sendMessage"} {
		if status, _ := e.botAPI(t, method, map[string]any{"chat_id": 1001, "text": "x"}); status != 502 {
			t.Errorf("%s under a \"*\" fault: status %d", method, status)
		}
	}
	e.mustDo(t, http.MethodDelete, "/_emulator/faults", nil, nil)
	if _, err := e.bot.GetMe(ctx); err != nil {
		t.Errorf("after clearing faults: %v", err)
	}
	if status := e.do(t, http.MethodPost, "/_emulator/faults", telegram.Fault{Method: "sendTelepathy", Status: 500}, nil); status != http.StatusBadRequest {
		t.Errorf("fault for unknown method: status %d", status)
	}

	var stats telegram.Stats
	e.mustDo(t, http.MethodGet, "/_emulator/stats", nil, &stats)
	want := telegram.Stats{Calls: 6, Sends: 1, HTTP429: 2}
	if stats.Calls != want.Calls || stats.Sends != want.Sends || stats.HTTP429 != want.HTTP429 ||
		stats.ByMethod["sendMessage"] != 4 || stats.ByMethod["getMe"] != 2 || stats.StatusCounts["200"] != 2 || stats.StatusCounts["502"] != 2 {
		t.Errorf("stats = %+v", stats)
	}
	var calls []telegram.Call
	e.mustDo(t, http.MethodGet, "/_emulator/calls?method=sendMessage", nil, &calls)
	if len(calls) != 4 || calls[2].Params["text"] != "through" || calls[2].Params["chat_id"] != "1001" || calls[0].Status != 429 || calls[0].Time.IsZero() {
		t.Errorf("calls = %+v", calls)
	}
}

func TestControlRedeliver(t *testing.T) {
	e := start(t, telegram.Options{})
	e.addUser(t, 1001, "Anna")
	var a, b telegram.Sent
	e.mustDo(t, http.MethodPost, "/_emulator/send", map[string]any{"user_id": 1001, "text": "a"}, &a)
	e.mustDo(t, http.MethodPost, "/_emulator/send", map[string]any{"user_id": 1001, "text": "b"}, &b)
	first := e.updates(t)

	var resp map[string]int
	e.mustDo(t, http.MethodPost, "/_emulator/redeliver", map[string]any{"from_update_id": a.UpdateID}, &resp)
	if resp["redelivered"] != 2 {
		t.Fatalf("redeliver = %v", resp)
	}
	// The bot polls with its usual offset, past both updates: they still come.
	ctx := ctxT(t)
	again, err := e.bot.GetUpdates(ctx, &telego.GetUpdatesParams{Offset: int(b.UpdateID) + 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 2 || again[0].UpdateID != first[0].UpdateID || again[1].UpdateID != first[1].UpdateID || again[1].Message.Text != "b" || again[1].Message.MessageID != first[1].Message.MessageID {
		t.Fatalf("redelivered = %+v, want the same two updates", again)
	}
	if rest, err := e.bot.GetUpdates(ctx, &telego.GetUpdatesParams{Offset: int(b.UpdateID) + 1}); err != nil || len(rest) != 0 {
		t.Errorf("redelivered updates delivered twice: %v %+v", err, rest)
	}
}

func TestControlResetAndSettings(t *testing.T) {
	e := start(t, telegram.Options{Token: "987654321:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0", BotUsername: "mb_bot"})
	e.addUser(t, 1001, "Anna")
	ctx := ctxT(t)

	var bot telegram.BotInfo
	e.mustDo(t, http.MethodGet, "/_emulator/bot", nil, &bot)
	if bot.ID != 987654321 || bot.Username != "mb_bot" || strings.Contains(bot.TokenHint, "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDs") {
		t.Errorf("bot = %+v", bot)
	}
	if err := e.bot.SetMyCommands(ctx, &telego.SetMyCommandsParams{Commands: []telego.BotCommand{{Command: "start", Description: "Начать"}, {Command: "operator", Description: "Оператор"}}}); err != nil {
		t.Fatal(err)
	}
	if err := e.bot.SetMyCommands(ctx, &telego.SetMyCommandsParams{Commands: []telego.BotCommand{{Command: "Bad Command", Description: "x"}}}); err == nil {
		t.Error("invalid command accepted")
	}
	if err := e.bot.SetChatMenuButton(ctx, &telego.SetChatMenuButtonParams{MenuButton: &telego.MenuButtonWebApp{Type: "web_app", Text: "Аналитика", WebApp: telego.WebAppInfo{URL: "http://localhost:8080/app"}}}); err != nil {
		t.Fatal(err)
	}
	var commands []telegram.CommandSet
	e.mustDo(t, http.MethodGet, "/_emulator/commands", nil, &commands)
	if len(commands) != 1 || !strings.Contains(string(commands[0].Commands), `"operator"`) {
		t.Errorf("commands = %+v", commands)
	}
	var menu telegram.MenuButtons
	e.mustDo(t, http.MethodGet, "/_emulator/menu_button", nil, &menu)
	if !strings.Contains(string(menu.Default), "localhost:8080/app") {
		t.Errorf("menu = %s", menu.Default)
	}

	var before telegram.Sent
	e.mustDo(t, http.MethodPost, "/_emulator/send", map[string]any{"user_id": 1001, "text": "x"}, &before)
	e.mustDo(t, http.MethodPost, "/_emulator/reset", nil, nil)
	var users []telegram.User
	e.mustDo(t, http.MethodGet, "/_emulator/users", nil, &users)
	var stats telegram.Stats
	e.mustDo(t, http.MethodGet, "/_emulator/stats", nil, &stats)
	if len(users) != 0 || stats.Calls != 0 {
		t.Errorf("after reset: users %v, stats %+v", users, stats)
	}
	if got, err := e.bot.GetUpdates(ctx, &telego.GetUpdatesParams{}); err != nil || len(got) != 0 {
		t.Errorf("updates after reset: %v %+v", err, got)
	}
	e.addUser(t, 1001, "Anna")
	var after telegram.Sent
	e.mustDo(t, http.MethodPost, "/_emulator/send", map[string]any{"user_id": 1001, "text": "x"}, &after)
	if after.UpdateID <= before.UpdateID || after.MessageID != 1 {
		t.Errorf("after reset: %+v (before %+v), want update ids to keep growing and message ids to restart", after, before)
	}
}

func TestBotAPIProtocol(t *testing.T) {
	e := start(t, telegram.Options{})
	e.addUser(t, 1001, "Anna")
	tok := e.srv.Token()
	tests := []struct {
		name     string
		req      func() (*http.Response, error)
		status   int
		contains string
	}{
		{name: "wrong token", req: func() (*http.Response, error) { return http.Get(e.url + "/bot1:wrong/getMe") }, status: 401, contains: `"description":"Unauthorized"`},
		{name: "unknown method", req: func() (*http.Response, error) { return http.Get(e.url + "/bot" + tok + "/sendTelepathy") }, status: 404, contains: `"description":"Not Found"`},
		{name: "GET with query", req: func() (*http.Response, error) {
			return http.Get(e.url + "/bot" + tok + "/sendMessage?chat_id=1001&text=via+query")
		}, status: 200, contains: `"text":"via query"`},
		{name: "form body", req: func() (*http.Response, error) {
			return http.PostForm(e.url+"/bot"+tok+"/sendMessage", url.Values{"chat_id": {"1001"}, "text": {"via form"}, "reply_markup": {`{"inline_keyboard":[[{"text":"A","callback_data":"a"}]]}`}})
		}, status: 200, contains: `"callback_data":"a"`},
		{name: "case-insensitive method", req: func() (*http.Response, error) { return http.Get(e.url + "/bot" + tok + "/GETME") }, status: 200, contains: `"is_bot":true`},
		{name: "CORS preflight", req: func() (*http.Response, error) {
			req, _ := http.NewRequest(http.MethodOptions, e.url+"/_emulator/send", nil)
			return http.DefaultClient.Do(req)
		}, status: 204},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := tt.req()
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body bytes.Buffer
			_, _ = body.ReadFrom(resp.Body)
			if resp.StatusCode != tt.status || !strings.Contains(body.String(), tt.contains) {
				t.Errorf("status %d body %s, want %d containing %s", resp.StatusCode, body.String(), tt.status, tt.contains)
			}
			if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
				t.Error("missing CORS header")
			}
		})
	}
}
