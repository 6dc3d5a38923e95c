package chat

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/history"
	"marketingbot/pkg/hours"
	"marketingbot/pkg/telegram/tghtml"
)

// Working hours. A partner who asks for a person while the desk is closed
// (Options.Hours: the week and the configured days off, plus the Holidays
// sheet) is escalated as always — В работе, the card, the topic — but is
// told when a person will answer (hours_away), the card says it came out
// of hours (hours_card_mark), and the partner joins the waiting list: a
// Redis sorted set, partner → when they asked. The decision is a recorded
// step of the escalation, so a re-run after a crash says the same thing.
//
// With AIMeanwhile, until an operator answers or the desk opens, the
// waiting partner's texts get AI answers as before the escalation; the
// appeal stays В работе and both the partner's text and the AI's answer
// go into the topic, so the operators see what was said.
//
// At the opening (hours.Schedule.OpenedAt) the poller's "hours" scanner
// posts one message in the operators' group listing the partners still
// waiting (their appeal still В работе), oldest first. One message per
// opening however many pollers run and however often: the scan takes a
// claim, its parts are recorded steps, and a done mark ends it; the
// listed partners leave the waiting list.

// HoursOptions are the operators' working hours.
type HoursOptions struct {
	// Schedule is the week and the configured days off; nil or one that is
	// always open turns the feature off (no away messages, no reminders).
	Schedule *hours.Schedule
	// AIMeanwhile: the AI answers a waiting partner out of hours.
	AIMeanwhile bool
}

// reminderClaim bounds how long one scan may hold an opening's reminder.
const reminderClaim = 5 * time.Minute

func (s *Service) waitingKey() string { return s.keys.Key("chat", "hours", "waiting") }
func (s *Service) reminderKey(opened time.Time, what string) string {
	return s.keys.Key("chat", "hours", "opening", strconv.FormatInt(opened.Unix(), 10), what)
}

func (s *Service) hoursOn() bool { return !s.o.Hours.Schedule.Always() }

// schedule is the configured schedule with the Holidays sheet's days; a
// sheet that cannot be read now leaves the configured days.
func (s *Service) schedule(ctx context.Context) *hours.Schedule {
	base := s.o.Hours.Schedule
	if !s.hoursOn() || s.d.Desk == nil {
		return base
	}
	hs, err := s.d.Desk.Holidays(ctx)
	if err != nil {
		s.log.Warn("holidays sheet not read; the configured days off only", "err", err)
		return base
	}
	days := make([]hours.Date, 0, len(hs))
	for _, h := range hs {
		days = append(days, hours.DateOf(h.Day, time.UTC))
	}
	return base.WithHolidays(days)
}

// awayUntil is the desk's next opening when it is closed now (zero: open),
// decided once per escalation (step) and recorded.
func (s *Service) awayUntil(ctx context.Context, step stepRef) (time.Time, error) {
	if !s.hoursOn() {
		return time.Time{}, nil
	}
	if v, done, err := s.ib.stepDone(ctx, step); err != nil || done {
		n, _ := strconv.ParseInt(v, 10, 64)
		if err != nil || n == 0 {
			return time.Time{}, err
		}
		return time.Unix(n, 0), nil
	}
	now := s.now()
	sch := s.schedule(ctx)
	var opens time.Time
	if !sch.IsOpen(now) {
		opens, _ = sch.NextOpening(now) // none within a year: said as in hours
	}
	v := "0"
	if !opens.IsZero() {
		v = strconv.FormatInt(opens.Unix(), 10)
	}
	return opens, s.ib.markStep(ctx, step, v)
}

// outOfHours is the hours side of an escalation: the next opening when
// the desk is closed (the partner then waits for it), zero otherwise.
func (s *Service) outOfHours(ctx context.Context, uid int64, u unit) (time.Time, error) {
	opens, err := s.awayUntil(ctx, stepRef{uid, u.lastID(), "away"})
	if err != nil || opens.IsZero() {
		return opens, err
	}
	s.metrics.escalation.WithLabelValues("out_of_hours").Inc()
	if err := s.d.Redis.ZAddNX(ctx, s.waitingKey(), redis.Z{Score: float64(s.now().Unix()), Member: uidStr(uid)}).Err(); err != nil {
		return opens, fmt.Errorf("chat: waiting list: %w", err)
	}
	return opens, nil
}

// escalatedText is what the partner is told on escalation.
func (s *Service) escalatedText(opens time.Time) string {
	if opens.IsZero() {
		return s.tx.Escalated
	}
	return s.tx.Render(s.tx.HoursAway, s.openingData(opens))
}

