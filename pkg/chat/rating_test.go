package chat

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mymmrac/telego"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"marketingbot/pkg/domain"
)

// applySupportField is the fake store's UpdateAppeal of the support fields.
func applySupportField(row *domain.Appeal, a domain.Appeal, f domain.AppealField) {
	switch f {
	case domain.AppealFieldEscalatedAt:
		row.EscalatedAt = a.EscalatedAt
	case domain.AppealFieldFirstResponseAt:
		row.FirstResponseAt = a.FirstResponseAt
	case domain.AppealFieldResolvedAt:
		row.ResolvedAt = a.ResolvedAt
	case domain.AppealFieldRating:
		row.Rating = a.Rating
	case domain.AppealFieldRatingComment:
		row.RatingComment = a.RatingComment
	}
}

func (f *fakeStore) Appeals(context.Context) ([]domain.Appeal, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]domain.Appeal(nil), f.appeals...), nil
}

// PutSupportDay keeps one row per date, as pkg/store does.
func (f *fakeStore) PutSupportDay(_ context.Context, d domain.SupportDay) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.days {
		if f.days[i].Date.Equal(d.Date) {
			f.days[i] = d
			return nil
		}
	}
	f.days = append(f.days, d)
	return nil
}

// ratingQuestion is the last rating question sent to uid: its message id
// and the appeal's created_at it carries.
func ratingQuestion(t *testing.T, b *bench, uid int64) (sent, int64) {
	t.Helper()
	var qs []sent
	for _, m := range b.sender.to(uid) {
		if m.text == b.tx.RatingQuestion {
			qs = append(qs, m)
		}
	}
	if len(qs) != 1 {
		t.Fatalf("%d rating questions sent, want 1", len(qs))
	}
	kb, ok := qs[0].markup.(*telego.InlineKeyboardMarkup)
	if !ok || len(kb.InlineKeyboard) != 1 || len(kb.InlineKeyboard[0]) != 5 {
		t.Fatalf("rating buttons %s", mustJSON(t, qs[0].markup))
	}
	r, ok := parseRate(kb.InlineKeyboard[0][4].CallbackData)
	if !ok || r.score != 5 {
		t.Fatalf("button 5 carries %q", kb.InlineKeyboard[0][4].CallbackData)
	}
	return qs[0], r.created
}

func histogram(t *testing.T, h prometheus.Histogram) (uint64, float64) {
	t.Helper()
	var m dto.Metric
	if err := h.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
}

// metricValue reads a counter or a gauge.
func metricValue(t *testing.T, c prometheus.Metric) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	if m.Counter != nil {
		return m.GetCounter().GetValue()
	}
	return m.GetGauge().GetValue()
}

func countText(ms []sent, part string) int {
	n := 0
	for _, m := range ms {
		if strings.Contains(m.text, part) {
			n++
		}
	}
	return n
}

