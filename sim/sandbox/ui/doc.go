// Package ui is the sandbox's web page: a Telegram-like client in which a
// person plays a partner (chat with the bot, share a contact, press
// buttons, open the Mini App), answers as an operator in the operators'
// group, and watches the spreadsheet, the Sheets quota and the Gemini log.
// It is plain HTML, CSS and JavaScript embedded in FS: no build step, no
// framework, nothing from the network.
//
// # Contract with the sandbox
//
// The sandbox serves FS at "/" (or any prefix) and, next to index.html,
// endpoints.json with the shape of Endpoints; NewHandler does both and adds
// a Content-Security-Policy that allows only the page's own script. The
// page talks to nothing but the URLs in endpoints.json:
//
//   - telegram_control: the Telegram emulator's control API (see
//     marketingbot/sim/emulator/telegram): users, groups, send, updates,
//     contact, edit, press, callbacks/{id}, group_send, block, chats/{id}
//     (long poll with ?after=&wait=25 plus a full read every 2 s for edits
//     and chat_action, every 400 ms while the bot types or streams a
//     draft), chats/{id}/topics, files, send_media, initdata, bot,
//     menu_button, commands, stats.
//     The emulator's file URLs are re-rooted on telegram_control, so a
//     mount prefix survives.
//   - sheets_control: GET spreadsheets/{spreadsheet_id} (the partner list
//     from sheet_titles.auth — A code, B phone, C full name, D status,
//     E Telegram ID; rows whose B is not a phone, such as the header, are
//     skipped — and the spreadsheet view, refreshed every 2 s while shown),
//     spreadsheets/{id}/xlsx (download link), stats.
//   - gemini_control: requests?limit=20 (optional); POST media registers
//     what a file of the person's own holds (by its SHA-256).
//   - admin_queues, metrics.*, mini_app: links (optional).
//
// The control APIs must answer CORS requests from the page's origin; the
// emulators do.
//
// With operators_forum the page creates the operators' group as a forum
// and shows its topics (see below); without it, a plain group.
// demo/media.json (DemoMedia, served by NewHandler) lists the demo files
// of the attach menu; the sandbox registers their content with the Gemini
// emulator at start.
//
// The bot's draft (sendMessageDraft, the transcript's "draft") is shown
// under the last message until the message that replaced it arrives; a
// draft some message already replaced is never shown again.
//
// A partner's simulated Telegram user has the id of the Auth sheet's
// Telegram ID column (found by its header, as the bot finds it), or else
// 7000000000 + the last nine digits of the normalized phone, and that phone,
// so "share contact" sends it. The choice is kept in localStorage.
//
// Mini App frames open at the button's URL with
// #tgWebAppData=<initData from the emulator>&tgWebAppVersion=7.0&tgWebAppThemeParams=<JSON>,
// and the overlay speaks Telegram's iframe bridge (postMessage with
// {"eventType","eventData"} JSON): main and back buttons, close, open_link,
// popups, theme and viewport requests.
//
// Bot text with parse_mode HTML is rebuilt from DOM nodes by an allowlist
// renderer (b, strong, i, em, u, ins, s, strike, del, a with an http, https
// or tg href, code, pre, blockquote, tg-spoiler and span.tg-spoiler,
// tg-emoji, br); everything else stays visible as literal text. Nothing from
// a message is ever assigned to innerHTML. ui.js exports the renderer
// (renderTelegramHTML) and the partner id rules (normalizePhone,
// userIdForPhone) for the package's browser test; they are not an API.
//
// # Test ids
//
// Elements a browser test needs carry data-testid attributes. Those listed
// here are a contract for the end-to-end test; renaming one is a breaking
// change. Other data-testid values in the page are internal.
//
// Page: connection-status (banner, shown while an emulator is unreachable),
// toasts > toast (answers to callback queries, errors), fatal (no
// endpoints.json). html[data-ready="true"] once start-up finished.
//
// Partner's phone (left):
//
//	partner-picker                 button opening the picker
//	partner-list                   the picker
//	partner-option                 one per Auth row; data-phone (normalized digits),
//	                               data-code, data-user-id
//	custom-user-option             users created here; data-phone, data-user-id
//	new-user-name, new-user-phone, new-user-create, new-user-error
//	current-user, current-user-sub the chosen user
//	block-toggle                   data-blocked="true|false"; blocked-banner
//	bot-name, typing               typing is visible while the bot's chat_action lasts
//	chat-transcript                the private chat
//	start-button                   in an empty private chat: sends /start, like
//	                               Telegram's START button
//	message                        a message (in both transcripts): data-message-id,
//	                               data-from-bot="true|false", data-kind
//	message-text, reply-quote (data-reply-to), photo, document (href to the file,
//	data-file-name), document-name, document-size, contact-card
//	inline-keyboard, inline-button data-kind="callback|url|web_app|copy|unsupported",
//	                               data-callback-data, data-message-id
//	edit-message-button, edit-bar, edit-cancel   editing one's own text message
//	reply-keyboard                 data-message-id of the bot message that set it
//	reply-button                   data-request-contact="true" on a contact button
//	keyboard-toggle                shows or hides the reply keyboard
//	message-input, send-button     Enter sends, Shift+Enter is a new line
//	menu-button                    data-kind="web_app|commands"; commands-menu > command-option
//	attach-button, attach-menu, attach-photo, attach-sticker, attach-location,
//	attach-voice, attach-contact, attach-foreign-contact
//	attach-document                the demo PDF; attach-voice and attach-photo send
//	                               the demo voice note and photo (DemoMedia)
//	attach-file, attach-file-input a file of one's own (JPEG/PNG as a photo, Ogg as a
//	                               voice note, other audio as audio, else a document)
//	attach-content                 what that file holds, registered with Gemini
//	draft, draft-text              the bot's draft while an answer streams;
//	                               data-draft-id, data-updates
//	voice-player                   an audio element in a voice or audio message
//
// Mini App: miniapp-overlay, miniapp-frame (the iframe), miniapp-title,
// miniapp-close, miniapp-back-button, miniapp-main-button, miniapp-popup,
// miniapp-popup-title, miniapp-popup-message, miniapp-popup-button.
//
// Operators' group (middle): group-title, group-badge (bot messages not yet
// looked at), operator-name, group-typing, group-transcript (with message
// elements as above), group-reply-button (one per message, data-message-id),
// group-reply-target (data-message-id), group-reply-target-text,
// group-reply-cancel, group-input, group-send-button. In a forum:
// topic-list (hidden otherwise) > topic-item (data-thread-id, 0 for «Все
// сообщения»; data-closed="true|false"; aria-selected="true" on the topic
// shown and written to) with topic-name and topic-badge (bot messages not
// looked at); group messages in a topic carry data-thread-id and, in «Все
// сообщения», message-topic (the topic's name).
//
// Spreadsheet and system (right): sheet-tabs > sheet-tab (data-sheet =
// title), system-tab, sheet-pane, sheet-name, sheet-info, sheet-updated,
// xlsx-link, sheet-view > sheet-table (data-sheet) with cells td[data-cell="A1"]
// (class "changed" for 2.5 s after a change, "long" cells expand on click),
// system-panel, link-admin-queues, link-metrics-bot, link-metrics-worker,
// link-metrics-poller, link-mini-app, sheets-stats (sheets-reads,
// sheets-writes, sheets-max-reads, sheets-max-writes, sheets-429,
// sheets-5xx), telegram-stats (telegram-calls, telegram-sends,
// telegram-429), gemini-log > gemini-entry (gemini-prompt, gemini-answer).
package ui
