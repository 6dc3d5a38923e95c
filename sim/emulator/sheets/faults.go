package sheets

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Method names as used by fault rules and Stats.ByMethod.
const (
	MethodGet               = "spreadsheets.get"
	MethodBatchUpdate       = "spreadsheets.batchUpdate"
	MethodValuesGet         = "values.get"
	MethodValuesBatchGet    = "values.batchGet"
	MethodValuesUpdate      = "values.update"
	MethodValuesBatchUpdate = "values.batchUpdate"
	MethodValuesAppend      = "values.append"
	MethodValuesClear       = "values.clear"
	MethodValuesBatchClear  = "values.batchClear"
)

var methodKinds = map[string]opKind{
	MethodGet:               opRead,
	MethodValuesGet:         opRead,
	MethodValuesBatchGet:    opRead,
	MethodBatchUpdate:       opWrite,
	MethodValuesUpdate:      opWrite,
	MethodValuesBatchUpdate: opWrite,
	MethodValuesAppend:      opWrite,
	MethodValuesClear:       opWrite,
	MethodValuesBatchClear:  opWrite,
}

// Fault makes API requests fail or slow down (POST /_emulator/faults).
//
// Status is the HTTP status to fail with (429, 500, 503, or any 4xx/5xx), or
// 0 for latency only. Count limits the rule to the next Count matching
// requests; DurationMS to the next DurationMS milliseconds; with neither the
// rule holds until faults are cleared. LatencyMS delays every matching
// request. Methods restricts the rule to those API methods (see the Method…
// constants); empty means all.
type Fault struct {
	Status     int      `json:"status"`
	Count      int      `json:"count,omitempty"`
	DurationMS int      `json:"duration_ms,omitempty"`
	LatencyMS  int      `json:"latency_ms,omitempty"`
	Methods    []string `json:"methods,omitempty"`
}

func (f Fault) validate() error {
	if f.Status != 0 && (f.Status < 400 || f.Status > 599) {
		return fmt.Errorf("status %d is not 0 or an HTTP error status", f.Status)
	}
	if f.Status == 0 && f.LatencyMS <= 0 {
		return fmt.Errorf("a fault needs a status or a latency")
	}
	if f.Count < 0 || f.DurationMS < 0 || f.LatencyMS < 0 {
		return fmt.Errorf("count, duration_ms and latency_ms must not be negative")
	}
	for _, m := range f.Methods {
		if _, ok := methodKinds[m]; !ok {
			return fmt.Errorf("unknown method %q", m)
		}
	}
	return nil
}

type faultRule struct {
	Fault
	remaining int       // requests left when Count > 0
	until     time.Time // end when DurationMS > 0
}

func (r *faultRule) matches(method string) bool {
	return len(r.Methods) == 0 || slices.Contains(r.Methods, method)
}

type faultSet struct {
	mu    sync.Mutex
	rules []*faultRule
}

func (fs *faultSet) add(f Fault, now time.Time) error {
	if err := f.validate(); err != nil {
		return fmt.Errorf("sheets emulator: fault: %w", err)
	}
	r := &faultRule{Fault: f, remaining: f.Count}
	r.Methods = slices.Clone(f.Methods)
	if f.DurationMS > 0 {
		r.until = now.Add(time.Duration(f.DurationMS) * time.Millisecond)
	}
	fs.mu.Lock()
	fs.rules = append(fs.rules, r)
	fs.mu.Unlock()
	return nil
}

func (fs *faultSet) clear() {
	fs.mu.Lock()
	fs.rules = nil
	fs.mu.Unlock()
}

func (fs *faultSet) list(now time.Time) []Fault {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.expireLocked(now)
	out := make([]Fault, 0, len(fs.rules))
	for _, r := range fs.rules {
		f := r.Fault
		if r.Count > 0 {
			f.Count = r.remaining
		}
		if !r.until.IsZero() {
			f.DurationMS = int(r.until.Sub(now) / time.Millisecond)
		}
		out = append(out, f)
	}
	return out
}

func (fs *faultSet) expireLocked(now time.Time) {
	fs.rules = slices.DeleteFunc(fs.rules, func(r *faultRule) bool {
		return r.Count > 0 && r.remaining <= 0 || !r.until.IsZero() && !now.Before(r.until)
	})
}

// decide consumes the rules matching method and returns the delay to apply
// and the status to fail with (0 = none).
func (fs *faultSet) decide(method string, now time.Time) (time.Duration, int) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if len(fs.rules) == 0 {
		return 0, 0
	}
	fs.expireLocked(now)
	var delay time.Duration
	status := 0
	for _, r := range fs.rules {
		if !r.matches(method) {
			continue
		}
		used := false
		if r.LatencyMS > 0 {
			delay = max(delay, time.Duration(r.LatencyMS)*time.Millisecond)
			used = true
		}
		if r.Status != 0 && status == 0 {
			status = r.Status
			used = true
		}
		if used && r.Count > 0 {
			r.remaining--
		}
	}
	fs.expireLocked(now)
	return delay, status
}

// sleep waits d unless ctx ends first.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
