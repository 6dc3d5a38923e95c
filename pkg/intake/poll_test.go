package intake_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mymmrac/telego"
	"github.com/prometheus/client_golang/prometheus"

	"marketingbot/pkg/intake"
	"marketingbot/pkg/tasks"
)

func textUpdate(id int) telego.Update {
	return telego.Update{UpdateID: id, Message: &telego.Message{MessageID: id, From: &telego.User{ID: 7},
		Chat: telego.Chat{ID: 7, Type: telego.ChatTypePrivate}, Text: "сообщение"}}
}

// step is one getUpdates answer.
type step struct {
	updates []telego.Update
	err     error
}

// telegramScript answers getUpdates with steps in turn, then holds the call
// like a long poll with nothing new until ctx ends. It records every call.
type telegramScript struct {
	mu    sync.Mutex
	steps []step
	calls []telego.GetUpdatesParams
	at    []time.Time
}

func (s *telegramScript) source() *fakeUpdates {
	return &fakeUpdates{getUpdates: func(ctx context.Context, p *telego.GetUpdatesParams) ([]telego.Update, error) {
		s.mu.Lock()
		s.calls = append(s.calls, *p)
		s.at = append(s.at, time.Now())
		var next *step
		if p.Timeout > 0 && len(s.steps) > 0 {
			next = &s.steps[0]
			s.steps = s.steps[1:]
		}
		s.mu.Unlock()
		switch {
		case p.Timeout == 0: // the confirmation on the way out
			return nil, nil
		case next != nil:
			return next.updates, next.err
		}
		<-ctx.Done()
		return nil, ctx.Err()
	}}
}

func (s *telegramScript) recorded() ([]telego.GetUpdatesParams, []time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls), slices.Clone(s.at)
}

func newLongPoll(src intake.UpdatesSource, enq intake.Enqueuer) (*intake.LongPoll, *prometheus.Registry) {
	in, reg := newIntake(enq, nil)
	return intake.NewLongPoll(src, in, 25*time.Second, slog.New(slog.DiscardHandler)), reg
}

// start runs the loop; the returned stop cancels it and waits for Run to return.
func start(t *testing.T, lp *intake.LongPoll) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = lp.Run(ctx) }()
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	return stop
}

// The offset moves only past stored updates: while an enqueue fails the
// update is retried and nothing after it is confirmed.
func TestLongPollHoldsOffsetWhileEnqueueFails(t *testing.T) {
	tg := &telegramScript{steps: []step{{updates: []telego.Update{textUpdate(1), textUpdate(2), textUpdate(3)}}}}
	var lp *intake.LongPoll
	var offsetAtFailure []int64
	var healthyAtFailure []bool
	s := &store{}
	s.fail = func(p tasks.UpdatePayload, try int) error {
		if p.UpdateID != 2 || try > 2 {
			return nil
		}
		offsetAtFailure = append(offsetAtFailure, lp.Offset())
		healthyAtFailure = append(healthyAtFailure, lp.Healthy() == nil)
		return errors.New("redis down")
	}
	lp, _ = newLongPoll(tg.source(), s.enqueuer(t))
	stop := start(t, lp)
	eventually(t, "all three stored", func() bool { return len(s.ids()) == 3 })
	eventually(t, "the next poll", func() bool { calls, _ := tg.recorded(); return len(calls) == 2 })
	stop()

	if ids := s.ids(); !slices.Equal(ids, []int64{1, 2, 3}) {
		t.Fatalf("stored %v, want 1, 2, 3 once each in order", ids)
	}
	if !slices.Equal(offsetAtFailure, []int64{2, 2}) || !slices.Equal(healthyAtFailure, []bool{true, false}) {
		t.Fatalf("during the failures: offset %v, healthy %v; want 2 (past update 1 only) and not ready after the first",
			offsetAtFailure, healthyAtFailure)
	}
	calls, _ := tg.recorded()
	first, next, confirm := calls[0], calls[1], calls[2]
	if first.Offset != 0 || first.Timeout != 25 || !slices.Equal(first.AllowedUpdates, intake.AllowedUpdates) {
		t.Fatalf("first poll %+v", first)
	}
	if next.Offset != 4 || confirm.Offset != 4 || confirm.Timeout != 0 || lp.Offset() != 4 {
		t.Fatalf("next poll offset %d, confirmation %+v, offset %d; want 4", next.Offset, confirm, lp.Offset())
	}
}

// Stopped while Redis is down: the update that failed and everything after
// it stay unconfirmed, so Telegram hands them out again.
func TestLongPollStopsWithoutConfirmingUnstored(t *testing.T) {
	tg := &telegramScript{steps: []step{{updates: []telego.Update{textUpdate(5), textUpdate(6), textUpdate(7)}}}}
	s := &store{fail: func(p tasks.UpdatePayload, _ int) error {
		if p.UpdateID == 6 {
			return errors.New("redis down")
		}
		return nil
	}}
	lp, _ := newLongPoll(tg.source(), s.enqueuer(t))
	stop := start(t, lp)
	eventually(t, "update 6 failed", func() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.tries[6] > 0 })
	stop()
	calls, _ := tg.recorded()
	confirm := calls[len(calls)-1]
	if ids := s.ids(); !slices.Equal(ids, []int64{5}) || lp.Offset() != 6 || confirm.Offset != 6 || confirm.Timeout != 0 {
		t.Fatalf("stored %v, offset %d, confirmation %+v; want 5 stored and 6 confirmed as next", ids, lp.Offset(), confirm)
	}
}

// A failing getUpdates is retried with backoff (100 ms, 200 ms …) and reported not ready meanwhile.
func TestLongPollRetriesGetUpdates(t *testing.T) {
	unreachable := errors.New("api.telegram.org: i/o timeout")
	tg := &telegramScript{steps: []step{{err: unreachable}, {err: unreachable}, {updates: []telego.Update{textUpdate(9)}}}}
	s := &store{}
	lp, reg := newLongPoll(tg.source(), s.enqueuer(t))
	start(t, lp)
	eventually(t, "not ready", func() bool { return lp.Healthy() != nil })
	eventually(t, "update 9 stored", func() bool { return slices.Equal(s.ids(), []int64{9}) })
	eventually(t, "ready again", func() bool { return lp.Healthy() == nil })
	_, at := tg.recorded()
	if gap1, gap2 := at[1].Sub(at[0]), at[2].Sub(at[1]); gap1 < 100*time.Millisecond || gap2 < 200*time.Millisecond {
		t.Fatalf("retried after %s and %s, want the 100 ms, 200 ms backoff", gap1, gap2)
	}
	if n := metric(t, reg, "marketingbot_telegram_poll_errors_total"); n != 2 {
		t.Fatalf("poll errors %v, want 2", n)
	}
}
