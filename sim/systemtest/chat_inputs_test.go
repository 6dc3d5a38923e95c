package systemtest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"marketingbot/pkg/history"
	"marketingbot/sim/world"
)

func chatGeminiCallsFor(e *world.Env, code string) int {
	n := 0
	for _, r := range e.Gemini.Requests(chatGenerateFilter()) {
		if req, err := r.GenerateRequest(); err == nil && strings.Contains(req.SystemText(), "Код партнёра: "+code+"\n") {
			n++
		}
	}
	return n
}

func chatUserLines(e *world.Env, uid int64) []string {
	var out []string
	for _, r := range chatAppealRows(e, uid) {
		for _, t := range history.Parse(fmt.Sprint(r[4]), nil) {
			if t.Role == history.RoleUser {
				out = append(out, t.Text)
			}
		}
	}
	return out
}

// Every kind of input gets its defined answer, and the sheet holds exactly
// what it should: text stays text, nothing is written for empty input.
func TestChatBadInputs(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	long := strings.Repeat("Длинный вопрос про комиссию. ", 160)[:4096]
	type input struct {
		name   string
		send   func(e *world.Env, uid int64)
		reply  string   // substring of the bot's answer
		lines  []string // user lines in the history, nil = no appeal row at all
		gemini int      // AI calls expected
	}
	msg := func(uid int64, extra string) json.RawMessage {
		return json.RawMessage(fmt.Sprintf(`{"message":{"from":{"id":%d,"is_bot":false,"first_name":"П"},"chat":{"id":%d,"type":"private"},"date":%d,%s}}`, uid, uid, time.Now().Unix(), extra))
	}
	inject := func(extra string) func(e *world.Env, uid int64) {
		return func(e *world.Env, uid int64) {
			if _, err := e.Telegram.InjectUpdate(msg(uid, extra)); err != nil {
				e.T.Fatal(err)
			}
		}
	}
	text := func(s string) func(e *world.Env, uid int64) { return func(e *world.Env, uid int64) { e.Send(uid, s) } }
	// Files the emulator never saw (injected file_ids): getFile finds none.
	cases := []input{
		{"photo with caption", inject(`"photo":[{"file_id":"p1","file_unique_id":"u1","width":10,"height":10}],"caption":"вот фасад"`), "Не получилось получить ваш файл", []string{"[фото — не принят: файл недоступен в Telegram]\nПодпись: вот фасад"}, 0},
		{"voice", inject(`"voice":{"file_id":"v1","file_unique_id":"u2","duration":3}`), "Не получилось получить ваш файл", []string{"[голосовое 0:03 — не принят: файл недоступен в Telegram]"}, 0},
		{"sticker", inject(`"sticker":{"file_id":"s1","file_unique_id":"u3","type":"regular","width":1,"height":1,"is_animated":false,"is_video":false}`), "Такие сообщения я не понимаю", []string{"[стикер]"}, 0},
		{"document", inject(`"document":{"file_id":"d1","file_unique_id":"u4","file_name":"a.pdf"}`), "Не получилось получить ваш файл", []string{"[документ a.pdf — не принят: файл недоступен в Telegram]"}, 0},
		{"location", inject(`"location":{"latitude":55.75,"longitude":37.61}`), "Геопозицию я сохранил", []string{"[геопозиция]"}, 0},
		{"whitespace only", inject(`"text":"   \n\t "`), "Сообщение пустое", nil, 0},
		{"formula", text(`=IMPORTXML("http://x","//a")`), "", []string{`=IMPORTXML("http://x","//a")`}, 1},
		{"plus minus at", text("+7 999 — -мой номер @agent"), "", []string{"+7 999 — -мой номер @agent"}, 1},
		{"emoji and RTL", text("Привет 👋🏽 مرحبا שלום"), "", []string{"Привет 👋🏽 مرحبا שלום"}, 1},
		{"4096 characters", text(long), "", []string{long}, 1},
	}
	var ids []int64
	for i := range cases {
		ids = append(ids, int64(9300+i))
	}
	e := world.New(t, world.Options{Data: chatAuthorizedData(ids...)})
	e.StartAll()
	for i, c := range cases {
		e.AddUser(ids[i], "П", "")
		c.send(e, ids[i])
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			uid := ids[i]
			msgs := e.WaitBotMessages(uid, 1, chatWait)
			if c.reply != "" && !strings.Contains(msgs[0].Text, c.reply) {
				t.Fatalf("answer %q, want it to contain %q", msgs[0].Text, c.reply)
			}
			if c.lines == nil {
				time.Sleep(300 * time.Millisecond)
				if rows := chatAppealRows(e, uid); len(rows) != 0 {
					t.Fatalf("an appeal row was written: %v", rows)
				}
			} else {
				chatEventually(t, func() error {
					if got := chatUserLines(e, uid); strings.Join(got, "|") != strings.Join(c.lines, "|") {
						return fmt.Errorf("history user lines %q, want %q", got, c.lines)
					}
					return nil
				})
			}
			if got := chatGeminiCallsFor(e, fmt.Sprintf("P-%04d", i+1)); got != c.gemini {
				t.Fatalf("%d AI calls, want %d", got, c.gemini)
			}
		})
	}
	snap, _ := e.Sheets.Snapshot(e.SpreadsheetID)
	for _, s := range snap.Sheets {
		if len(s.Formulas) > 0 {
			t.Fatalf("formula written in %s: %v", s.Title, s.Formulas)
		}
	}
}

