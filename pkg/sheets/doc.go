// Package sheets is the transport to the Google Sheets API
// (google.golang.org/api/sheets/v4) under the spreadsheet that is
// MarketingBot's database: every request of every process goes through a
// Client. It moves cells and knows nothing about partners, appeals or
// promotions; the typed repositories of the team's spreadsheet (sheet
// layouts, row index, caches) are package store, built on a Client. See
// docs/ARCHITECTURE.md for the spreadsheet contract and the guarantees.
//
// Google allows 60 read and 60 write requests per minute per user (a service
// account is one user); a batch counts as one. The Client lives inside that:
//
//   - Coalescing. Concurrent reads become one values.batchGet, writes one
//     values.batchUpdate, appends to a sheet one values.append; each caller
//     gets its own result or error. A batch goes out when the shared budget
//     grants a request slot, so the busier the system, the more each request
//     carries.
//   - One coalescer for all processes (fleet.go): every process queues its
//     operations in Redis and the process holding the carrier lease feeds
//     them into its batcher, so a request carries what the whole fleet
//     waits for. Guards and append verification stay with the caller.
//   - One budget for all processes: a GCRA limiter in Redis (redis_rate) at a
//     configurable share of the quota (default 55 + 55 per minute), with a
//     burst chosen so that no sliding minute exceeds Google's 60. Callers wait
//     instead of failing.
//   - failsafe-go: retries of 429/500/502/503/504 and timeouts with jittered
//     exponential backoff, bounded by the caller's context (callers see an
//     error only after their deadline); a circuit breaker that opens on
//     sustained failure so an outage does not become a retry storm, and
//     half-opens to probe; a timeout per request. Appends are not idempotent:
//     after an ambiguous failure (timeout, 500/502/504) the Client asks the
//     caller whether the row's key is already there before appending again.
//   - Guarded writes. Rows move (people sort and insert rows): a write may
//     carry a Guard, the key cells of its row, which are read right before
//     the write; on mismatch the write is refused with ErrRowMoved and nothing
//     is written, so a write never lands on another user's row. A guard may
//     also check the sheet's header row (one range per sheet, read once for
//     the whole batch): a column inserted or moved under the write refuses
//     it with ErrColumnsMoved.
//   - Every write is valueInputOption=RAW: user text starting with "=" stays
//     text (no formula injection).
//
// Options.Batching=false switches to one request per operation, as the
// Python original did; it exists only so the load tools can compare.
package sheets
