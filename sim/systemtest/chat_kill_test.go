package systemtest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"marketingbot/pkg/history"
	"marketingbot/sim/world"
)

// A worker process killed (kill -9) while answers are in flight: after
// another worker takes over, every message is answered exactly once and no
// history line is duplicated.
func TestChatWorkerKilledMidAnswer(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process fault test")
	}
	t.Parallel()
	const users = 10
	var ids []int64
	for i := 0; i < users; i++ {
		ids = append(ids, int64(9700+i))
	}
	e := world.New(t, world.Options{Data: chatAuthorizedData(ids...), Settings: map[string]string{"MARKETINGBOT_CHAT_LOCK_TTL": "6s"}})
	e.Gemini.SetLatency(1500*time.Millisecond, 0)
	for _, id := range ids {
		e.AddUser(id, "П", "")
	}
	e.StartProcess("bot")
	e.StartProcess("poller")
	w1 := e.StartProcess("worker")

	sent := map[int64][]int64{} // user → message ids
	var killed time.Time
	for round := 1; round <= 3; round++ {
		for _, id := range ids {
			s := e.Send(id, fmt.Sprintf("вопрос %d про комиссию", round))
			sent[id] = append(sent[id], s.MessageID)
		}
		if round == 2 {
			// Answers of round 2 are being generated (Gemini takes 1.5 s): kill.
			time.Sleep(700 * time.Millisecond)
			w1.Kill()
			killed = time.Now()
			e.StartProcess("worker")
		}
		time.Sleep(2500 * time.Millisecond)
	}
	deadline := time.Now().Add(3 * time.Minute)
	for _, id := range ids {
		for {
			answered := map[int64]int{}
			dates := map[int64][]int64{}
			for _, m := range e.BotMessages(id) {
				if m.ReplyToMessageID != 0 {
					answered[m.ReplyToMessageID]++
					dates[m.ReplyToMessageID] = append(dates[m.ReplyToMessageID], m.Date)
				}
			}
			covered := 0
			for _, mid := range sent[id] {
				if answered[mid] > 1 && !chatAtKill(dates[mid], killed) {
					t.Fatalf("user %d: message %d answered %d times (sent at %v, worker killed at %d)", id, mid, answered[mid], dates[mid], killed.Unix())
				}
			}
			last := sent[id][len(sent[id])-1]
			if answered[last] == 1 {
				for mid := range answered {
					covered = max(covered, int(mid))
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("user %d: not all answered: %v (sent %v)", id, answered, sent[id])
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	t.Logf("worker killed mid-answer; every message answered once, the last %s after the kill", time.Since(killed).Round(100*time.Millisecond))
	chatEventually(t, func() error {
		for _, id := range ids {
			rows := chatAppealRows(e, id)
			if len(rows) != 1 {
				return fmt.Errorf("user %d: %d appeal rows", id, len(rows))
			}
			seen := map[string]bool{}
			users := 0
			for _, turn := range history.Parse(fmt.Sprint(rows[0][4]), nil) {
				if seen[turn.ID] {
					return fmt.Errorf("user %d: duplicate history line %s", id, turn.ID)
				}
				seen[turn.ID] = true
				if turn.Role == history.RoleUser {
					users++
				}
			}
			if users != 3 {
				return fmt.Errorf("user %d: %d user lines, want 3: %s", id, users, strings.ReplaceAll(fmt.Sprint(rows[0][4]), "\n", " | "))
			}
		}
		return nil
	})
}

// atKill reports whether a reply sent twice is the one duplicate delivery
// is allowed to make: Telegram accepted the first copy in the instant
// before kill -9, before the worker could record it (the Bot API has no
// idempotency key, so the re-run cannot know; answering twice is chosen
// over not answering). Exactly two copies, the first within the second of
// the kill (or the one before), the second after it.
func chatAtKill(dates []int64, killed time.Time) bool {
	if len(dates) != 2 || killed.IsZero() {
		return false
	}
	k := killed.Unix()
	return dates[0] >= k-1 && dates[0] <= k && dates[1] >= k
}
