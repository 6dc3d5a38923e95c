package sheets

import (
	"maps"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Quota is the request budget the emulator enforces, modelled on Google's
// "per minute per user" and "per minute per project" quotas. A limit of 0
// means unlimited. A batch request counts as one request. Google's budget on
// a faster clock, for tests that live through "minutes" in seconds:
//
//	q := sheets.DefaultQuota()
//	q.Window = 3 * time.Second
//	srv, err := sheets.New(sheets.Options{Quota: &q})
type Quota struct {
	ReadsPerWindow         int // per user: spreadsheets.get, values.get, values.batchGet
	WritesPerWindow        int // per user: everything that changes data
	ProjectReadsPerWindow  int // all users together
	ProjectWritesPerWindow int
	// Window is the length of the sliding window; 0 means one minute.
	// Tests shrink it (60 per 3 s) to live through "minutes" quickly.
	Window time.Duration
}

// DefaultQuota returns Google's published Sheets API quotas: 60 reads and 60
// writes per minute per user, 300 of each per minute per project.
func DefaultQuota() Quota {
	return Quota{
		ReadsPerWindow: 60, WritesPerWindow: 60,
		ProjectReadsPerWindow: 300, ProjectWritesPerWindow: 300,
		Window: time.Minute,
	}
}

func (q Quota) normalized() Quota {
	if q.Window <= 0 {
		q.Window = time.Minute
	}
	q.ReadsPerWindow = max(q.ReadsPerWindow, 0)
	q.WritesPerWindow = max(q.WritesPerWindow, 0)
	q.ProjectReadsPerWindow = max(q.ProjectReadsPerWindow, 0)
	q.ProjectWritesPerWindow = max(q.ProjectWritesPerWindow, 0)
	return q
}

type opKind uint8

const (
	opRead opKind = iota
	opWrite
)

// slidingLog holds the times of accepted requests within the last window.
type slidingLog struct {
	times []time.Time
	head  int
}

// countSince drops entries at or before cutoff and returns how many remain.
func (l *slidingLog) countSince(cutoff time.Time) int {
	for l.head < len(l.times) && !l.times[l.head].After(cutoff) {
		l.head++
	}
	if l.head > 1024 && l.head*2 > len(l.times) {
		n := copy(l.times, l.times[l.head:])
		clear(l.times[n:])
		l.times, l.head = l.times[:n], 0
	}
	return len(l.times) - l.head
}

func (l *slidingLog) add(t time.Time) { l.times = append(l.times, t) }

// Stats are the request counters of GET /_emulator/stats. The Max…PerMin
// figures are the most requests accepted within any sliding window of length
// Quota.Window (a minute unless shrunk, hence the names).
type Stats struct {
	Reads           int64            `json:"reads"`
	Writes          int64            `json:"writes"`
	MaxReadsPerMin  int              `json:"max_reads_per_min"`
	MaxWritesPerMin int              `json:"max_writes_per_min"`
	HTTP429         int64            `json:"http_429"`
	HTTP5xxInjected int64            `json:"http_5xx_injected"`
	ByMethod        map[string]int64 `json:"by_method"`
	WindowSeconds   float64          `json:"window_s"`
}

// governor enforces quotas and keeps the statistics.
type governor struct {
	mu      sync.Mutex
	quota   Quota
	users   map[string]*[2]slidingLog
	project [2]slidingLog
	// seen measures the maxima for Stats; it is separate from project so
	// that resetting statistics does not hand out fresh quota.
	seen     [2]slidingLog
	stats    Stats
	lastUsed time.Time
}

func newGovernor(q Quota) *governor {
	g := &governor{quota: q.normalized(), users: map[string]*[2]slidingLog{}}
	g.resetStatsLocked()
	return g
}

func (g *governor) setQuota(q Quota) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.quota = q.normalized()
	g.stats.WindowSeconds = g.quota.Window.Seconds()
}

func (g *governor) getQuota() Quota {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.quota
}

func (g *governor) countMethod(method string) {
	g.mu.Lock()
	g.stats.ByMethod[method]++
	g.mu.Unlock()
}

func (g *governor) countInjected(code int) {
	g.mu.Lock()
	if code == http.StatusTooManyRequests {
		g.stats.HTTP429++
	} else if code >= 500 {
		g.stats.HTTP5xxInjected++
	}
	g.mu.Unlock()
}

