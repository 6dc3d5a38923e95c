package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/mymmrac/telego"
	"github.com/prometheus/client_golang/prometheus"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/obs"
	"marketingbot/pkg/scan"
	"marketingbot/pkg/stats"
	"marketingbot/pkg/telegram"
)

// The support lead's numbers (issue 18, item 5), computed from the Appeals
// sheet by pkg/stats (the sheet stays their source of truth):
//   - the workers count events as they happen: ratings, rating questions,
//     first-response and resolution times (histograms);
//   - the poller's StatsScanner writes one row per day into the Статистика
//     sheet (the last statsDays days; a day whose numbers did not change
//     since its last write is not written again) and sets the gauges of
//     the last 7 days and the 7 before;
//   - /stats in the operators' group answers, where it was asked, with the
//     last 7 days against the 7 before.

// statsDays is how many days back the scanner keeps the Статистика rows
// up to date (a rating counts on its appeal's resolution day, and comes
// later).
const statsDays = 7

// supportMetrics are the support numbers as Prometheus metrics.
type supportMetrics struct {
	ratings       *prometheus.CounterVec
	questions     *prometheus.CounterVec
	firstResponse prometheus.Histogram
	resolution    prometheus.Histogram
	// window gauges, set by the stats scan from the sheet (poller).
	gauges map[string]*prometheus.GaugeVec
}

// supportGauges name the gauges of a window and what each shows.
var supportGauges = []struct {
	name, help string
	value      func(domain.SupportStats) float64
}{
	{"appeals", "Appeals opened in the window.", func(s domain.SupportStats) float64 { return float64(s.Appeals) }},
	{"without_human_ratio", "Share of the appeals opened in the window that no human touched.", func(s domain.SupportStats) float64 { return s.WithoutHumanShare() }},
	{"escalations", "Appeals handed to a human in the window.", func(s domain.SupportStats) float64 { return float64(s.Escalations) }},
	{"first_response_avg_seconds", "Mean time from the escalation to the first operator message, over first responses in the window.", func(s domain.SupportStats) float64 { return s.FirstResponseAvg.Seconds() }},
	{"resolved", "Appeals resolved in the window.", func(s domain.SupportStats) float64 { return float64(s.Resolved) }},
	{"resolution_avg_seconds", "Mean time from the escalation (or the opening) to Решено, over resolutions in the window.", func(s domain.SupportStats) float64 { return s.ResolutionAvg.Seconds() }},
	{"ratings", "Ratings of the appeals resolved in the window.", func(s domain.SupportStats) float64 { return float64(s.Ratings) }},
	{"rating_avg", "Mean rating (1..5) of the appeals resolved in the window.", func(s domain.SupportStats) float64 { return s.RatingAvg }},
	{"low_ratings", "Ratings of 1 or 2 of the appeals resolved in the window.", func(s domain.SupportStats) float64 { return float64(s.LowRatings) }},
}

func newSupportMetrics(reg prometheus.Registerer) *supportMetrics {
	m := &supportMetrics{
		ratings: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: obs.Namespace, Subsystem: "support", Name: "ratings_total",
			Help: "Partners' ratings of resolved appeals, by rating (1..5)."}, []string{"rating"}),
		questions: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: obs.Namespace, Subsystem: "support", Name: "rating_questions_total",
			Help: "Rating questions after a resolution: asked, skipped_blocked (the partner blocked the bot)."}, []string{"outcome"}),
		firstResponse: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: obs.Namespace, Subsystem: "support", Name: "first_response_seconds",
			Help: "From the escalation to the first operator message.", Buckets: prometheus.ExponentialBuckets(30, 2, 12)}),
		resolution: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: obs.Namespace, Subsystem: "support", Name: "resolution_seconds",
			Help: "From the escalation (or the appeal's opening) to Решено.", Buckets: prometheus.ExponentialBuckets(60, 2, 14)}),
		gauges: map[string]*prometheus.GaugeVec{},
	}
	cs := []prometheus.Collector{m.ratings, m.questions, m.firstResponse, m.resolution}
	for _, g := range supportGauges {
		m.gauges[g.name] = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: obs.Namespace, Subsystem: "support", Name: g.name,
			Help: g.help + " From the Appeals sheet, set by the poller's stats scan; window: 7d (the last 7 days, today included) or prev_7d (the 7 before)."},
			[]string{"window"})
		cs = append(cs, m.gauges[g.name])
	}
	reg.MustRegister(cs...)
	return m
}

func (m *supportMetrics) setWindow(window string, st domain.SupportStats) {
	for _, g := range supportGauges {
		m.gauges[g.name].WithLabelValues(window).Set(g.value(st))
	}
}

func (s *Service) statsMemoKey() string { return s.keys.Key("chat", "stats_days") }

