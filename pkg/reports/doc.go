// Package reports is the worker and poller side of Analytics 360 (see
// docs/ARCHITECTURE.md, "Features"): the Queue-sheet protocol that turns a
// Mini App order into a report in the partner's chat.
//
//	Mini App → analytics:request → Queue row NEW (A id, B created_at, C object_code,
//	D telegram_id, E requester) → PROCESSING → DONE (K result_text, H report_url)
//	or ERROR (I error) → poller → analytics:deliver → text + PDF → J delivered_at
//
// HandleRequest appends the NEW row (idempotent by id) and, with the built-in
// engine, enqueues analytics:process. HandleProcess claims the row, runs
// package analytics over the cached Listings sheet, optionally lets Gemini
// polish the wording (accepted only when every number is unchanged), stores
// the PDF in Redis for Options.ReportTTL and writes DONE with a
// signed link to it; an unknown object becomes ERROR «объект не найден».
// With engine apps_script Google Apps Script does the processing and this
// package only follows the protocol: it never touches NEW or PROCESSING rows,
// except to time out a stuck PROCESSING row.
//
// The Scanner (poller) reads the Queue sheet once per scan, enqueues a
// delivery for every DONE/ERROR row without delivered_at, turns PROCESSING
// rows older than Options.ProcessingTimeout into ERROR (re-reading just that
// row first, so a result that landed meanwhile wins), re-enqueues NEW rows
// whose process task was lost or archived, and keeps the Redis projection
// the bot shows in the Mini App. Every task carries a TaskID derived from the
// row id, so two pollers running at once, or a restart, enqueue each step
// once; a task that was archived, or completed without moving its row, is
// replaced.
//
// HandleDeliver is idempotent even when a worker dies half-way: each step
// (every part of the text, the PDF) leaves a marker in Redis before the next
// one starts, and delivered_at is written last. A retried delivery resumes
// after the last confirmed step; a delivered row is never sent again. The
// only window left is a crash between Telegram accepting a message and the
// marker being written, which at-least-once delivery cannot close.
//
// Report links: the DONE row's report_url is a link signed by package
// reportlink, whose key both the worker and the bot derive from the bot
// token. The bot (package miniapp) serves the PDF from Redis to anyone
// holding a valid link.
//
// The service consumes small interfaces (Store, Sender, Enqueuer, Inspector,
// Projection, Polisher) and Options of plain values; package app maps the
// configuration and the adapters onto them.
package reports
