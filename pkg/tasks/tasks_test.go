package tasks_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/tasks"
)

// newClient is an asynq client on miniredis: enqueueing shows the options a
// task carries (queue, id, retries, timeout, retention) as asynq reads them.
func newClient(t *testing.T) *asynq.Client {
	t.Helper()
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	c := asynq.NewClientFromRedisClient(rdb)
	t.Cleanup(func() { c.Close(); rdb.Close() })
	return c
}

var created = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func TestTaskOptions(t *testing.T) {
	const day = 24 * time.Hour
	cases := []struct {
		build     func() (*asynq.Task, error)
		typ       string
		queue, id string
		maxRetry  int
		timeout   time.Duration
		retention time.Duration
	}{
		{func() (*asynq.Task, error) {
			return tasks.NewUpdateTask(tasks.TypeChatMessage, tasks.UpdatePayload{UpdateID: 42}, time.Hour)
		}, tasks.TypeChatMessage, tasks.QueueChat, "update:42", 25, 3 * time.Minute, time.Hour},
		{func() (*asynq.Task, error) {
			return tasks.NewUpdateTask(tasks.TypeChatCallback, tasks.UpdatePayload{UpdateID: 43}, time.Hour)
		}, tasks.TypeChatCallback, tasks.QueueChat, "update:43", 25, 3 * time.Minute, time.Hour},
		{func() (*asynq.Task, error) {
			return tasks.NewUpdateTask(tasks.TypeOperatorMessage, tasks.UpdatePayload{UpdateID: 44}, time.Hour)
		}, tasks.TypeOperatorMessage, tasks.QueueChat, "update:44", 25, 3 * time.Minute, time.Hour},
		{func() (*asynq.Task, error) {
			return tasks.NewUpdateTask(tasks.TypeChatMember, tasks.UpdatePayload{UpdateID: 45}, 2*time.Hour)
		}, tasks.TypeChatMember, tasks.QueueChat, "update:45", 25, 3 * time.Minute, 2 * time.Hour},
		{func() (*asynq.Task, error) { return tasks.NewDrainTask(7, created) },
			tasks.TypeChatDrain, tasks.QueueChat, fmt.Sprintf("drain:7:%d", created.Unix()/30), 25, 3 * time.Minute, 0},
		{func() (*asynq.Task, error) {
			return tasks.NewAnalyticsRequestTask(tasks.AnalyticsRequestPayload{RequestID: "r1"})
		}, tasks.TypeAnalyticsRequest, tasks.QueueAnalytics, "analytics:request:r1", 20, 2 * time.Minute, day},
		{func() (*asynq.Task, error) { return tasks.NewAnalyticsProcessTask("r1") },
			tasks.TypeAnalyticsProcess, tasks.QueueAnalytics, "analytics:process:r1", 10, 5 * time.Minute, time.Hour},
		{func() (*asynq.Task, error) { return tasks.NewAnalyticsDeliverTask("r1") },
			tasks.TypeAnalyticsDeliver, tasks.QueueAnalytics, "analytics:deliver:r1", 20, 3 * time.Minute, day},
		{func() (*asynq.Task, error) {
			return tasks.NewPromoBroadcastTask(tasks.PromoBroadcastPayload{PromotionID: "p1"})
		}, tasks.TypePromoBroadcast, tasks.QueueBroadcast, "promo:broadcast:p1", 20, 30 * time.Minute, 7 * day},
		{func() (*asynq.Task, error) {
			return tasks.NewPromoSendTask(tasks.PromoSendPayload{PromotionID: "p1", TelegramID: 7})
		}, tasks.TypePromoSend, tasks.QueueBroadcast, "promo:send:p1:7", 8, time.Minute, 7 * day},
	}
	c := newClient(t)
	for _, tc := range cases {
		t.Run(tc.id, func(t *testing.T) {
			task, err := tc.build()
			if err != nil {
				t.Fatal(err)
			}
			info, err := c.Enqueue(task)
			if err != nil {
				t.Fatal(err)
			}
			got := []any{info.Type, info.Queue, info.ID, info.MaxRetry, info.Timeout, info.Retention}
			want := []any{tc.typ, tc.queue, tc.id, tc.maxRetry, tc.timeout, tc.retention}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("type, queue, id, max retry, timeout, retention:\n got %v\nwant %v", got, want)
			}
			// The id is the idempotency key: the same task again is a duplicate.
			again, _ := tc.build()
			if _, err := c.Enqueue(again); !tasks.IsDuplicate(err) {
				t.Fatalf("second enqueue: %v, want a duplicate", err)
			}
		})
	}
}

// A drain task id names its 30-second period: one per user per period.
func TestDrainTaskID(t *testing.T) {
	c := newClient(t)
	period := created.Truncate(tasks.DrainEvery)
	for _, tc := range []struct {
		name string
		user int64
		at   time.Time
		dup  bool
	}{
		{"first", 7, period, false},
		{"same period", 7, period.Add(tasks.DrainEvery - time.Second), true},
		{"next period", 7, period.Add(tasks.DrainEvery), false},
		{"another user", 8, period, false},
	} {
		task, err := tasks.NewDrainTask(tc.user, tc.at)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Enqueue(task); tasks.IsDuplicate(err) != tc.dup {
			t.Fatalf("%s: enqueue %v, want duplicate %v", tc.name, err, tc.dup)
		}
	}
}

