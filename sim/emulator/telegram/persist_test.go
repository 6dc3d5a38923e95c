package telegram_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mymmrac/telego"
	tu "github.com/mymmrac/telego/telegoutil"

	"marketingbot/sim/emulator/telegram"
)

// serve puts srv behind an httptest server with a telego bot, like start
// does for New.
func serve(t testing.TB, srv *telegram.Server) *emulator {
	t.Helper()
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	t.Cleanup(srv.Close)
	bot, err := telego.NewBot(srv.Token(), telego.WithAPIServer(ts.URL), telego.WithDiscardLogger())
	if err != nil {
		t.Fatalf("telego.NewBot: %v", err)
	}
	return &emulator{srv: srv, url: ts.URL, bot: bot}
}

const keyboardMessage = `"text":"<b>Выберите</b> &amp; ok","parse_mode":"HTML","reply_markup":{"inline_keyboard":[[{"text":"Да <3","callback_data":"yes&<>"}]]}`

// rawBotCall posts body to the Bot API as it is, requires status and
// decodes the result into out (if not nil).
func rawBotCall(t *testing.T, e *emulator, method, body string, status int, out any) apiEnvelope {
	t.Helper()
	resp, err := http.Post(e.url+"/bot"+e.srv.Token()+"/"+method, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env apiEnvelope
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		t.Fatalf("%s: decode envelope: %v", method, err)
	}
	if resp.StatusCode != status {
		t.Fatalf("%s: status %d, want %d: %s %s", method, resp.StatusCode, status, env.Description, env.Result)
	}
	if out != nil {
		if err := json.Unmarshal(env.Result, out); err != nil {
			t.Fatalf("%s: decode result: %v", method, err)
		}
	}
	return env
}

func noFlood() *telegram.FloodLimits { return &telegram.FloodLimits{} }

// populated is what populate left behind for the checks after a restart.
type populated struct {
	group       int64
	keyboardMsg int
	editedMsg   int
	document    *telego.Document
	docContent  []byte
	callbackID  string
	pendingIDs  []int // updates the bot has not confirmed
}

