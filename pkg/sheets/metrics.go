package sheets

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"marketingbot/pkg/obs"
)

type metrics struct {
	requests           *prometheus.CounterVec
	latency            *prometheus.HistogramVec
	quotaWait          *prometheus.HistogramVec
	retries            prometheus.Counter
	breakerState       prometheus.Gauge
	breakerTransitions *prometheus.CounterVec
	batchSize          *prometheus.HistogramVec
	ops                *prometheus.CounterVec
	rowMoved           *prometheus.CounterVec
	guardStale         prometheus.Counter
	fenceLost          prometheus.Counter
	fleetCarrier       prometheus.Gauge
	fleetLost          prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: obs.Namespace, Subsystem: "sheets", Name: "requests_total",
			Help: "Sheets API requests by method and HTTP status (or error)."}, []string{"method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: obs.Namespace, Subsystem: "sheets", Name: "request_duration_seconds",
			Help: "Sheets API request latency by method.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 14)}, []string{"method"}),
		quotaWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: obs.Namespace, Subsystem: "sheets", Name: "quota_wait_seconds",
			Help: "Time spent waiting for the shared read/write request budget.", Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12)}, []string{"kind"}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{Namespace: obs.Namespace, Subsystem: "sheets", Name: "retries_total",
			Help: "Sheets requests retried (429, 5xx, timeouts, open breaker)."}),
		breakerState: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: obs.Namespace, Subsystem: "sheets", Name: "breaker_state",
			Help: "Circuit breaker state: 0 closed, 1 open, 2 half-open."}),
		breakerTransitions: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: obs.Namespace, Subsystem: "sheets", Name: "breaker_transitions_total",
			Help: "Circuit breaker state changes by new state."}, []string{"to"}),
		batchSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: obs.Namespace, Subsystem: "sheets", Name: "batch_operations",
			Help: "Caller operations carried by one request (coalescing).", Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128}}, []string{"kind"}),
		ops: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: obs.Namespace, Subsystem: "sheets", Name: "operations_total",
			Help: "Caller operations (before coalescing) by kind and outcome."}, []string{"kind", "outcome"}),
		rowMoved: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: obs.Namespace, Subsystem: "sheets", Name: "row_moved_total",
			Help: "Guarded writes refused because the row was not where the index said."}, []string{"sheet"}),
		guardStale: prometheus.NewCounter(prometheus.CounterOpts{Namespace: obs.Namespace, Subsystem: "sheets", Name: "guard_stale_total",
			Help: "Guarded writes judged again because an append may have moved their rows since the guard was read."}),
		fenceLost: prometheus.NewCounter(prometheus.CounterOpts{Namespace: obs.Namespace, Subsystem: "sheets", Name: "fence_lost_total",
			Help: "Writes not sent because the lease they were made under was no longer their caller's."}),
		fleetCarrier: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: obs.Namespace, Subsystem: "sheets", Name: "fleet_carrier",
			Help: "1 while this process carries the fleet's Sheets requests (holds the coalescer's lease)."}),
		fleetLost: prometheus.NewCounter(prometheus.CounterOpts{Namespace: obs.Namespace, Subsystem: "sheets", Name: "fleet_lost_total",
			Help: "Operations of this process whose carrier stopped before answering (queued again; appends looked up first)."}),
	}
	reg.MustRegister(m.requests, m.latency, m.quotaWait, m.retries, m.breakerState, m.breakerTransitions,
		m.batchSize, m.ops, m.rowMoved, m.guardStale, m.fenceLost, m.fleetCarrier, m.fleetLost)
	return m
}

func (m *metrics) observe(method string, err error, d time.Duration) {
	m.requests.WithLabelValues(method, statusCode(err)).Inc()
	m.latency.WithLabelValues(method).Observe(d.Seconds())
}
