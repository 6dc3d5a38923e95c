// Package web is the Telegram Mini App's frontend: plain HTML, CSS and
// JavaScript embedded in the binary, with no build step, no framework and no
// CDN, so the page works offline and in tests.
//
// FS holds index.html, app.css and app.js at its root (icons are inline SVG).
// The bot mounts it at /app/; the page finds the JSON API at ../api/v1/
// relative to its own script, so any mount point works as long as the API
// sits beside it. Handler serves FS with the headers the page needs in
// production: revalidation on every load (the files have fixed names, so a
// deploy must not hide behind caches) and a Content-Security-Policy that
// allows scripts only from the app itself and telegram.org.
//
// Contract with the API (package miniapp): every call carries
// "Authorization: tma <initData>", where initData comes from
// Telegram.WebApp.initData, or, when Telegram's script is absent (desktop
// browser, offline sandbox, tests), from the URL hash parameter
// tgWebAppData or the query parameter initData. The page calls GET config,
// GET me, POST analytics, GET analytics (polled every poll_interval_ms
// while a request is NEW or PROCESSING and the page is visible) and GET
// promotions, and links report_url as is (it must work without the
// header). Errors are {"error","message"[,"retry_after"]}; the page shows
// message to the user verbatim. A 401 or 403 replaces the page with an
// "open the app from the bot" screen.
//
// Screens are addressed by the query parameter screen
// (?screen=analytics|requests|promotions) or Telegram's start parameter, so
// links into the app need no hash, which belongs to Telegram.
package web
