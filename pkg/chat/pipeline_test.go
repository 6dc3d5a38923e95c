package chat

import (
	"strings"
	"testing"
	"time"

	"marketingbot/pkg/ai"
	"marketingbot/pkg/domain"
)

// An AI turn's sheet write runs in the background while the next unit is
// answered: the next turn is generated before the write has landed, sees
// the turns that write carries, and its own write lands after it, on the
// row it created.
func TestPipelinedWrites(t *testing.T) {
	b := authorizedBench(t, nil)
	secondGenerated := make(chan struct{})
	overlapped := false
	b.store.CreateAppealFn = func(domain.Appeal, bool) error {
		select {
		case <-secondGenerated:
			overlapped = true
		case <-time.After(2 * time.Second): // the write of a drain that does not pipeline
		}
		return nil
	}
	b.gen.GenerateFn = func(req ai.Request) (string, error) {
		q := req.Turns[len(req.Turns)-1].Text
		if strings.HasSuffix(q, "два") {
			close(secondGenerated)
		}
		return "Ответ: " + q, nil
	}
	// An edit is a unit of its own, so these are two AI turns.
	b.push(partnerUID, b.edited(partnerUID, "раз"), b.text(partnerUID, "два"))
	b.drain(partnerUID)

	if !overlapped {
		t.Fatal("the second turn waited for the first turn's write")
	}
	second := b.gen.calls()[1]
	if len(second.Turns) != 3 || !strings.Contains(second.Turns[1].Text, "Ответ: ") {
		t.Fatalf("the second turn does not see the first one: %+v", second.Turns)
	}
	row, turns := rowOf(t, b, partnerUID)
	if ids(turns) != "user:u101 ai:a101 user:u102 ai:a102" || row.Status != domain.AppealStatusAIAnswered {
		t.Fatalf("history %s, status %s", ids(turns), row.Status)
	}
}