// StatsScanner keeps the Статистика sheet and the support gauges up to
// date: one read of the Appeals sheet per scan, a row written only for a
// day whose numbers changed (re-running a day updates its row, found by
// its date, never a second one).
func (s *Service) StatsScanner() scan.Scanner {
	return scan.ScanFunc{N: "stats", F: func(ctx context.Context) error {
		appeals, err := s.d.Store.Appeals(ctx)
		if err != nil {
			return err
		}
		now := s.now()
		w := stats.LastTwoWeeks(appeals, now, s.loc)
		s.supportM.setWindow("7d", w.Last)
		s.supportM.setWindow("prev_7d", w.Prev)
		for i := statsDays - 1; i >= 0; i-- {
			day := stats.Day(appeals, now.AddDate(0, 0, -i), s.loc)
			if err := s.putDay(ctx, day, now); err != nil {
				return err
			}
		}
		return nil
	}}
}

// putDay writes a day's row unless the memo says it holds these numbers.
func (s *Service) putDay(ctx context.Context, day domain.SupportDay, now time.Time) error {
	field := day.Date.Format("2006-01-02")
	b, _ := json.Marshal(day.SupportStats)
	if prev, err := s.d.Redis.HGet(ctx, s.statsMemoKey(), field).Result(); err == nil && prev == string(b) {
		return nil
	}
	day.UpdatedAt = now
	if err := s.d.Store.PutSupportDay(ctx, day); err != nil {
		return err
	}
	pipe := s.d.Redis.TxPipeline()
	pipe.HSet(ctx, s.statsMemoKey(), field, string(b))
	pipe.Expire(ctx, s.statsMemoKey(), 30*24*time.Hour)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("chat: stats memo: %w", err)
	}
	return nil
}

// statsCommand answers /stats in the operators' group, where it was asked
// (the topic, or a reply in the group), as a recorded step of the update.
func (s *Service) statsCommand(ctx context.Context, m *telego.Message, updateID int64) error {
	s.metrics.turns.WithLabelValues("stats").Inc()
	step := stepRef{s.o.OperatorsChatID, updateID, "stats"}
	if v, done, err := s.ib.stepDone(ctx, step); err != nil || (done && !strings.HasPrefix(v, intentPrefix)) {
		return err // sent already (an intent only: the part may not have left; claimPart decides)
	}
	appeals, err := s.d.Store.Appeals(ctx)
	if err != nil {
		return err
	}
	thread := 0
	if m.IsTopicMessage {
		thread = m.MessageThreadID
	}
	o := outgoing{step: step, chat: s.o.OperatorsChatID, thread: thread, replyTo: m.MessageID,
		body: s.statsText(stats.LastTwoWeeks(appeals, s.now(), s.loc))}
	steps := partSteps{s: s, o: o}
	ctx = withPendingPart(ctx)
	sent, err := telegram.SendText(ctx, s.d.Sender, telegram.Text{ChatID: o.chat, ThreadID: o.thread, Body: o.body, ReplyTo: o.replyTo,
		Marker: s.tx.TrimmedMarker, Steps: steps}, chatSend)
	if err != nil {
		steps.failed(ctx, sent)
	}
	if err != nil && telegram.Permanent(err) {
		s.log.Error("/stats answer refused by the operators' group", "err", err)
		return nil
	}
	return err
}

// statsText renders the /stats answer.
func (s *Service) statsText(w stats.Weeks) string {
	data := map[string]any{"From": w.From.In(s.loc).Format("02.01"), "To": w.To.In(s.loc).Format("02.01")}
	for prefix, st := range map[string]domain.SupportStats{"": w.Last, "Prev": w.Prev} {
		data[prefix+"Appeals"] = st.Appeals
		data[prefix+"Escalations"] = st.Escalations
		data[prefix+"WithoutHuman"] = s.statsShare(st)
		data[prefix+"FirstResponse"] = s.statsDuration(st.FirstResponses, st.FirstResponseAvg)
		data[prefix+"Resolution"] = s.statsDuration(st.Resolved, st.ResolutionAvg)
		data[prefix+"Rating"] = s.statsNone()
		if st.Ratings > 0 {
			data[prefix+"Rating"] = s.tx.Render(s.tx.StatsRating, map[string]any{"Value": decimal(st.RatingAvg, 2), "Count": st.Ratings})
		}
	}
	return s.tx.Render(s.tx.StatsReport, data)
}

func (s *Service) statsNone() string { return s.tx.StatsNone }

func (s *Service) statsShare(st domain.SupportStats) string {
	if st.Appeals == 0 {
		return s.statsNone()
	}
	return s.tx.Render(s.tx.StatsPercent, map[string]any{"Value": decimal(100*st.WithoutHumanShare(), 1)})
}

// statsDuration is a mean time in whole minutes (hours and minutes from
// an hour on); "—" without data.
func (s *Service) statsDuration(n int, d time.Duration) string {
	if n == 0 {
		return s.statsNone()
	}
	m := int(math.Round(d.Minutes()))
	if m < 60 {
		return s.tx.Render(s.tx.StatsMinutes, map[string]any{"M": m})
	}
	return s.tx.Render(s.tx.StatsHours, map[string]any{"H": m / 60, "M": m % 60})
}

// decimal writes x with at most digits decimals and a decimal comma, as
// Russian text has it ("4,33", "62,5", "5").
func decimal(x float64, digits int) string {
	p := math.Pow(10, float64(digits))
	return strings.Replace(strconv.FormatFloat(math.Round(x*p)/p, 'f', -1, 64), ".", ",", 1)
}
