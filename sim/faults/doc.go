// Package faults holds the system's fault tests (its _test.go files; the
// package itself is empty). Each test starts a world of its own — a private
// redis-server, the Telegram, Sheets and Gemini emulators — runs bot, worker
// and poller as separate OS processes built from cmd/, drives a few dozen
// authorized users writing to the bot, injects one fault (kill -9 of a
// worker, Redis stopped and restarted, a Sheets or Gemini error storm, a bot
// restart, Telegram delivering updates twice, SIGTERM of every role) and then
// checks the delivery guarantees of docs/ARCHITECTURE.md §4 from the outside: every user
// message is answered exactly once, answers come in the order the messages
// were sent, and the Appeals sheet holds every user line exactly once with
// its answer right after it. Recovery figures (time from the end of the
// fault to the first and the last answer, messages delayed) are logged with
// t.Logf. The tests take about a minute each and are skipped with -short.
package faults
