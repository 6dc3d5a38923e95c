package stats

import (
	"testing"
	"time"

	"marketingbot/pkg/domain"
)

// The edges of the definitions: half-open periods, a first response
// stamped before its escalation, ratings out of 1..5, Решено by hand
// (updated_at counts), a row a person set back from Решено.
func TestComputeEdges(t *testing.T) {
	from := time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 0, 1)
	at := func(h int) time.Time { return from.Add(time.Duration(h) * time.Hour) }
	rows := []domain.Appeal{
		{CreatedAt: from, Status: domain.AppealStatusNew},                                                           // in: the start belongs to the period
		{CreatedAt: to, Status: domain.AppealStatusNew},                                                             // out: the end does not
		{CreatedAt: at(1), Status: domain.AppealStatusEscalated},                                                    // touched: В работе set by hand
		{CreatedAt: at(2), Operator: "Ольга", Status: domain.AppealStatusAIAnswered},                                // touched: an operator wrote
		{CreatedAt: at(3), EscalatedAt: at(5), FirstResponseAt: at(4), Status: domain.AppealStatusEscalated},        // response before escalation: not counted
		{CreatedAt: at(3), Status: domain.AppealStatusResolved, UpdatedAt: at(6), Rating: 7},                        // by hand: resolved at updated_at; rating 7 ignored
		{CreatedAt: at(3), EscalatedAt: at(3), ResolvedAt: at(4), Status: domain.AppealStatusAIAnswered, Rating: 2}, // not Решено now: no resolution, no rating
	}
	got := Compute(rows, from, to)
	want := domain.SupportStats{Appeals: 6, WithoutHuman: 2, Escalations: 2, Resolved: 1, ResolutionAvg: 3 * time.Hour}
	if got != want {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	if s := got.WithoutHumanShare(); s != 2.0/6 {
		t.Fatalf("share %v", s)
	}
}

func TestLastTwoWeeks(t *testing.T) {
	msk := time.FixedZone("MSK", 3*3600)
	now := time.Date(2025, 3, 10, 1, 30, 0, 0, msk) // 09.03 22:30 UTC: already 10.03 in Moscow
	w := LastTwoWeeks(nil, now, msk)
	if !w.From.Equal(time.Date(2025, 3, 4, 0, 0, 0, 0, msk)) || !w.To.Equal(now) || !w.PrevFrom.Equal(time.Date(2025, 2, 25, 0, 0, 0, 0, msk)) || !w.PrevTo.Equal(w.From) {
		t.Fatalf("weeks %+v", w)
	}
	if d := Day(nil, now.UTC(), msk); !d.Date.Equal(time.Date(2025, 3, 10, 0, 0, 0, 0, msk)) {
		t.Fatalf("day %v", d.Date)
	}
}
