package promo

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/tasks"
	"marketingbot/pkg/telegram"
)

// started is a unit whose promotion P1 is recorded and fanned out (its send
// tasks queued, none run).
func started(t *testing.T, o Options, n int) *unit {
	t.Helper()
	u := newUnit(t, o, []domain.Promotion{promotion("P1", domain.PromotionScheduled, time.Time{})}, partners(n))
	u.scan()
	if err := u.run(u.queue.next().Task); err != nil {
		t.Fatal(err)
	}
	return u
}

func (u *unit) claimed(id string, uid int64) bool {
	u.t.Helper()
	ok, err := u.rdb.HExists(u.ctx(), u.svc.claimsKey(id), strconv.FormatInt(uid, 10)).Result()
	if err != nil {
		u.t.Fatal(err)
	}
	return ok
}

func (u *unit) processed(id string, uid int64) bool {
	u.t.Helper()
	ok, err := u.rdb.SIsMember(u.ctx(), u.svc.processedKey(id), uid).Result()
	if err != nil {
		u.t.Fatal(err)
	}
	return ok
}

// A send task run again after it succeeded sends and counts nothing.
func TestSendIsIdempotent(t *testing.T) {
	u := started(t, Options{}, 3)
	task := sendTask(t, "P1", firstUser)
	for range 3 {
		if err := u.run(task); err != nil {
			t.Fatal(err)
		}
	}
	if got := u.direct.attempts(firstUser); got != 1 {
		t.Errorf("%d sends to the recipient, want 1", got)
	}
	if u.lim.waits != 1 {
		t.Errorf("%d limiter slots taken, want 1 (a processed recipient takes none)", u.lim.waits)
	}
	if st := u.state("P1"); st.Sent != 1 {
		t.Errorf("sent counter %d, want 1", st.Sent)
	}
	if u.claimed("P1", firstUser) {
		t.Error("the claim was left after Telegram answered")
	}
}

// A send whose earlier attempt died inside the Bot API call (its claim is
// left) counts the recipient as sent and does not send again: a second
// message is worse than the rare one lost that way.
func TestDiedDuringCall(t *testing.T) {
	u := started(t, Options{}, 5)
	died := firstUser + 2
	if _, err := u.svc.claim(u.ctx(), "P1", died); err != nil {
		t.Fatal(err)
	}
	u.drain(1)
	row := u.store.row("P1")
	if row.Sent != 5 || row.Status != domain.PromotionSent {
		t.Errorf("row %s sent %d, want Отправлено 5", row.Status, row.Sent)
	}
	for i := range 5 {
		uid, want := firstUser+int64(i), 1
		if uid == died {
			want = 0 // in reality the dead attempt's request delivered it
		}
		if got := len(u.direct.to(uid)); got != want {
			t.Errorf("%d got it %d times, want %d", uid, got, want)
		}
	}
}

// Flood control never holds a worker: a limiter slot too far away, or a
// 429 the Sender could not wait out, reschedules the task (no failure, no
// claim left, nothing counted), and the next run sends once.
func TestFloodReschedules(t *testing.T) {
	tests := []struct {
		name  string
		setup func(u *unit)
		after time.Duration
		calls int // Bot API calls of the rescheduled run
	}{
		{"limiter slot beyond sendMaxWait", func(u *unit) {
			u.lim.WaitFunc = func(chatID int64, prio telegram.Priority, maxWait time.Duration) (time.Duration, error) {
				if prio != telegram.PriorityBroadcast || maxWait != sendMaxWait {
					t.Errorf("limiter asked with priority %v, max wait %s", prio, maxWait)
				}
				return 3 * time.Second, nil
			}
		}, 3 * time.Second, 0},
		{"429 from Telegram", func(u *unit) {
			u.direct.Fail = func(sent) error { return &telegram.FloodError{RetryAfter: 7 * time.Second} }
		}, 7 * time.Second, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := started(t, Options{}, 2)
			tc.setup(u)
			err := u.run(sendTask(t, "P1", firstUser))
			ra, ok := tasks.AsRetryAfter(err)
			if !ok || ra.After != tc.after {
				t.Fatalf("err %v, want a RetryAfter of %s", err, tc.after)
			}
			if got := u.direct.attempts(firstUser); got != tc.calls {
				t.Errorf("%d Bot API calls, want %d", got, tc.calls)
			}
			if u.claimed("P1", firstUser) || u.processed("P1", firstUser) {
				t.Error("a rescheduled send left a claim or counted the recipient")
			}
			u.lim.WaitFunc, u.direct.Fail = nil, nil
			if err := u.run(sendTask(t, "P1", firstUser)); err != nil {
				t.Fatal(err)
			}
			if got := len(u.direct.to(firstUser)); got != 1 {
				t.Errorf("%d deliveries after the reschedule, want 1", got)
			}
		})
	}
}

