// Package chat is the core job of the bot: authorization of partners, AI
// answers from the appeal's history kept in the spreadsheet (stateless: read
// at every turn), escalation to human operators in a Telegram group and the
// way back. Its handlers run on the workers.
//
// # Per-user order
//
// Every update that concerns a user — their messages, edits, button presses,
// blocking or unblocking the bot, and operators' replies and buttons aimed
// at them — goes into that user's inbox in Redis (a sorted set keyed by
// Telegram's update_id, which orders them as they happened). The intake
// chains a user's own updates (tasks.Chained) and the drain waits for an
// update's predecessor, so every chained update must reach the inbox: a
// press whose data we never issued is answered with a notice at once and
// still passes through the inbox, as a no-op. The task that brought it then tries to take the
// user's lease lock; the holder drains the inbox in order (several quick text
// messages become one AI turn), releases the lock and looks again. A task that
// finds the lock taken simply returns: the holder drains. If a holder dies the
// lease expires, asynq re-runs its task, and the poller's sweeper enqueues a
// drain for any inbox left without a holder. So a user's history cell is only
// ever written by one worker at a time and answers leave in the order the
// messages came.
//
// # Idempotent effects
//
// asynq delivers at least once and a worker can die anywhere. Each unit of
// work records its finished steps in Redis (reply generated and its text,
// parts sent, card posted…) and the history cell carries a message id per
// line, so a re-run skips what was done: a user gets exactly one answer per
// message and the history never has a duplicate line. A unit that keeps
// failing is given up after a few attempts with an apology, so one poisoned
// message cannot block a user's inbox forever (an operator's reply given up
// is told to the operator in the group, never to the user).
//
// # Nothing lost at Telegram's limits
//
// Every text goes out through telegram.SendText (send.go): long ones in
// parts, each part a recorded step; the card trimmed with a marker. What the
// partner and the operator wrote is written to the history before it is
// relayed, so a relay Telegram refuses for good (telegram.Permanent) loses
// nothing: it is not retried, the history says it did not get through, and
// an operator whose reply did not reach the partner is told in a reply to
// their message. The model's answer comes with its finish reason
// (answer.go): one cut by the output cap ends at its last sentence with a
// note, an empty or refused one gets a defined reply and a history line.
// With Options.Stream the answer is streamed and shown as drafts while it
// is written (stream.go); the final message and the history are the same.
//
// # Seams and layout
//
// The chat works through small interfaces declared in seams.go (the store,
// the Telegram sender, the model, the task enqueuer, the authorization
// projection, the prompt, a clock) and takes its settings as Options of
// plain values; pkg/app plugs in the adapters and maps the configuration.
// Redis holds the chat's own state (inboxes, leases, steps, rate limits).
// The handlers (handlers.go) feed the inbox (inbox.go); a drain (drain.go)
// cuts it into units (unit.go, classify.go) and runs each: an AI turn
// (turn.go, prompt.go) whose write is pipelined (pipeline.go), a command,
// authorization (auth.go), escalation (escalate.go), operators' replies and
// buttons (operators.go) — in a forum operators' group through the
// partner's topic (topics.go, topics_resolve.go, topics_scan.go) — or media; sending is in send.go and the appeal row
// in appeal.go. The partner's rating after a resolution is rating.go, the
// support lead's numbers (the Статистика sheet, gauges, /stats) stats.go.
// The operators' desk: working hours — the away message, the waiting list,
// the AI meanwhile and the opening reminder (hours.go, hours_remind.go) —
// and canned answers (templates.go).
package chat