// A flat group: escalated → an operator replies → Решено on the card →
// the partner is told, then asked once; escalated_at, first_response_at
// and resolved_at are stamped. A 1 goes into the row and to the operators
// as a reply to the card; a second press changes nothing; "add a
// comment" makes the next text the comment (not an AI turn), which
// follows the low rating to the operators.
func TestRatingFlatGroupLowRatingAndComment(t *testing.T) {
	b := authorizedBench(t, nil)
	escalatedAt := b.clock()
	card := escalated(t, b)
	b.advance(4 * time.Minute)
	b.handle(b.operatorReply(card.id, "Добрый день! Смотрю."))
	b.advance(20 * time.Minute)
	b.handle(b.callback(77, operatorsChat, card.id, "op:res:7001"))

	row, _ := rowOf(t, b, partnerUID)
	if !row.EscalatedAt.Equal(escalatedAt) || !row.FirstResponseAt.Equal(escalatedAt.Add(4*time.Minute)) ||
		!row.ResolvedAt.Equal(escalatedAt.Add(24*time.Minute)) || row.Rating != 0 {
		t.Fatalf("stamps: %+v", row)
	}
	msgs := b.sender.to(partnerUID)
	if msgs[len(msgs)-2].text != b.tx.Resolved {
		t.Fatalf("told %q before the question", msgs[len(msgs)-2].text)
	}
	q, created := ratingQuestion(t, b, partnerUID)
	if created != row.CreatedAt.Unix() {
		t.Fatalf("the question names appeal %d, the row is %d", created, row.CreatedAt.Unix())
	}
	if n, sum := histogram(t, b.s.supportM.firstResponse); n != 1 || sum != 240 {
		t.Fatalf("first-response histogram: %d samples, sum %v s (want 1, 240)", n, sum)
	}
	if n, sum := histogram(t, b.s.supportM.resolution); n != 1 || sum != 24*60 {
		t.Fatalf("resolution histogram: %d samples, sum %v s (want 1, 1440)", n, sum)
	}

	b.handle(b.callback(partnerUID, partnerUID, q.id, rateData(created, "1")))
	b.handle(b.callback(partnerUID, partnerUID, q.id, rateData(created, "5"))) // pressed again
	if row, _ := rowOf(t, b, partnerUID); row.Rating != 1 {
		t.Fatalf("rating %d, want the first press (1)", row.Rating)
	}
	low := b.sender.to(operatorsChat)
	if countText(low, "Низкая оценка: 1 из 5") != 1 {
		t.Fatalf("operators' notices: %+v", low)
	}
	if last := low[len(low)-1]; last.replyTo != card.id {
		t.Fatalf("the notice replies to %d, want the card %d", last.replyTo, card.id)
	}
	if got := metricValue(t, b.s.supportM.ratings.WithLabelValues("1")); got != 1 {
		t.Fatalf("ratings_total{1} = %v", got)
	}
	edit := b.sender.edits[len(b.sender.edits)-1]
	if edit.Text != b.tx.Render(b.tx.RatingThanks, map[string]any{"Rating": 1}) || !strings.Contains(mustJSON(t, edit.ReplyMarkup), rateData(created, "c")) {
		t.Fatalf("the question became %q %s", edit.Text, mustJSON(t, edit.ReplyMarkup))
	}

	b.handle(b.callback(partnerUID, partnerUID, q.id, rateData(created, "c")))
	if got := lastText(t, b, partnerUID); got != b.tx.RatingCommentPrompt {
		t.Fatalf("comment prompt %q", got)
	}
	b.handle(b.text(partnerUID, "Долго ждал ответа"))
	if row, _ := rowOf(t, b, partnerUID); row.RatingComment != "Долго ждал ответа" || row.Rating != 1 {
		t.Fatalf("comment %q, rating %d", row.RatingComment, row.Rating)
	}
	if got := lastText(t, b, partnerUID); got != b.tx.RatingCommentThanks {
		t.Fatalf("comment thanks %q", got)
	}
	if countText(b.sender.to(operatorsChat), "Долго ждал ответа") != 1 || len(b.gen.calls()) != 0 {
		t.Fatalf("comment not passed on, or the AI answered it (%d calls)", len(b.gen.calls()))
	}
	// The next text is a question again.
	b.handle(b.text(partnerUID, "А какая комиссия?"))
	if len(b.gen.calls()) != 1 || len(b.store.rows(partnerUID)) != 2 {
		t.Fatalf("%d model calls, %d rows", len(b.gen.calls()), len(b.store.rows(partnerUID)))
	}
}

// A forum: /resolve → the question; a 2 is posted in the partner's topic
// (reopened for it) and the topic is closed again. A 4 is not posted.
func TestRatingForumLowRatingInTopic(t *testing.T) {
	b, f := forumBench(t, true)
	b.handle(b.text(partnerUID, "Позовите оператора"))
	thread := partnerTopic(t, b)
	b.handle(b.topicMessage(thread, "/resolve"))
	q, created := ratingQuestion(t, b, partnerUID)
	if !f.state(thread).closed {
		t.Fatal("the topic is open after /resolve")
	}
	b.handle(b.callback(partnerUID, partnerUID, q.id, rateData(created, "2")))
	if got := f.in(thread); countText(postsAsSent(got), "Низкая оценка: 2 из 5") != 1 {
		t.Fatalf("in the topic: %q", got)
	}
	if !f.state(thread).closed {
		t.Fatal("the topic was left open after the notice")
	}
	if row := b.store.rows(partnerUID)[0]; row.Rating != 2 {
		t.Fatalf("rating %d", row.Rating)
	}
}

func postsAsSent(texts []string) []sent {
	out := make([]sent, len(texts))
	for i, s := range texts {
		out[i] = sent{text: s}
	}
	return out
}