// cardMark is what an out-of-hours escalation adds to the card ("" in hours).
func (s *Service) cardMark(opens time.Time) string {
	if opens.IsZero() {
		return ""
	}
	return "\n\n" + s.tx.Render(s.tx.HoursCardMark, s.openingData(opens))
}

// openingData names an opening time for the texts: When ("сегодня",
// "завтра", "в понедельник, 14 декабря"), Time, Zone, AI.
func (s *Service) openingData(opens time.Time) map[string]any {
	loc := s.o.Hours.Schedule.Location()
	at, now := opens.In(loc), s.now().In(loc)
	day, today := hours.DateOf(at, loc), hours.DateOf(now, loc)
	tomorrow := hours.DateOf(time.Date(now.Year(), now.Month(), now.Day()+1, 12, 0, 0, 0, loc), loc)
	when := fmt.Sprintf("%s, %d %s", s.tx.HoursOnWeekday[mondayFirst(at.Weekday())], at.Day(), s.tx.HoursMonthsOf[at.Month()-1])
	switch day {
	case today:
		when = s.tx.HoursToday
	case tomorrow:
		when = s.tx.HoursTomorrow
	}
	return map[string]any{"When": when, "Time": at.Format("15:04"), "Zone": s.tx.HoursZone, "AI": s.o.Hours.AIMeanwhile}
}

// keepStatus leaves the appeal's status as the write finds it.
func keepStatus(ap appealState) domain.AppealStatus { return ap.a.Status }

func mondayFirst(wd time.Weekday) int { return (int(wd) + 6) % 7 }

// waitingSince is when the partner started waiting out of hours (false:
// not waiting).
func (s *Service) waitingSince(ctx context.Context, uid int64) (time.Time, bool, error) {
	score, err := s.d.Redis.ZScore(ctx, s.waitingKey(), uidStr(uid)).Result()
	if errors.Is(err, redis.Nil) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("chat: waiting list: %w", err)
	}
	return time.Unix(int64(score), 0), true, nil
}

// stopWaiting: an operator took the partner up; the AI stops answering
// them meanwhile and the reminder no longer lists them.
func (s *Service) stopWaiting(ctx context.Context, uid int64) error {
	if !s.hoursOn() {
		return nil
	}
	if err := s.d.Redis.ZRem(ctx, s.waitingKey(), uidStr(uid)).Err(); err != nil {
		return fmt.Errorf("chat: waiting list: %w", err)
	}
	return nil
}

// aiMeanwhile reports whether the AI answers the escalated partner's unit
// u: AIMeanwhile, the partner waits, and the desk is still closed. The
// answer is recorded with the unit, so a re-run after the opening does
// what the first run did.
func (s *Service) aiMeanwhile(ctx context.Context, uid int64, u unit) (bool, error) {
	if !s.hoursOn() || !s.o.Hours.AIMeanwhile {
		return false, nil
	}
	step := stepRef{uid, u.lastID(), "meanwhile"}
	if v, done, err := s.ib.stepDone(ctx, step); err != nil || done {
		return v == "1", err
	}
	_, waiting, err := s.waitingSince(ctx, uid)
	if err != nil {
		return false, err
	}
	yes := waiting && !s.schedule(ctx).IsOpen(s.now())
	v := "0"
	if yes {
		v = "1"
	}
	return yes, s.ib.markStep(ctx, step, v)
}

// meanwhileToOperators: an AI turn of a waiting partner keeps the appeal
// as it is (В работе) and shows the operators the partner's texts and
// the AI's answer in the topic (recorded steps, like a forward).
func (s *Service) meanwhileToOperators(ctx context.Context, uid int64, p domain.Partner, job *saveJob, userTurns []history.Turn, gen generated) error {
	job.status = keepStatus
	for i, t := range userTurns {
		if err := s.forwardText(ctx, stepRef{uid, job.u.lastID(), "fwd" + strconv.Itoa(i)}, p, t.Text); err != nil && !undeliverable(err) {
			return err
		}
	}
	if gen.Kind != "ai" || gen.Text == "" {
		return nil
	}
	plain := strings.TrimSpace(tghtml.Plain(tghtml.FromMarkdown(gen.Text)))
	_, err := s.sendGroup(ctx, stepRef{uid, job.u.lastID(), "fwd-ai"}, s.tx.Render(s.tx.HoursAIAnswered, map[string]any{"Text": tghtml.Escape(plain)}), nil)
	if undeliverable(err) {
		return nil
	}
	return err
}
