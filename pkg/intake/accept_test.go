package intake_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/hibiken/asynq"

	"marketingbot/pkg/intake"
	"marketingbot/pkg/tasks"
)

// Private messages, button presses in the private chat and the user's
// blocking or unblocking of the bot are chained to the sender's previous
// update; everything else is not.
func TestAcceptChainsPrivateUpdates(t *testing.T) {
	cases := []struct {
		name, update string
		chained      bool
	}{
		{"private message", `{"update_id":20,"message":{"message_id":1,"from":{"id":7},"chat":{"id":7,"type":"private"},"text":"hi"}}`, true},
		{"edited message", `{"update_id":20,"edited_message":{"message_id":1,"from":{"id":7},"chat":{"id":7,"type":"private"},"text":"x","edit_date":5}}`, true},
		{"button in the private chat", `{"update_id":20,"callback_query":{"id":"q","from":{"id":7},"message":{"message_id":3,"chat":{"id":7,"type":"private"}},"data":"x"}}`, true},
		{"button in the operators' group", `{"update_id":20,"callback_query":{"id":"q","from":{"id":9},"message":{"message_id":3,"chat":{"id":-100500,"type":"supergroup"}},"data":"x"}}`, false},
		{"operators' group message", `{"update_id":20,"message":{"message_id":1,"from":{"id":9},"chat":{"id":-100500,"type":"supergroup"},"text":"ответ"}}`, false},
		{"bot blocked", `{"update_id":20,"my_chat_member":{"chat":{"id":7,"type":"private"},"from":{"id":7},"date":1,"old_chat_member":{"status":"member","user":{"id":1}},"new_chat_member":{"status":"kicked","user":{"id":1},"until_date":0}}}`, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var asked []int64
			seq := &fakeSequencer{chain: func(_ context.Context, userID, updateID int64) (int64, error) {
				asked = append(asked, userID, updateID)
				return 17, nil
			}}
			s := &store{}
			in, _ := newIntake(s.enqueuer(t), seq)
			if out, err := in.Accept(context.Background(), []byte(tc.update)); out != intake.Enqueued || err != nil {
				t.Fatalf("Accept = %v, %v", out, err)
			}
			p := s.tasks[0]
			if p.ReceivedAt.IsZero() || string(p.Update) != tc.update {
				t.Fatalf("payload %+v: want the raw update and the time received", p)
			}
			switch {
			case tc.chained && (p.Prev != 17 || len(asked) != 2 || asked[0] != 7 || asked[1] != 20):
				t.Fatalf("prev %d, sequencer asked %v; want prev 17 for user 7, update 20", p.Prev, asked)
			case !tc.chained && (p.Prev != 0 || len(asked) != 0):
				t.Fatalf("prev %d, sequencer asked %v; want no chain", p.Prev, asked)
			}
		})
	}
}

func TestAcceptOutcomes(t *testing.T) {
	const msg = `{"update_id":30,"message":{"message_id":1,"from":{"id":7},"chat":{"id":7,"type":"private"},"text":"hi"}}`
	down := errors.New("dial tcp: connection refused")
	noSeq := &fakeSequencer{chain: func(context.Context, int64, int64) (int64, error) { return 0, nil }}
	cases := []struct {
		name    string
		update  string
		seq     *fakeSequencer
		result  error // what the bus answers
		want    intake.Outcome
		wantErr bool
		metric  string // the counter that must read 1
	}{
		{"new", msg, noSeq, nil, intake.Enqueued, false, "marketingbot_updates_enqueued_total"},
		{"known", msg, noSeq, fmt.Errorf("enqueue: %w", asynq.ErrTaskIDConflict), intake.Duplicate, false, "marketingbot_updates_duplicate_total"},
		{"bus down", msg, noSeq, down, 0, true, "marketingbot_updates_enqueue_errors_total"},
		{"sequencer down", msg, &fakeSequencer{chain: func(context.Context, int64, int64) (int64, error) { return 0, down }},
			nil, 0, true, "marketingbot_updates_enqueue_errors_total"},
		{"group chatter", `{"update_id":31,"message":{"message_id":1,"from":{"id":9},"chat":{"id":-5,"type":"group"},"text":"hi"}}`,
			noSeq, nil, intake.Ignored, false, "marketingbot_updates_ignored_total"},
		{"malformed", `{"update_id":"x"}`, noSeq, nil, intake.Ignored, false, "marketingbot_updates_ignored_total"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &store{result: func(tasks.UpdatePayload) error { return tc.result }}
			in, reg := newIntake(s.enqueuer(t), tc.seq)
			out, err := in.Accept(context.Background(), []byte(tc.update))
			if out != tc.want || (err != nil) != tc.wantErr {
				t.Fatalf("Accept = %v, %v; want %v, error %v", out, err, tc.want, tc.wantErr)
			}
			// An error means not stored: not ready until a later update gets through.
			if (in.Healthy() != nil) != tc.wantErr {
				t.Fatalf("Healthy = %v", in.Healthy())
			}
			if got := metric(t, reg, tc.metric); got != 1 {
				t.Fatalf("%s = %v, want 1", tc.metric, got)
			}
		})
	}
}

func TestAcceptRecovers(t *testing.T) {
	failing := true
	s := &store{fail: func(tasks.UpdatePayload, int) error {
		if failing {
			return errors.New("down")
		}
		return nil
	}}
	in, _ := newIntake(s.enqueuer(t), nil)
	msg := []byte(`{"update_id":40,"message":{"message_id":1,"from":{"id":7},"chat":{"id":7,"type":"private"},"text":"hi"}}`)
	if _, err := in.Accept(context.Background(), msg); err == nil || in.Healthy() == nil {
		t.Fatal("a failed enqueue reported healthy")
	}
	failing = false
	if _, err := in.Accept(context.Background(), msg); err != nil || in.Healthy() != nil {
		t.Fatalf("after recovery: %v, healthy %v", err, in.Healthy())
	}
}
