package sheets

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// fakeAPI is the Sheets API as the batcher sees it. It records every
// request; a nil function answers: batchGet one row per range holding the
// range itself, batchUpdate nil, appendRows rows from 10 on.
type fakeAPI struct {
	acquireFn     func(ctx context.Context, kind quotaKind) error
	batchGetFn    func(ctx context.Context, ranges []string) ([][][]any, error)
	batchUpdateFn func(ctx context.Context, data []Values) error
	appendRowsFn  func(ctx context.Context, sheet string, rows [][]any) (string, error)

	mu      sync.Mutex
	gets    []fakeCall[[]string]
	updates []fakeCall[[]Values]
	appends []fakeCall[fakeAppend]
}

var _ api = (*fakeAPI)(nil)

type fakeCall[T any] struct {
	arg         T
	preAcquired bool
}

type fakeAppend struct {
	sheet string
	rows  [][]any
}

func (f *fakeAPI) acquire(ctx context.Context, kind quotaKind) error {
	if f.acquireFn != nil {
		return f.acquireFn(ctx, kind)
	}
	return nil
}

func (f *fakeAPI) batchGet(ctx context.Context, ranges []string, preAcquired bool) ([][][]any, error) {
	f.mu.Lock()
	f.gets = append(f.gets, fakeCall[[]string]{append([]string(nil), ranges...), preAcquired})
	f.mu.Unlock()
	if f.batchGetFn != nil {
		return f.batchGetFn(ctx, ranges)
	}
	out := make([][][]any, len(ranges))
	for i, r := range ranges {
		out[i] = [][]any{{r}}
	}
	return out, nil
}

func (f *fakeAPI) batchUpdate(ctx context.Context, data []Values, preAcquired bool) error {
	f.mu.Lock()
	f.updates = append(f.updates, fakeCall[[]Values]{append([]Values(nil), data...), preAcquired})
	f.mu.Unlock()
	if f.batchUpdateFn != nil {
		return f.batchUpdateFn(ctx, data)
	}
	return nil
}

func (f *fakeAPI) appendRows(ctx context.Context, sheet string, rows [][]any, preAcquired bool) (string, error) {
	f.mu.Lock()
	f.appends = append(f.appends, fakeCall[fakeAppend]{fakeAppend{sheet, append([][]any(nil), rows...)}, preAcquired})
	f.mu.Unlock()
	if f.appendRowsFn != nil {
		return f.appendRowsFn(ctx, sheet, rows)
	}
	return fmt.Sprintf("'%s'!A10:C%d", sheet, 9+len(rows)), nil
}

// calls returns copies of what was requested so far.
func (f *fakeAPI) calls() (gets []fakeCall[[]string], updates []fakeCall[[]Values], appends []fakeCall[fakeAppend]) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append(gets, f.gets...), append(updates, f.updates...), append(appends, f.appends...)
}

// slotGate holds the batchers' requests for a slot until opened, so a test
// can queue callers behind a batch that is waiting for its slot.
type slotGate struct {
	entered chan quotaKind
	opened  chan struct{}
	once    sync.Once
}

func newSlotGate() *slotGate {
	return &slotGate{entered: make(chan quotaKind, 1), opened: make(chan struct{})}
}

func (g *slotGate) acquire(ctx context.Context, kind quotaKind) error {
	select {
	case g.entered <- kind:
	default:
	}
	select {
	case <-g.opened:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *slotGate) open() { g.once.Do(func() { close(g.opened) }) }

// waitHeld returns once a loop waits at the gate.
func (g *slotGate) waitHeld(t *testing.T) {
	t.Helper()
	select {
	case <-g.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("no batch asked for a request slot")
	}
}

// newTestBatcher runs a batcher on a; FlushInterval 1 ms.
func newTestBatcher(t *testing.T, a api, batching bool, maxBatch int) *batcher {
	t.Helper()
	b := newBatcher(a, newMetrics(prometheus.NewRegistry()), batchOptions{batching: batching, interval: time.Millisecond, maxBatch: maxBatch})
	t.Cleanup(b.close)
	return b
}

// coalesce runs calls so that all of them reach the batcher while its loop
// waits for a request slot (gate): calls[0] first, the others once the loop
// holds it, and the slot is granted when they are all queued (queued
// reports the loop's queue length). It returns when every call returned.
func coalesce(t *testing.T, gate *slotGate, queued func() int, calls ...func()) {
	t.Helper()
	var wg sync.WaitGroup
	run := func(f func()) {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	run(calls[0])
	gate.waitHeld(t)
	for _, c := range calls[1:] {
		run(c)
	}
	eventually(t, "callers queued", func() bool { return queued() == len(calls)-1 })
	gate.open()
	wg.Wait()
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