// A partner who blocked the bot is not asked.
func TestRatingNotAskedWhenBlocked(t *testing.T) {
	b := authorizedBench(t, nil)
	card := escalated(t, b)
	if err := b.store.SetBotBlocked(context.Background(), partnerUID, b.clock()); err != nil {
		t.Fatal(err)
	}
	b.handle(b.callback(77, operatorsChat, card.id, "op:res:7001"))
	if row, _ := rowOf(t, b, partnerUID); row.Status != domain.AppealStatusResolved {
		t.Fatalf("status %s", row.Status)
	}
	if n := countText(b.sender.to(partnerUID), b.tx.RatingQuestion); n != 0 {
		t.Fatalf("%d questions to a partner who blocked the bot", n)
	}
	if got := metricValue(t, b.s.supportM.questions.WithLabelValues("skipped_blocked")); got != 1 {
		t.Fatalf("skipped_blocked %v", got)
	}
}

// Never repeated: a resolution whose question failed to leave runs again
// and asks once; a second resolution path (the sheet's Решено after the
// operator's) does not ask again; a press whose unit failed after the
// rating was written runs again and records it once, with one notice.
func TestRatingOnceAcrossReruns(t *testing.T) {
	b := authorizedBench(t, nil)
	card := escalated(t, b)
	fail := true
	b.sender.SendMessageFn = func(p *telego.SendMessageParams) error {
		if fail && (p.Text == b.tx.RatingQuestion || strings.Contains(p.Text, "Низкая оценка")) {
			fail = false
			return errors.New("connection reset")
		}
		return nil
	}
	if err := b.handleErr(b.callback(77, operatorsChat, card.id, "op:res:7001")); err == nil {
		t.Fatal("the failed question did not fail the unit")
	}
	b.drain(partnerUID) // the task's retry
	ratingQuestion(t, b, partnerUID)
	if err := b.s.afterResolve(context.Background(), partnerUID, domain.Partner{}, 0); err != nil { // as the topic scan would
		t.Fatal(err)
	}
	q, created := ratingQuestion(t, b, partnerUID)
	if got := metricValue(t, b.s.supportM.questions.WithLabelValues("asked")); got != 1 {
		t.Fatalf("asked %v", got)
	}

	fail = true
	if err := b.handleErr(b.callback(partnerUID, partnerUID, q.id, rateData(created, "2"))); err == nil {
		t.Fatal("the failed notice did not fail the unit")
	}
	if row, _ := rowOf(t, b, partnerUID); row.Rating != 2 {
		t.Fatalf("rating %d before the retry", row.Rating)
	}
	b.drain(partnerUID)
	if got := metricValue(t, b.s.supportM.ratings.WithLabelValues("2")); got != 1 {
		t.Fatalf("ratings_total{2} = %v", got)
	}
	if n := countText(b.sender.to(operatorsChat), "Низкая оценка"); n != 1 {
		t.Fatalf("%d notices", n)
	}
	if left := b.inbox(partnerUID); len(left) != 0 {
		t.Fatalf("inbox left %v", left)
	}
}

// A rating press for an appeal that was never asked about is answered with
// the notice and writes nothing.
func TestRatingForgedPress(t *testing.T) {
	b := authorizedBench(t, nil)
	card := escalated(t, b)
	b.handle(b.callback(77, operatorsChat, card.id, "op:res:7001"))
	_, created := ratingQuestion(t, b, partnerUID)
	for _, data := range []string{rateData(created+1, "5"), rateData(created, "6"), rateData(created, "05")} {
		it := b.callback(partnerUID, partnerUID, 900, data)
		b.handle(it)
		if got, ok := answerOf(t, b, "cb900"); !ok || got != b.tx.ButtonUnknown {
			t.Fatalf("%s answered %q (%v)", data, got, ok)
		}
		b.sender.mu.Lock()
		b.sender.answered = nil
		b.sender.mu.Unlock()
	}
	// Pressed in the operators' group, even with the right data.
	b.handle(b.callback(77, operatorsChat, 901, rateData(created, "5")))
	if row, _ := rowOf(t, b, partnerUID); row.Rating != 0 {
		t.Fatalf("a forged press rated %d", row.Rating)
	}
}

func TestParseRate(t *testing.T) {
	for data, want := range map[string]string{
		"rate:1741608000:1": "1741608000/1", "rate:1741608000:c": "1741608000/0",
		"rate:1741608000:0": "", "rate:1741608000:+5": "", "rate:-1:5": "", "rate:1741608000": "", "rate::5": "", "rat:1:1": "",
	} {
		r, ok := parseRate(data)
		got := ""
		if ok {
			got = fmt.Sprintf("%d/%d", r.created, r.score)
		}
		if got != want {
			t.Errorf("%q: %q, want %q", data, got, want)
		}
	}
}
