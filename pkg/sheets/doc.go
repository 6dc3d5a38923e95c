// Package sheets is the gateway to the Google Spreadsheet that is
// MarketingBot's database (DESIGN.md §2). Every read and write of every
// process goes through it, built on google.golang.org/api/sheets/v4.
//
// Google allows 60 read and 60 write requests per minute per user (a service
// account is one user); a batch counts as one. The gateway lives inside that:
//
//   - Coalescing. Concurrent reads become one values.batchGet, writes one
//     values.batchUpdate, appends to a sheet one values.append; each caller
//     gets its own result or error. A batch goes out when the shared budget
//     grants a request slot, so the busier the system, the more each request
//     carries.
//   - One budget for all processes: a GCRA limiter in Redis (redis_rate) at a
//     configurable share of the quota (default 55 + 55 per minute), with a
//     burst chosen so that no sliding minute exceeds Google's 60. Callers wait
//     instead of failing.
//   - failsafe-go: retries of 429/500/502/503/504 and timeouts with jittered
//     exponential backoff, bounded by the caller's context (callers see an
//     error only after their deadline); a circuit breaker that opens on
//     sustained failure so an outage does not become a retry storm, and
//     half-opens to probe; a timeout per request. Appends are not idempotent:
//     after an ambiguous failure (timeout, 500/502/504) the gateway looks for
//     the row's key before appending again.
//   - Rows move (people sort and insert rows). Row numbers are cached in Redis
//     (Telegram ID → appeal row, request id → Queue row, phone → Auth row) and
//     every write is guarded: the key cells of the row are read right before
//     the write and the write is refused with ErrRowMoved on mismatch, after
//     which the index is rebuilt and the row found again. A write never lands
//     on another user's row.
//   - Small, slow-changing sheets (Auth, Knowledge, Listings) are cached with TTLs.
//   - Every write is valueInputOption=RAW: user text starting with "=" stays
//     text (no formula injection).
//
// Options.Batching=false switches to one request per operation, as the
// Python original did; it exists only so the load tools can compare.
package sheets
