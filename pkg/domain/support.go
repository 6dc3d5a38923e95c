package domain

import "time"

// SupportStats are the support lead's numbers over a period (issue 18),
// computed from the Appeals sheet (pkg/stats). Averages are zero when
// their count is zero.
type SupportStats struct {
	// Appeals opened in the period, and those of them no human touched
	// (never escalated, no operator).
	Appeals      int
	WithoutHuman int
	// Escalations: appeals handed to a human in the period.
	Escalations int
	// FirstResponses: appeals whose first operator message after the
	// escalation came in the period; FirstResponseAvg the mean wait.
	FirstResponses   int
	FirstResponseAvg time.Duration
	// Resolved: appeals set to Решено in the period; ResolutionAvg the mean
	// time from the escalation (or the appeal's opening) to Решено.
	Resolved      int
	ResolutionAvg time.Duration
	// Ratings given to the appeals resolved in the period, their mean and
	// how many were 1 or 2.
	Ratings    int
	RatingAvg  float64
	LowRatings int
}

// WithoutHumanShare is WithoutHuman / Appeals (0 without appeals).
func (s SupportStats) WithoutHumanShare() float64 {
	if s.Appeals == 0 {
		return 0
	}
	return float64(s.WithoutHuman) / float64(s.Appeals)
}

// SupportDay is one row of the Статистика sheet: a day's numbers.
type SupportDay struct {
	Date time.Time // the day's midnight in the sheets' time zone
	SupportStats
	UpdatedAt time.Time
}
