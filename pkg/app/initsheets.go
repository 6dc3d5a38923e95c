package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"marketingbot/pkg/config"
	"marketingbot/pkg/redisx"
)

// RunInitSheets is --init-sheets: it makes the configured spreadsheet fit
// the contract (store.InitSheets: missing sheets added, missing header
// cells written to the right of everything used, no data touched), prints
// one line per change and a verdict, and returns the exit code: 0 when the
// spreadsheet is usable, 1 when something failed or a person must fix a
// header that appears twice or is ambiguous. Only the roles that use the
// spreadsheet (worker, poller) offer it; the bot never talks to Sheets.
func (m *Main) RunInitSheets(ctx context.Context) int {
	fail := func(err error) int {
		fmt.Fprintf(m.Stdout, "FAIL %s --init-sheets: %v\n", m.Role, err)
		return ExitFail
	}
	if m.Role != config.RoleWorker && m.Role != config.RolePoller {
		return fail(fmt.Errorf("the %s never uses the spreadsheet: run worker --init-sheets (or poller --init-sheets) with the same configuration", m.Role))
	}
	if err := m.Load(); err != nil {
		return fail(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	redisx.QuietLogs(log)
	rdb, err := redisx.NewClient(m.Config.Redis)
	if err != nil {
		return fail(err)
	}
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	sc, st, err := openSpreadsheet(ctx, m.Config, rdb, prometheus.NewRegistry(), log)
	if err != nil {
		return fail(err)
	}
	defer sc.Close()
	rep, err := st.InitSheets(ctx)
	for _, d := range rep.Done {
		fmt.Fprintf(m.Stdout, "%s --init-sheets: %s\n", m.Role, d)
	}
	if err != nil {
		return fail(err)
	}
	if err := st.Check(ctx); err != nil {
		if len(rep.Problems) > 0 {
			err = fmt.Errorf("%w (a person decides which of the columns is meant and renames the others)", err)
		}
		return fail(err)
	}
	what := "nothing to do, every sheet and header is there"
	if len(rep.Done) > 0 {
		what = fmt.Sprintf("%d changes, every sheet and header is there now", len(rep.Done))
	}
	fmt.Fprintf(m.Stdout, "OK %s --init-sheets: spreadsheet %s: %s\n", m.Role, m.Config.Sheets.SpreadsheetID, what)
	return ExitOK
}
