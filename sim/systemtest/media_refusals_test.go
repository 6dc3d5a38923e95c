package systemtest

import (
	"bytes"
	"strings"
	"testing"

	gememu "marketingbot/sim/emulator/gemini"
	tgemu "marketingbot/sim/emulator/telegram"
	"marketingbot/sim/world"
)

// Files that cannot be taken in: an over-limit file, an unsupported type,
// a download that fails (the emulator's getFile answers 500), Gemini
// refusing the file (a PDF it cannot read; a safety stop) — each gets its
// defined reply, the history records what the partner sent, and the
// getFile and generateContent calls show nothing was retried beyond the
// bounded attempts.

func TestMediaRefusedFilesGetDefinedReplies(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	const uid = 9721
	e := mediaWorld(t, uid, map[string]string{"MARKETINGBOT_MEDIA_DOWNLOAD_ATTEMPTS": "3"})
	cases := []struct {
		name     string
		msg      tgemu.MediaMessage
		setup    func()
		reply    string // the beginning of the partner's answer
		line     string // in the history
		getFiles int    // getFile calls it makes
		calls    int    // generateContent calls it makes
	}{
		{"over the limit", tgemu.MediaMessage{Kind: "document", Data: bytes.Repeat([]byte("z"), 25<<20), FileName: "big.zip"}, nil,
			"Файл документ big.zip слишком большой (25 МБ)", "[документ big.zip, 25 МБ — не принят: больше 20 МБ]", 0, 0},
		{"unsupported type", tgemu.MediaMessage{Kind: "document", Data: []byte("PK\x03\x04 archive"), FileName: "фото.zip"}, nil,
			"Файлы такого типа (ZIP) я не читаю", "[документ фото.zip, 1 КБ — не принят: тип ZIP не поддерживается]", 0, 0},
		{"download failure", tgemu.MediaMessage{Kind: "voice", Data: world.MediaVoice("fails"), Duration: 3}, func() {
			if err := e.Telegram.AddFault(tgemu.Fault{Method: "getFile", Status: 500, Count: -1}); err != nil {
				t.Fatal(err)
			}
		}, "Не получилось получить ваш файл из Telegram", "[голосовое 0:03, 1 КБ — не принят: не удалось скачать из Telegram]", 3, 0},
		{"Gemini cannot read it", tgemu.MediaMessage{Kind: "document", Data: []byte("this is not a PDF"), FileName: "скан.pdf"}, func() {
			e.Telegram.ClearFaults()
		}, "Не получилось разобрать этот файл", "[документ скан.pdf, 1 КБ — не принят: ИИ не принял файл (The document has no pages.)]", 1, 1},
		{"Gemini refuses it", tgemu.MediaMessage{Kind: "voice", Data: world.MediaVoice("unsafe"), Duration: 2}, func() {
			if _, err := e.Gemini.AddOutcome(gememu.Outcome{FinishReason: "SAFETY", Count: 1}); err != nil {
				t.Fatal(err)
			}
		}, "Не получилось разобрать этот файл", "[голосовое 0:02, 1 КБ — не принят: ИИ отказался разбирать файл (SAFETY)]", 1, 1},
	}
	for _, tc := range cases {
		if tc.setup != nil {
			tc.setup()
		}
		getFiles, calls := e.MediaCalls("getFile")
		tc.msg.UserID = uid
		sent := e.SendMedia(tc.msg, "")
		answer := e.MediaWaitMessage(uid, sent.MessageID, mediaWait, tc.name+": the reply", func(m tgemu.TranscriptMessage) bool { return m.FromBot })
		if !strings.HasPrefix(answer.Text, tc.reply) {
			t.Fatalf("%s: reply %q, want %q…", tc.name, answer.Text, tc.reply)
		}
		e.WaitHistory(uid, mediaWait, func(h string) bool { return strings.Contains(h, tc.line) })
		g, c := e.MediaCalls("getFile")
		if g-getFiles != tc.getFiles || c-calls != tc.calls {
			t.Fatalf("%s: %d getFile and %d generateContent calls, want %d and %d", tc.name, g-getFiles, c-calls, tc.getFiles, tc.calls)
		}
	}
	// Nothing is tried again later: the counts stay, and the inbox moves on.
	g, c := e.MediaCalls("getFile")
	e.Send(uid, "Спасибо, а какая комиссия?")
	e.WaitBotText(uid, 0, "Комиссия партнёра — 3 % от сделки.", mediaWait)
	if g2, c2 := e.MediaCalls("getFile"); g2 != g || c2 != c+1 {
		t.Fatalf("after the refusals: getFile %d → %d, generateContent %d → %d", g, g2, c, c2)
	}
}
