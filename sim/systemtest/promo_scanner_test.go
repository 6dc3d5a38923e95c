package systemtest

import (
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"marketingbot/pkg/app"
	"marketingbot/pkg/domain"
	"marketingbot/pkg/scan"
	"marketingbot/pkg/tasks"
	"marketingbot/sim/world"
)

// TestPromoScanner: which rows start, two pollers scanning at once, the
// injectable clock, and the Mini App's promotions projection.
func TestPromoScanner(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	base := time.Now().Truncate(time.Second)
	var mu sync.Mutex
	now := base
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	sent := promoPromotion("SENT", "Прошедшая", domain.PromotionSent, base.Add(-48*time.Hour))
	sent.FinishedAt = base.Add(-47 * time.Hour)
	rows := []domain.Promotion{
		promoPromotion("DUE", "Пора", domain.PromotionScheduled, base.Add(-5*time.Minute)),
		promoPromotion("NODATE", "Без даты: сразу", domain.PromotionScheduled, time.Time{}),
		promoPromotion("LATER", "Через час", domain.PromotionScheduled, base.Add(time.Hour)),
		promoPromotion("DRAFT", "Черновик", domain.PromotionDraft, base.Add(-time.Hour)),
		promoPromotion("ERR", "Ошибка", domain.PromotionFailed, base.Add(-time.Hour)),
		sent,
		promoPromotion("OLD", "Давняя", domain.PromotionSent, base.Add(-40*24*time.Hour)),
	}
	p := world.NewPromo(t, world.PromoOptions{Partners: 3, Promotions: rows, Now: clock})

	// A second poller: its own gateway and sender, the same Redis and sheet.
	second := p.NewService(clock)
	promoScanTogether(t, p, p.Svc, second)
	if got := promoPendingBroadcasts(t, p); !slices.Equal(got, []string{"DUE", "NODATE"}) {
		t.Errorf("broadcasts enqueued: %v, want DUE and NODATE once each", got)
	}
	want := map[string]domain.PromotionStatus{
		"DUE": domain.PromotionSending, "NODATE": domain.PromotionSending, "LATER": domain.PromotionScheduled,
		"DRAFT": domain.PromotionDraft, "ERR": domain.PromotionFailed, "SENT": domain.PromotionSent, "OLD": domain.PromotionSent,
	}
	for id, st := range want {
		if got := world.PromoCellStr(p.Row(id), 6); got != string(st) {
			t.Errorf("%s: status %q, want %q", id, got, st)
		}
	}

	// The Mini App lists what is sending or sent, started within 30 days,
	// newest first: NODATE started now, DUE five minutes ago, SENT two days ago.
	list, err := p.Svc.Projection.Promotions(p.Ctx(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, pr := range list {
		ids = append(ids, pr.ID)
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
	p.Scan()
	if got := promoPendingBroadcasts(t, p); !slices.Equal(got, []string{"DUE", "LATER", "NODATE"}) {
		t.Errorf("broadcasts after two hours: %v", got)
	}
}

// promoScanTogether runs one scan of each service at the same time, as two
// pollers would.
func promoScanTogether(t *testing.T, p *world.Promo, svcs ...*app.Promo) {
	t.Helper()
	var wg sync.WaitGroup
	scheds := make([]*scan.Scheduler, len(svcs))
	for i, s := range svcs {
		scheds[i] = scan.NewScheduler(prometheus.NewRegistry(), p.Logger())
		scheds[i].Add(time.Minute, s.Scanner())
		wg.Add(1)
		go func() { defer wg.Done(); scheds[i].RunOnce(p.Ctx(60 * time.Second)) }()
	}
	wg.Wait()
	for _, sc := range scheds {
		if errs := sc.LastErrors(); len(errs) > 0 {
			t.Fatalf("scan: %v", errs)
		}
	}
}

// promoPendingBroadcasts lists the promotion ids of the waiting broadcast tasks.
func promoPendingBroadcasts(t *testing.T, p *world.Promo) []string {
	t.Helper()
	infos, err := asynq.NewInspectorFromRedisClient(p.RedisClient()).ListPendingTasks(tasks.QueueBroadcast)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, in := range infos {
		pl, err := tasks.ParsePromoBroadcast(asynq.NewTask(in.Type, in.Payload))
		if err != nil || in.Type != tasks.TypePromoBroadcast {
			t.Fatalf("unexpected task %s %s", in.Type, in.Payload)
		}
		ids = append(ids, pl.PromotionID)
	}
	slices.Sort(ids)
	return ids
}