// An error answer or a network failure while the task lives releases the
// claim and is retried; a send stopped without an answer keeps its claim,
// so that the retry counts it instead of sending again.
func TestSendErrorsAndClaims(t *testing.T) {
	u := started(t, Options{}, 3)
	u.direct.Fail = func(sent) error { return apiError(502, "Bad Gateway") }
	if err := u.run(sendTask(t, "P1", firstUser)); err == nil {
		t.Fatal("a 502 was not returned for asynq to retry")
	} else if _, ok := tasks.AsRetryAfter(err); ok {
		t.Fatalf("a 502 was rescheduled instead of retried: %v", err)
	}
	if u.claimed("P1", firstUser) || u.processed("P1", firstUser) {
		t.Error("a failed send left its claim or counted the recipient")
	}

	ctx, cancel := context.WithCancel(context.Background())
	u.direct.Fail = func(sent) error { cancel(); return context.Canceled }
	if err := u.svc.HandleSend(ctx, sendTask(t, "P1", firstUser+1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want the context's", err)
	}
	if !u.claimed("P1", firstUser+1) {
		t.Fatal("a send stopped without an answer released its claim")
	}
	u.direct.Fail = nil
	if err := u.run(sendTask(t, "P1", firstUser+1)); err != nil {
		t.Fatal(err)
	}
	if got := u.direct.attempts(firstUser + 1); got != 1 {
		t.Errorf("%d calls for the interrupted recipient, want 1 (the retry counts it)", got)
	}
	if st := u.state("P1"); st.Sent != 1 {
		t.Errorf("sent counter %d, want 1", st.Sent)
	}
}

// What changes while a send waits for the limiter is seen by the claim,
// the last check before the Bot API call: another run that processed the
// recipient, or the cancel.
func TestSendRechecksBeforeTheCall(t *testing.T) {
	tests := []struct {
		name     string
		meantime func(u *unit)
		skipped  int
	}{
		{"processed by another run", func(u *unit) {
			if _, err := u.svc.mark(u.ctx(), "P1", firstUser, outcomeSent); err != nil {
				t.Error(err)
			}
		}, 0},
		{"cancelled", func(u *unit) {
			if err := u.rdb.HSet(u.ctx(), u.svc.stateKey("P1"), "cancelled", "1").Err(); err != nil {
				t.Error(err)
			}
		}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := started(t, Options{}, 2)
			u.lim.WaitFunc = func(int64, telegram.Priority, time.Duration) (time.Duration, error) {
				tc.meantime(u)
				return 0, nil
			}
			if err := u.run(sendTask(t, "P1", firstUser)); err != nil {
				t.Fatal(err)
			}
			if got := u.direct.attempts(firstUser); got != 0 {
				t.Errorf("%d Bot API calls, want none", got)
			}
			if st := u.state("P1"); st.Sent != 1-tc.skipped || st.Skipped != tc.skipped {
				t.Errorf("sent %d skipped %d, want %d %d", st.Sent, st.Skipped, 1-tc.skipped, tc.skipped)
			}
		})
	}
}

// A send retried after its outcome was recorded but the final write
// failed finishes the broadcast without sending again.
func TestRetryFinishesTheEnd(t *testing.T) {
	u := started(t, Options{}, 1)
	fail := true
	u.store.UpdateErr = func(p domain.Promotion, fields []domain.PromotionField) error {
		if fail && p.Status == domain.PromotionSent {
			return errTest
		}
		return nil
	}
	task := sendTask(t, "P1", firstUser)
	if err := u.run(task); !errors.Is(err, errTest) {
		t.Fatalf("err %v, want the failed final write", err)
	}
	fail = false
	if err := u.run(task); err != nil {
		t.Fatal(err)
	}
	if row := u.store.row("P1"); row.Status != domain.PromotionSent || row.Sent != 1 {
		t.Errorf("row %s sent %d, want Отправлено 1", row.Status, row.Sent)
	}
	if got := u.direct.attempts(firstUser); got != 1 {
		t.Errorf("%d Bot API calls, want 1", got)
	}
}
