// Package stats computes the support lead's numbers (issue 18) from the
// rows of the Appeals sheet, which stays their source of truth: pure
// functions of the rows and a period, no I/O.
//
// Each number belongs to the day its event happened:
//   - an appeal opened (created_at): Appeals, and WithoutHuman when no
//     human touched it — never escalated (escalated_at empty), no first
//     operator message, no Оператор and not В работе;
//   - an escalation (escalated_at): Escalations;
//   - the first operator message after the escalation (first_response_at):
//     FirstResponses and their mean wait first_response_at − escalated_at;
//   - a resolution (resolved_at, or updated_at for a Решено set by hand
//     where the bot did not stamp it): Resolved and the mean time from
//     escalated_at (created_at when never escalated) to the resolution;
//   - a rating (Оценка 1..5) counts on its appeal's resolution day.
//
// A continuation row (a history cell that rolled over) counts as an appeal
// of its own: it is rare and carries no escalation of its own.
package stats

import (
	"time"

	"marketingbot/pkg/domain"
)

// LowRating is the highest rating that notifies the operators.
const LowRating = 2

// Compute returns the numbers of the period [from, to).
func Compute(appeals []domain.Appeal, from, to time.Time) domain.SupportStats {
	var st domain.SupportStats
	in := func(t time.Time) bool { return !t.IsZero() && !t.Before(from) && t.Before(to) }
	var firstWait, resolution time.Duration
	ratingSum := 0
	for _, a := range appeals {
		if in(a.CreatedAt) {
			st.Appeals++
			if !touched(a) {
				st.WithoutHuman++
			}
		}
		if in(a.EscalatedAt) {
			st.Escalations++
		}
		if in(a.FirstResponseAt) && !a.EscalatedAt.IsZero() && !a.FirstResponseAt.Before(a.EscalatedAt) {
			st.FirstResponses++
			firstWait += a.FirstResponseAt.Sub(a.EscalatedAt)
		}
		done := ResolvedAt(a)
		if !in(done) {
			continue
		}
		start := a.EscalatedAt
		if start.IsZero() {
			start = a.CreatedAt
		}
		if !start.IsZero() && !done.Before(start) {
			st.Resolved++
			resolution += done.Sub(start)
		}
		if a.Rating >= 1 && a.Rating <= 5 {
			st.Ratings++
			ratingSum += a.Rating
			if a.Rating <= LowRating {
				st.LowRatings++
			}
		}
	}
	if st.FirstResponses > 0 {
		st.FirstResponseAvg = firstWait / time.Duration(st.FirstResponses)
	}
	if st.Resolved > 0 {
		st.ResolutionAvg = resolution / time.Duration(st.Resolved)
	}
	if st.Ratings > 0 {
		st.RatingAvg = float64(ratingSum) / float64(st.Ratings)
	}
	return st
}

// touched: a human had the appeal at some point.
func touched(a domain.Appeal) bool {
	return !a.EscalatedAt.IsZero() || !a.FirstResponseAt.IsZero() || a.Operator != "" || a.Status == domain.AppealStatusEscalated
}

// ResolvedAt is when the appeal was resolved: resolved_at, else updated_at
// of a Решено row (set by hand), else zero.
func ResolvedAt(a domain.Appeal) time.Time {
	if a.Status != domain.AppealStatusResolved {
		return time.Time{}
	}
	if !a.ResolvedAt.IsZero() {
		return a.ResolvedAt
	}
	return a.UpdatedAt
}

// Day returns the numbers of the calendar day of t in loc.
func Day(appeals []domain.Appeal, t time.Time, loc *time.Location) domain.SupportDay {
	from := Midnight(t, loc)
	return domain.SupportDay{Date: from, SupportStats: Compute(appeals, from, from.AddDate(0, 0, 1))}
}

// Midnight is the start of t's calendar day in loc.
func Midnight(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
}

// Weeks are the last 7 calendar days up to now (today included, to now)
// and the 7 days before them.
type Weeks struct {
	From, To         time.Time // the last 7 days: [From, To)
	PrevFrom, PrevTo time.Time
	Last, Prev       domain.SupportStats
}

// LastTwoWeeks computes the last 7 days against the 7 before.
func LastTwoWeeks(appeals []domain.Appeal, now time.Time, loc *time.Location) Weeks {
	from := Midnight(now, loc).AddDate(0, 0, -6)
	w := Weeks{From: from, To: now, PrevFrom: from.AddDate(0, 0, -7), PrevTo: from}
	w.Last = Compute(appeals, w.From, w.To)
	w.Prev = Compute(appeals, w.PrevFrom, w.PrevTo)
	return w
}
