package projection_test

import (
	"bytes"
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/projection"
)

func newStore(t *testing.T) (*projection.Store, *miniredis.Miniredis) {
	t.Helper()
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { rdb.Close() })
	return projection.New(rdb, "test:"), mr
}

var ctx = context.Background()

func partner(id int64, code string) projection.Partner {
	return projection.Partner{TelegramID: id, Code: code, Name: "Партнёр " + code, Phone: "7999000000" + code}
}

func mustPartner(t *testing.T, s *projection.Store, id int64) (projection.Partner, bool) {
	t.Helper()
	p, ok, err := s.Partner(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return p, ok
}

func TestPartners(t *testing.T) {
	s, mr := newStore(t)
	if _, ok := mustPartner(t, s, 7); ok {
		t.Fatal("unknown user found")
	}
	want := partner(7, "1")
	if err := s.PutPartner(ctx, want, time.Hour); err != nil {
		t.Fatal(err)
	}
	if got, ok := mustPartner(t, s, 7); !ok || got != want {
		t.Fatalf("Partner = %+v, %v", got, ok)
	}
	if err := s.RemovePartner(ctx, 7); err != nil {
		t.Fatal(err)
	}
	if _, ok := mustPartner(t, s, 7); ok {
		t.Fatal("removed partner still found")
	}

	if err := s.PutPartner(ctx, want, time.Minute); err != nil {
		t.Fatal(err)
	}
	mr.FastForward(time.Minute + time.Second)
	if _, ok := mustPartner(t, s, 7); ok {
		t.Fatal("partner still found after its ttl")
	}
}

// SyncPartners makes the set exactly the given one: access revoked in the
// sheet disappears at once, not when the record expires.
func TestSyncPartners(t *testing.T) {
	s, mr := newStore(t)
	if err := s.SyncPartners(ctx, []projection.Partner{partner(1, "1"), partner(2, "2"), partner(3, "3")}, time.Hour); err != nil {
		t.Fatal(err)
	}
	renamed := partner(2, "2")
	renamed.Name = "Новое имя"
	if err := s.SyncPartners(ctx, []projection.Partner{renamed, partner(4, "4")}, 2*time.Hour); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[int64]bool{1: false, 2: true, 3: false, 4: true} {
		if _, ok := mustPartner(t, s, id); ok != want {
			t.Errorf("partner %d found %v, want %v", id, ok, want)
		}
	}
	if got, _ := mustPartner(t, s, 2); got.Name != "Новое имя" {
		t.Errorf("partner 2 not refreshed: %+v", got)
	}
	if ttl := mr.TTL("test:proj:partner:4"); ttl != 2*time.Hour {
		t.Errorf("ttl %s, want the one given", ttl)
	}
}

func request(id string, status string, updated time.Time) projection.Request {
	return projection.Request{ID: id, TelegramID: 7, ObjectCode: "SPB-100006", Status: status,
		CreatedAt: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC), UpdatedAt: updated}
}

func TestRequests(t *testing.T) {
	s, mr := newStore(t)
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	put := func(r projection.Request) {
		t.Helper()
		if err := s.PutRequest(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	put(request("r1", "NEW", t0))
	put(request("r1", "DONE", t0.Add(2*time.Minute)))
	put(request("r1", "PROCESSING", t0.Add(time.Minute))) // late: the scan read an older state
	got, ok, err := s.Request(ctx, "r1")
	if err != nil || !ok || got.Status != "DONE" {
		t.Fatalf("Request = %+v, %v, %v; want DONE (never back in time)", got, ok, err)
	}
	if !reflect.DeepEqual(got, request("r1", "DONE", t0.Add(2*time.Minute))) {
		t.Fatalf("stored %+v", got)
	}
	if ttl := mr.TTL("test:proj:request:r1"); ttl != projection.RequestTTL {
		t.Fatalf("ttl %s, want %s", ttl, projection.RequestTTL)
	}
	if _, ok, _ := s.Request(ctx, "r404"); ok {
		t.Fatal("unknown request found")
	}
}

func TestUserRequests(t *testing.T) {
	s, _ := newStore(t)
	for i, id := range []string{"old", "mid", "new"} {
		r := request(id, "NEW", time.Now())
		r.CreatedAt = r.CreatedAt.Add(time.Duration(i) * time.Hour)
		if err := s.PutRequest(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	other := request("someone else's", "NEW", time.Now())
	other.TelegramID = 8
	if err := s.PutRequest(ctx, other); err != nil {
		t.Fatal(err)
	}
	rs, err := s.UserRequests(ctx, 7, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].ID != "new" || rs[1].ID != "mid" {
		t.Fatalf("UserRequests = %+v, want new, mid", rs)
	}
}

func TestPromotions(t *testing.T) {
	s, mr := newStore(t)
	if ps, err := s.Promotions(ctx); err != nil || ps != nil {
		t.Fatalf("none stored: %v, %v", ps, err)
	}
	want := []projection.Promotion{
		{ID: "p1", Title: "Скидка", Text: "<b>5 %</b>", StartsAt: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), Audience: "all"},
		{ID: "p2", Title: "Бонус", Text: "текст", ImageURL: "https://example.com/a.png", Audience: "authorized"},
	}
	if err := s.PutPromotions(ctx, want, time.Minute); err != nil {
		t.Fatal(err)
	}
	got, err := s.Promotions(ctx)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Promotions = %+v, %v", got, err)
	}
	if err := s.PutPromotions(ctx, want[1:], time.Minute); err != nil { // replaced, not merged
		t.Fatal(err)
	}
	if got, _ := s.Promotions(ctx); len(got) != 1 || got[0].ID != "p2" {
		t.Fatalf("after replacing: %+v", got)
	}
	mr.FastForward(2 * time.Minute)
	if got, _ := s.Promotions(ctx); got != nil {
		t.Fatalf("after the ttl: %+v", got)
	}
}

func TestReports(t *testing.T) {
	s, mr := newStore(t)
	pdf := []byte("%PDF-1.4\x00\xff binary")
	if err := s.PutReport(ctx, "r1", pdf, time.Hour); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.Report(ctx, "r1")
	if err != nil || !ok || !bytes.Equal(got, pdf) {
		t.Fatalf("Report = %q, %v, %v", got, ok, err)
	}
	if _, ok, _ := s.Report(ctx, "r2"); ok {
		t.Fatal("unknown report found")
	}
	mr.FastForward(time.Hour)
	if _, ok, _ := s.Report(ctx, "r1"); ok {
		t.Fatal("report served after its ttl")
	}
}
