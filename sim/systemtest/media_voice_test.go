package systemtest

import (
	"strings"
	"testing"
	"time"

	"marketingbot/pkg/domain"
	tgemu "marketingbot/sim/emulator/telegram"
	"marketingbot/sim/fixtures"
	"marketingbot/sim/world"
)

// Voice notes end to end, through telego and genai against the emulators:
// the bot downloads the note, one model call hears it and answers, the
// answer uses what was said, and the history keeps the transcript once; a
// spoken request for a person escalates with the transcript on the card
// and the original note forwarded.

const mediaWait = 30 * time.Second

// mediaMortgage is the knowledge entry the tests' media ask about.
var mediaMortgage = domain.KnowledgeEntry{Topic: "Партнёрская ипотека", Question: "ипотека ставка банк клиент",
	Answer: "Ставка по партнёрской ипотеке — от 5,9 % в банках-партнёрах сети."}

// mediaWorld is a running world with an authorized partner uid.
func mediaWorld(t *testing.T, uid int64, settings map[string]string) *world.Env {
	t.Helper()
	d := fixtures.Data{Knowledge: []domain.KnowledgeEntry{mediaMortgage,
		{Topic: "Комиссия", Question: "комиссия вознаграждение процент", Answer: "Комиссия партнёра — 3 % от сделки."}}}
	d.Partners = []domain.Partner{{Code: "P-0001", Phone: "+7 900 0000001", FullName: "Голосова Мария Ивановна", Status: "authorized", TelegramID: uid}}
	e := world.New(t, world.Options{Data: &d, Settings: settings})
	e.StartAll()
	e.AddUser(uid, "Мария", "")
	return e
}

func TestMediaVoiceNoteIsAnsweredFromWhatWasSaid(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	const uid = 9701
	e := mediaWorld(t, uid, nil)
	const said = "Подскажите, какая сейчас ставка по ипотеке для моего клиента?"
	sent := e.SendMedia(tgemu.MediaMessage{UserID: uid, Kind: "voice", Data: world.MediaVoice("rate"), Duration: 7}, said)

	answer := e.MediaWaitMessage(uid, sent.MessageID, mediaWait, "the bot's answer", func(m tgemu.TranscriptMessage) bool { return m.FromBot })
	if !strings.Contains(answer.Text, "от 5,9 %") || answer.ReplyToMessageID != sent.MessageID {
		t.Fatalf("the answer does not use what was said: %q (reply to %d)", answer.Text, answer.ReplyToMessageID)
	}
	h := e.WaitHistory(uid, mediaWait, func(h string) bool { return strings.Contains(h, "от 5,9 %") })
	if !strings.Contains(h, "[голосовое 0:07] "+said) {
		t.Fatalf("no transcript line in the history:\n%s", h)
	}
	if n := strings.Count(h, said); n != 1 {
		t.Fatalf("the transcript is %d times in the history:\n%s", n, h)
	}
	if getFiles, calls := e.MediaCalls("getFile"); getFiles != 1 || calls != 1 {
		t.Fatalf("%d getFile and %d generateContent calls for one voice note", getFiles, calls)
	}
	req, err := e.Gemini.Requests(gememuFilter())[0].GenerateRequest()
	if err != nil {
		t.Fatal(err)
	}
	last := req.Contents[len(req.Contents)-1]
	if len(last.Parts) != 2 || last.Parts[0].InlineData == nil || last.Parts[0].InlineData.MIMEType != "audio/ogg" ||
		req.GenerationConfig == nil || req.GenerationConfig.ResponseMIMEType != "application/json" {
		t.Fatalf("the note did not go inline with JSON output: %+v", req)
	}
}

func TestMediaVoiceNoteAskingForAPersonEscalates(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	const uid = 9702
	e := mediaWorld(t, uid, nil)
	const said = "Позовите, пожалуйста, оператора, хочу обсудить сделку"
	sent := e.SendMedia(tgemu.MediaMessage{UserID: uid, Kind: "voice", Data: world.MediaVoice("escalate"), Duration: 4}, said)

	e.WaitBotText(uid, sent.MessageID, "Передаю ваш вопрос оператору", mediaWait)
	card := e.MediaWaitMessage(e.OperatorsChat, 0, mediaWait, "the card", func(m tgemu.TranscriptMessage) bool {
		return m.FromBot && strings.Contains(m.Text, "Новое обращение")
	})
	if !strings.Contains(card.Text, "голосовое 0:04") || !strings.Contains(card.Text, said) {
		t.Fatalf("the card does not show the transcript: %q", card.Text)
	}
	e.MediaWaitMessage(e.OperatorsChat, card.MessageID, mediaWait, "the original voice note", func(m tgemu.TranscriptMessage) bool {
		return m.FromBot && m.Kind == "voice" && m.Media != nil && m.Media.Duration == 4
	})
	h := e.WaitHistory(uid, mediaWait, func(h string) bool {
		return strings.Contains(h, "Обращение передано оператору")
	})
	if !strings.Contains(h, "[голосовое 0:04] "+said) {
		t.Fatalf("history:\n%s", h)
	}
	// The partner got the escalation notice, not an AI answer.
	for _, m := range e.ChatMessages(uid, sent.MessageID) {
		if m.FromBot && !strings.Contains(m.Text, "оператор") {
			t.Fatalf("the partner got %q besides the escalation notice", m.Text)
		}
	}
}

func TestMediaVoiceNoteOfAnEscalatedPartnerIsRelayedWithItsTranscript(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	const uid = 9703
	e := mediaWorld(t, uid, nil)
	e.Send(uid, "Позовите оператора, пожалуйста")
	card := e.MediaWaitMessage(e.OperatorsChat, 0, mediaWait, "the card", func(m tgemu.TranscriptMessage) bool {
		return m.FromBot && strings.Contains(m.Text, "Новое обращение")
	})
	const said = "Объект на Тверской, пятый этаж, собственник готов к торгу"
	e.SendMedia(tgemu.MediaMessage{UserID: uid, Kind: "voice", Data: world.MediaVoice("relay"), Duration: 9}, said)
	note := e.MediaWaitMessage(e.OperatorsChat, card.MessageID, mediaWait, "the relay note", func(m tgemu.TranscriptMessage) bool {
		return m.FromBot && strings.Contains(m.Text, "прислал(а)")
	})
	if !strings.Contains(note.Text, "голосовое 0:09") || !strings.Contains(note.Text, said) {
		t.Fatalf("relay note %q", note.Text)
	}
	e.MediaWaitMessage(e.OperatorsChat, note.MessageID, mediaWait, "the original", func(m tgemu.TranscriptMessage) bool {
		return m.FromBot && m.Kind == "voice"
	})
	e.WaitHistory(uid, mediaWait, func(h string) bool { return strings.Contains(h, "[голосовое 0:09] "+said) })
}