func TestChatEditedMessageAnsweredAndRecorded(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	const uid = 9401
	e := world.New(t, world.Options{Data: chatAuthorizedData(uid)})
	e.StartAll()
	e.AddUser(uid, "П", "")
	sent := e.Send(uid, "Какая комиссия за сделку")
	e.WaitBotMessages(uid, 1, chatWait)
	if _, err := e.Telegram.EditText(uid, sent.MessageID, "Какая комиссия за аренду?"); err != nil {
		t.Fatal(err)
	}
	e.WaitBotMessages(uid, 2, chatWait)
	chatEventually(t, func() error {
		got := chatUserLines(e, uid)
		if len(got) != 2 || got[1] != "(исправлено) Какая комиссия за аренду?" {
			return fmt.Errorf("history: %q", got)
		}
		return nil
	})
}

func TestChatFloodThrottledWithoutAI(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	const uid = 9501
	e := world.New(t, world.Options{Data: chatAuthorizedData(uid), Settings: map[string]string{"MARKETINGBOT_CHAT_USER_MESSAGES_PER_MINUTE": "3"}})
	e.Gemini.SetLatency(300*time.Millisecond, 0)
	e.StartAll()
	e.AddUser(uid, "П", "")
	for i := 1; i <= 3; i++ { // within the limit: answered
		e.Send(uid, fmt.Sprintf("вопрос %d", i))
		e.WaitBotMessages(uid, i, chatWait)
	}
	for i := 4; i <= 12; i++ { // a flood
		e.Send(uid, fmt.Sprintf("флуд %d", i))
	}
	chatEventually(t, func() error {
		if n := len(chatUserLines(e, uid)); n != 12 {
			return fmt.Errorf("%d user lines in the history, want 12 (nothing lost)", n)
		}
		return nil
	})
	msgs := e.BotMessages(uid)
	throttled := 0
	for _, m := range msgs {
		if strings.Contains(m.Text, "слишком часто") {
			throttled++
		}
	}
	if throttled != 1 {
		t.Fatalf("%d throttle notices, want exactly 1: %d bot messages", throttled, len(msgs))
	}
	if n := chatGeminiCallsFor(e, "P-0001"); n != 3 {
		t.Fatalf("%d AI calls during the flood, want 3", n)
	}
}

func TestChatUserWhoBlockedTheBotIsMarkedNotRetried(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	const uid = 9601
	e := world.New(t, world.Options{Data: chatAuthorizedData(uid)})
	e.Gemini.SetLatency(time.Second, 0)
	e.StartAll()
	e.AddUser(uid, "П", "")
	e.Send(uid, "Какая комиссия?")
	time.Sleep(200 * time.Millisecond)
	if _, err := e.Telegram.SetBlocked(uid, true); err != nil {
		t.Fatal(err)
	}
	chatEventually(t, func() error {
		if g := world.Cell(e.Sheet("Auth"), 1, 6); g == "" {
			return fmt.Errorf("Auth G not written")
		}
		return nil
	})
	attempts := func() int {
		n := 0
		for _, c := range e.Telegram.Calls("") {
			if c.Method == "sendMessage" && fmt.Sprint(c.Params["chat_id"]) == fmt.Sprint(uid) {
				n++
			}
		}
		return n
	}
	chatEventually(t, func() error {
		if attempts() == 0 {
			return fmt.Errorf("the answer was never attempted")
		}
		return nil
	})
	time.Sleep(3 * time.Second) // room for (wrong) retries
	sends := attempts()
	if sends != 1 {
		for _, c := range e.Telegram.Calls("") {
			t.Logf("%s %v %d", c.Method, c.Params["chat_id"], c.Status)
		}
		t.Fatalf("%d sendMessage attempts to a user who blocked the bot, want 1", sends)
	}
}
