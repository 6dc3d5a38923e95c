package worker

import (
	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"marketingbot/pkg/obs"
	"marketingbot/pkg/tasks"
)

// QueueCollector exports asynq queue sizes by state when Prometheus scrapes:
// the backlog alert and the dashboard read it.
type QueueCollector struct {
	insp *asynq.Inspector
	desc *prometheus.Desc
	up   *prometheus.Desc
}

// NewQueueCollector builds the collector over an inspector.
func NewQueueCollector(insp *asynq.Inspector) *QueueCollector {
	return &QueueCollector{insp: insp,
		desc: prometheus.NewDesc(obs.Namespace+"_queue_size", "Tasks in each asynq queue by state.", []string{"queue", "state"}, nil),
		up:   prometheus.NewDesc(obs.Namespace+"_queue_inspect_up", "1 when the queues could be inspected (Redis reachable).", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *QueueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc; ch <- c.up }

// Collect implements prometheus.Collector.
func (c *QueueCollector) Collect(ch chan<- prometheus.Metric) {
	ok := 1.0
	for q := range tasks.Queues() {
		info, err := c.insp.GetQueueInfo(q)
		if err != nil {
			// A queue nobody has used yet does not exist; anything else means Redis trouble.
			if !isQueueNotFound(err) {
				ok = 0
			}
			for _, st := range []string{"pending", "active", "scheduled", "retry", "archived", "completed"} {
				ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, 0, q, st)
			}
			continue
		}
		for st, n := range map[string]int{"pending": info.Pending, "active": info.Active, "scheduled": info.Scheduled,
			"retry": info.Retry, "archived": info.Archived, "completed": info.Completed} {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), q, st)
		}
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, ok)
}
