package chat

import (
	"context"
	"reflect"
	"testing"
	"time"

	"marketingbot/pkg/domain"
)

// supportFixture are appeal rows with known times and ratings around the
// bench's clock (2025-03-10 12:00 UTC): the last 7 days are 04.03–10.03,
// the 7 before 25.02–03.03.
func supportFixture() []domain.Appeal {
	at := func(day, h, m int) time.Time { return time.Date(2025, 3, day, h, m, 0, 0, time.UTC) }
	return []domain.Appeal{
		// 10.03: the AI alone.
		{TelegramID: 1, CreatedAt: at(10, 9, 0), Status: domain.AppealStatusAIAnswered, UpdatedAt: at(10, 9, 1)},
		// 10.03: escalated 10:05, answered in 2 min, resolved in 30 min, rated 5.
		{TelegramID: 2, CreatedAt: at(10, 10, 0), Status: domain.AppealStatusResolved, Operator: "Ольга", EscalatedAt: at(10, 10, 5),
			FirstResponseAt: at(10, 10, 7), ResolvedAt: at(10, 10, 35), UpdatedAt: at(10, 10, 36), Rating: 5},
		// 09.03: escalated 15:00, answered in 10 min, resolved the next day after 20 h, rated 1.
		{TelegramID: 3, CreatedAt: at(9, 15, 0), Status: domain.AppealStatusResolved, Operator: "Ольга", EscalatedAt: at(9, 15, 0),
			FirstResponseAt: at(9, 15, 10), ResolvedAt: at(10, 11, 0), UpdatedAt: at(10, 11, 0), Rating: 1, RatingComment: "долго"},
		// 10.03: escalated 11:30, nobody answered yet.
		{TelegramID: 4, CreatedAt: at(10, 11, 0), Status: domain.AppealStatusEscalated, EscalatedAt: at(10, 11, 30), UpdatedAt: at(10, 11, 30)},
		// 09.03: Решено set by hand (no resolved_at: updated_at counts), never escalated, rated 3.
		{TelegramID: 5, CreatedAt: at(9, 16, 0), Status: domain.AppealStatusResolved, UpdatedAt: at(9, 18, 0), Rating: 3},
		// 03.03 (the week before): answered in 4 min, resolved in 60 min, rated 4.
		{TelegramID: 6, CreatedAt: at(3, 12, 0), Status: domain.AppealStatusResolved, Operator: "Иван", EscalatedAt: at(3, 12, 0),
			FirstResponseAt: at(3, 12, 4), ResolvedAt: at(3, 13, 0), UpdatedAt: at(3, 13, 0), Rating: 4},
		// 02.03: the AI alone.
		{TelegramID: 7, CreatedAt: at(2, 8, 0), Status: domain.AppealStatusNew, UpdatedAt: at(2, 8, 0)},
		// 20.02: outside both weeks.
		{TelegramID: 8, CreatedAt: at(-8, 8, 0), Status: domain.AppealStatusResolved, EscalatedAt: at(-8, 8, 0), ResolvedAt: at(-8, 9, 0), Rating: 1},
	}
}

