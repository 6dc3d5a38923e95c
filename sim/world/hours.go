package world

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"marketingbot/pkg/app"
	"marketingbot/pkg/config"
	tgemu "marketingbot/sim/emulator/telegram"
)

// The operators' working hours: roles whose chat runs on a clock the test
// moves (an out-of-hours escalation on a Friday evening, the reminder at
// Tuesday's opening), and the operators' group's General topic.

// Clock is real time shifted to a moment the test chooses, so it runs on
// (task ids and timeouts derived from it stay distinct) while the test
// jumps it across a weekend. Choose moments in the past: an update's
// arrival time is real, and a clock ahead of it would age it.
type Clock struct {
	mu    sync.Mutex
	shift time.Duration
}

// NewClock is a clock standing at at now.
func NewClock(at time.Time) *Clock {
	c := &Clock{}
	c.Set(at)
	return c
}

// Set moves the clock to at.
func (c *Clock) Set(at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.shift = time.Until(at)
}

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.shift)
}

// StartClocked runs a worker or a poller in-process whose chat reads
// clock (the other roles take no clock).
func (e *Env) StartClocked(role config.Role, clock *Clock) *Role {
	e.T.Helper()
	var r app.Role
	var err error
	switch role {
	case config.RoleWorker:
		r, err = app.NewWorker(e.Config(role), e.roleLogger(role), app.WorkerOptions{Now: clock.Now})
	case config.RolePoller:
		r, err = app.NewPoller(e.Config(role), e.roleLogger(role), app.PollerOptions{Now: clock.Now})
	default:
		err = fmt.Errorf("world: role %s takes no clock", role)
	}
	return e.started(r, err)
}

// GeneralMessages are the bot's messages in the operators' group outside
// any partner's topic (the General topic).
func (e *Env) GeneralMessages() []tgemu.TranscriptMessage {
	e.T.Helper()
	var out []tgemu.TranscriptMessage
	for _, m := range e.ChatMessages(e.OperatorsChat, 0) {
		if m.FromBot && m.MessageThreadID == 0 {
			out = append(out, m)
		}
	}
	return out
}

// WaitGeneral waits until a bot message in the General topic contains want
// and returns the bot's General messages that do.
func (e *Env) WaitGeneral(want string, timeout time.Duration) []tgemu.TranscriptMessage {
	e.T.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var found []tgemu.TranscriptMessage
		for _, m := range e.GeneralMessages() {
			if strings.Contains(m.Text, want) {
				found = append(found, m)
			}
		}
		if len(found) > 0 {
			return found
		}
		if time.Now().After(deadline) {
			e.T.Fatalf("no bot message with %q in the operators' General topic after %s:%s", want, timeout, texts(e.GeneralMessages()))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
