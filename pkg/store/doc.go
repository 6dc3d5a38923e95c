// Package store is the typed access to the team's spreadsheet, MarketingBot's
// database: the Auth sheet of partners, Appeals, the Analytics Queue, and the
// Promotions, Knowledge and Listings catalog, as domain values. It is built
// on the transport of package sheets (a *sheets.Client, which coalesces,
// budgets and retries the requests and offers guarded writes) and adds what
// depends on the sheets' layout: column layouts and row conversions, the
// shared row index, the caches, and finding a row again after people sorted
// the sheet. docs/ARCHITECTURE.md describes the spreadsheet contract.
//
// Rows move (people sort and insert rows). Row numbers are cached in Redis
// (Telegram ID → appeal row, request id → Queue row) and every write is
// guarded by the row's key cells (sheets.Guard); a write refused with
// sheets.ErrRowMoved finds its row again by those keys and is tried again,
// at most three times. Small, slow-changing sheets (Auth, Knowledge,
// Listings) are cached in process memory with TTLs.
package store
