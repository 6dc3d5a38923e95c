// Package promo sends promotions (the Promotions sheet, «Акции») to partners:
// the poller's scanner starts broadcasts that are due, a broadcast task picks
// the recipients from the Auth sheet and fans out one send task per
// recipient, and the send tasks deliver the message under Telegram's flood
// limits, count the outcomes and write the progress back to the row.
// Operators can also start a broadcast from their group with /promo <id>
// (a dry run with the recipient count, then a confirmation button).
//
// # Lifecycle of a row
//
//	Запланировано ──starts_at has come──▶ Отправляется ──all processed──▶ Отправлено
//	Черновик/Запланировано ──/promo + confirm──▶ Отправляется
//	Отправляется ──row set back to Черновик──▶ Черновик (cancelled, counters kept)
//	cannot start (no text and no image, sheet errors) ──▶ Ошибка
//
// A Запланировано row without starts_at is due at once. The sheet has no
// column for a failure reason: Ошибка is written, the reason is logged and
// posted to the operators' group (PromoFailed). A row that is Отправляется
// without a broadcast of ours (an imported sheet, a hand edit) is left
// alone with a warning: sending it could reach people twice.
//
// The operators' promo texts are plain text, sent without parse_mode
// (promo_usage shows a literal "<id акции>"); the promotion itself is
// Telegram HTML as authored in the sheet.
//
// # Redis state
//
// Each promotion has a small state in Redis (keys under
// Options.KeyPrefix + "promo:", kept for stateTTL): a hash with the phase
// (starting → sending → done, or aborted), the content snapshot the sends
// use (so 10,000 sends never read the sheet), the recipient count, the
// fan-out cursor and the counters (sent, failed, blocked, skipped); the
// recipient list; the set of processed recipients; the claims of sends in
// flight; and the blocked recipients whose Auth G write is pending. The set
// "promo:active" lists broadcasts that are sending, for the scanner's
// cancellation check.
//
// # Exactly once per recipient
//
// asynq is at least once, so duplicates are stopped at three levels:
//   - TaskIDs: one broadcast task per promotion, one send task per
//     (promotion, recipient); a re-run fan-out gets conflicts for what was
//     already enqueued, which count as done.
//   - The processed set is the durable record (it outlives asynq's retention):
//     a recipient is marked processed atomically with its counter (Lua), so
//     a retried send neither sends nor counts again.
//   - A claim is taken right before the Bot API call and released when
//     Telegram answers. A send that finds a claim of an earlier attempt knows
//     that attempt died during the call (kill -9, lost lease) and that the
//     message most likely went out: it counts it as sent instead of sending
//     again. The claim is taken after the limiter admitted the send, so a
//     worker killed while waiting for the limiter (the common case) leaves no
//     claim and the recipient is served normally. The only window that can
//     lose a message is the few microseconds between the claim and the
//     request leaving the process. A send stopped without an answer
//     (shutdown, task timeout) keeps its claim for the same reason; one that
//     got an error answer, or a network error while alive, releases it and
//     is retried (an outage must not count everyone as sent). For this the
//     send reserves the shared limiter itself and then calls the Bot API
//     through Deps.Direct, the Sender without the limiter: the claim must
//     sit between the reservation and the call.
//
// # Pacing and limits
//
// The fan-out schedules send i at start + i/rate (asynq.ProcessAt, rate =
// Options.SendRate, Telegram's global limit, by the wall clock asynq
// uses), so sends become runnable about as fast as the shared limiter
// admits them instead of thousands of tasks holding worker slots while
// they wait. Tasks are
// enqueued in batches of 200, 16 at a time, and the cursor is saved after
// each batch; a cancel during the fan-out stops it and the recipient count
// becomes what was enqueued. A send waits for the limiter at
// telegram.PriorityBroadcast (which leaves a reserve of the burst to chat
// replies) for at most sendMaxWait; if the next slot is further away it
// returns tasks.RetryAfter and frees the worker. 429s are waited out the
// same way. 403 (blocked by the user) marks Auth G via SetBotBlocked, drops
// the partner's projection and is counted as blocked, never retried; chat
// not found and other 400s count as failed at once; other errors are retried
// by asynq and count as failed after the last retry. Telegram rejecting the
// HTML switches the whole broadcast to plain text (the text is the same for
// everyone); a rejected image switches it to text messages.
//
// # Long promotions
//
// A promotion of any length is sent (telegram.SendText): a text that fits
// a caption (1,024 units) goes as the image's caption; a longer one as text
// with the image as the first message's link preview, in as many messages
// as it takes (split at paragraphs and sentences, each under 4,096 units),
// the button under the last. Every part after the first waits for a
// limiter slot of its own; the parts a recipient got are recorded in a
// per-promotion hash, so a send rescheduled mid-way (no slot within
// sendMaxWait) goes on with the rest. The claim covers the whole send: an
// attempt that died during a call counts the recipient as sent, and the
// parts after the one in flight are then not sent (never twice over
// complete).
//
// # Progress and the end
//
// Counters are written to H/I/J every Options.ProgressEvery processed
// recipients and at the end, one guarded write each, under a per-promotion
// lock so that an older progress write can never land after a newer one.
// When the processed count reaches the recipient count the row becomes
// Отправлено with finished_at (written before the SETNX "finalized" flag,
// so a failed write is retried; only the flag's winner posts PromoFinished).
// The scanner re-checks finished broadcasts whose final write failed.
//
// # Cancelling
//
// The scanner reads the Promotions sheet once per scan. A broadcast in the
// active set whose row is back to Черновик gets the cancel flag, which every
// send checks first (sends that already passed the check finish); the
// counters are written, the row stays Черновик and PromoStopped goes to the
// operators' group. The remaining send tasks run at their scheduled time and
// only count themselves as skipped. A promotion that was sent or cancelled
// is never sent again under the same id (that is what guarantees nobody
// gets it twice): setting it back to Запланировано, or confirming it again
// from the group, is refused with PromoRepeated (the row becomes Ошибка). A
// broadcast that was aborted before it sent anything (Ошибка, or Черновик
// before the fan-out) can be started again: its old task is deleted first.
//
// # Projection
//
// Each scan also refreshes the Mini App's promotions list
// (projection.PutPromotions, expiring after ten scan intervals): rows that
// are Отправляется or Отправлено and started within the last 30 days,
// newest first. "Started" is starts_at, or for a row started early (or
// without starts_at) its finished_at, or now while it is sending.
//
// # Seams
//
// The service consumes small interfaces declared in seams.go — Store (the
// Promotions and Auth sheets), Sender and Direct (the Bot API through and
// around the shared Limiter), BotInfo, Enqueuer and TaskInspector (the task
// bus), Projection (the Mini App's read model) and a clock — plus Options,
// plain values that pkg/app maps from the configuration. Its own state is in
// Redis (state.go). The unit tests run it on fakes and a miniredis; the
// whole-system tests (the emulators, redis-server, worker processes) are in
// sim/systemtest. docs/ARCHITECTURE.md describes the bus, the guarantees and
// the spreadsheet contract this package relies on.
//
// # Metrics
//
//	marketingbot_promo_sends_total{outcome}       sent, blocked, failed, skipped
//	marketingbot_promo_broadcasts_total{outcome}  started, finished, cancelled, failed
package promo
