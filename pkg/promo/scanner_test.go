package promo_test

import (
	"encoding/json"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/promo"
	"marketingbot/pkg/scan"
	"marketingbot/pkg/tasks"
)

// TestScanner: which rows start, two pollers scanning at once, the
// injectable clock, and the Mini App's promotions projection.
func TestScanner(t *testing.T) {
	t.Parallel()
	base := time.Now().Truncate(time.Second)
	var mu sync.Mutex
	now := base
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	sent := promotion("SENT", "Прошедшая", domain.PromotionSent, base.Add(-48*time.Hour))
	sent.FinishedAt = base.Add(-47 * time.Hour)
	rows := []domain.Promotion{
		promotion("DUE", "Пора", domain.PromotionScheduled, base.Add(-5*time.Minute)),
		promotion("NODATE", "Без даты: сразу", domain.PromotionScheduled, time.Time{}),
		promotion("LATER", "Через час", domain.PromotionScheduled, base.Add(time.Hour)),
		promotion("DRAFT", "Черновик", domain.PromotionDraft, base.Add(-time.Hour)),
		promotion("ERR", "Ошибка", domain.PromotionFailed, base.Add(-time.Hour)),
		sent,
		promotion("OLD", "Давняя", domain.PromotionSent, base.Add(-40*24*time.Hour)),
	}
	e := newEnv(t, envOptions{partners: 3, promotions: rows, now: clock})

	// A second poller: its own gateway and sender, the same Redis and sheet.
	reg := prometheus.NewRegistry()
	d2 := newDeps(t, e.cfg, e.rdb, reg, slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelWarn})))
	d2.Now = clock
	second := promo.New(d2)
	var wg sync.WaitGroup
	scheds := make([]*scan.Scheduler, 2)
	for i, s := range []*promo.Service{e.svc, second} {
		scheds[i] = scan.NewScheduler(prometheus.NewRegistry(), e.deps.Log)
		scheds[i].Add(time.Minute, s.Scanner())
		wg.Add(1)
		go func() { defer wg.Done(); scheds[i].RunOnce(ctxT(t, 60*time.Second)) }()
	}
	wg.Wait()
	for _, sc := range scheds {
		if errs := sc.LastErrors(); len(errs) > 0 {
			t.Fatalf("scan: %v", errs)
		}
	}
	if got := pendingBroadcasts(t, e); !slices.Equal(got, []string{"DUE", "NODATE"}) {
		t.Errorf("broadcasts enqueued: %v, want DUE and NODATE once each", got)
	}
	want := map[string]domain.PromotionStatus{
		"DUE": domain.PromotionSending, "NODATE": domain.PromotionSending, "LATER": domain.PromotionScheduled,
		"DRAFT": domain.PromotionDraft, "ERR": domain.PromotionFailed, "SENT": domain.PromotionSent, "OLD": domain.PromotionSent,
	}
	for id, st := range want {
		if got := cellStr(e.row(id), 6); got != string(st) {
			t.Errorf("%s: status %q, want %q", id, got, st)
		}
	}

	// The Mini App lists what is sending or sent, started within 30 days,
	// newest first: NODATE started now, DUE five minutes ago, SENT two days ago.
	list, err := e.deps.Projection.Promotions(ctxT(t, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range list {
		ids = append(ids, p.ID)
	}
	if !slices.Equal(ids, []string{"NODATE", "DUE", "SENT"}) {
		t.Errorf("projection %v, want [NODATE DUE SENT]", ids)
	}
	if list[1].Text != "Пора" || list[1].Audience != "all" || !list[1].StartsAt.Equal(base.Add(-5*time.Minute)) {
		b, _ := json.Marshal(list[1])
		t.Errorf("projection entry %s", b)
	}

	// Time passes: LATER becomes due; the others are not started twice.
	mu.Lock()
	now = base.Add(2 * time.Hour)
	mu.Unlock()
	e.scan()
	if got := pendingBroadcasts(t, e); !slices.Equal(got, []string{"DUE", "LATER", "NODATE"}) {
		t.Errorf("broadcasts after two hours: %v", got)
	}
}

// pendingBroadcasts lists the promotion ids of the waiting broadcast tasks.
func pendingBroadcasts(t *testing.T, e *env) []string {
	t.Helper()
	infos, err := asynq.NewInspectorFromRedisClient(e.rdb).ListPendingTasks(tasks.QueueBroadcast)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, in := range infos {
		p, err := tasks.ParsePromoBroadcast(asynq.NewTask(in.Type, in.Payload))
		if err != nil || in.Type != tasks.TypePromoBroadcast {
			t.Fatalf("unexpected task %s %s", in.Type, in.Payload)
		}
		ids = append(ids, p.PromotionID)
	}
	slices.Sort(ids)
	return ids
}
