// Package systemtest holds the whole-system tests of the features (its
// _test.go files; the package itself is empty): each test builds a world
// with sim/world — a private redis-server, the Telegram, Sheets and Gemini
// emulators and the roles wired by pkg/app — and drives it from the
// outside the way partners, operators and Google would. They show what only
// the whole system can show (the real client libraries on the wire, the
// roles together, processes killed); the logic of each feature is tested in
// its own package with fakes. Every test here skips itself under -short.
//
// Files are named by feature: chat_*, intake_*, miniapp_*, promo_*,
// reports_*, sheets_*.
package systemtest
