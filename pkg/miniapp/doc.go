// Package miniapp is the bot's side of the Telegram Mini App: it serves the
// frontend (package web) under /app/ and its JSON API under /api/v1/, and
// sets up the bot's menu button and commands (SetupBot). Like all of cmd/bot
// it never calls Sheets: partners, request statuses, promotions and PDF
// reports come from the Redis projections that workers and the poller keep
// (package projection), and an order becomes an analytics:request task.
//
// # Authentication
//
// Every call except GET /api/v1/config and the pre-signed report links
// carries "Authorization: tma <initData>". initData is checked with
// webapp.Validate (HMAC-SHA256 keyed by "WebAppData" and the bot token,
// constant-time, auth_date at most Options.InitDataMaxAge old), and
// the user must be an authorized partner in the projection.
//
// # Errors
//
// Every error is JSON {"error":"<code>","message":"<Russian text>"}:
//
//	400 invalid_object_code  the code does not match analytics.object_code_pattern
//	400 bad_request          body is not one JSON object (413 too large, 415 not JSON, 405 method)
//	401 unauthorized         Authorization missing, not "tma", or initData forged / malformed
//	401 expired              initData older than analytics.init_data_max_age
//	403 not_partner          the user is not an authorized partner
//	404 not_found            no such request (or someone else's), route or report
//	429 rate_limited         over the per-user limit; "retry_after" seconds and Retry-After
//	503 unavailable          Redis or the task queue failed; nothing was enqueued
//
// # Endpoints
//
//	GET  /api/v1/config         {"object_code_pattern","bot_username","poll_interval_ms"} (no auth)
//	GET  /api/v1/me             {"user":{"id","first_name","username"},"partner":{"code","name"}}
//	POST /api/v1/analytics      {"object_code"} → 202 {"request":Request}
//	GET  /api/v1/analytics      {"requests":[Request…]}, newest first, at most 30
//	GET  /api/v1/analytics/{id} {"request":Request}, the caller's own only
//	GET  /api/v1/reports/{id}.pdf?t=<token>  the PDF; the token (package reportlink) is the authorization
//	GET  /api/v1/promotions     {"promotions":[…]} for the partner's audience
//
// Request is {"id","object_code","status","created_at","updated_at",
// "result_text","error","report_url","delivered"}; report_url is a relative
// signed link when a PDF is stored, Apps Script's link for its reports, or "".
//
// Limits: request bodies up to 4 KB; Options.RequestsPerHour orders
// per user (GCRA in Redis, redis_rate; 0 disables) and, against runaway
// clients, 300 authenticated calls per minute per user (the page polls every
// 3 s). Refused calls enqueue nothing and project nothing; an order is
// enqueued before it is projected, so a failed enqueue leaves no trace. API
// responses carry Cache-Control: no-store. Metrics:
// marketingbot_miniapp_requests_total{route,status}.
//
// The API consumes small interfaces (Projection, Enqueuer, Limiter) and
// Options of plain values; package app maps the configuration onto them.
package miniapp
