// Package sheets is a Google Sheets API v4 emulator: an http.Handler that
// speaks the wire protocol of sheets.googleapis.com closely enough for the
// unmodified google.golang.org/api/sheets/v4 client, pointed at it with
//
//	sheets.NewService(ctx, option.WithEndpoint(url), option.WithoutAuthentication())
//
// It serves unit tests, the quota-aware gateway, end-to-end and load tests,
// and the sandbox where a person looks at the spreadsheet.
//
// # API methods
//
// spreadsheets.get (includeGridData and ranges supported), values.get,
// values.batchGet, values.update, values.batchUpdate, values.append,
// values.clear, values.batchClear and spreadsheets.batchUpdate with the
// requests addSheet, deleteSheet, updateSheetProperties (title, index,
// gridProperties), sortRange, insertDimension, deleteDimension and
// appendDimension. The fields parameter is ignored: responses are always
// complete, which a client cannot tell apart.
//
// Behaviour follows Google's:
//   - Ranges are A1 notation, read by the emulator's own parser (package
//     internal/a1, independent of the client's); an unknown sheet or bad
//     notation is 400 "Unable to parse range: …". Returned
//     ranges are clipped to the grid ("Auth" → "Auth!A1:Z1000").
//   - Reads trim trailing empty cells and rows (columns with
//     majorDimension=COLUMNS); an empty block has no "values" key.
//     valueRenderOption is FORMATTED_VALUE (default), UNFORMATTED_VALUE or
//     FORMULA; dateTimeRenderOption is ignored.
//   - valueInputOption is required on writes. RAW stores strings as text
//     ("=1+1" stays text) and JSON numbers and booleans as such.
//     USER_ENTERED reads text as a person's typing: "'" forces text, "="
//     starts a formula, numbers, TRUE/FALSE and ISO dates ("2024-01-02",
//     "2024-01-02 15:04[:05]", kept as serial numbers displayed as typed)
//     become typed values; other locale formats (currency, percent,
//     "1,5") stay text.
//   - Formulas are recorded, not computed: FORMULA rendering returns the
//     formula text, the other renderings FormulaPlaceholder ("#NAME?"), so
//     a test can prove user text never became a formula. Formulas loaded
//     from an .xlsx show the value the file cached.
//   - Sheets have a grid (default 1000×26). values.update/batchUpdate
//     beyond it is 400 "Range ('Sheet1'!A1001) exceeds grid limits. Max
//     rows: 1000, max columns: 26"; values.append grows it.
//   - A cell holds at most 50,000 characters (UTF-16 units); more is 400
//     "Your input contains more than the maximum of 50000 characters in a
//     single cell." Every request is atomic: nothing of a failing request
//     is written, including earlier requests of a spreadsheets.batchUpdate.
//   - values.append finds the table like Google: the first non-empty cell
//     of the range, grown to the block of cells connected to it (diagonals
//     included, possibly beyond the range), and writes below its last row
//     starting at its first column; with no table it writes at the range's
//     first cell. INSERT_ROWS inserts rows there, OVERWRITE writes over
//     what is below. tableRange and updates{…} are reported as by Google.
//   - sortRange puts blank cells last in either order, numbers before text
//     (case-insensitive) before booleans; formulas move without adjusting
//     references.
//   - Requests on one spreadsheet are serialized (reads share a lock, so
//     they see whole writes only). Responses are encoded straight from the
//     grid; a request never copies a whole sheet.
//
// Errors have Google's shape,
//
//	{"error":{"code":400,"message":"…","status":"INVALID_ARGUMENT"}}
//
// with "details" where Google sends them (ErrorInfo and Help on quota
// errors); the client turns them into *googleapi.Error with Code and
// Message. An unknown spreadsheet is 404 NOT_FOUND "Requested entity was
// not found."
//
// # Authentication
//
// Off by default (the client uses option.WithoutAuthentication). With
// Options.Auth (or RequireAuth) set to a TokenChecker — the OAuth token
// endpoint emulator in sim/emulator/googleauth — every API request needs
// "Authorization: Bearer <token>" with a valid token carrying a
// spreadsheets or drive scope (read-only ones for reads only), checked
// before faults and quotas, with Google's answers: no token is 401
// UNAUTHENTICATED "Request is missing required authentication credential.
// …" (ErrorInfo CREDENTIALS_MISSING), an unknown or expired one 401
// "Request had invalid authentication credentials. …" (ACCESS_TOKEN_EXPIRED
// when expired) with WWW-Authenticate: Bearer realm="https://accounts.google.com/",
// error="invalid_token", a token without the scope 403 PERMISSION_DENIED
// "Request had insufficient authentication scopes."
// (ACCESS_TOKEN_SCOPE_INSUFFICIENT). AuthStats counts them.
//
// # Quotas
//
// The caller is identified by the account its Bearer token belongs to (in
// the authentication mode, when the checker tells it: a refreshed token is
// the same user), else its Authorization header, else its API key, else
// one anonymous user. Reads (spreadsheets.get, values.get,
// values.batchGet) and writes (all other methods) are counted per user and
// per project in a sliding window (Quota; default 60/60 per user and
// 300/300 per project per minute, 0 = unlimited). A request that would
// exceed a limit within the last Window is answered 429 RESOURCE_EXHAUSTED
// "Quota exceeded for quota metric 'Read requests' and limit 'Read requests
// per minute per user' of service 'sheets.googleapis.com' for consumer
// 'project_number:000000000000'." and not counted. Injected faults are
// decided before quotas and are not counted either.
//
// # Control API
//
// Under /_emulator/, JSON in and out, CORS open to any origin (the sandbox
// page is JavaScript). Failures are {"error":"…"} with a 4xx status.
//
//	GET    /_emulator/stats
//	       {"reads","writes","max_reads_per_min","max_writes_per_min",
//	        "http_429","http_5xx_injected","by_method":{"values.get":N,…},
//	        "window_s"}
//	       reads/writes count requests accepted by the quota; max_*_per_min
//	       is the most accepted within any sliding window of length Window
//	       (a minute by default); by_method counts every API request routed,
//	       including rejected ones; http_429 counts quota and injected 429s.
//	POST   /_emulator/stats/reset       zero the counters (quota usage stays)
//	GET    /_emulator/faults            {"faults":[…]} active rules
//	POST   /_emulator/faults            add a rule (see Fault):
//	       {"status":429|500|503|0,"count":N,"duration_ms":D,
//	        "latency_ms":L,"methods":["values.batchGet",…]}
//	DELETE /_emulator/faults            remove all rules
//	GET    /_emulator/quota             {"reads_per_window","writes_per_window",
//	PUT    /_emulator/quota              "project_reads_per_window",
//	                                     "project_writes_per_window","window_ms"}
//	                                    0 = unlimited; window_ms 0 = a minute
//	GET    /_emulator/spreadsheets      {"spreadsheet_ids":["…"]}
//	GET    /_emulator/spreadsheets/{id} a Spreadsheet:
//	       {"spreadsheet_id","title","sheets":[{"title","sheet_id",
//	        "row_count","column_count","rows":[["A1","B1"],…],
//	        "formulas":{"C3":"=SUM(A1:A2)"}}]}
//	PUT    /_emulator/spreadsheets/{id} create or replace from that shape
//	DELETE /_emulator/spreadsheets/{id}
//	GET    /_emulator/spreadsheets/{id}/xlsx  download as .xlsx
//	PUT    /_emulator/spreadsheets/{id}/xlsx  create or replace from an .xlsx body
//	POST   /_emulator/reset             drop all spreadsheets, faults, stats
//	                                    and quota usage; creates nothing
//
// Everything is also reachable from Go: Load, Snapshot, Delete, Reset,
// Stats, ResetStats, InjectFault, ClearFaults, SetQuota, WriteXLSX, LoadXLSX.
//
// # Persistence
//
// With Options.XLSXPath the spreadsheet Options.SpreadsheetID is loaded from
// that .xlsx file at start (every sheet; values keep their types, formulas
// stay formulas with their cached values, date-formatted numbers are shown
// as their format displays them) and saved at most SaveDebounce after a
// change and on Close. Saving writes a temporary file in the same
// directory, fsyncs it and renames it over the old one. Deleting or
// resetting the spreadsheet removes the file. What .xlsx cannot hold —
// sheet titles over 31 characters or with []:*?/\, cells over 32,767
// characters, sheet ids and grid sizes — goes to a very hidden sheet
// "_emulator_meta", so the emulator's own files round-trip exactly while
// still opening in Excel and LibreOffice. Other spreadsheets live in memory
// only.
package sheets
