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

// sync runs a scan that saw ps: the mark, then the sync.
func sync(t *testing.T, s *projection.Store, ttl time.Duration, ps ...projection.Partner) {
	t.Helper()
	mark, err := s.MarkPartnerScan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SyncPartners(ctx, mark, ps, ttl); err != nil {
		t.Fatal(err)
	}
}

func wantPartners(t *testing.T, s *projection.Store, want map[int64]bool) {
	t.Helper()
	for id, w := range want {
		if _, ok := mustPartner(t, s, id); ok != w {
			t.Errorf("partner %d found %v, want %v", id, ok, w)
		}
	}
}

// SyncPartners makes the set exactly the given one: access revoked in the
// sheet disappears at once, not when the record expires.
func TestSyncPartners(t *testing.T) {
	s, mr := newStore(t)
	sync(t, s, time.Hour, partner(1, "1"), partner(2, "2"), partner(3, "3"))
	renamed := partner(2, "2")
	renamed.Name = "Новое имя"
	sync(t, s, 2*time.Hour, renamed, partner(4, "4"))
	wantPartners(t, s, map[int64]bool{1: false, 2: true, 3: false, 4: true})
	if got, _ := mustPartner(t, s, 2); got.Name != "Новое имя" {
		t.Errorf("partner 2 not refreshed: %+v", got)
	}
	if ttl := mr.TTL("test:proj:partner:4"); ttl != 2*time.Hour {
		t.Errorf("ttl %s, want the one given", ttl)
	}
}

// A user a worker projected (an authorization in the chat) and whom the
// sheet no longer binds (a person cleared the Telegram ID cell) is removed
// by the next scan, not an hour later when the record expires.
func TestSyncRemovesUsersPutByWorkers(t *testing.T) {
	s, _ := newStore(t)
	if err := s.PutPartner(ctx, partner(7, "7"), time.Hour); err != nil {
		t.Fatal(err)
	}
	sync(t, s, time.Hour, partner(8, "8"))
	wantPartners(t, s, map[int64]bool{7: false, 8: true})
}

// A scan reads the sheet some time after it began; what workers learned
// meanwhile is newer than what the scan read and is kept.
func TestSyncKeepsWhatWorkersLearnedDuringTheScan(t *testing.T) {
	s, _ := newStore(t)
	sync(t, s, time.Hour, partner(1, "1"), partner(2, "2"))
	mark, err := s.MarkPartnerScan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The scan read the sheet: 1 and 2 bound. Then a worker authorized 3
	// (rebinding 2's row) and removed 2.
	if err := s.PutPartner(ctx, partner(3, "2"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.RemovePartner(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if err := s.SyncPartners(ctx, mark, []projection.Partner{partner(1, "1"), partner(2, "2")}, time.Hour); err != nil {
		t.Fatal(err)
	}
	wantPartners(t, s, map[int64]bool{1: true, 2: false, 3: true})
	// The next scan reads the sheet as it is now.
	sync(t, s, time.Hour, partner(1, "1"), partner(3, "2"))
	wantPartners(t, s, map[int64]bool{1: true, 2: false, 3: true})
	// And a user the sheet binds again (an unblock, a person's edit) comes back.
	sync(t, s, time.Hour, partner(1, "1"), partner(2, "2"), partner(3, "2"))
	wantPartners(t, s, map[int64]bool{1: true, 2: true, 3: true})
}

// Users projected by an earlier version (a plain set of ids) are diffed too.
func TestSyncFoldsTheEarlierSet(t *testing.T) {
	s, mr := newStore(t)
	if _, err := mr.SetAdd("test:proj:partners", "5", "6"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"5", "6"} {
		if err := mr.Set("test:proj:partner:"+id, `{"telegram_id":`+id+`,"code":"X"}`); err != nil {
			t.Fatal(err)
		}
	}
	sync(t, s, time.Hour, partner(6, "6"))
	wantPartners(t, s, map[int64]bool{5: false, 6: true})
	if mr.Exists("test:proj:partners") {
		t.Error("the earlier set is still there")
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
