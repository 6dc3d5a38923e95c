// Package intake turns Telegram updates into tasks on the bus without ever
// losing one. It is all cmd/bot does with updates: classify, enqueue, confirm.
//
// Long polling: telego's UpdatesViaLongPolling confirms an update as soon as
// it has been read into its channel, which loses updates when Redis is down
// or the process dies. LongPoll is our own loop on getUpdates that advances the
// offset only past updates that were enqueued or are already known (the task
// id is the update id, so a re-delivered update is recognised by asynq's
// ErrTaskIDConflict). While Redis is unreachable it keeps the fetched batch,
// retries with backoff and reports not-ready; nothing is confirmed, so even a
// crash in that state loses nothing: Telegram hands the updates out again.
//
// Webhook: Webhook answers 200 only after the enqueue succeeded and 500
// otherwise, so Telegram retries; the secret header is compared in constant
// time and a wrong or missing one gets 401 with nothing enqueued.
package intake
