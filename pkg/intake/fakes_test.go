package intake_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/mymmrac/telego"
	"github.com/prometheus/client_golang/prometheus"

	"marketingbot/pkg/intake"
	"marketingbot/pkg/tasks"
)

// fakeEnqueuer stands in for the asynq client.
type fakeEnqueuer struct {
	enqueue func(ctx context.Context, task *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)
}

var _ intake.Enqueuer = (*fakeEnqueuer)(nil)

func (f *fakeEnqueuer) EnqueueContext(ctx context.Context, task *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error) {
	return f.enqueue(ctx, task, opts...)
}

// fakeSequencer stands in for the Redis sequencer.
type fakeSequencer struct {
	chain func(ctx context.Context, userID, updateID int64) (int64, error)
}

var _ intake.Sequencer = (*fakeSequencer)(nil)

func (f *fakeSequencer) Chain(ctx context.Context, userID, updateID int64) (int64, error) {
	return f.chain(ctx, userID, updateID)
}

// fakeUpdates stands in for telego's getUpdates.
type fakeUpdates struct {
	getUpdates func(ctx context.Context, params *telego.GetUpdatesParams) ([]telego.Update, error)
}

var _ intake.UpdatesSource = (*fakeUpdates)(nil)

func (f *fakeUpdates) GetUpdates(ctx context.Context, params *telego.GetUpdatesParams) ([]telego.Update, error) {
	return f.getUpdates(ctx, params)
}

// store records what reaches the bus; fail (if set) refuses an update.
type store struct {
	mu     sync.Mutex
	tasks  []tasks.UpdatePayload
	types  []string
	tries  map[int64]int
	fail   func(p tasks.UpdatePayload, try int) error
	result func(p tasks.UpdatePayload) error // after storing (e.g. a duplicate)
}

func (s *store) enqueuer(t *testing.T) *fakeEnqueuer {
	return &fakeEnqueuer{enqueue: func(_ context.Context, task *asynq.Task, _ ...asynq.Option) (*asynq.TaskInfo, error) {
		p, err := tasks.ParseUpdate(task)
		if err != nil {
			t.Errorf("undecodable task: %v", err)
			return nil, err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.tries == nil {
			s.tries = map[int64]int{}
		}
		s.tries[p.UpdateID]++
		if s.fail != nil {
			if err := s.fail(p, s.tries[p.UpdateID]); err != nil {
				return nil, err
			}
		}
		if s.result != nil {
			if err := s.result(p); err != nil {
				return nil, err
			}
		}
		s.tasks = append(s.tasks, p)
		s.types = append(s.types, task.Type())
		return &asynq.TaskInfo{}, nil
	}}
}

// ids are the stored update ids in order.
func (s *store) ids() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []int64
	for _, p := range s.tasks {
		out = append(out, p.UpdateID)
	}
	return out
}

const operators = -100500

func newIntake(enq intake.Enqueuer, seq intake.Sequencer) (*intake.Intake, *prometheus.Registry) {
	reg := prometheus.NewRegistry()
	return intake.New(enq, seq, operators, time.Hour, intake.NewMetrics(reg), slog.New(slog.DiscardHandler)), reg
}

// metric reads a counter or gauge (the first series whose labels include labels).
func metric(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, l := range m.GetLabel() {
					found = found || (l.GetName() == labels[i] && l.GetValue() == labels[i+1])
				}
				if !found {
					continue series
				}
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
