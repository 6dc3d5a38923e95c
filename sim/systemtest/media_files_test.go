package systemtest

import (
	"strings"
	"testing"

	gememu "marketingbot/sim/emulator/gemini"
	tgemu "marketingbot/sim/emulator/telegram"
	"marketingbot/sim/world"
)

// Photos and PDFs with captions end to end: answered from what the model
// sees, and the history says what was sent.

func gememuFilter() gememu.RequestFilter {
	return gememu.RequestFilter{Method: gememu.MethodGenerateContent}
}

func TestMediaPhotoAndPDFWithCaptions(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	const uid = 9711
	e := mediaWorld(t, uid, nil)

	const seen = "Скриншот одобрения ипотеки клиенту в банке-партнёре"
	photo := e.SendMedia(tgemu.MediaMessage{UserID: uid, Kind: "photo", Data: world.MediaJPEG(1000, 750, "approval"),
		Caption: "Что скажете о ставке?"}, seen)
	answer := e.MediaWaitMessage(uid, photo.MessageID, mediaWait, "the answer to the photo", func(m tgemu.TranscriptMessage) bool { return m.FromBot })
	if !strings.Contains(answer.Text, "от 5,9 %") {
		t.Fatalf("the answer does not use what the photo shows: %q", answer.Text)
	}
	e.WaitHistory(uid, mediaWait, func(h string) bool {
		return strings.Contains(h, "[фото] "+seen+"\n  Подпись: Что скажете о ставке?")
	})
	req, err := e.Gemini.Requests(gememuFilter())[0].GenerateRequest()
	if err != nil {
		t.Fatal(err)
	}
	if p := req.Contents[len(req.Contents)-1].Parts[0].InlineData; p == nil || p.MIMEType != "image/jpeg" {
		t.Fatalf("the photo did not go inline: %+v", req.Contents[len(req.Contents)-1])
	}

	const read = "Расчёт комиссии: вознаграждение и процент партнёра по договору"
	doc := e.SendMedia(tgemu.MediaMessage{UserID: uid, Kind: "document", Data: world.MediaPDF("agreement"), FileName: "договор.pdf",
		Caption: "Проверьте, пожалуйста"}, read)
	answer = e.MediaWaitMessage(uid, doc.MessageID, mediaWait, "the answer to the PDF", func(m tgemu.TranscriptMessage) bool { return m.FromBot })
	if !strings.Contains(answer.Text, "3 %") {
		t.Fatalf("the answer does not use what the PDF holds: %q", answer.Text)
	}
	h := e.WaitHistory(uid, mediaWait, func(h string) bool {
		return strings.Contains(h, "[документ договор.pdf] "+read+"\n  Подпись: Проверьте, пожалуйста")
	})
	if strings.Count(h, read) != 1 || strings.Count(h, seen) != 1 {
		t.Fatalf("a description is not exactly once in the history:\n%s", h)
	}
	if getFiles, calls := e.MediaCalls("getFile"); getFiles != 2 || calls != 2 {
		t.Fatalf("%d getFile and %d generateContent calls for two files", getFiles, calls)
	}
}
