package telegram_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/mymmrac/telego"
	tu "github.com/mymmrac/telego/telegoutil"

	"marketingbot/sim/emulator/telegram"
)

// A draft streamed through telego shows in the transcript, grows under
// the same draft_id, and the bot's next message takes its place.
func TestTelegoSendMessageDraft(t *testing.T) {
	e := start(t, telegram.Options{})
	e.addUser(t, 1001, "Anna")
	ctx := ctxT(t)
	for _, text := range []string{"<b>Комиссия</b>", "<b>Комиссия</b> 3 %", "<b>Комиссия</b> 3 % от сделки"} {
		if err := e.bot.SendMessageDraft(ctx, &telego.SendMessageDraftParams{ChatID: 1001, DraftID: 7, Text: text, ParseMode: telego.ModeHTML}); err != nil {
			t.Fatal(err)
		}
	}
	tr, err := e.srv.Transcript(1001, 0)
	if err != nil {
		t.Fatal(err)
	}
	d := tr.Draft
	if d == nil || d.DraftID != 7 || d.Text != "Комиссия 3 % от сделки" || d.Updates != 3 || !strings.Contains(string(d.Entities), `"bold"`) || len(tr.Messages) != 0 {
		t.Fatalf("transcript draft %+v, %d messages", d, len(tr.Messages))
	}
	// Another id starts another draft.
	if err := e.bot.SendMessageDraft(ctx, &telego.SendMessageDraftParams{ChatID: 1001, DraftID: 8, Text: "заново"}); err != nil {
		t.Fatal(err)
	}
	if tr, _ = e.srv.Transcript(1001, 0); tr.Draft.DraftID != 8 || tr.Draft.Updates != 1 || tr.Draft.Since.Before(d.Since) {
		t.Fatalf("a new draft id: %+v", tr.Draft)
	}
	if _, err := e.bot.SendMessage(ctx, tu.Message(tu.ID(1001), "Комиссия 3 % от сделки.")); err != nil {
		t.Fatal(err)
	}
	tr, _ = e.srv.Transcript(1001, 0)
	if tr.Draft != nil || len(tr.Messages) != 1 {
		t.Fatalf("after the final message: draft %+v, %d messages", tr.Draft, len(tr.Messages))
	}
	m := tr.Messages[0]
	if m.Draft == nil || m.Draft.DraftID != 8 || m.Draft.Text != "заново" || m.SentAt.IsZero() || m.SentAt.Before(m.Draft.Updated) {
		t.Fatalf("the final message does not record the draft it replaced: %+v", m)
	}
}

// sendMessageDraft is validated like sendMessage, and works in private
// chats only.
func TestSendMessageDraftRefusals(t *testing.T) {
	e := start(t, telegram.Options{})
	e.addUser(t, 1001, "Anna")
	e.mustDo(t, http.MethodPost, "/_emulator/groups", map[string]any{"id": -100, "title": "Ops"}, nil)
	cases := []struct {
		name   string
		params map[string]any
		status int
		want   string
	}{
		{"group", map[string]any{"chat_id": -100, "draft_id": 1, "text": "x"}, 400, "Bad Request: TEXTDRAFT_PEER_INVALID"},
		{"unknown chat", map[string]any{"chat_id": 5, "draft_id": 1, "text": "x"}, 400, "Bad Request: chat not found"},
		{"no draft id", map[string]any{"chat_id": 1001, "text": "x"}, 400, "Bad Request: DRAFT_ID_INVALID"},
		{"empty", map[string]any{"chat_id": 1001, "draft_id": 1, "text": " "}, 400, "Bad Request: message text is empty"},
		{"too long", map[string]any{"chat_id": 1001, "draft_id": 1, "text": strings.Repeat("я", 4097)}, 400, "Bad Request: message is too long"},
		{"bad HTML", map[string]any{"chat_id": 1001, "draft_id": 1, "text": "<b>открыт", "parse_mode": "HTML"}, 400, "Bad Request: can't parse entities"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, env := e.botAPI(t, "sendMessageDraft", tc.params)
			if status != tc.status || !strings.HasPrefix(env.Description, tc.want) {
				t.Fatalf("%d %q, want %d %q", status, env.Description, tc.status, tc.want)
			}
		})
	}
	if tr, _ := e.srv.Transcript(1001, 0); tr.Draft != nil {
		t.Fatalf("a refused draft shows: %+v", tr.Draft)
	}
	e.mustDo(t, http.MethodPost, "/_emulator/block", map[string]any{"user_id": 1001, "blocked": true}, nil)
	if status, env := e.botAPI(t, "sendMessageDraft", map[string]any{"chat_id": 1001, "draft_id": 1, "text": "x"}); status != 403 {
		t.Fatalf("blocked: %d %+v", status, env)
	}
}

// Drafts count in the flood limits like messages (the stricter reading:
// Telegram does not say).
func TestSendMessageDraftFloodLimits(t *testing.T) {
	e := start(t, telegram.Options{FloodLimits: &telegram.FloodLimits{Enabled: true, ChatRate: 1, ChatBurst: 3, GlobalRate: 100, GlobalBurst: 100}})
	e.addUser(t, 1001, "Anna")
	for i := range 3 {
		if status, env := e.botAPI(t, "sendMessageDraft", map[string]any{"chat_id": 1001, "draft_id": 1, "text": "x"}); status != 200 {
			t.Fatalf("draft %d: %d %+v", i, status, env)
		}
	}
	if status, env := e.botAPI(t, "sendMessage", map[string]any{"chat_id": 1001, "text": "x"}); status != http.StatusTooManyRequests || env.Parameters == nil {
		t.Fatalf("a message after three drafts: %d %+v, want 429", status, env)
	}
	if st := e.srv.Stats(); st.Sends != 0 || st.ByMethod["sendMessageDraft"] != 3 {
		t.Fatalf("stats %+v: drafts are calls, not sends", st)
	}
}