// admit charges one request of kind to user, or returns the 429 Google would
// send. Rejected requests are not charged.
func (g *governor) admit(user string, kind opKind, now time.Time) *apiError {
	g.mu.Lock()
	defer g.mu.Unlock()
	cutoff := now.Add(-g.quota.Window)
	logs := g.users[user]
	if logs == nil {
		logs = new([2]slidingLog)
		g.users[user] = logs
	}
	userLimit, projectLimit := g.quota.ReadsPerWindow, g.quota.ProjectReadsPerWindow
	if kind == opWrite {
		userLimit, projectLimit = g.quota.WritesPerWindow, g.quota.ProjectWritesPerWindow
	}
	if n := logs[kind].countSince(cutoff); userLimit > 0 && n >= userLimit {
		g.stats.HTTP429++
		return quotaError(kind, true, userLimit)
	}
	if n := g.project[kind].countSince(cutoff); projectLimit > 0 && n >= projectLimit {
		g.stats.HTTP429++
		return quotaError(kind, false, projectLimit)
	}
	logs[kind].add(now)
	g.project[kind].add(now)
	g.seen[kind].add(now)
	n := g.seen[kind].countSince(cutoff)
	if kind == opRead {
		g.stats.Reads++
		g.stats.MaxReadsPerMin = max(g.stats.MaxReadsPerMin, n)
	} else {
		g.stats.Writes++
		g.stats.MaxWritesPerMin = max(g.stats.MaxWritesPerMin, n)
	}
	if now.Sub(g.lastUsed) > g.quota.Window {
		// Forget users that have been quiet for a whole window so that
		// many short-lived callers do not grow the map forever.
		for u, l := range g.users {
			if l[0].countSince(cutoff) == 0 && l[1].countSince(cutoff) == 0 {
				delete(g.users, u)
			}
		}
		g.lastUsed = now
	}
	return nil
}

func (g *governor) snapshot() Stats {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.stats
	s.ByMethod = maps.Clone(g.stats.ByMethod)
	return s
}

func (g *governor) resetStats() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.resetStatsLocked()
}

func (g *governor) resetStatsLocked() {
	g.stats = Stats{ByMethod: map[string]int64{}, WindowSeconds: g.quota.Window.Seconds()}
	g.seen = [2]slidingLog{}
}

// resetAll forgets statistics and quota usage alike.
func (g *governor) resetAll() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.resetStatsLocked()
	g.users = map[string]*[2]slidingLog{}
	g.project = [2]slidingLog{}
}

// projectNumber stands in for the consumer project in quota messages.
const projectNumber = "000000000000"

// quotaError builds Google's 429 for an exhausted Sheets quota.
func quotaError(kind opKind, perUser bool, limit int) *apiError {
	metric, metricID, limitID := "Read requests", "read_requests", "ReadRequestsPerMinute"
	if kind == opWrite {
		metric, metricID, limitID = "Write requests", "write_requests", "WriteRequestsPerMinute"
	}
	limitName := metric + " per minute"
	if perUser {
		limitName += " per user"
		limitID += "PerUser"
	} else {
		limitID += "PerProject"
	}
	e := newAPIError(http.StatusTooManyRequests,
		"Quota exceeded for quota metric '%s' and limit '%s' of service 'sheets.googleapis.com' for consumer 'project_number:%s'.",
		metric, limitName, projectNumber)
	e.Details = []any{
		map[string]any{
			"@type":  "type.googleapis.com/google.rpc.ErrorInfo",
			"reason": "RATE_LIMIT_EXCEEDED",
			"domain": "googleapis.com",
			"metadata": map[string]string{
				"quota_location":    "global",
				"quota_metric":      "sheets.googleapis.com/" + metricID,
				"quota_limit":       limitID,
				"quota_limit_value": strconv.Itoa(limit),
				"consumer":          "projects/" + projectNumber,
				"service":           "sheets.googleapis.com",
			},
		},
		map[string]any{
			"@type": "type.googleapis.com/google.rpc.Help",
			"links": []map[string]string{{
				"description": "Request a higher quota limit.",
				"url":         "https://cloud.google.com/docs/quotas/help/request_increase",
			}},
		},
	}
	return e
}

// callerOf identifies the quota user: the OAuth token, else the API key,
// else one anonymous user. The value is only a map key and is never logged.
func callerOf(r *http.Request) string {
	if a := r.Header.Get("Authorization"); a != "" {
		return "auth:" + a
	}
	if k := r.Header.Get("X-Goog-Api-Key"); k != "" {
		return "key:" + k
	}
	if k := r.URL.Query().Get("key"); k != "" {
		return "key:" + k
	}
	return ""
}
