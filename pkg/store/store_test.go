package store

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/sheets"
)

func TestCheckNamesMissingSheets(t *testing.T) {
	mem := newMemSheets()
	s := newTestStore(t, mem, nil)
	if err := s.Check(testCtx(t)); err != nil {
		t.Fatalf("complete spreadsheet: %v", err)
	}
	delete(mem.sheets, testTitles.Knowledge)
	if err := s.Check(testCtx(t)); err == nil || !strings.Contains(err.Error(), `"База знаний"`) {
		t.Fatalf("got %v, want the missing sheet named", err)
	}
}

func TestRetryMoved(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		movedWrites           int
		relocateErr           error
		wantWrites, wantFinds int
		wantW, wantR          error
	}{
		{"written at once", 0, nil, 1, 0, nil, nil},
		{"moved once", 1, nil, 2, 1, nil, nil},
		{"keeps moving", 99, nil, 3, 3, sheets.ErrRowMoved, nil},
		{"row gone", 99, domain.ErrNotFound, 1, 1, nil, domain.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			writes, finds := 0, 0
			werr, rerr := retryMoved(testCtx(t), func() error {
				if writes++; writes <= tc.movedWrites {
					return sheets.ErrRowMoved
				}
				return nil
			}, func() error { finds++; return tc.relocateErr })
			if writes != tc.wantWrites || finds != tc.wantFinds || !errors.Is(werr, tc.wantW) || !errors.Is(rerr, tc.wantR) ||
				(tc.wantW == nil) != (werr == nil) || (tc.wantR == nil) != (rerr == nil) {
				t.Errorf("%d writes, %d relocations, %v, %v", writes, finds, werr, rerr)
			}
		})
	}
}

