// Package store is the typed access to the team's spreadsheet, MarketingBot's
// database: the Auth sheet of partners, Appeals, the Analytics Queue, and the
// Promotions, Knowledge and Listings catalog, as domain values. It is built
// on the transport of package sheets (a *sheets.Client, which coalesces,
// budgets and retries the requests and offers guarded writes) and adds what
// depends on the sheets' layout: the schema and the header contract, row
// conversions, the shared row index, the caches, and finding a row again
// after people sorted the sheet. docs/ARCHITECTURE.md §5 describes the
// spreadsheet contract.
//
// Columns are found by header (schema.go, layout.go). Every sheet has a
// schema of fields, each with a configurable header and marked Ours when
// the system writes it. Row 1 is read into a layout: every read of data
// carries the header row in the same request, and the layout is cached for
// Options.HeaderTTL for writes. Writes set only our fields' cells, RAW
// (write.go); their guard verifies the key cells of the row and the header
// cells of every column involved, so a moved column refuses the write
// (sheets.ErrColumnsMoved), the header row is read again and the write goes
// where the column is now. An appended row has nil (left alone) in every
// column that is not ours. Problems and Check name missing, duplicated and
// ambiguous headers; InitSheets (--init-sheets) adds missing sheets and
// headers without touching data.
//
// Rows move (people sort and insert rows). Row numbers are cached in Redis
// (Telegram ID → appeal row, request id → Queue row) and every write is
// guarded by the row's key cells (sheets.Guard); a write refused with
// sheets.ErrRowMoved finds its row again by those keys and is tried again,
// at most three times. Small, slow-changing sheets (Auth, Knowledge,
// Listings) are cached in process memory with TTLs.
package store
