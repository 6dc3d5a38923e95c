package chat

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/mymmrac/telego"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/history"
)

var deskTemplates = []domain.Template{
	{Key: "privet", Title: "Приветствие", Text: "Здравствуйте, {имя}! Я {оператор}, помогу с вопросом."},
	{Key: "комиссия", Title: "Комиссия", Text: "{Имя}, комиссия партнёра {код} — 2,5 %. Ваш менеджер: {менеджер}."},
}

// templateBench is a forum (or flat) operators' group, the partner
// escalated, and the Templates sheet.
func templateBench(t *testing.T, forum bool) (*bench, *fakeForum) {
	t.Helper()
	b, f := forumBench(t, forum)
	b.s.d.Desk = &fakeDesk{templates: deskTemplates}
	b.handle(b.text(partnerUID, "Позовите оператора"))
	return b, f
}

// buttonsOf lists the inline buttons of a message as "label=data".
func buttonsOf(t *testing.T, m sent) []string {
	t.Helper()
	kb, ok := m.markup.(*telego.InlineKeyboardMarkup)
	if !ok {
		t.Fatalf("no inline keyboard under %q", m.text)
	}
	var out []string
	for _, row := range kb.InlineKeyboard {
		for _, btn := range row {
			out = append(out, btn.Text+"="+btn.CallbackData)
		}
	}
	return out
}

func lastGroup(t *testing.T, b *bench) sent {
	t.Helper()
	g := b.sender.to(operatorsChat)
	if len(g) == 0 {
		t.Fatal("nothing in the operators' group")
	}
	return g[len(g)-1]
}

// /t in the topic lists the templates as buttons (and their keys); a
// button sends the filled template to the partner like an operator's
// reply — in the history as the operator's line — and the topic says so.
func TestTemplateListAndButton(t *testing.T) {
	b, f := templateBench(t, true)
	thread := partnerTopic(t, b)
	b.handle(b.topicMessage(thread, "/t"))
	list := lastGroup(t, b)
	btns := buttonsOf(t, list)
	if len(btns) != 2 || !strings.HasPrefix(btns[0], "Приветствие=tpl:7001:") || !strings.Contains(list.text, "<code>комиссия</code> — Комиссия") {
		t.Fatalf("list %q %v", list.text, btns)
	}
	if !strings.Contains(strings.Join(f.in(thread), "\n"), "Шаблоны ответов для Иванова Мария Петровна · P-0001") {
		t.Fatalf("the list is not in the topic: %q", f.in(thread))
	}
	before := len(b.sender.to(partnerUID))
	data := strings.SplitN(btns[0], "=", 2)[1]
	b.handle(b.callback(77, operatorsChat, list.id, data))
	got := b.sender.to(partnerUID)
	if len(got) != before+1 || !strings.Contains(got[before].text, "Ольга Оператор") ||
		!strings.Contains(got[before].text, "Здравствуйте, Мария! Я Ольга Оператор, помогу с вопросом.") {
		t.Fatalf("partner got %+v", got[before:])
	}
	_, turns := rowOf(t, b, partnerUID)
	last := turns[len(turns)-1]
	if last.Role != history.RoleOperator || last.Author != "Ольга Оператор" || last.Text != "Здравствуйте, Мария! Я Ольга Оператор, помогу с вопросом." {
		t.Fatalf("history ends with %+v", last)
	}
	if note := lastGroup(t, b); !strings.Contains(note.text, "отправил(а) шаблон «Приветствие»") || strings.Contains(note.text, "Не заполнено") {
		t.Fatalf("note %q", note.text)
	}
}

// /t key sends it at once; a placeholder with no value stays as typed and
// is named to the operator; an unknown key gets the list of keys.
func TestTemplateByKey(t *testing.T) {
	b, _ := templateBench(t, true)
	thread := partnerTopic(t, b)
	b.handle(b.topicMessage(thread, "/t КОМИССИЯ"))
	want := "Мария, комиссия партнёра P-0001 — 2,5 %. Ваш менеджер: {менеджер}."
	if got := lastText(t, b, partnerUID); !strings.Contains(got, want) {
		t.Fatalf("partner got %q, want %q", got, want)
	}
	if note := lastGroup(t, b); !strings.Contains(note.text, "Не заполнено (осталось как есть): {менеджер}") {
		t.Fatalf("note %q", note.text)
	}
	before := len(b.sender.to(partnerUID))
	b.handle(b.topicMessage(thread, "/t нет-такого"))
	ans := lastGroup(t, b)
	if !strings.Contains(ans.text, "Шаблона «нет-такого» нет") || !strings.Contains(ans.text, "<code>privet</code>, <code>комиссия</code>") {
		t.Fatalf("answer %q", ans.text)
	}
	if len(b.sender.to(partnerUID)) != before {
		t.Fatal("an unknown key reached the partner")
	}
}

// In a group without topics /t works as a Reply to the partner's card.
func TestTemplateInFlatGroup(t *testing.T) {
	b, _ := templateBench(t, false)
	card := b.sender.to(operatorsChat)[0]
	reply := b.operatorReply(card.id, "/t")
	b.handle(reply)
	list := lastGroup(t, b)
	var msg struct {
		Message struct {
			MessageID int `json:"message_id"`
		} `json:"message"`
	}
	if err := json.Unmarshal(reply.Payload.Update, &msg); err != nil {
		t.Fatal(err)
	}
	if list.replyTo != msg.Message.MessageID || len(buttonsOf(t, list)) != 2 {
		t.Fatalf("list %+v", list)
	}
	b.handle(b.operatorReply(card.id, "/t privet"))
	if got := lastText(t, b, partnerUID); !strings.Contains(got, "Здравствуйте, Мария!") {
		t.Fatalf("partner got %q", got)
	}
}

func TestFillTemplate(t *testing.T) {
	vals := templateValues(domain.Partner{Code: "P-7"}, "Ольга")
	got, unfilled := fillTemplate("Здравствуйте, {имя}! {Код}: {оператор}. {имя} {x y} {}", vals)
	if got != "Здравствуйте, {имя}! P-7: Ольга. {имя} {x y} {}" || fmt.Sprint(unfilled) != "[{имя}]" {
		t.Fatalf("%q %v", got, unfilled)
	}
	if _, ok := parseTemplateButton("tpl:7001:zz"); ok {
		t.Fatal("a short hash accepted")
	}
	if uid, ok := templateButtonUser(templateButtonData(7001, "Комиссия")); !ok || uid != 7001 {
		t.Fatal("round trip")
	}
	if d := templateButtonData(9007199254740991, strings.Repeat("ключ", 50)); len(d) > 64 {
		t.Fatalf("callback data of %d bytes", len(d))
	}
}
