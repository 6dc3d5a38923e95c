package systemtest

import (
	"fmt"
	"strings"
	"testing"

	"marketingbot/pkg/domain"
	gememu "marketingbot/sim/emulator/gemini"
	"marketingbot/sim/world"
)

// AI answers reach the partner whole or say what happened: a long answer
// in parts (bold, links and code at the cuts), an answer cut by the
// output-token cap ends at a sentence with a note, an empty or blocked
// answer gets a defined reply and a history line, with one model call each.

// limitsLongAnswer is Markdown of at least n characters with bold, links
// and code, and the text a reader sees of it.
func limitsLongAnswer(n int) (markdown, visible string) {
	var md, vis strings.Builder
	for i := 0; md.Len() < 2*n; i++ { // Cyrillic: two bytes a character
		fmt.Fprintf(&md, "Пункт %d: **жирный текст %d, который тянется через границу 😀** и [ссылка %d](https://example.com/p/%d) и `код %d < 1 && 2`. Конец пункта %d.\n\n", i, i, i, i, i, i)
		fmt.Fprintf(&vis, "Пункт %d: жирный текст %d, который тянется через границу 😀 и ссылка %d и код %d < 1 && 2. Конец пункта %d.\n\n", i, i, i, i, i)
	}
	return strings.TrimSpace(md.String()), strings.TrimSpace(vis.String())
}

func TestLimitsAILongAnswer(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	const uid = 9311
	md, visible := limitsLongAnswer(10000)
	d := limitsData(uid)
	d.Knowledge = []domain.KnowledgeEntry{{Topic: "Регламент сделок", Question: "регламент сделки порядок", Answer: md}}
	e := world.New(t, world.Options{Data: d, Settings: map[string]string{"MARKETINGBOT_GEMINI_MAX_OUTPUT_TOKENS": "16384"}})
	e.StartAll()
	e.AddUser(uid, "Партнёр", "")
	e.Send(uid, "Какой регламент сделки?")
	msgs := e.WaitBotText(uid, 0, visible, limitsWait)
	if len(msgs) < 3 {
		t.Fatalf("%d messages for a 10,000-character answer", len(msgs))
	}
	for i, m := range msgs {
		if world.UTF16Len(m.Text) > 4096 {
			t.Fatalf("message %d has %d units", i, world.UTF16Len(m.Text))
		}
		if m.ParseMode != "HTML" || !strings.Contains(string(m.Entities), `"bold"`) {
			t.Fatalf("message %d lost its formatting: mode %q, entities %s", i, m.ParseMode, m.Entities)
		}
	}
	e.WaitHistory(uid, limitsWait, func(h string) bool { return strings.Contains(world.NoSpace(h), world.NoSpace(md)) })
}

// limitsAIWorld is a world whose partner talks to the AI.
func limitsAIWorld(t *testing.T, uid int64) *world.Env {
	t.Helper()
	e := world.New(t, world.Options{Data: limitsData(uid)})
	e.StartAll()
	e.AddUser(uid, "Партнёр", "")
	return e
}

// limitsAsk sends a question and waits for the bot's next message.
func limitsAsk(t *testing.T, e *world.Env, uid int64, question string) string {
	t.Helper()
	before := len(e.BotMessages(uid))
	e.Send(uid, question)
	msgs := e.WaitBotMessages(uid, before+1, limitsWait)
	return msgs[before].Text
}

func limitsGenerateCalls(e *world.Env) int {
	return len(e.Gemini.Requests(gememu.RequestFilter{Method: gememu.MethodGenerateContent}))
}

func TestLimitsAITruncatedAnswerSaysSo(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	const uid = 9312
	e := limitsAIWorld(t, uid)
	if _, err := e.Gemini.AddOutcome(gememu.Outcome{FinishReason: "MAX_TOKENS", Count: 1}); err != nil {
		t.Fatal(err)
	}
	calls := limitsGenerateCalls(e)
	got := limitsAsk(t, e, uid, "Здравствуйте! Расскажите, что вы умеете и как с вами работать?")
	const note = "(ответ сокращён — спросите подробнее)"
	body, ok := strings.CutSuffix(strings.TrimSpace(got), note)
	if !ok {
		t.Fatalf("a cut answer without the note: %q", got)
	}
	if body = strings.TrimSpace(body); body == "" || !strings.ContainsAny(body[len(body)-len("…"):], ".!?…") {
		t.Fatalf("the answer does not end at a sentence: %q", body)
	}
	if n := limitsGenerateCalls(e) - calls; n != 1 {
		t.Fatalf("%d model calls for one question", n)
	}
	e.WaitHistory(uid, limitsWait, func(h string) bool {
		return strings.Contains(h, note) && strings.Contains(h, "Ответ ИИ сокращён")
	})
}

func TestLimitsAINoAnswerGetsDefinedReply(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	const uid = 9313
	e := limitsAIWorld(t, uid)
	cases := []struct {
		outcome gememu.Outcome
		reply   string // the beginning of the partner's answer
		reason  string // in the history line
	}{
		{gememu.Outcome{FinishReason: "SAFETY"}, "Не могу ответить на это сообщение", "SAFETY"},
		{gememu.Outcome{FinishReason: "PROHIBITED_CONTENT"}, "Не могу ответить на это сообщение", "PROHIBITED_CONTENT"},
		{gememu.Outcome{FinishReason: "RECITATION"}, "Не могу ответить на это сообщение", "RECITATION"},
		{gememu.Outcome{BlockReason: "SAFETY"}, "Не могу ответить на это сообщение", "запрос заблокирован: SAFETY"},
		{gememu.Outcome{FinishReason: "STOP", Empty: true}, "Не получилось сформулировать ответ", "пустой ответ"},
		{gememu.Outcome{FinishReason: "MAX_TOKENS", Empty: true}, "Не получилось сформулировать ответ", "пустой ответ"},
	}
	for i, tc := range cases {
		o := tc.outcome
		o.Count = 1
		if _, err := e.Gemini.AddOutcome(o); err != nil {
			t.Fatal(err)
		}
		calls := limitsGenerateCalls(e)
		got := limitsAsk(t, e, uid, fmt.Sprintf("Вопрос номер %d про комиссию", i+1))
		if !strings.HasPrefix(got, tc.reply) {
			t.Fatalf("%+v: the partner got %q, want %q…", tc.outcome, got, tc.reply)
		}
		if n := limitsGenerateCalls(e) - calls; n != 1 {
			t.Fatalf("%+v: %d model calls for one question (a retry loop)", tc.outcome, n)
		}
		e.WaitHistory(uid, limitsWait, func(h string) bool {
			return strings.Contains(h, fmt.Sprintf("Вопрос номер %d про комиссию", i+1)) && strings.Contains(h, "ИИ не дал ответа ("+tc.reason+")")
		})
	}
}
