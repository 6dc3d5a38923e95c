package worker

import (
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/tasks"
)

// gauges reads the collector's series as "queue/state" → value ("up" for the up gauge).
func gauges(t *testing.T, c prometheus.Collector) map[string]float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := "up"
			if len(m.GetLabel()) == 2 {
				key = m.GetLabel()[0].GetValue() + "/" + m.GetLabel()[1].GetValue() // queue, state (sorted by name)
			}
			out[key] = m.GetGauge().GetValue()
		}
	}
	return out
}

func TestQueueCollector(t *testing.T) {
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), MaxRetries: -1, DialerRetries: 1}) // fail fast once Redis is gone
	defer rdb.Close()
	client := asynq.NewClientFromRedisClient(rdb)
	for _, id := range []string{"a", "b"} {
		task, _ := tasks.NewAnalyticsProcessTask(id)
		if _, err := client.Enqueue(task); err != nil {
			t.Fatal(err)
		}
	}
	c := NewQueueCollector(asynq.NewInspectorFromRedisClient(rdb))

	got := gauges(t, c)
	// The analytics queue holds two; the queues nobody used yet read 0 and are no trouble.
	if got["analytics/pending"] != 2 || got["chat/pending"] != 0 || got["up"] != 1 {
		t.Fatalf("analytics pending %v, chat pending %v, up %v", got["analytics/pending"], got["chat/pending"], got["up"])
	}
	if n := len(got); n != 4*6+1 {
		t.Fatalf("%d series, want 6 states of 4 queues and up", n)
	}

	mr.Close() // Redis unreachable: sizes unknown, up 0
	if got := gauges(t, c); got["up"] != 0 {
		t.Fatalf("up %v with Redis down", got["up"])
	}
}
