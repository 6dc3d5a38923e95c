package chat

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/hours"
)

// fakeDesk is the Templates and Holidays sheets.
type fakeDesk struct {
	mu        sync.Mutex
	templates []domain.Template
	holidays  []domain.Holiday
}

var _ Desk = (*fakeDesk)(nil)

func (f *fakeDesk) Templates(context.Context) ([]domain.Template, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]domain.Template(nil), f.templates...), nil
}

func (f *fakeDesk) Holidays(context.Context) ([]domain.Holiday, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]domain.Holiday(nil), f.holidays...), nil
}

func moscowTZ(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// hoursBench: the team works mon-fri 09:00-19:00 Moscow time, Monday 14
// December 2026 is a holiday in the sheet, the group is a forum, and the
// clock stands at Friday 11 December 20:30 MSK (17:30 UTC).
func hoursBench(t *testing.T, aiMeanwhile bool) (*bench, *fakeForum, *fakeDesk) {
	t.Helper()
	msk := moscowTZ(t)
	sch, err := hours.Parse(msk, []string{"mon-fri 09:00-19:00"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := authorizedBench(t, func(o *Options) { o.Hours = HoursOptions{Schedule: sch, AIMeanwhile: aiMeanwhile} })
	f := &fakeForum{forum: true, topics: map[int]*fakeTopic{}}
	b.s.d.Forum = f
	b.sender.SendMessageFn = f.send
	desk := &fakeDesk{holidays: []domain.Holiday{{Day: time.Date(2026, 12, 14, 0, 0, 0, 0, time.UTC), Title: "Отгул"}}}
	b.s.d.Desk = desk
	b.setClock(time.Date(2026, 12, 11, 20, 30, 0, 0, msk))
	return b, f, desk
}

func (b *bench) setClock(at time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.now = at
}

func (b *bench) waiting(t *testing.T) []string {
	t.Helper()
	vals, err := b.rdb.ZRange(context.Background(), b.s.waitingKey(), 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	return vals
}

// Friday evening, out of hours: the partner is escalated as always and
// told a person answers on Tuesday 15 December at 09:00 (Monday is the
// sheet's holiday) and that the AI helps meanwhile; the card in the topic
// says it came out of hours; the partner waits.
func TestOutOfHoursEscalation(t *testing.T) {
	b, f, _ := hoursBench(t, true)
	b.handle(b.text(partnerUID, "Позовите оператора, пожалуйста"))
	want := "Сейчас нерабочее время. Оператор ответит во вторник, 15 декабря в 09:00 (МСК) — ваше обращение уже передано. " +
		"А пока я, ИИ-помощник, отвечу на ваши вопросы — просто напишите."
	if got := lastText(t, b, partnerUID); got != want {
		t.Fatalf("partner got\n%q\nwant\n%q", got, want)
	}
	row, _ := rowOf(t, b, partnerUID)
	if row.Status != domain.AppealStatusEscalated {
		t.Fatalf("status %s", row.Status)
	}
	card := f.in(partnerTopic(t, b))
	if len(card) != 1 || !strings.Contains(card[0], "🌙 Вне рабочего времени") || !strings.Contains(card[0], "во вторник, 15 декабря в 09:00 (МСК)") {
		t.Fatalf("card %q", card)
	}
	if w := b.waiting(t); len(w) != 1 || w[0] != "7001" {
		t.Fatalf("waiting %v", w)
	}
	// A re-run says the same, even once the desk is open: the decision is recorded.
	b.setClock(time.Date(2026, 12, 15, 10, 0, 0, 0, moscowTZ(t)))
	opens, err := b.s.awayUntil(context.Background(), stepRef{partnerUID, b.update, "away"})
	if err != nil || !opens.Equal(time.Date(2026, 12, 15, 6, 0, 0, 0, time.UTC)) {
		t.Fatalf("recorded decision %s %v", opens, err)
	}
}

// In hours nothing changes: the usual answer, a card without the mark,
// nobody waiting.
func TestInHoursEscalationUnchanged(t *testing.T) {
	b, f, _ := hoursBench(t, true)
	b.setClock(time.Date(2026, 12, 11, 18, 59, 0, 0, moscowTZ(t)))
	b.handle(b.text(partnerUID, "Позовите оператора"))
	if got := lastText(t, b, partnerUID); got != b.tx.Escalated {
		t.Fatalf("partner got %q", got)
	}
	if card := f.in(partnerTopic(t, b)); len(card) != 1 || strings.Contains(card[0], "🌙") {
		t.Fatalf("card %q", card)
	}
	if w := b.waiting(t); len(w) != 0 {
		t.Fatalf("waiting %v", w)
	}
}

// Out of hours with ai_meanwhile the waiting partner's question gets an
// AI answer; the appeal stays В работе and the topic shows both. Once an
// operator answers, the AI stops; without ai_meanwhile it never starts.
func TestAIMeanwhile(t *testing.T) {
	b, f, _ := hoursBench(t, true)
	b.handle(b.text(partnerUID, "Позовите оператора"))
	thread := partnerTopic(t, b)
	b.handle(b.text(partnerUID, "Какая комиссия партнёра?"))
	if len(b.gen.calls()) != 1 || !strings.Contains(lastText(t, b, partnerUID), "Ответ") {
		t.Fatalf("model calls %d, partner got %q", len(b.gen.calls()), lastText(t, b, partnerUID))
	}
	row, turns := rowOf(t, b, partnerUID)
	if row.Status != domain.AppealStatusEscalated || !strings.Contains(ids(turns), "ai:a") {
		t.Fatalf("status %s, history %s", row.Status, ids(turns))
	}
	in := f.in(thread)
	if len(in) != 3 || !strings.Contains(in[1], "Какая комиссия партнёра?") || !strings.Contains(in[2], "ИИ ответил партнёру") {
		t.Fatalf("topic %q", in)
	}
	b.handle(b.topicMessage(thread, "Добрый вечер, я на связи"))
	b.handle(b.text(partnerUID, "Спасибо!"))
	if len(b.gen.calls()) != 1 {
		t.Fatal("the AI answered after an operator did")
	}
	if w := b.waiting(t); len(w) != 0 {
		t.Fatalf("still waiting after the operator's answer: %v", w)
	}

	b2, _, _ := hoursBench(t, false)
	b2.handle(b2.text(partnerUID, "Позовите оператора"))
	if strings.Contains(lastText(t, b2, partnerUID), "ИИ-помощник") {
		t.Fatal("the away message offers the AI with ai_meanwhile off")
	}
	b2.handle(b2.text(partnerUID, "Какая комиссия партнёра?"))
	if len(b2.gen.calls()) != 0 {
		t.Fatal("the AI answered with ai_meanwhile off")
	}
}

// At the opening the operators get exactly one message listing who waits,
// oldest first — however many scans run, on one process or two at once,
// and after a crash between sending and marking done. A partner an
// operator answered meanwhile is not listed; listed ones leave the list.
func TestOpeningReminderOnce(t *testing.T) {
	b, f, desk := hoursBench(t, true)
	msk := moscowTZ(t)
	b.partner("P-0002", "79000000002", "Петров Пётр", 7002)
	b.partner("P-0003", "79000000003", "Сидорова Анна", 7003)
	// Saturday: Пётр; Friday night: Мария; Sunday: Анна, answered by an operator.
	b.setClock(time.Date(2026, 12, 12, 11, 0, 0, 0, msk))
	b.handle(b.text(7002, "Позовите оператора"))
	b.setClock(time.Date(2026, 12, 11, 21, 15, 0, 0, msk))
	b.handle(b.text(partnerUID, "Позовите оператора"))
	b.setClock(time.Date(2026, 12, 13, 9, 0, 0, 0, msk))
	b.handle(b.text(7003, "Позовите оператора"))
	anna := b.store.partner("P-0003").OperatorsTopicID
	b.handle(b.topicMessage(anna, "Отвечу сейчас"))

	scanner := b.s.OpeningScanner()
	ctx := context.Background()
	// Monday is the holiday: no opening, no message.
	b.setClock(time.Date(2026, 12, 14, 10, 0, 0, 0, msk))
	if err := scanner.Scan(ctx); err != nil || len(f.in(0)) != 0 {
		t.Fatalf("holiday: %v, %q", err, f.in(0))
	}
	b.setClock(time.Date(2026, 12, 15, 9, 0, 20, 0, msk))
	other := New(Deps{Store: b.store, AI: b.gen, Sender: b.sender, Forum: f, Tasks: b.enq, Redis: b.rdb, Projection: b.proj, Texts: b.tx,
		Log: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry(), Now: b.clock, Desk: desk}, b.s.o)
	var wg sync.WaitGroup
	for _, sc := range []*Service{b.s, other, b.s, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := sc.OpeningScanner().Scan(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	// A crash after the message went and before the done mark (which goes
	// with the listed partners leaving the list).
	opened := time.Date(2026, 12, 15, 9, 0, 0, 0, msk)
	b.rdb.Del(ctx, b.s.reminderKey(opened, "done"))
	b.rdb.ZAdd(ctx, b.s.waitingKey(), redis.Z{Score: float64(time.Date(2026, 12, 11, 21, 15, 0, 0, msk).Unix()), Member: "7001"},
		redis.Z{Score: float64(time.Date(2026, 12, 12, 11, 0, 0, 0, msk).Unix()), Member: "7002"})
	if err := scanner.Scan(ctx); err != nil {
		t.Fatal(err)
	}
	general := f.in(0)
	if len(general) != 1 {
		t.Fatalf("%d reminders in General: %q", len(general), general)
	}
	r := general[0]
	maria, petr := strings.Index(r, "Иванова Мария Петровна · P-0001"), strings.Index(r, "Петров Пётр · P-0002")
	if !strings.Contains(r, "Ждут ответа с нерабочего времени (2)") || maria < 0 || petr < maria || strings.Contains(r, "Сидорова") {
		t.Fatalf("reminder %q", r)
	}
	if !strings.Contains(r, "1. <a href=\"https://t.me/c/") || !strings.Contains(r, "ждёт с пт 11.12 21:15") || !strings.Contains(r, "ждёт с сб 12.12 11:00") {
		t.Fatalf("reminder lines %q", r)
	}
	if w := b.waiting(t); len(w) != 0 {
		t.Fatalf("still waiting after the reminder: %v", w)
	}
	// Later the same day: nothing more.
	b.setClock(time.Date(2026, 12, 15, 15, 0, 0, 0, msk))
	if err := scanner.Scan(ctx); err != nil || len(f.in(0)) != 1 {
		t.Fatalf("later: %v, %d reminders", err, len(f.in(0)))
	}
}

// Opening times are said as the partner reads them: today, tomorrow, or
// the weekday and date, in the team's time zone whatever the server's.
func TestOpeningData(t *testing.T) {
	b, _, _ := hoursBench(t, false)
	msk := moscowTZ(t)
	b.setClock(time.Date(2026, 12, 15, 2, 0, 0, 0, msk)) // Monday 23:00 UTC
	for _, c := range []struct {
		opens time.Time
		want  string
	}{
		{time.Date(2026, 12, 15, 9, 0, 0, 0, msk), "сегодня 09:00"},
		{time.Date(2026, 12, 16, 9, 0, 0, 0, msk), "завтра 09:00"},
		{time.Date(2026, 12, 21, 9, 30, 0, 0, msk), "в понедельник, 21 декабря 09:30"},
	} {
		d := b.s.openingData(c.opens)
		if got := d["When"].(string) + " " + d["Time"].(string); got != c.want {
			t.Errorf("%s: %q, want %q", c.opens, got, c.want)
		}
	}
}