// The fixture gives exactly the expected Статистика rows, gauges and
// /stats text; a second scan writes nothing, and a changed rating
// rewrites only its day's row.
func TestSupportNumbers(t *testing.T) {
	b := authorizedBench(t, nil)
	b.store.appeals = supportFixture()
	scan := b.s.StatsScanner()
	ctx := context.Background()
	if err := scan.Scan(ctx); err != nil {
		t.Fatal(err)
	}
	now := b.clock()
	day := func(d int, st domain.SupportStats) domain.SupportDay {
		return domain.SupportDay{Date: time.Date(2025, 3, d, 0, 0, 0, 0, time.UTC), SupportStats: st, UpdatedAt: now}
	}
	want := []domain.SupportDay{day(4, domain.SupportStats{}), day(5, domain.SupportStats{}), day(6, domain.SupportStats{}),
		day(7, domain.SupportStats{}), day(8, domain.SupportStats{}),
		day(9, domain.SupportStats{Appeals: 2, WithoutHuman: 1, Escalations: 1, FirstResponses: 1, FirstResponseAvg: 10 * time.Minute,
			Resolved: 1, ResolutionAvg: 2 * time.Hour, Ratings: 1, RatingAvg: 3}),
		day(10, domain.SupportStats{Appeals: 3, WithoutHuman: 1, Escalations: 2, FirstResponses: 1, FirstResponseAvg: 2 * time.Minute,
			Resolved: 2, ResolutionAvg: 615 * time.Minute, Ratings: 2, RatingAvg: 3, LowRatings: 1})}
	if !reflect.DeepEqual(b.store.days, want) {
		t.Fatalf("Статистика\n got %+v\nwant %+v", b.store.days, want)
	}
	gauges := map[string][2]float64{ // 7d, prev_7d
		"appeals": {5, 2}, "without_human_ratio": {0.4, 0.5}, "escalations": {3, 1},
		"first_response_avg_seconds": {360, 240}, "resolved": {3, 1}, "resolution_avg_seconds": {450 * 60, 3600},
		"ratings": {3, 1}, "rating_avg": {3, 4}, "low_ratings": {1, 0},
	}
	for name, w := range gauges {
		for i, window := range []string{"7d", "prev_7d"} {
			if got := metricValue(t, b.s.supportM.gauges[name].WithLabelValues(window)); got != w[i] {
				t.Errorf("%s{%s} = %v, want %v", name, window, got, w[i])
			}
		}
	}

	b.store.days = nil
	if err := scan.Scan(ctx); err != nil || len(b.store.days) != 0 {
		t.Fatalf("a second scan wrote %+v (%v)", b.store.days, err)
	}
	b.store.appeals[1].Rating = 4
	if err := scan.Scan(ctx); err != nil || len(b.store.days) != 1 || b.store.days[0].RatingAvg != 2.5 || b.store.days[0].Date.Day() != 10 {
		t.Fatalf("after a changed rating: %+v (%v)", b.store.days, err)
	}
	b.store.appeals[1].Rating = 5

	b.handle(b.operatorReply(1, "/stats"))
	group := b.sender.to(operatorsChat)
	wantText := "📊 <b>Поддержка: 04.03 — 10.03</b>\nв скобках — предыдущие 7 дней\n\n" +
		"Обращений: 5 (2)\nЗакрыто без оператора: 40 % (50 %)\nЭскалаций: 3 (1)\n" +
		"Первый ответ оператора: 6 мин (4 мин)\nВремя решения: 7 ч 30 мин (1 ч 0 мин)\n" +
		"Средняя оценка: 3 из 5, оценок: 3 (4 из 5, оценок: 1)"
	if len(group) != 1 || group[0].text != wantText {
		t.Fatalf("/stats answered %d messages:\n%q\nwant\n%q", len(group), group[0].text, wantText)
	}
}

// /stats in a partner's topic is answered in that topic; in an empty
// sheet every average is "—".
func TestStatsInTopic(t *testing.T) {
	b, f := forumBench(t, true)
	b.handle(b.text(partnerUID, "Позовите оператора"))
	thread := partnerTopic(t, b)
	b.store.appeals = nil
	b.handle(b.topicMessage(thread, "/stats"))
	got := f.in(thread)
	last := got[len(got)-1]
	want := b.s.tx.Render(b.tx.StatsReport, map[string]any{"From": "04.03", "To": "10.03", "Appeals": 0, "PrevAppeals": 0,
		"WithoutHuman": "—", "PrevWithoutHuman": "—", "Escalations": 0, "PrevEscalations": 0, "FirstResponse": "—",
		"PrevFirstResponse": "—", "Resolution": "—", "PrevResolution": "—", "Rating": "—", "PrevRating": "—"})
	if last != want {
		t.Fatalf("in the topic: %q\nwant %q", last, want)
	}
	if n := len(b.sender.to(partnerUID)); n != 1 {
		t.Fatalf("/stats reached the partner: %d messages", n)
	}
}
