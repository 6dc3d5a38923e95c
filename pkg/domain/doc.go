// Package domain holds the types every other package speaks: the rows of the
// spreadsheet (partners, appeals, analytics requests, listings, promotions,
// knowledge entries), their statuses exactly as they are spelled in the sheet,
// and the small pure functions that interpret hand-edited cells (phone
// numbers, timestamps, statuses).
//
// Nothing here does I/O. Adapters (pkg/sheets, pkg/telegram, pkg/ai, …) map
// their wire formats to and from these types, so they never import each other.
package domain
