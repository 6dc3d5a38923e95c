// Package telegram emulates the Telegram Bot API for tests, load runs and
// the sandbox, so that the real client library (telego, unmodified) talks
// to something that answers like Telegram, and a control API plays the
// users.
//
// # Bot API
//
// POST (or GET) /bot<token>/<method>, parameters as JSON,
// application/x-www-form-urlencoded, multipart/form-data (file uploads) or
// the query string. Answers use Telegram's envelope:
//
//	{"ok":true,"result":…}
//	{"ok":false,"error_code":400,"description":"Bad Request: …","parameters":{"retry_after":N}}
//
// A wrong token answers 401 "Unauthorized", an unknown method 404 "Not
// Found"; method names are case-insensitive. Methods: getMe, getUpdates,
// setWebhook, deleteWebhook, getWebhookInfo, sendMessage, sendDocument,
// sendPhoto, copyMessage, forwardMessage, editMessageText,
// editMessageReplyMarkup, deleteMessage, sendChatAction,
// answerCallbackQuery, getFile, setMyCommands, getMyCommands,
// deleteMyCommands, setChatMenuButton, getChatMenuButton, getChat, and the
// forum topics: createForumTopic, editForumTopic, closeForumTopic,
// reopenForumTopic, deleteForumTopic (forum.go). Files download
// from GET /file/bot<token>/<file_path> as in Telegram.
//
// Behaviour follows Telegram where a bot can tell the difference:
//   - getUpdates long-polls (timeout capped by Options.MaxLongPoll); offset
//     confirms updates below it, a negative offset keeps the last -offset;
//     allowed_updates persists between calls as in Telegram. A second
//     getUpdates ends a waiting one with 409 "Conflict: terminated by other
//     getUpdates request; …"; with a webhook set getUpdates answers 409
//     "Conflict: can't use getUpdates method while webhook is active; …".
//   - setWebhook (url, secret_token, drop_pending_updates, allowed_updates):
//     updates are POSTed one at a time, in order, with header
//     X-Telegram-Bot-Api-Secret-Token; any non-2xx answer or connection
//     error is retried with exponential backoff (Options.WebhookBackoffMin
//     to WebhookBackoffMax) and shows in getWebhookInfo's last_error_date
//     and last_error_message. A JSON method call in the webhook's answer
//     ({"method":"sendMessage",…}) is executed. http:// URLs are accepted.
//   - Text is 1–4096 and captions 0–1024 units after entity parsing,
//     counted in UTF-16 code units (the unit of entity offsets; it never
//     undercounts what Telegram counts): "message text is empty",
//     "message is too long", "message caption is too long" (sendMessage,
//     editMessageText, sendPhoto, sendDocument, copyMessage's caption). A
//     callback notification (answerCallbackQuery's text) is 0–200 units:
//     "MESSAGE_TOO_LONG".
//   - parse_mode HTML is parsed as Telegram does (see ValidateHTML); the
//     returned Message has the visible text and its entities. Markdown and
//     MarkdownV2 are accepted without validation and stored unparsed.
//     Explicit entities win over parse_mode.
//   - reply_parameters and the legacy reply_to_message_id: a missing
//     message is "message to be replied not found" unless
//     allow_sending_without_reply. reply_markup is stored as sent; inline
//     buttons need exactly one action and 1–64 bytes of callback_data
//     ("BUTTON_DATA_INVALID"); only inline keyboards are echoed in Message.
//   - sendMessageDraft (Bot API 9.3, draft.go) streams a partial message:
//     private chats only ("TEXTDRAFT_PEER_INVALID"), a non-zero draft_id,
//     text validated like sendMessage's, counted by the flood limits like a
//     message; the draft shows in the transcript until the bot's next
//     message in the chat replaces it (or 30 s pass without an update).
//   - Unknown chat → 400 "chat not found"; a user who blocked the bot → 403
//     "Forbidden: bot was blocked by the user" for every method aimed at
//     that chat; "message to edit not found", "message to delete not
//     found", "message to copy not found", "message is not modified: …".
//     editMessageText without reply_markup removes the inline keyboard.
//   - Flood limits (Options.FloodLimits, on by default) are token buckets
//     over sendMessage, sendDocument, sendPhoto, copyMessage and
//     forwardMessage: global 30/s burst 30, per private chat 1/s burst 3,
//     per group 20/min burst 20. Over a limit → 429 "Too Many Requests:
//     retry after N" with parameters.retry_after = whole seconds (>= 1)
//     until a token is available; rejected calls consume nothing.
//   - Forum supergroups (a group put with is_forum; getChat says so):
//     topics are created, edited, closed, reopened and deleted by the bot
//     (or by a person through the control API); a topic's id is the
//     message_id of its forum_topic_created service message. Sends
//     (sendMessage, sendDocument, sendPhoto, copyMessage, forwardMessage)
//     take message_thread_id; a reply without one goes to the replied-to
//     message's topic. Messages in a topic carry message_thread_id,
//     is_topic_message and (replying to nothing) the creation message as
//     reply_to_message. Errors: "the chat is not a forum",
//     "TOPIC_TITLE_EMPTY", "TOPIC_ID_INVALID", "TOPIC_NOT_MODIFIED",
//     "message thread not found" (a deleted topic, or 1), "TOPIC_CLOSED"
//     (the bot writing in a closed topic). See forum.go.
//   - Documents and photos sent by URL are recorded, never fetched (tests
//     stay offline); their download redirects to the URL. Uploaded photos
//     must decode as GIF, JPEG or PNG ("IMAGE_PROCESS_FAILED").
//   - getFile refuses files over the 20 MB bot download limit ("Bad
//     Request: file is too big"). Users' voice notes, audio, video notes,
//     photos (with Telegram's sizes: JPEG downscales to 90, 320, 800, 1280,
//     2560 px, the uploaded bytes as the largest) and documents carry real
//     bytes (media.go); copyMessage and forwardMessage copy them.
//
// Deliberately not emulated: inline mode, payments, channels, business
// connections, privacy mode in groups (the bot sees every group message),
// "bot can't initiate conversation" for users who never wrote.
//
// # Control API
//
// Everything under /_emulator/ speaks JSON and sends permissive CORS
// headers (the sandbox page calls it from a browser). Errors are
// {"error":"…"} with 400 (bad request, including unknown JSON fields) or
// 404 (unknown user, chat, message, file). Every path has a Go method on
// Server with the same effect.
//
//	POST /_emulator/users        {"id","first_name","last_name","username","phone","language_code"}
//	                             or an array of them → the user(s). Creates or updates; absent fields
//	                             keep their value. The private chat id is the user id.     PutUsers
//	GET  /_emulator/users        → [user…] with "blocked"                                   Users
//	POST /_emulator/groups       {"id" (negative),"title","is_forum","username"} → chat. A forum or an
//	                             id below -1000000000000 is a supergroup.                  PutGroup
//	GET  /_emulator/groups       → [chat…]                                                  Groups
//	POST /_emulator/send         {"user_id","text"} → {"update_id","message_id"}. A leading /command
//	                             gets a bot_command entity. A blocking user unblocks first. SendText
//	POST /_emulator/updates      any Update object without update_id → {"update_id","message_id"}.
//	                             In message-like updates message_id and date are filled in, chat
//	                             defaults to the sender's private chat, from to the chat's user; the
//	                             message joins the transcript if the chat is known. An
//	                             injected callback_query (any data) can be answered; give
//	                             it an "id" to read the answer from /_emulator/callbacks.  InjectUpdate
//	POST /_emulator/contact      {"user_id","phone","contact_user_id"} → {"update_id","message_id"}.
//	                             contact_user_id defaults to user_id; 0 or another id is someone
//	                             else's card. phone defaults to that user's phone.          ShareContact
//	POST /_emulator/edit         {"user_id","message_id","text"} → edited_message update.   EditText
//	POST /_emulator/press        {"user_id","chat_id","message_id","data"} → {"update_id",
//	                             "callback_query_id"}; chat_id defaults to user_id; the bot message
//	                             must have an inline button with that callback_data.       Press
//	GET  /_emulator/callbacks/{id} → {"id","user_id","chat_id","message_id","data","answered","text",
//	                             "show_alert","url"}: the press and the bot's answer.        Callback
//	POST /_emulator/group_send   {"chat_id","user_id","text","reply_to_message_id","message_thread_id"}
//	                             → {"update_id","message_id"}; a reply embeds the whole replied-to
//	                             message in reply_to_message. In a forum message_thread_id is a
//	                             topic (404 if missing or deleted; a person may write in a closed
//	                             one); a reply without it goes to the replied-to message's topic. GroupSend
//	POST /_emulator/topics       {"chat_id","message_thread_id","user_id","action"}: a person closes,
//	                             reopens or deletes a forum topic by hand → {"update_id","message_id"}
//	                             of the service message the bot gets (none for delete).    ActOnTopic
//	GET  /_emulator/chats/{chat_id}/topics → [{"message_thread_id","name","icon_color",
//	                             "icon_custom_emoji_id","closed","deleted"}]                Topics
//	POST /_emulator/block        {"user_id","blocked"} → {"update_id"} of the my_chat_member update
//	                             (member → kicked or back); 0 if nothing changed.          SetBlocked
//	GET  /_emulator/chats/{chat_id}[?after=<message_id>][&wait=<seconds>][&thread=<id>]
//	                             → {"chat","messages":[…],"chat_action":{"action","until"}}, both
//	                             directions in message_id order. A message: "message_id","kind",
//	                             "from_bot","from","text" (visible text),"raw_text" (as sent with
//	                             parse_mode),"caption","raw_caption","parse_mode","entities",
//	                             "caption_entities","reply_markup" (any keyboard, as sent),
//	                             "document"/"photo" {"file_id","file_name","mime_type","size",
//	                             "width","height","url"},"contact","forward_origin","date",
//	                             "edit_date","reply_to_message_id","message_thread_id","deleted",
//	                             "sent_at" (emulator time, ns), "draft" (the bot's draft this message
//	                             replaced). The chat's "draft" is the bot's live draft: "draft_id",
//	                             "text","raw_text","parse_mode","entities","since","updated","updates".
//	                             after returns only newer messages (edits show in a full read);
//	                             wait (≤ 60) blocks until there is one. chat_action is the last
//	                             sendChatAction for 5 s, ended by a bot message. thread keeps one
//	                             forum topic's messages (no wait).    Transcript, WaitTranscript, TopicTranscript
//	GET  /_emulator/files/{file_id} → the file bytes (a redirect for files sent by URL).
//	POST /_emulator/files        multipart field "file", or a raw body with ?name= and Content-Type
//	                             → {"file_id","file_unique_id","file_path","file_name","mime_type",
//	                             "file_size","width","height","url"}: a file to use in injected
//	                             updates; images become photos.                             PutFile
//	POST /_emulator/send_media   {"user_id","kind" (voice|audio|video_note|photo|document),"data" (base64),
//	                             "file_name","mime_type","duration","caption"} → {"update_id","message_id",
//	                             "files":[file…]}: a user's file with its bytes; files lists what the
//	                             message carries (a photo's sizes, smallest first).          SendMedia
//	GET  /_emulator/initdata?user_id=N[&auth_date=unix][&start_param=x] → {"init_data"}: Mini App
//	                             initData signed with the bot token like Telegram.WebApp.initData
//	                             (query_id, user, auth_date, start_param, hash).            InitData
//	POST /_emulator/faults       {"method","status","description","retry_after","count"}: the next
//	                             count calls of method ("*" = any) fail with that status; count 0
//	                             means 1, negative means until cleared; description defaults to
//	                             Telegram's wording, 429 gets parameters.retry_after.       AddFault
//	GET  /_emulator/faults       → the armed faults.                                         Faults
//	DELETE /_emulator/faults     disarms all.                                                ClearFaults
//	GET  /_emulator/calls[?method=x] → [{"method","params","time","status","description"}], the last
//	                             10,000 Bot API calls, oldest first; params are strings, JSON for
//	                             object parameters, {"upload","size","content_type"} for files. Calls
//	GET  /_emulator/stats        → {"calls","sends","http_429","by_method":{…},"status_counts":{"200":N,…}};
//	                             sends counts successful message-sending calls.            Stats
//	GET  /_emulator/flood_limits → the limits in force.                                      FloodLimits
//	POST /_emulator/flood_limits {"enabled","global_rate","global_burst","chat_rate","chat_burst",
//	                             "group_per_minute","group_burst"} → the limits in force.  SetFloodLimits
//	POST /_emulator/redeliver    {"from_update_id"} → {"redelivered":N}: confirmed updates with
//	                             update_id ≥ from are delivered again, same id and content (the last
//	                             10,000 confirmed are kept). They reach the bot even though its
//	                             offset is past them, once.                                Redeliver
//	POST /_emulator/reset        forgets users, chats, files, updates, webhook, commands, menu buttons,
//	                             faults, calls and stats; update_id keeps increasing.       Reset
//	GET  /_emulator/bot          → {"id","username","first_name","token_hint"}               Bot
//	GET  /_emulator/menu_button  → {"default":{…},"chats":{"<chat_id>":{…}}}                 MenuButtons
//	GET  /_emulator/commands     → [{"scope","language_code","commands"}]                    Commands
//
// Times in emulator-only fields (calls' "time", chat_action's "until") are
// RFC 3339; Telegram fields ("date", "edit_date") are Unix seconds.
//
// # Persistence
//
// Snapshot returns the State a person expects to find again after a
// restart, and Restore puts one back: users (phones, blocked flags),
// groups with their forum topics, every transcript with all message fields, edits, deletions and
// reply markups, stored files, the updates the bot has not confirmed (it
// fetches them after the restart, with their original update_id), callback
// queries, commands, menu buttons, the webhook and allowed_updates, and the
// update_id, message_id and callback id counters, so that ids keep
// increasing. Not kept: the calls log, stats, faults and flood buckets
// (they start fresh), chat actions, webhook delivery errors, and the
// confirmed updates Redeliver draws on. File bytes are kept for the newest
// files up to 20 MB in total; older files beyond that are dropped with
// their bytes (their messages stay, without a download URL; getFile says
// "wrong file_id") and State.FilesDropped counts them.
//
// SaveFile writes the State as JSON (file bytes base64), atomically (a
// temporary file in the same directory, fsync, rename), mode 0600 since it
// holds phone numbers and the webhook's secret token. LoadFile reads it: a
// missing file is nothing to restore, an unusable one an error wrapping
// ErrCorruptState that leaves the Server unchanged. State.Version guards
// the layout; another version is refused, not guessed at.
//
// For a process that restarts (the sandbox) NewWithState does all of it:
//
//	srv, err := telegram.NewWithState(telegram.Options{StatePath: filepath.Join(dataDir, "telegram.json")})
//	if err != nil { … } // a corrupt file is reported, never silently replaced
//	defer srv.Close()   // saves a last time
//
// It loads StatePath, saves about StateSaveDelay (1 s) after each change,
// and saves on Close (Flush reports the error of that final save). New
// panics when given a StatePath, since it has no way to report a file it
// cannot load.
//
// A Server is safe for concurrent use. State sits behind one mutex that is
// never held during network I/O or file writes; the calls log and the
// flood buckets have their own locks. Snapshot holds the mutex only to copy
// message structs and references to bytes the Server never modifies; the
// JSON encoding and the write happen after it is released.
package telegram
