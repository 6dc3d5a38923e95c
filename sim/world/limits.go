package world

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"

	tgemu "marketingbot/sim/emulator/telegram"
)

// Helpers of the whole-system tests of Telegram's limits and of the AI's
// unusual answers (sim/systemtest/limits_*_test.go).

// LimitsText is a text of exactly n UTF-16 code units (the unit Telegram
// counts): Cyrillic sentences with emoji (two units each), characters that
// HTML must escape (<, >, &) and paragraph breaks. seed varies the words so
// that two texts are told apart.
func LimitsText(n int, seed string) string {
	words := []string{seed, "Партнёр", "получает", "комиссию", "😀", "за", "сделку", "<b>не", "тег</b>", "&", "👍🏽", "в", "срок."}
	var b strings.Builder
	units := 0
	for i := 0; ; i++ {
		w, sep := words[i%len(words)], " "
		if i%37 == 36 {
			sep = "\n\n"
		}
		add := UTF16Len(w) + UTF16Len(sep)
		if units+add > n {
			break
		}
		b.WriteString(w)
		b.WriteString(sep)
		units += add
	}
	for ; units < n; units++ {
		b.WriteString("я")
	}
	return b.String()
}

// UTF16Len is the length of s as Telegram counts it.
func UTF16Len(s string) int { return len(utf16.Encode([]rune(s))) }

// NoSpace drops whitespace: parts of a split text lose the whitespace at
// their cuts, so texts are compared without it.
func NoSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

// AppealHistory returns the history cells of uid's appeal rows, joined,
// finding the columns by their headers ("Telegram ID", "текст_обращений").
func (e *Env) AppealHistory(uid int64) string {
	e.T.Helper()
	rows := e.Sheet("Обращения")
	if len(rows) == 0 {
		return ""
	}
	idCol, textCol := -1, -1
	for i, h := range rows[0] {
		switch strings.TrimSpace(fmt.Sprint(h)) {
		case "Telegram ID":
			idCol = i
		case "текст_обращений":
			textCol = i
		}
	}
	if idCol < 0 || textCol < 0 {
		e.T.Fatalf("Обращения: no Telegram ID or текст_обращений header in %v", rows[0])
	}
	var cells []string
	for _, r := range rows[1:] {
		if Cell([][]any{r}, 0, idCol) == fmt.Sprint(uid) {
			cells = append(cells, Cell([][]any{r}, 0, textCol))
		}
	}
	return strings.Join(cells, "\n")
}

// WaitHistory waits until uid's appeal history satisfies ok, and returns it.
func (e *Env) WaitHistory(uid int64, timeout time.Duration, ok func(history string) bool) string {
	e.T.Helper()
	deadline := time.Now().Add(timeout)
	for {
		h := e.AppealHistory(uid)
		if ok(h) {
			return h
		}
		if time.Now().After(deadline) {
			e.T.Fatalf("appeal history of %d after %s does not have what the test waits for (%d characters):\n%s", uid, timeout, len(h), Clip(h, 600))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ChatMessages returns the messages of a chat after message id after
// (both directions, in order).
func (e *Env) ChatMessages(chatID, after int64) []tgemu.TranscriptMessage {
	e.T.Helper()
	tr, err := e.Telegram.Transcript(chatID, after)
	if err != nil {
		e.T.Fatal(err)
	}
	return tr.Messages
}

// WaitBotText waits until the bot's messages in chatID after message id
// after, read in order, contain want (compared without whitespace), and
// returns those messages.
func (e *Env) WaitBotText(chatID, after int64, want string, timeout time.Duration) []tgemu.TranscriptMessage {
	e.T.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var bot []tgemu.TranscriptMessage
		for _, m := range e.ChatMessages(chatID, after) {
			if m.FromBot {
				bot = append(bot, m)
			}
		}
		if strings.Contains(NoSpace(Visible(bot)), NoSpace(want)) {
			return bot
		}
		if time.Now().After(deadline) {
			e.T.Fatalf("chat %d: after %s the bot's %d messages do not carry the %d-unit text (they hold %d units):%s",
				chatID, timeout, len(bot), UTF16Len(want), UTF16Len(Visible(bot)), texts(bot))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Visible is what a reader sees of messages, in order: texts and captions.
func Visible(ms []tgemu.TranscriptMessage) string {
	var b strings.Builder
	for _, m := range ms {
		b.WriteString(m.Caption)
		b.WriteString(m.Text)
	}
	return b.String()
}

// Clip shortens s for a failure message.
func Clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n/2]) + " … " + string(r[len(r)-n/2:])
}