func createAppeals(t *testing.T, s *Spreadsheet, ids ...int64) []domain.Appeal {
	t.Helper()
	base := time.Date(2026, 11, 25, 10, 0, 0, 0, msk)
	var out []domain.Appeal
	for i, id := range ids {
		a, err := s.CreateAppeal(testCtx(t), domain.Appeal{CreatedAt: base.Add(time.Duration(i) * time.Second), TelegramID: id,
			History: "start", Status: domain.AppealStatusNew, UpdatedAt: base}, false)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

// byTelegramIDDesc sorts Appeals rows by column D, descending.
func byTelegramIDDesc(a, b []any) int { return cmp.Compare(cellInt(b, 3), cellInt(a, 3)) }

// People sort the sheet between a read and a write: the write still lands
// on its user's row, found again by (Telegram ID, created_at).
func TestUpdateAppealFollowsAMovedRow(t *testing.T) {
	mem := newMemSheets()
	s := newTestStore(t, mem, nil)
	ctx := testCtx(t)
	first := createAppeals(t, s, 101, 102, 103)[0]
	mem.sortRows(testTitles.Appeals, byTelegramIDDesc) // 103, 102, 101: user 101 moves from row 2 to 4
	first.History = "start\nвторая запись"
	moved, err := s.UpdateAppeal(ctx, first, domain.AppealFieldHistory)
	if err != nil || moved.Row != 4 {
		t.Fatalf("update after sort: row %d, %v; want row 4", moved.Row, err)
	}
	for _, r := range mem.rows(testTitles.Appeals)[1:] {
		want := "start"
		if r[3] == "101" {
			want = "start\nвторая запись"
		}
		if r[4] != want {
			t.Errorf("user %v history %q, want %q", r[3], r[4], want)
		}
	}
	cur, found, err := s.CurrentAppeal(ctx, 101)
	if err != nil || !found || cur.Row != 4 || cur.History != "start\nвторая запись" {
		t.Errorf("current after sort: %+v %v %v", cur, found, err)
	}
}

func TestUpdateAppealGivesUp(t *testing.T) {
	t.Run("row keeps moving", func(t *testing.T) {
		mem := newMemSheets()
		s := newTestStore(t, mem, nil)
		a := createAppeals(t, s, 7)[0]
		tries := 0
		mem.beforeUpdate = func(*sheets.Guard, []sheets.Values) error { tries++; return sheets.ErrRowMoved }
		if _, err := s.UpdateAppeal(testCtx(t), a, domain.AppealFieldStatus); !errors.Is(err, sheets.ErrRowMoved) || tries != 3 {
			t.Errorf("%v after %d writes, want ErrRowMoved after 3", err, tries)
		}
	})
	t.Run("row gone", func(t *testing.T) {
		mem := newMemSheets()
		s := newTestStore(t, mem, nil)
		a := createAppeals(t, s, 7)[0]
		mem.sheets[testTitles.Appeals] = mem.sheets[testTitles.Appeals][:1] // someone deleted the row
		if _, err := s.UpdateAppeal(testCtx(t), a, domain.AppealFieldStatus); !errors.Is(err, domain.ErrNotFound) || mem.updates != 0 {
			t.Errorf("%v after %d writes, want ErrNotFound and nothing written", err, mem.updates)
		}
	})
}

func TestAppealsIndexAndIdempotentCreate(t *testing.T) {
	mem := newMemSheets()
	s := newTestStore(t, mem, nil)
	ctx := testCtx(t)
	if _, found, err := s.CurrentAppeal(ctx, 7); err != nil || found {
		t.Fatalf("no appeal yet: %v %v", found, err)
	}
	older := createAppeals(t, s, 7)[0]
	newer, err := s.CreateAppeal(ctx, domain.Appeal{CreatedAt: older.CreatedAt.Add(time.Hour), TelegramID: 7, History: "second"}, false)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.CreateAppeal(ctx, domain.Appeal{CreatedAt: newer.CreatedAt, TelegramID: 7}, true)
	if err != nil || again.Row != newer.Row || mem.appends != 2 {
		t.Fatalf("second create of the same appeal: %+v %v, %d appends", again, err, mem.appends)
	}
	mem.sortRows(testTitles.Appeals, func(a, b []any) int { return strings.Compare(fmt.Sprint(a[4]), fmt.Sprint(b[4])) })
	cur, found, err := s.CurrentAppeal(ctx, 7)
	if err != nil || !found || cur.History != "second" || cur.Row != 2 {
		t.Errorf("current: %+v %v %v; want the newest appeal, now at row 2", cur, found, err)
	}
}

func addPartners(mem *memSheets, ps ...domain.Partner) {
	for _, p := range ps {
		mem.sheets[testTitles.Auth] = append(mem.sheets[testTitles.Auth], PartnerRow(p, msk))
	}
}

func TestPartnersCachedForTheirTTL(t *testing.T) {
	mem := newMemSheets()
	s := newTestStore(t, mem, func(o *Options) { o.AuthTTL = time.Hour })
	ctx := testCtx(t)
	addPartners(mem, domain.Partner{Code: "P-1", Phone: "+7 (912) 345-67-89"})
	for range 3 {
		if _, err := s.Partners(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if mem.reads != 1 {
		t.Errorf("%d reads for three lookups within the TTL, want 1", mem.reads)
	}
	// A phone not in the cache re-reads the sheet once: the partner may be new.
	addPartners(mem, domain.Partner{Code: "P-2", Phone: "8 913 000 11 22"})
	p, found, err := s.PartnerByPhone(ctx, "+79130001122")
	if err != nil || !found || p.Code != "P-2" || mem.reads != 2 {
		t.Errorf("new partner: %+v %v %v after %d reads", p, found, err, mem.reads)
	}
}

// Authorization and the blocked mark land on the partner's row after people
// sorted the Auth sheet.
func TestPartnerWritesFollowMovedRows(t *testing.T) {
	mem := newMemSheets()
	s := newTestStore(t, mem, nil) // no cache: this is about finding rows again
	ctx := testCtx(t)
	addPartners(mem, domain.Partner{Code: "P-1", Phone: "+7 (912) 345-67-89"},
		domain.Partner{Code: "P-2", Phone: "8 913 000 11 22", Status: "avtorizovan", TelegramID: 42})
	p, found, err := s.PartnerByPhone(ctx, "79123456789")
	if err != nil || !found || p.Code != "P-1" || p.Row != 2 {
		t.Fatalf("by phone: %+v %v %v", p, found, err)
	}
	mem.sortRows(testTitles.Auth, func(a, b []any) int { return strings.Compare(fmt.Sprint(b[0]), fmt.Sprint(a[0])) })
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, msk)
	if p, err = s.AuthorizePartner(ctx, p, 1001, at); err != nil || p.Row != 3 {
		t.Fatalf("authorize after sort: %+v %v", p, err)
	}
	if got := mem.rows(testTitles.Auth)[2]; got[0] != "P-1" || got[3] != "authorized" || got[4] != "1001" || got[5] != "2026-11-25 12:00:00" {
		t.Errorf("P-1's row: %#v", got)
	}
	legacy, found, err := s.PartnerByTelegramID(ctx, 42)
	if err != nil || !found || !legacy.Authorized() {
		t.Fatalf("legacy status must count as authorized: %+v %v %v", legacy, found, err)
	}
	s = newTestStore(t, mem, func(o *Options) { o.AuthTTL = time.Hour }) // the first attempt uses the cache
	if _, err := s.Partners(ctx); err != nil {
		t.Fatal(err)
	}
	sorted := false // someone sorts the sheet between the read and the write
	mem.beforeUpdate = func(*sheets.Guard, []sheets.Values) error {
		if !sorted {
			sorted = true
			mem.sortRows(testTitles.Auth, func(a, b []any) int { return strings.Compare(fmt.Sprint(a[0]), fmt.Sprint(b[0])) })
		}
		return nil
	}
	if err := s.SetBotBlocked(ctx, 42, at); err != nil {
		t.Fatal(err)
	}
	if got := mem.rows(testTitles.Auth)[2]; got[0] != "P-2" || got[6] != "2026-11-25 12:00:00" {
		t.Errorf("P-2's row: %#v", got)
	}
}

func TestQueueRoundTrip(t *testing.T) {
	mem := newMemSheets()
	s := newTestStore(t, mem, nil)
	ctx := testCtx(t)
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, msk)
	for _, id := range []string{"id-1", "id-2"} {
		if _, err := s.AppendRequest(ctx, domain.AnalyticsRequest{ID: id, CreatedAt: now, ObjectCode: "MSK-1", Status: domain.RequestStatusNew}); err != nil {
			t.Fatal(err)
		}
	}
	again, err := s.AppendRequest(ctx, domain.AnalyticsRequest{ID: "id-1"})
	if err != nil || again.Row != 2 || again.ObjectCode != "MSK-1" || mem.appends != 2 {
		t.Fatalf("idempotent append: %+v %v, %d appends", again, err, mem.appends)
	}
	mem.sortRows(testTitles.Queue, func(a, b []any) int { return strings.Compare(fmt.Sprint(b[0]), fmt.Sprint(a[0])) })
	again.Status, again.ResultText = domain.RequestStatusDone, "=1+1 итог"
	if r, err := s.UpdateRequest(ctx, again, domain.RequestFieldStatus, domain.RequestFieldResultText); err != nil || r.Row != 3 {
		t.Fatalf("update after sort: %+v %v", r, err)
	}
	got, err := s.Request(ctx, "id-1")
	if err != nil || got.Row != 3 || got.Status != domain.RequestStatusDone || got.ResultText != "=1+1 итог" {
		t.Errorf("request: %+v %v", got, err)
	}
	if _, err := s.Request(ctx, "nope"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("unknown id: %v", err)
	}
}

func TestPromotionUpdates(t *testing.T) {
	mem := newMemSheets()
	s := newTestStore(t, mem, nil)
	ctx := testCtx(t)
	for _, id := range []string{"promo-b", "promo-a"} {
		mem.sheets[testTitles.Promotions] = append(mem.sheets[testTitles.Promotions], PromotionRow(domain.Promotion{ID: id, Status: domain.PromotionScheduled}, msk))
	}
	p, err := s.Promotion(ctx, "promo-a")
	if err != nil || p.Row != 3 {
		t.Fatalf("promotion: %+v %v", p, err)
	}
	if _, err := s.UpdatePromotion(ctx, p); err != nil || mem.updates != 0 {
		t.Errorf("no fields: %v, %d writes; want nothing written", err, mem.updates)
	}
	mem.sortRows(testTitles.Promotions, func(a, b []any) int { return strings.Compare(fmt.Sprint(a[0]), fmt.Sprint(b[0])) })
	p.Sent, p.Failed, p.Blocked = 5, 1, 2
	if p, err = s.UpdatePromotion(ctx, p, domain.PromotionFieldCounters); err != nil || p.Row != 2 {
		t.Fatalf("update after sort: %+v %v", p, err)
	}
	if got, _ := s.Promotion(ctx, "promo-a"); got.Sent != 5 || got.Failed != 1 || got.Blocked != 2 {
		t.Errorf("counters: %+v", got)
	}
	if _, err := s.Promotion(ctx, "nope"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("unknown promotion: %v", err)
	}
}

func TestCells(t *testing.T) {
	for _, tc := range []struct {
		v        any
		str      string
		asInt    int64
		asFloat  float64
		trimmed  string
		rawToo   bool
		comments string
	}{
		{nil, "", 0, 0, "", true, "empty cell"},
		{"  text ", "  text ", 0, 0, "text", false, "text keeps its spaces raw"},
		{float64(1001), "1001", 1001, 1001, "1001", true, "Telegram ID typed by hand comes back as a number"},
		{1.5, "1.5", 2, 1.5, "1.5", true, "fractions"},
		{"1 234 567", "1 234 567", 1234567, 1234567, "1 234 567", true, "thousands separated by spaces"},
		{"12,6", "12,6", 13, 12.6, "12,6", true, "decimal comma"},
		{true, "TRUE", 0, 0, "TRUE", true, "checkbox"},
		{json.Number("42"), "42", 42, 42, "42", true, "number as JSON"},
	} {
		row := []any{tc.v}
		if got := cellString(tc.v); got != tc.str {
			t.Errorf("%s: cellString %q, want %q", tc.comments, got, tc.str)
		}
		if got := cell(row, 0); got != tc.trimmed {
			t.Errorf("%s: cell %q, want %q", tc.comments, got, tc.trimmed)
		}
		if got := cellInt(row, 0); got != tc.asInt {
			t.Errorf("%s: cellInt %d, want %d", tc.comments, got, tc.asInt)
		}
		if got := cellFloat(row, 0); got != tc.asFloat {
			t.Errorf("%s: cellFloat %v, want %v", tc.comments, got, tc.asFloat)
		}
	}
	if cell([]any{}, 3) != "" || !emptyRow([]any{"", " ", nil}) || emptyRow([]any{"", "x"}) {
		t.Error("missing cells and empty rows")
	}
}

// defaultLayout is the layout of a sheet created with the default headers.
func defaultLayout(s *Spreadsheet, k SheetKey) *layout {
	return parseLayout(k, s.title(k), s.schema[k], DefaultHeaders(k))
}

func TestRowsRoundTrip(t *testing.T) {
	s := newTestStore(t, newMemSheets(), nil)
	at := time.Date(2026, 11, 25, 12, 30, 0, 0, msk)
	p := domain.Partner{Row: 5, Code: "P-1", Phone: "79123456789", FullName: "Анна", Status: "authorized", TelegramID: 42, AuthorizedAt: at}
	if got := s.partnerFrom(record{defaultLayout(s, SheetAuth), PartnerRow(p, msk)}, 5); got != p {
		t.Errorf("partner: %+v", got)
	}
	pr := domain.Promotion{Row: 3, ID: "promo-1", Title: "T", Text: "  text", Status: domain.PromotionSent, Sent: 4, StartsAt: at, FinishedAt: at}
	if got := s.promotionFrom(record{defaultLayout(s, SheetPromotions), PromotionRow(pr, msk)}, 3); got != pr {
		t.Errorf("promotion: %+v", got)
	}
	l := domain.Listing{Code: "MSK-1", Type: "flat", City: "Москва", Rooms: 2, AreaM2: 54.5, Floor: 3, PriceRub: 12000000,
		ListedAt: at, Status: domain.ListingSold, ClosedAt: at, SoldPriceRub: 11500000}
	if got := s.listingFrom(record{defaultLayout(s, SheetListings), ListingRow(l, msk)}); got != l {
		t.Errorf("listing: %+v", got)
	}
	r := domain.AnalyticsRequest{Row: 2, ID: "id-1", CreatedAt: at, ObjectCode: "MSK-1", TelegramID: 5, Status: domain.RequestStatusDone, ResultText: " x"}
	ql := defaultLayout(s, SheetQueue)
	row, err := newRow(ql, s.requestPuts(r))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.requestFrom(record{ql, row}, 2); got != r {
		t.Errorf("request: %+v", got)
	}
}