func TestPayloadRoundTrip(t *testing.T) {
	update := tasks.UpdatePayload{UpdateID: 42, Kind: tasks.KindText, UserID: 7, ChatID: 7, ReceivedAt: created, Prev: 41,
		Update: json.RawMessage(`{"update_id":42,"message":{"text":"привет"}}`)}
	request := tasks.AnalyticsRequestPayload{RequestID: "r1", ObjectCode: "SPB-100006", TelegramID: 7, Requester: "P-1", CreatedAt: created}
	cases := []struct {
		name  string
		want  any
		build func() (*asynq.Task, error)
		parse func(*asynq.Task) (any, error)
	}{
		{"update", update,
			func() (*asynq.Task, error) { return tasks.NewUpdateTask(tasks.TypeChatMessage, update, time.Hour) },
			func(t *asynq.Task) (any, error) { return tasks.ParseUpdate(t) }},
		{"drain", tasks.DrainPayload{UserID: 7},
			func() (*asynq.Task, error) { return tasks.NewDrainTask(7, created) },
			func(t *asynq.Task) (any, error) { return tasks.ParseDrain(t) }},
		{"analytics request", request,
			func() (*asynq.Task, error) { return tasks.NewAnalyticsRequestTask(request) },
			func(t *asynq.Task) (any, error) { return tasks.ParseAnalyticsRequest(t) }},
		{"analytics process", tasks.AnalyticsRowPayload{RequestID: "r1"},
			func() (*asynq.Task, error) { return tasks.NewAnalyticsProcessTask("r1") },
			func(t *asynq.Task) (any, error) { return tasks.ParseAnalyticsRow(t) }},
		{"analytics deliver", tasks.AnalyticsRowPayload{RequestID: "r2"},
			func() (*asynq.Task, error) { return tasks.NewAnalyticsDeliverTask("r2") },
			func(t *asynq.Task) (any, error) { return tasks.ParseAnalyticsRow(t) }},
		{"promo broadcast", tasks.PromoBroadcastPayload{PromotionID: "p1", Operator: "@op"},
			func() (*asynq.Task, error) {
				return tasks.NewPromoBroadcastTask(tasks.PromoBroadcastPayload{PromotionID: "p1", Operator: "@op"})
			},
			func(t *asynq.Task) (any, error) { return tasks.ParsePromoBroadcast(t) }},
		{"promo send", tasks.PromoSendPayload{PromotionID: "p1", TelegramID: 7},
			func() (*asynq.Task, error) {
				return tasks.NewPromoSendTask(tasks.PromoSendPayload{PromotionID: "p1", TelegramID: 7})
			},
			func(t *asynq.Task) (any, error) { return tasks.ParsePromoSend(t) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			task, err := tc.build()
			if err != nil {
				t.Fatal(err)
			}
			got, err := tc.parse(task)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// A payload that cannot be decoded is never retried.
func TestParseMalformed(t *testing.T) {
	_, err := tasks.ParsePromoSend(asynq.NewTask(tasks.TypePromoSend, []byte(`{"telegram_id":"x"`)))
	if !errors.Is(err, tasks.ErrMalformedPayload) || !errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("err = %v, want ErrMalformedPayload and SkipRetry", err)
	}
}

func TestIsDuplicate(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{asynq.ErrTaskIDConflict, true},
		{asynq.ErrDuplicateTask, true},
		{fmt.Errorf("enqueue: %w", asynq.ErrTaskIDConflict), true},
		{errors.New("redis: connection refused"), false},
		{nil, false},
	} {
		if got := tasks.IsDuplicate(tc.err); got != tc.want {
			t.Errorf("IsDuplicate(%v) = %v", tc.err, got)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	err := fmt.Errorf("promo: send: %w", tasks.RetryAfter(3*time.Second, "flood"))
	r, ok := tasks.AsRetryAfter(err)
	if !ok || r.After != 3*time.Second || r.Reason != "flood" {
		t.Fatalf("AsRetryAfter = %+v, %v", r, ok)
	}
	if _, ok := tasks.AsRetryAfter(errors.New("other")); ok {
		t.Fatal("a plain error is no RetryAfterError")
	}
}

// Chat replies are served most often, broadcasts least.
func TestQueues(t *testing.T) {
	q := tasks.Queues()
	if len(q) != 4 || !(q[tasks.QueueChat] > q[tasks.QueueDefault] && q[tasks.QueueDefault] > q[tasks.QueueAnalytics] &&
		q[tasks.QueueAnalytics] > q[tasks.QueueBroadcast] && q[tasks.QueueBroadcast] > 0) {
		t.Fatalf("queue priorities %v", q)
	}
	types := tasks.Types()
	if len(types) != 10 || len(slices.Compact(slices.Sorted(slices.Values(types)))) != len(types) {
		t.Fatalf("task types %v: want 10 distinct", types)
	}
}