// populate gives the emulator one of everything a State keeps: users (one
// blocked), a group, bot messages with an inline keyboard, an edit, a
// deletion and a document, a user's edit, an injected sticker, commands, a
// menu button, and two updates the bot has not confirmed yet (a button
// press and a text).
func populate(t *testing.T, e *emulator) populated {
	t.Helper()
	ctx := ctxT(t)
	p := populated{group: -1001234567890, docContent: []byte("%PDF-1.4 survives restarts \x00\x01")}
	e.addUser(t, 1001, "Anna")
	e.addUser(t, 1002, "Boris")
	if _, err := e.srv.SetBlocked(1002, true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.srv.PutGroup(telegram.Group{ID: p.group, Title: "Operators", IsForum: true}); err != nil {
		t.Fatal(err)
	}
	start, err := e.srv.SendText(1001, "/start")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.srv.EditText(1001, start.MessageID, "/start again"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.srv.GroupSend(telegram.GroupMessage{ChatID: p.group, UserID: 1001, Text: "hello operators"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.srv.InjectUpdate(json.RawMessage(`{"message":{"from":{"id":1001,"is_bot":false,"first_name":"Anna"},"sticker":{"file_id":"stk","file_unique_id":"u","type":"regular","width":512,"height":512,"is_animated":false,"is_video":false}}}`)); err != nil {
		t.Fatal(err)
	}

	// Unescaped HTML characters in the markup (telego would send \u003c):
	// the state file must keep the bytes exactly, or "message is not
	// modified" stops working after a restart.
	var m telego.Message
	rawBotCall(t, e, "sendMessage", `{"chat_id":1001,`+keyboardMessage+`}`, http.StatusOK, &m)
	p.keyboardMsg = m.MessageID
	draft, err := e.bot.SendMessage(ctx, tu.Message(tu.ID(1001), "draft"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.bot.EditMessageText(ctx, &telego.EditMessageTextParams{ChatID: tu.ID(1001), MessageID: draft.MessageID, Text: "final"}); err != nil {
		t.Fatal(err)
	}
	p.editedMsg = draft.MessageID
	gone, err := e.bot.SendMessage(ctx, tu.Message(tu.ID(1001), "oops"))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.bot.DeleteMessage(ctx, &telego.DeleteMessageParams{ChatID: tu.ID(1001), MessageID: gone.MessageID}); err != nil {
		t.Fatal(err)
	}
	doc, err := e.bot.SendDocument(ctx, tu.Document(tu.ID(1001), tu.FileFromBytes(p.docContent, "report.pdf")).WithCaption("report"))
	if err != nil {
		t.Fatal(err)
	}
	p.document = doc.Document
	if _, err := e.bot.SendMessage(ctx, tu.Message(tu.ID(p.group), "card for operators")); err != nil {
		t.Fatal(err)
	}
	if err := e.bot.SetMyCommands(ctx, &telego.SetMyCommandsParams{Commands: []telego.BotCommand{{Command: "start", Description: "Начать"}}, LanguageCode: "ru"}); err != nil {
		t.Fatal(err)
	}
	if err := e.bot.SetChatMenuButton(ctx, &telego.SetChatMenuButtonParams{ChatID: 1001, MenuButton: &telego.MenuButtonWebApp{Type: "web_app", Text: "Кабинет", WebApp: telego.WebAppInfo{URL: "https://example.com/app"}}}); err != nil {
		t.Fatal(err)
	}

	// The bot confirms everything so far...
	got, err := e.bot.GetUpdates(ctx, &telego.GetUpdatesParams{})
	if err != nil || len(got) == 0 {
		t.Fatalf("GetUpdates = %d updates, %v", len(got), err)
	}
	if _, err := e.bot.GetUpdates(ctx, &telego.GetUpdatesParams{Offset: got[len(got)-1].UpdateID + 1}); err != nil {
		t.Fatal(err)
	}
	// ...and these two arrive before the restart, unseen.
	pressed, err := e.srv.Press(1001, 0, int64(p.keyboardMsg), "yes&<>")
	if err != nil {
		t.Fatal(err)
	}
	p.callbackID = pressed.CallbackQueryID
	sent, err := e.srv.SendText(1001, "are you there?")
	if err != nil {
		t.Fatal(err)
	}
	p.pendingIDs = []int{int(pressed.UpdateID), int(sent.UpdateID)}
	return p
}

// observable is what the control API shows of a Server's state.
type observable struct {
	Users       []telegram.User
	Groups      []telegram.Chat
	Transcripts map[int64]telegram.Transcript
	Commands    []telegram.CommandSet
	MenuButtons telegram.MenuButtons
	Callback    telegram.CallbackAnswer
}

// reportDifferences names what differs, a message at a time, as JSON.
func reportDifferences(t *testing.T, want, got observable) {
	t.Helper()
	js := func(v any) string {
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false) // show JSON fragments as stored
		_ = enc.Encode(v)
		return strings.TrimSpace(b.String())
	}
	for id, w := range want.Transcripts {
		g := got.Transcripts[id]
		if len(g.Messages) != len(w.Messages) || !reflect.DeepEqual(g.Chat, w.Chat) {
			t.Errorf("chat %d: got %s with %d messages, want %s with %d", id, js(g.Chat), len(g.Messages), js(w.Chat), len(w.Messages))
			continue
		}
		for i := range w.Messages {
			if !reflect.DeepEqual(g.Messages[i], w.Messages[i]) {
				t.Errorf("chat %d message %d:\n got %s\nwant %s", id, w.Messages[i].MessageID, js(g.Messages[i]), js(w.Messages[i]))
			}
		}
	}
	want.Transcripts, got.Transcripts = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after restart:\n got %s\nwant %s", js(got), js(want))
	}
}

func observe(t *testing.T, srv *telegram.Server, p populated) observable {
	t.Helper()
	o := observable{Users: srv.Users(), Groups: srv.Groups(), Transcripts: map[int64]telegram.Transcript{},
		Commands: srv.Commands(), MenuButtons: srv.MenuButtons()}
	for _, id := range []int64{1001, 1002, p.group} {
		tr, err := srv.Transcript(id, 0)
		if err != nil {
			t.Fatalf("transcript %d: %v", id, err)
		}
		o.Transcripts[id] = tr
	}
	cb, err := srv.Callback(p.callbackID)
	if err != nil {
		t.Fatal(err)
	}
	o.Callback = cb
	return o
}

// restartFunc ends the emulator a (or not) and returns one that took over
// its state.
type restartFunc func(t *testing.T, a *emulator, statePath string) *telegram.Server

func restartBySnapshot(t *testing.T, a *emulator, _ string) *telegram.Server {
	b := telegram.New(telegram.Options{FloodLimits: noFlood()})
	if err := b.Restore(a.srv.Snapshot()); err != nil {
		t.Fatal(err)
	}
	return b
}

func restartByFile(t *testing.T, a *emulator, _ string) *telegram.Server {
	path := filepath.Join(t.TempDir(), "copy.json")
	if err := a.srv.SaveFile(path); err != nil {
		t.Fatal(err)
	}
	a.srv.Close()
	b := telegram.New(telegram.Options{FloodLimits: noFlood()})
	if err := b.LoadFile(path); err != nil {
		t.Fatal(err)
	}
	return b
}

func restartByStatePath(t *testing.T, a *emulator, statePath string) *telegram.Server {
	a.srv.Close()
	b, err := telegram.NewWithState(telegram.Options{FloodLimits: noFlood(), StatePath: statePath})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestStateSurvivesRestart(t *testing.T) {
	tests := []struct {
		name    string
		restart restartFunc
	}{
		{"Snapshot and Restore", restartBySnapshot},
		{"SaveFile and LoadFile", restartByFile},
		{"NewWithState, saved by Close", restartByStatePath},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := populateAndRestart(t, tt.restart)
			r.checkObservable(t)
			t.Run("pending updates reach the bot", r.checkPendingUpdates)
			t.Run("callback query can be answered", r.checkCallbackAnswer)
			t.Run("document downloads", r.checkDocument)
			t.Run("markup and edits are kept exactly", r.checkMarkupAndEdits)
			t.Run("blocked user stays blocked", r.checkBlocked)
			t.Run("ids keep increasing", r.checkIDsIncrease)
		})
	}
}

// restarted is an emulator b that took over the state populate left in
// another one, with what was observed before the restart.
type restarted struct {
	p             populated
	b             *emulator
	before, after observable
	lastUpdateID  int64
	lastMessageID int64
}

func populateAndRestart(t *testing.T, restart restartFunc) *restarted {
	statePath := filepath.Join(t.TempDir(), "telegram.json")
	// An hour's delay: only Close can have saved what restartByStatePath reads.
	srvA, err := telegram.NewWithState(telegram.Options{FloodLimits: noFlood(), StatePath: statePath, StateSaveDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	a := serve(t, srvA)
	r := &restarted{p: populate(t, a)}
	r.before = observe(t, a.srv, r.p)
	r.lastUpdateID = a.srv.Snapshot().NextUpdateID
	r.lastMessageID = r.before.Transcripts[1001].Messages[len(r.before.Transcripts[1001].Messages)-1].MessageID

	r.b = serve(t, restart(t, a, statePath))
	r.after = observe(t, r.b.srv, r.p)
	return r
}

func (r *restarted) checkObservable(t *testing.T) {
	if !reflect.DeepEqual(r.after, r.before) {
		reportDifferences(t, r.before, r.after)
	}
	if u := r.after.Users[1]; !u.Blocked || u.Phone != "79001234567" {
		t.Errorf("user 1002 = %+v, want blocked with a phone", u)
	}
	kinds := ""
	for _, m := range r.after.Transcripts[1001].Messages {
		kinds += fmt.Sprintf("%s%v ", m.Kind, map[bool]string{true: "(deleted)"}[m.Deleted])
	}
	if !strings.Contains(kinds, "sticker") || !strings.Contains(kinds, "(deleted)") || !strings.Contains(kinds, "document") {
		t.Errorf("transcript kinds = %s", kinds)
	}
}

func (r *restarted) checkPendingUpdates(t *testing.T) {
	ctx := ctxT(t)
	got, err := r.b.bot.GetUpdates(ctx, &telego.GetUpdatesParams{Timeout: 1})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int
	for _, u := range got {
		ids = append(ids, u.UpdateID)
	}
	if !reflect.DeepEqual(ids, r.p.pendingIDs) {
		t.Fatalf("update ids = %v, want %v", ids, r.p.pendingIDs)
	}
	if got[0].CallbackQuery == nil || got[0].CallbackQuery.Data != "yes&<>" || got[1].Message == nil || got[1].Message.Text != "are you there?" {
		t.Errorf("updates = %+v / %+v", got[0].CallbackQuery, got[1].Message)
	}
	if _, err := r.b.bot.GetUpdates(ctx, &telego.GetUpdatesParams{Offset: ids[1] + 1}); err != nil {
		t.Fatal(err)
	}
}

func (r *restarted) checkCallbackAnswer(t *testing.T) {
	if err := r.b.bot.AnswerCallbackQuery(ctxT(t), tu.CallbackQuery(r.p.callbackID).WithText("ok")); err != nil {
		t.Fatal(err)
	}
	if cb, _ := r.b.srv.Callback(r.p.callbackID); !cb.Answered || cb.Text != "ok" {
		t.Errorf("callback = %+v", cb)
	}
}

func (r *restarted) checkDocument(t *testing.T) {
	ctx, b, p := ctxT(t), r.b, r.p
	f, err := b.bot.GetFile(ctx, &telego.GetFileParams{FileID: p.document.FileID})
	if err != nil {
		t.Fatal(err)
	}
	if got := download(t, b.bot.FileDownloadURL(f.FilePath)); string(got) != string(p.docContent) {
		t.Errorf("downloaded %q, want %q", got, p.docContent)
	}
	var doc *telegram.TranscriptFile
	for _, m := range r.after.Transcripts[1001].Messages {
		if m.Document != nil {
			doc = m.Document
		}
	}
	if doc == nil || doc.URL == "" {
		t.Fatalf("transcript document = %+v", doc)
	}
	if got := download(t, b.url+doc.URL); string(got) != string(p.docContent) {
		t.Errorf("downloaded %q from the transcript URL", got)
	}
	// And the bot can send it again by file_id.
	if _, err := b.bot.SendDocument(ctx, tu.Document(tu.ID(1001), tu.FileFromID(p.document.FileID))); err != nil {
		t.Error(err)
	}
}

func (r *restarted) checkMarkupAndEdits(t *testing.T) {
	env := rawBotCall(t, r.b, "editMessageText", fmt.Sprintf(`{"chat_id":1001,"message_id":%d,%s}`, r.p.keyboardMsg, keyboardMessage), http.StatusBadRequest, nil)
	if !strings.Contains(env.Description, "message is not modified") {
		t.Errorf("identical edit after restart: %+v", env)
	}
	tr, _ := r.b.srv.Transcript(1001, int64(r.p.editedMsg-1))
	if m := tr.Messages[0]; m.Text != "final" || m.EditDate == 0 {
		t.Errorf("edited message = %+v", m)
	}
}

func (r *restarted) checkBlocked(t *testing.T) {
	if _, err := r.b.bot.SendMessage(ctxT(t), tu.Message(tu.ID(1002), "hi")); err == nil || !strings.Contains(err.Error(), "bot was blocked by the user") {
		t.Errorf("send to blocked user: err = %v", err)
	}
}

func (r *restarted) checkIDsIncrease(t *testing.T) {
	b, p := r.b, r.p
	sent, err := b.srv.SendText(1001, "after the restart")
	if err != nil {
		t.Fatal(err)
	}
	if sent.UpdateID <= r.lastUpdateID || sent.MessageID <= r.lastMessageID {
		t.Errorf("new update %d, message %d; before the restart up to %d and %d", sent.UpdateID, sent.MessageID, r.lastUpdateID, r.lastMessageID)
	}
	m, err := b.bot.SendMessage(ctxT(t), tu.Message(tu.ID(p.group), "next card"))
	if err != nil {
		t.Fatal(err)
	}
	groupBefore := r.before.Transcripts[p.group].Messages
	if last := groupBefore[len(groupBefore)-1].MessageID; int64(m.MessageID) <= last {
		t.Errorf("group message id %d, want > %d", m.MessageID, last)
	}
	pressed, err := b.srv.Press(1001, 0, int64(p.keyboardMsg), "yes&<>")
	if err != nil {
		t.Fatal(err)
	}
	if pressed.CallbackQueryID == p.callbackID {
		t.Errorf("callback query id %q reused", pressed.CallbackQueryID)
	}
}

func TestStateKeepsWebhook(t *testing.T) {
	var healthy atomic.Bool
	type delivery struct {
		secret string
		update telego.Update
	}
	got := make(chan delivery, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !healthy.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		var u telego.Update
		_ = json.NewDecoder(r.Body).Decode(&u)
		got <- delivery{r.Header.Get("X-Telegram-Bot-Api-Secret-Token"), u}
	}))
	t.Cleanup(hook.Close)

	fast := telegram.Options{FloodLimits: noFlood(), WebhookBackoffMin: 10 * time.Millisecond, WebhookBackoffMax: 20 * time.Millisecond}
	a := serve(t, telegram.New(fast))
	a.addUser(t, 1001, "Anna")
	if err := a.bot.SetWebhook(ctxT(t), &telego.SetWebhookParams{URL: hook.URL, SecretToken: "s3cr3t"}); err != nil {
		t.Fatal(err)
	}
	sent, err := a.srv.SendText(1001, "while the bot was down")
	if err != nil {
		t.Fatal(err)
	}
	a.srv.Close() // stops the pusher: the update stays pending
	st := a.srv.Snapshot()

	healthy.Store(true)
	b := serve(t, telegram.New(fast))
	if err := b.srv.Restore(st); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-got:
		if d.secret != "s3cr3t" || d.update.UpdateID != int(sent.UpdateID) || d.update.Message == nil || d.update.Message.Text != "while the bot was down" {
			t.Errorf("delivered %+v with secret %q", d.update, d.secret)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("pending update not pushed to the webhook after restore")
	}
	info, err := b.bot.GetWebhookInfo(ctxT(t))
	if err != nil || info.URL != hook.URL {
		t.Errorf("webhook info = %+v, %v", info, err)
	}
}

func TestRestoreNeverLowersUpdateID(t *testing.T) {
	a := serve(t, telegram.New(telegram.Options{FloodLimits: noFlood()}))
	a.addUser(t, 1001, "Anna")
	st := a.srv.Snapshot()

	b := serve(t, telegram.New(telegram.Options{FloodLimits: noFlood()}))
	b.addUser(t, 7, "Seven")
	var last telegram.Sent
	for range 5 {
		var err error
		if last, err = b.srv.SendText(7, "hi"); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.srv.Restore(st); err != nil {
		t.Fatal(err)
	}
	if users := b.srv.Users(); len(users) != 1 || users[0].ID != 1001 {
		t.Errorf("users after restore = %+v", users)
	}
	next, err := b.srv.SendText(1001, "hi")
	if err != nil {
		t.Fatal(err)
	}
	if next.UpdateID <= last.UpdateID {
		t.Errorf("update_id %d after restore, a bot has already seen %d", next.UpdateID, last.UpdateID)
	}
}

func TestLoadFileMissing(t *testing.T) {
	srv := telegram.New(telegram.Options{})
	t.Cleanup(srv.Close)
	if err := srv.LoadFile(filepath.Join(t.TempDir(), "never-saved.json")); err != nil {
		t.Fatalf("LoadFile of a missing file = %v, want nil", err)
	}
	if users := srv.Users(); len(users) != 0 {
		t.Errorf("users = %+v", users)
	}
}

func TestLoadFileCorrupt(t *testing.T) {
	good := telegram.New(telegram.Options{})
	t.Cleanup(good.Close)
	if _, err := good.PutUsers(telegram.User{ID: 1001}); err != nil {
		t.Fatal(err)
	}
	if _, err := good.SendText(1001, "hello"); err != nil {
		t.Fatal(err)
	}
	goodPath := filepath.Join(t.TempDir(), "good.json")
	if err := good.SaveFile(goodPath); err != nil {
		t.Fatal(err)
	}
	valid, err := os.ReadFile(goodPath)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		content string
	}{
		{"empty", ""},
		{"not JSON", "PK\x03\x04 this is a zip"},
		{"truncated", string(valid[:len(valid)/2])},
		{"trailing garbage", string(valid) + "}"},
		{"no version", `{"users":[{"id":1}]}`},
		{"newer version", `{"version":99}`},
		{"negative user id", `{"version":1,"users":[{"id":-5,"first_name":"X"}]}`},
		{"duplicate message", `{"version":1,"chats":[{"chat":{"id":5,"type":"private"},"messages":[{"message_id":1,"from":{"id":5}},{"message_id":1,"from":{"id":5}}]}]}`},
		{"update id mismatch", `{"version":1,"pending_updates":[{"update_id":3,"kind":"message","update":{"update_id":4,"message":{}}}]}`},
		{"unknown chat type", `{"version":1,"chats":[{"chat":{"id":-5,"type":"channel"}}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := telegram.New(telegram.Options{})
			t.Cleanup(srv.Close)
			if _, err := srv.PutUsers(telegram.User{ID: 42, FirstName: "Kept"}); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "state.json")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			err := srv.LoadFile(path)
			if !errors.Is(err, telegram.ErrCorruptState) {
				t.Fatalf("LoadFile = %v, want ErrCorruptState", err)
			}
			if users := srv.Users(); len(users) != 1 || users[0].FirstName != "Kept" {
				t.Errorf("a failed load changed the state: users = %+v", users)
			}
		})
	}
}

func TestRestoreRefusesInvalidState(t *testing.T) {
	chat := telegram.Chat{ID: 5, Type: "private"}
	tests := []struct {
		name string
		st   telegram.State
	}{
		{"zero version", telegram.State{}},
		{"broken reply markup", telegram.State{Version: 1, Chats: []telegram.StateChat{{Chat: chat, Messages: []telegram.StateMessage{{MessageID: 1, ReplyMarkup: json.RawMessage(`{"inline_keyboard":`)}}}}}},
		{"broken update", telegram.State{Version: 1, PendingUpdates: []telegram.StateUpdate{{UpdateID: 1, Kind: "message", Update: json.RawMessage(`{"update_id":1,"message":`)}}}},
		{"updates out of order", telegram.State{Version: 1, PendingUpdates: []telegram.StateUpdate{
			{UpdateID: 2, Kind: "message", Update: json.RawMessage(`{"update_id":2,"message":{}}`)},
			{UpdateID: 1, Kind: "message", Update: json.RawMessage(`{"update_id":1,"message":{}}`)},
		}}},
		{"file without id", telegram.State{Version: 1, Files: []telegram.StateFile{{Data: []byte("x")}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := telegram.New(telegram.Options{})
			t.Cleanup(srv.Close)
			if err := srv.Restore(tt.st); !errors.Is(err, telegram.ErrInvalid) {
				t.Errorf("Restore = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestSaveFileAtomic(t *testing.T) {
	srv := telegram.New(telegram.Options{})
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	path := filepath.Join(dir, "telegram.json")
	onlyFiles := func(t *testing.T, want ...string) {
		t.Helper()
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		if !reflect.DeepEqual(names, want) {
			t.Errorf("directory holds %q, want %q (no temporary files left)", names, want)
		}
	}

	for i, name := range []string{"First", "Second"} {
		if _, err := srv.PutUsers(telegram.User{ID: 1001, FirstName: name}); err != nil {
			t.Fatal(err)
		}
		if err := srv.SaveFile(path); err != nil {
			t.Fatalf("save %d: %v", i, err)
		}
		onlyFiles(t, "telegram.json")
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("mode %v, want 0600: the file holds phones and the webhook secret", perm)
		}
		other := telegram.New(telegram.Options{})
		if err := other.LoadFile(path); err != nil {
			t.Fatal(err)
		}
		if users := other.Users(); len(users) != 1 || users[0].FirstName != name {
			t.Errorf("save %d: loaded users %+v", i, users)
		}
		other.Close()
	}

	// A rename that fails leaves the directory as it was.
	blocker := filepath.Join(dir, "blocker")
	if err := os.MkdirAll(filepath.Join(blocker, "inside"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := srv.SaveFile(blocker); err == nil {
		t.Error("SaveFile over a directory succeeded")
	}
	onlyFiles(t, "blocker", "telegram.json")

	if err := srv.SaveFile(filepath.Join(dir, "no", "such", "dir.json")); err == nil {
		t.Error("SaveFile into a missing directory succeeded")
	}
}

func TestNewWithState(t *testing.T) {
	t.Run("autosave after changes", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "telegram.json")
		e := serve(t, mustNewWithState(t, telegram.Options{FloodLimits: noFlood(), StatePath: path, StateSaveDelay: 10 * time.Millisecond}))
		saved := func() telegram.State {
			other := telegram.New(telegram.Options{})
			defer other.Close()
			if err := other.LoadFile(path); err != nil {
				t.Fatal(err)
			}
			return other.Snapshot()
		}
		e.addUser(t, 1001, "Anna")
		eventually(t, func() bool { return len(saved().Users) == 1 })

		// Changes that wake no waiter are saved too.
		if err := e.bot.SetMyCommands(ctxT(t), &telego.SetMyCommandsParams{Commands: []telego.BotCommand{{Command: "help", Description: "Help"}}}); err != nil {
			t.Fatal(err)
		}
		eventually(t, func() bool { return len(saved().Commands) == 1 })
		sent, err := e.srv.SendText(1001, "hi")
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, func() bool { return len(saved().PendingUpdates) == 1 })
		if _, err := e.bot.GetUpdates(ctxT(t), &telego.GetUpdatesParams{Offset: int(sent.UpdateID) + 1}); err != nil {
			t.Fatal(err)
		}
		eventually(t, func() bool { return len(saved().PendingUpdates) == 0 })
	})
	t.Run("missing file starts empty and is created", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "telegram.json")
		srv := mustNewWithState(t, telegram.Options{StatePath: path})
		srv.Close()
		if _, err := os.Stat(path); err != nil {
			t.Errorf("state file not written: %v", err)
		}
	})
	t.Run("corrupt file is reported and kept", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "telegram.json")
		if err := os.WriteFile(path, []byte(`{"version":1,"users":[`), 0o600); err != nil {
			t.Fatal(err)
		}
		srv, err := telegram.NewWithState(telegram.Options{StatePath: path})
		if !errors.Is(err, telegram.ErrCorruptState) || srv != nil {
			t.Fatalf("NewWithState = %v, %v; want ErrCorruptState", srv, err)
		}
		if b, _ := os.ReadFile(path); string(b) != `{"version":1,"users":[` {
			t.Errorf("corrupt file overwritten with %q", b)
		}
	})
	t.Run("unwritable path fails at once", func(t *testing.T) {
		_, err := telegram.NewWithState(telegram.Options{StatePath: filepath.Join(t.TempDir(), "missing", "telegram.json")})
		if err == nil {
			t.Fatal("NewWithState with a missing directory succeeded")
		}
	})
	t.Run("New refuses StatePath", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Error("New with a StatePath did not panic")
			}
		}()
		telegram.New(telegram.Options{StatePath: "x.json"}).Close()
	})
}

func mustNewWithState(t *testing.T, opts telegram.Options) *telegram.Server {
	t.Helper()
	srv, err := telegram.NewWithState(opts)
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

// TestStateConcurrent saves while users and the bot keep the server busy;
// it is meant for -race.
func TestStateConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "telegram.json")
	e := serve(t, mustNewWithState(t, telegram.Options{FloodLimits: noFlood(), StatePath: path, StateSaveDelay: time.Millisecond}))
	e.addUser(t, 1001, "Anna")
	ctx := ctxT(t)
	var wg sync.WaitGroup
	const n = 50
	wg.Go(func() {
		for i := range n {
			if _, err := e.srv.SendText(1001, fmt.Sprintf("user %d", i)); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Go(func() {
		for i := range n {
			if _, err := e.bot.SendMessage(ctx, tu.Message(tu.ID(1001), fmt.Sprintf("bot %d", i))); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Go(func() {
		for range n {
			_, _ = e.bot.GetUpdates(ctx, &telego.GetUpdatesParams{Offset: -1})
		}
	})
	wg.Go(func() {
		other := filepath.Join(t.TempDir(), "copy.json")
		for range n / 5 {
			if err := e.srv.SaveFile(other); err != nil {
				t.Error(err)
				return
			}
			_ = e.srv.Snapshot()
		}
	})
	wg.Wait()
	if err := e.srv.Flush(); err != nil {
		t.Fatal(err)
	}
	b := telegram.New(telegram.Options{})
	t.Cleanup(b.Close)
	if err := b.LoadFile(path); err != nil {
		t.Fatal(err)
	}
	tr, err := b.Transcript(1001, 0)
	if err != nil || len(tr.Messages) != 2*n {
		t.Errorf("restored transcript has %d messages (%v), want %d", len(tr.Messages), err, 2*n)
	}
}
