package systemtest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"marketingbot/pkg/config"
	"marketingbot/pkg/domain"
	"marketingbot/sim/world"
)

// The operators' desk end to end: working hours (a Friday-evening
// escalation, Monday a holiday in the sheet, the reminder at Tuesday's
// opening with two pollers running) and templates (/t in the partner's
// topic, a button, /t with an unknown key).

// deskWait bounds each wait: generous, as two pollers share the fleet's
// Sheets budget with the worker (a wait ends as soon as its condition holds).
const deskWait = time.Minute

func moscow(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestHoursAwayMessageAndOpeningReminder(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	const uid = 9401
	msk := moscow(t)
	data := chatAuthorizedData(uid)
	data.Holidays = []domain.Holiday{{Day: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), Title: "Отгул"}}
	e := world.New(t, world.Options{Data: data, Settings: map[string]string{
		"MARKETINGBOT_HOURS_SCHEDULE": "mon-fri 09:00-19:00", "MARKETINGBOT_HOURS_TIMEZONE": "Europe/Moscow"}})
	e.UseForum()
	// Friday 27 November 2026, 20:30 in Moscow: closed until Tuesday (Monday is the sheet's holiday).
	clock := world.NewClock(time.Date(2026, 11, 27, 20, 30, 0, 0, msk))
	e.StartClocked(config.RoleWorker, clock)
	// Two pollers, as a deployment may run; the second scans only what the
	// reminder needs often (the Sheets budget is the fleet's).
	pollers := []*world.Role{e.StartClocked(config.RolePoller, clock)}
	e.Set("MARKETINGBOT_POLLER_AUTH_INTERVAL", "1m")
	e.Set("MARKETINGBOT_POLLER_PROMOTIONS_INTERVAL", "1m")
	pollers = append(pollers, e.StartClocked(config.RolePoller, clock))
	e.Start(config.RoleBot)
	e.AddUser(uid, "Партнёр1", "")

	e.Send(uid, "Позовите оператора, пожалуйста")
	e.WaitBotText(uid, 0, "Оператор ответит во вторник, 1 декабря в 09:00 (МСК)", deskWait)
	thread := e.WaitTopic(topicsPartner, deskWait).MessageThreadID
	card := e.WaitTopicText(thread, "Вне рабочего времени", deskWait)
	if !strings.Contains(card.Text, "Новое обращение") || !strings.Contains(card.Text, "во вторник, 1 декабря в 09:00") {
		t.Fatalf("card: %q", card.Text)
	}
	topicsStatus(t, e, uid, "В работе")

	// Meanwhile the AI answers, the operators see both sides, the appeal stays with them.
	e.Send(uid, "Какая комиссия партнёра?")
	e.WaitTopicText(thread, "ИИ ответил партнёру", deskWait)
	e.WaitTopicText(thread, "Какая комиссия партнёра?", deskWait)
	topicsStatus(t, e, uid, "В работе")
	if n := len(e.GeneralMessages()); n != 0 {
		t.Fatalf("%d messages in General before the opening", n)
	}

	// Tuesday 09:00: one reminder, whichever poller sends it, however often they scan.
	scans := func(r *world.Role) float64 {
		return e.RoleMetric(r, "marketingbot_poller_scans_total", map[string]string{"scanner": "hours", "outcome": "ok"})
	}
	clock.Set(time.Date(2026, 12, 1, 9, 0, 0, 0, msk))
	reminder := e.WaitGeneral("Рабочий день начался", deskWait)
	if !strings.Contains(reminder[0].Text, "1. "+topicsPartner+" — ждёт с пт 27.11 20:30") {
		t.Fatalf("reminder: %q", reminder[0].Text)
	}
	after := []float64{scans(pollers[0]), scans(pollers[1])}
	chatEventually(t, func() error {
		for i, p := range pollers {
			if n := scans(p); n < after[i]+3 {
				return fmt.Errorf("poller %d: %v hours scans since the reminder, want 3", i, n-after[i])
			}
		}
		return nil
	})
	if got := e.WaitGeneral("Рабочий день начался", deskWait); len(got) != 1 {
		t.Fatalf("%d reminders: %+v", len(got), got)
	}
	// The desk is open: the partner's next message goes to the operators only.
	e.Send(uid, "Жду ответа")
	e.WaitTopicText(thread, "Жду ответа", deskWait)
	e.WaitHistory(uid, topicsWait, func(h string) bool { return strings.Contains(h, "Жду ответа") })
	if n := strings.Count(e.AppealHistory(uid), "ИИ #"); n != 1 {
		t.Fatalf("%d AI lines after the opening, want the one from before", n)
	}
}

func TestTemplatesInTopic(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	const uid = 9402
	data := chatAuthorizedData(uid)
	data.Templates = []domain.Template{
		{Key: "privet", Title: "Приветствие", Text: "Здравствуйте, {имя}! Ваш код {код}. Менеджер: {менеджер}."},
		{Key: "docs", Title: "Документы", Text: "Пришлите, пожалуйста, договор."},
	}
	e := world.New(t, world.Options{Data: data})
	e.UseForum()
	e.StartAll()
	e.AddUser(uid, "Партнёр1", "")
	e.Send(uid, "Позовите оператора")
	thread := e.WaitTopic(topicsPartner, deskWait).MessageThreadID
	e.WaitTopicText(thread, "Новое обращение", deskWait)

	e.WriteInTopic(thread, "/t")
	list := e.WaitTopicText(thread, "Шаблоны ответов", deskWait)
	var kb struct {
		InlineKeyboard [][]struct {
			Text         string `json:"text"`
			CallbackData string `json:"callback_data"`
		} `json:"inline_keyboard"`
	}
	if err := json.Unmarshal(list.ReplyMarkup, &kb); err != nil || len(kb.InlineKeyboard) != 2 || kb.InlineKeyboard[0][0].Text != "Приветствие" {
		t.Fatalf("list %q buttons %s (%v)", list.Text, list.ReplyMarkup, err)
	}
	if _, err := e.Telegram.Press(e.Operator.ID, e.OperatorsChat, list.MessageID, kb.InlineKeyboard[0][0].CallbackData); err != nil {
		t.Fatal(err)
	}
	e.WaitBotText(uid, 0, "Здравствуйте, Партнёр1! Ваш код P-0001. Менеджер: {менеджер}.", deskWait)
	e.WaitHistory(uid, topicsWait, func(h string) bool {
		return strings.Contains(h, "Оператор Ольга Оператор #tpl-") && strings.Contains(h, "Ваш код P-0001")
	})
	e.WaitTopicText(thread, "Не заполнено (осталось как есть): {менеджер}", deskWait)

	e.WriteInTopic(thread, "/t docs")
	e.WaitBotText(uid, 0, "Пришлите, пожалуйста, договор.", deskWait)
	e.WriteInTopic(thread, "/t нет")
	e.WaitTopicText(thread, "Шаблона «нет» нет. Есть: privet, docs", deskWait)
}
