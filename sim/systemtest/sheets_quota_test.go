package systemtest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/store"
	sheetsemu "marketingbot/sim/emulator/sheets"
	"marketingbot/sim/fixtures"
)

// sheetsRMW appends marker n to the user's appeal history: read, modify, write —
// the access pattern of a chat turn.
func sheetsRMW(ctx context.Context, g *store.Spreadsheet, id int64, n int) error {
	a, found, err := g.CurrentAppeal(ctx, id)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("user %d has no appeal", id)
	}
	a.History += fmt.Sprintf("\n#%d", n)
	a.UpdatedAt = time.Now()
	_, err = g.UpdateAppeal(ctx, a, domain.AppealFieldHistory)
	return err
}

// sheetsCheckMarkers verifies every user's history holds markers 1..want[id] once each, in order.
func sheetsCheckMarkers(t *testing.T, rows [][]any, want map[int64]int) {
	t.Helper()
	seen := map[int64]bool{}
	for _, r := range rows[1:] {
		var id int64
		fmt.Sscan(fmt.Sprint(r[3]), &id)
		seen[id] = true
		lines := strings.Split(fmt.Sprint(r[4]), "\n")[1:]
		if len(lines) != want[id] {
			t.Errorf("user %d: %d markers in the sheet, %d acknowledged", id, len(lines), want[id])
			continue
		}
		for i, l := range lines {
			if l != fmt.Sprintf("#%d", i+1) {
				t.Errorf("user %d: line %d is %q", id, i+1, l)
				break
			}
		}
	}
	if len(seen) != len(want) {
		t.Errorf("%d users in the sheet, want %d", len(seen), len(want))
	}
}

func sheetsSeedAppeals(users int) [][]any {
	var rows [][]any
	base := time.Date(2026, 11, 25, 9, 0, 0, 0, sheetsMSK)
	for i := 0; i < users; i++ {
		rows = append(rows, []any{base.Add(time.Duration(i) * time.Second).Format(domain.SheetTimeLayout), "", "", fmt.Sprint(1000 + i), "start", "Новое", "", ""})
	}
	return rows
}

// 200 callers doing read-modify-write of 200 users' rows for three quota
// windows (the window is shrunk to 3 s on both sides: "emulated minutes").
func TestSheetsQuotaRespectedUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	const users = 200
	window := 3 * time.Second
	q := sheetsemu.DefaultQuota()
	q.Window = window
	e := sheetsSetup(t, fixtures.Data{Appeals: sheetsSeedAppeals(users)}, &q, func(o *fixtures.StoreOptions) { o.QuotaWindow = window })
	ctx, cancel := context.WithTimeout(context.Background(), 3*window)
	defer cancel()
	var mu sync.Mutex
	done := map[int64]int{}
	var wg sync.WaitGroup
	for i := 0; i < users; i++ {
		id := int64(1000 + i)
		done[id] = 0
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 1; ctx.Err() == nil; n++ {
				opCtx, c := context.WithTimeout(context.Background(), 30*time.Second)
				err := sheetsRMW(opCtx, e.g, id, n)
				c()
				if err != nil {
					t.Errorf("user %d op %d: %v", id, n, err)
					return
				}
				mu.Lock()
				done[id] = n
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	st := e.emu.Stats()
	total := 0
	for _, n := range done {
		total += n
	}
	t.Logf("%d read-modify-writes in %s (%d emulated minutes): %d reads, %d writes, max %d reads and %d writes per window, %d 429s",
		total, 3*window, 3, st.Reads, st.Writes, st.MaxReadsPerMin, st.MaxWritesPerMin, st.HTTP429)
	if st.HTTP429 != 0 {
		t.Errorf("%d responses 429 from the emulator", st.HTTP429)
	}
	if st.MaxReadsPerMin > 60 || st.MaxWritesPerMin > 60 {
		t.Errorf("quota exceeded: %d reads, %d writes in a window", st.MaxReadsPerMin, st.MaxWritesPerMin)
	}
	if total < users {
		t.Errorf("only %d operations completed", total)
	}
	sheetsCheckMarkers(t, e.sheet(t, "Обращения"), done)
}
