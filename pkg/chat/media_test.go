package chat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mymmrac/telego"

	"marketingbot/pkg/ai"
	"marketingbot/pkg/domain"
	"marketingbot/pkg/history"
	"marketingbot/pkg/tasks"
	"marketingbot/pkg/telegram"
)

var _ Downloader = (*fakeFiles)(nil)

// fakeFiles is Telegram's file storage: the bytes of each file_id.
type fakeFiles struct {
	mu    sync.Mutex
	files map[string][]byte
	calls []string
	// Optional: an error instead of the file.
	DownloadFn func(fileID string) error
}

func (f *fakeFiles) Download(_ context.Context, fileID string, known, maxBytes int64) (telegram.File, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fileID)
	if f.DownloadFn != nil {
		if err := f.DownloadFn(fileID); err != nil {
			return telegram.File{}, err
		}
	}
	data, ok := f.files[fileID]
	switch {
	case !ok:
		return telegram.File{}, fmt.Errorf("%w: no %s", telegram.ErrFileGone, fileID)
	case known > maxBytes || int64(len(data)) > maxBytes:
		return telegram.File{}, telegram.ErrFileTooBig
	}
	return telegram.File{Data: data, Path: "x/" + fileID}, nil
}

func (f *fakeFiles) downloads() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func mediaOptions() MediaOptions {
	return MediaOptions{Enabled: true, MaxBytes: 20 << 20, MaxDuration: 10 * time.Minute, MaxPhotoSide: 1600,
		MaxOutputTokens: 8192, KnowledgeChars: 20000, TranscribeEscalated: true}
}

// mediaBench is an authorized partner with media switched on and the
// files of the tests: "voice1" (a voice note), "photo-l" (the 1280 px size
// of a photo), "doc1" (a PDF).
func mediaBench(t *testing.T) (*bench, *fakeFiles) {
	b := authorizedBench(t, func(o *Options) { o.Media = mediaOptions() })
	files := &fakeFiles{files: map[string][]byte{"voice1": []byte("OggS voice"), "photo-l": []byte("jpeg 1280"),
		"photo-s": []byte("jpeg 90"), "photo-xl": []byte("jpeg 2560"), "doc1": []byte("%PDF-1.4 contract")}}
	b.s.d.Files = files
	return b, files
}

// jsonAnswer makes the model answer with structured output.
func jsonAnswer(b *bench, text string) {
	b.gen.AnswerFn = func(ai.Request) (ai.Answer, error) { return ai.Answer{Text: text, FinishReason: "STOP"}, nil }
}

const voice42 = `"voice":{"file_id":"voice1","file_unique_id":"uv","duration":42,"mime_type":"audio/ogg","file_size":10}`

func TestMediaVoiceNoteIsAnsweredAndItsTranscriptKept(t *testing.T) {
	b, files := mediaBench(t)
	jsonAnswer(b, `{"transcript":"Какая комиссия партнёра по ипотеке?","answer":"Комиссия 3 % от сделки."}`)
	b.handle(b.media(partnerUID, tasks.KindMedia, voice42))

	reqs := b.gen.calls()
	if len(reqs) != 1 || files.downloads() != 1 {
		t.Fatalf("%d model calls, %d downloads: want one of each", len(reqs), files.downloads())
	}
	last := reqs[0].Turns[len(reqs[0].Turns)-1]
	if len(last.Media) != 1 || last.Media[0].MIMEType != "audio/ogg" || !bytes.Equal(last.Media[0].Data, []byte("OggS voice")) {
		t.Fatalf("the voice note did not go inline: %+v", last.Media)
	}
	if !strings.Contains(last.Text, "голосовое 0:42") || reqs[0].JSONSchema == nil || reqs[0].MaxOutputTokens != 8192 {
		t.Fatalf("request %+v", reqs[0])
	}
	if !strings.Contains(reqs[0].System, "Комиссия 3 % от сделки.") {
		t.Fatalf("no knowledge with the voice note: %s", reqs[0].System)
	}
	ms := b.sender.to(partnerUID)
	if len(ms) != 1 || ms[0].text != "Комиссия 3 % от сделки." || ms[0].replyTo != 1 {
		t.Fatalf("sent %+v", ms)
	}
	row, turns := rowOf(t, b, partnerUID)
	if ids(turns) != "user:u101 ai:a101" || row.Status != domain.AppealStatusAIAnswered {
		t.Fatalf("history %s, status %s", ids(turns), row.Status)
	}
	if want := "[голосовое 0:42] Какая комиссия партнёра по ипотеке?"; turns[0].Text != want {
		t.Fatalf("user line %q, want %q", turns[0].Text, want)
	}
	if n := strings.Count(row.History, "Какая комиссия партнёра по ипотеке?"); n != 1 {
		t.Fatalf("the transcript is %d times in the history", n)
	}
}

func TestMediaPhotoTakesTheSensibleSizeAndKeepsTheCaption(t *testing.T) {
	b, files := mediaBench(t)
	jsonAnswer(b, `{"description":"План двухкомнатной квартиры","answer":"Это двушка на 54 м²."}`)
	photo := `"photo":[{"file_id":"photo-s","file_unique_id":"a","width":90,"height":68,"file_size":900},` +
		`{"file_id":"photo-l","file_unique_id":"b","width":1280,"height":960,"file_size":90000},` +
		`{"file_id":"photo-xl","file_unique_id":"c","width":2560,"height":1920,"file_size":300000}],"caption":"Что скажете о планировке?"`
	b.handle(b.media(partnerUID, tasks.KindMedia, photo))

	if len(files.calls) != 1 || files.calls[0] != "photo-l" {
		t.Fatalf("downloaded %v, want the 1280 px size", files.calls)
	}
	req := b.gen.calls()[0]
	last := req.Turns[len(req.Turns)-1]
	if last.Media[0].MIMEType != "image/jpeg" || !strings.Contains(last.Text, "Что скажете о планировке?") {
		t.Fatalf("last turn %+v", last)
	}
	_, turns := rowOf(t, b, partnerUID)
	if want := "[фото] План двухкомнатной квартиры\nПодпись: Что скажете о планировке?"; turns[0].Text != want {
		t.Fatalf("user line %q, want %q", turns[0].Text, want)
	}
	if turns[1].Text != "Это двушка на 54 м²." {
		t.Fatalf("AI line %q", turns[1].Text)
	}
}

func TestMediaPDFIsDescribed(t *testing.T) {
	b, _ := mediaBench(t)
	jsonAnswer(b, "```json\n{\"description\":\"Договор аренды квартиры\",\"answer\":\"Срок — 11 месяцев.\"}\n```")
	b.handle(b.media(partnerUID, tasks.KindMedia, `"document":{"file_id":"doc1","file_unique_id":"d","file_name":"договор.pdf","mime_type":"application/pdf","file_size":17}`))
	req := b.gen.calls()[0]
	if m := req.Turns[len(req.Turns)-1].Media; len(m) != 1 || m[0].MIMEType != "application/pdf" {
		t.Fatalf("media %+v", m)
	}
	_, turns := rowOf(t, b, partnerUID)
	if turns[0].Text != "[документ договор.pdf] Договор аренды квартиры" || turns[1].Text != "Срок — 11 месяцев." {
		t.Fatalf("history %q / %q", turns[0].Text, turns[1].Text)
	}
}

// Every file that cannot be taken in gets its defined reply and a line
// saying what came; nothing is downloaded or asked more than once, and the
// unit ends.
func TestMediaRefusalsHaveDefinedReplies(t *testing.T) {
	cases := []struct {
		name      string
		fields    string
		setup     func(b *bench, f *fakeFiles)
		reply     string // the beginning of the partner's answer
		line      string // the user's history line
		downloads int
		calls     int
	}{
		{"unsupported type", `"document":{"file_id":"zip1","file_unique_id":"z","file_name":"фото.zip","mime_type":"application/zip","file_size":1500}`,
			nil, "Файлы такого типа (ZIP) я не читаю", "[документ фото.zip, 2 КБ — не принят: тип ZIP не поддерживается]", 0, 0},
		{"too big", `"document":{"file_id":"big","file_unique_id":"z","file_name":"big.pdf","mime_type":"application/pdf","file_size":26214400}`,
			nil, "Файл документ big.pdf слишком большой (25 МБ)", "[документ big.pdf, 25 МБ — не принят: больше 20 МБ]", 0, 0},
		{"too long", `"voice":{"file_id":"voice1","file_unique_id":"uv","duration":3600,"file_size":10}`,
			nil, "Сообщение слишком длинное (1:00:00)", "[голосовое 1:00:00, 1 КБ — не принят: длиннее 10:00]", 0, 0},
		{"gone", `"voice":{"file_id":"nofile","file_unique_id":"uv","duration":5}`,
			nil, "Не получилось получить ваш файл из Telegram", "[голосовое 0:05 — не принят: файл недоступен в Telegram]", 1, 0},
		{"download failed", voice42, func(b *bench, f *fakeFiles) {
			f.DownloadFn = func(string) error { return fmt.Errorf("%w: 502", telegram.ErrDownload) }
		}, "Не получилось получить ваш файл из Telegram", "[голосовое 0:42, 1 КБ — не принят: не удалось скачать из Telegram]", 1, 0},
		{"too big on download", `"document":{"file_id":"doc1","file_unique_id":"d","file_name":"x.pdf","mime_type":"application/pdf"}`, func(b *bench, f *fakeFiles) {
			f.DownloadFn = func(string) error { return telegram.ErrFileTooBig }
		}, "Файл документ x.pdf слишком большой", "[документ x.pdf — не принят: больше 20 МБ]", 1, 0},
		{"rejected by Gemini", `"document":{"file_id":"doc1","file_unique_id":"d","file_name":"x.pdf","mime_type":"application/pdf","file_size":17}`, func(b *bench, f *fakeFiles) {
			b.gen.AnswerFn = func(ai.Request) (ai.Answer, error) {
				return ai.Answer{}, fmt.Errorf("%w: %w: The document has no pages.", ai.ErrUnavailable, ai.ErrRejected)
			}
		}, "Не получилось разобрать этот файл", "[документ x.pdf, 1 КБ — не принят: ИИ не принял файл]", 1, 1},
		{"blocked by Gemini", voice42, func(b *bench, f *fakeFiles) {
			b.gen.AnswerFn = func(ai.Request) (ai.Answer, error) { return ai.Answer{FinishReason: "SAFETY"}, nil }
		}, "Не получилось разобрать этот файл", "[голосовое 0:42, 1 КБ — не принят: ИИ отказался разбирать файл (SAFETY)]", 1, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, files := mediaBench(t)
			if tc.setup != nil {
				tc.setup(b, files)
			}
			b.handle(b.media(partnerUID, tasks.KindMedia, tc.fields))
			if got := lastText(t, b, partnerUID); !strings.HasPrefix(got, tc.reply) {
				t.Fatalf("reply %q, want %q…", got, tc.reply)
			}
			row, turns := rowOf(t, b, partnerUID)
			if len(turns) != 1 || turns[0].Text != tc.line || row.Status != domain.AppealStatusNew {
				t.Fatalf("history %q (%d turns), status %s; want %q", row.History, len(turns), row.Status, tc.line)
			}
			if files.downloads() != tc.downloads || len(b.gen.calls()) != tc.calls {
				t.Fatalf("%d downloads, %d model calls; want %d, %d", files.downloads(), len(b.gen.calls()), tc.downloads, tc.calls)
			}
			if in := b.inbox(partnerUID); len(in) != 0 {
				t.Fatalf("the unit is still in the inbox: %v", in)
			}
		})
	}
}

func TestMediaTranscriptAskingForAPersonEscalates(t *testing.T) {
	b, _ := mediaBench(t)
	jsonAnswer(b, `{"transcript":"Позовите, пожалуйста, живой человек нужен","answer":"Конечно."}`)
	b.handle(b.media(partnerUID, tasks.KindMedia, voice42))

	row, turns := rowOf(t, b, partnerUID)
	if row.Status != domain.AppealStatusEscalated || ids(turns) != "user:u101 system:s-esc-101" {
		t.Fatalf("status %s, history %s", row.Status, ids(turns))
	}
	if got := lastText(t, b, partnerUID); got != b.tx.Escalated {
		t.Fatalf("the partner got %q, want the escalation notice (not the AI's answer)", got)
	}
	group := b.sender.to(operatorsChat)
	if len(group) != 1 || !strings.Contains(group[0].text, "живой человек нужен") || !strings.Contains(group[0].text, "голосовое 0:42") {
		t.Fatalf("card %+v", group)
	}
	if len(b.sender.copies) != 1 || b.sender.copies[0].ChatID.ID != operatorsChat || b.sender.copies[0].MessageID != 1 {
		t.Fatalf("the original was not forwarded: %+v", b.sender.copies)
	}
}

func TestMediaCaptionAskingForAPersonEscalatesWithoutTheModel(t *testing.T) {
	b, files := mediaBench(t)
	b.handle(b.media(partnerUID, tasks.KindMedia, `"document":{"file_id":"doc1","file_unique_id":"d","file_name":"x.pdf","mime_type":"application/pdf","file_size":17},"caption":"Оператор, посмотрите договор"`))
	row, turns := rowOf(t, b, partnerUID)
	if row.Status != domain.AppealStatusEscalated || turns[0].Text != "[документ x.pdf]\nПодпись: Оператор, посмотрите договор" {
		t.Fatalf("status %s, line %q", row.Status, turns[0].Text)
	}
	if len(b.gen.calls()) != 0 || files.downloads() != 0 || len(b.sender.copies) != 1 {
		t.Fatalf("%d model calls, %d downloads, %d copies", len(b.gen.calls()), files.downloads(), len(b.sender.copies))
	}
}

func TestMediaOfAnEscalatedPartnerIsRelayedWithItsTranscript(t *testing.T) {
	b, _ := mediaBench(t)
	b.existing(partnerUID, domain.AppealStatusEscalated, history.Turn{ID: "u1", Role: history.RoleUser, Time: b.now, Text: "оператор"})
	jsonAnswer(b, `{"transcript":"Объект на Тверской, 5 этаж"}`)
	b.handle(b.media(partnerUID, tasks.KindMedia, voice42))

	reqs := b.gen.calls()
	if len(reqs) != 1 || reqs[0].System != "" || len(reqs[0].Turns) != 1 {
		t.Fatalf("want one transcribe-only call without the conversation: %+v", reqs)
	}
	group := b.sender.to(operatorsChat)
	var note string
	for _, m := range group {
		if strings.Contains(m.text, "прислал(а)") {
			note = m.text
		}
	}
	if !strings.Contains(note, "голосовое 0:42") || !strings.Contains(note, "Объект на Тверской, 5 этаж") {
		t.Fatalf("relay note %q in %+v", note, group)
	}
	if len(b.sender.copies) != 1 || b.sender.copies[0].ChatID.ID != operatorsChat {
		t.Fatalf("copies %+v", b.sender.copies)
	}
	row, turns := rowOf(t, b, partnerUID)
	if row.Status != domain.AppealStatusEscalated || turns[len(turns)-1].Text != "[голосовое 0:42] Объект на Тверской, 5 этаж" {
		t.Fatalf("status %s, history %q", row.Status, row.History)
	}
	if len(b.sender.to(partnerUID)) != 0 {
		t.Fatal("the partner was answered while an operator has the appeal")
	}
}

func TestMediaOfAnEscalatedPartnerWithoutTranscription(t *testing.T) {
	b := authorizedBench(t, func(o *Options) { o.Media = mediaOptions(); o.Media.TranscribeEscalated = false })
	files := &fakeFiles{files: map[string][]byte{"voice1": []byte("OggS")}}
	b.s.d.Files = files
	b.existing(partnerUID, domain.AppealStatusEscalated)
	b.handle(b.media(partnerUID, tasks.KindMedia, voice42))
	if len(b.gen.calls()) != 0 || files.downloads() != 0 || len(b.sender.copies) != 1 {
		t.Fatalf("%d calls, %d downloads, %d copies", len(b.gen.calls()), files.downloads(), len(b.sender.copies))
	}
	_, turns := rowOf(t, b, partnerUID)
	if got := turns[len(turns)-1].Text; got != "[голосовое 0:42] (не расшифровано)" {
		t.Fatalf("line %q", got)
	}
}

func TestMediaAnswerThatIsNotTheJSONAskedFor(t *testing.T) {
	cases := []struct {
		name   string
		answer ai.Answer
		line   string
		reply  string
	}{
		{"plain text", ai.Answer{Text: "Комиссия 3 %.", FinishReason: "STOP"}, "[голосовое 0:42] (не расшифровано)", "Комиссия 3 %."},
		{"cut by the output cap", ai.Answer{Text: `{"transcript":"Какая комиссия?","answer":"Комиссия 3 %. Выплата через две недели после сде`, FinishReason: "MAX_TOKENS"},
			"[голосовое 0:42] Какая комиссия?", "Комиссия 3 %.\n\n(ответ сокращён — спросите подробнее)"},
		{"no answer", ai.Answer{Text: `{"transcript":"Алло"}`, FinishReason: "STOP"}, "[голосовое 0:42] Алло", "Не получилось сформулировать ответ"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := mediaBench(t)
			b.gen.AnswerFn = func(ai.Request) (ai.Answer, error) { return tc.answer, nil }
			b.handle(b.media(partnerUID, tasks.KindMedia, voice42))
			if got := lastText(t, b, partnerUID); !strings.HasPrefix(got, tc.reply) {
				t.Fatalf("reply %q, want %q", got, tc.reply)
			}
			_, turns := rowOf(t, b, partnerUID)
			if turns[0].Text != tc.line {
				t.Fatalf("line %q, want %q", turns[0].Text, tc.line)
			}
			if len(b.gen.calls()) != 1 {
				t.Fatalf("%d model calls", len(b.gen.calls()))
			}
		})
	}
}

// A unit that failed after the model answered (Telegram down) is re-run:
// it sends what was generated, without downloading or asking again.
func TestMediaRerunDoesNotAskTwice(t *testing.T) {
	b, files := mediaBench(t)
	jsonAnswer(b, `{"transcript":"Какая комиссия?","answer":"Три процента."}`)
	down := true
	b.sender.SendMessageFn = func(*telego.SendMessageParams) error {
		if down {
			return errors.New("connection refused")
		}
		return nil
	}
	it := b.media(partnerUID, tasks.KindMedia, voice42)
	if err := b.handleErr(it); err == nil {
		t.Fatal("the unit did not fail")
	}
	down = false
	b.drain(partnerUID)
	if len(b.gen.calls()) != 1 || files.downloads() != 1 {
		t.Fatalf("%d model calls, %d downloads after a re-run", len(b.gen.calls()), files.downloads())
	}
	if got := lastText(t, b, partnerUID); got != "Три процента." {
		t.Fatalf("reply %q", got)
	}
	_, turns := rowOf(t, b, partnerUID)
	if ids(turns) != "user:u101 ai:a101" {
		t.Fatalf("history %s", ids(turns))
	}
}

func TestMediaSwitchedOffAnswersAsBefore(t *testing.T) {
	b := authorizedBench(t, func(o *Options) { o.Media = mediaOptions(); o.Media.Enabled = false })
	files := &fakeFiles{}
	b.s.d.Files = files
	b.handle(b.media(partnerUID, tasks.KindMedia, voice42))
	if got := lastText(t, b, partnerUID); got != b.tx.MediaUnsupported || files.downloads() != 0 {
		t.Fatalf("reply %q, %d downloads", got, files.downloads())
	}
}

func TestMediaKnowledgeFillsTheBudget(t *testing.T) {
	b, _ := mediaBench(t)
	b.s.o.Media.KnowledgeChars = 120
	b.store.knowledge = []domain.KnowledgeEntry{
		{Topic: "Комиссия", Question: "Какая комиссия?", Answer: "Три процента."},
		{Topic: "Ипотека", Question: "Ипотека для клиентов", Answer: "Партнёрская ставка от банков-партнёров."},
		{Topic: "Без ответа", Question: "?", Answer: ""},
		{Topic: "Выплаты", Question: "Когда выплата?", Answer: strings.Repeat("Долго. ", 30)},
	}
	hits := b.s.mediaKnowledge(b.store.knowledge, "вопрос про ипотеку")
	var topics []string
	for _, h := range hits {
		topics = append(topics, h.Entry.Topic)
	}
	if got := strings.Join(topics, ","); got != "Ипотека,Комиссия" {
		t.Fatalf("knowledge %s: want the caption's hit first, then the sheet's order within the budget", got)
	}
}

func TestMediaFormats(t *testing.T) {
	for sec, want := range map[int]string{0: "0:00", 42: "0:42", 61: "1:01", 600: "10:00", 3725: "1:02:05"} {
		if got := clock(sec); got != want {
			t.Errorf("clock(%d) = %q, want %q", sec, got, want)
		}
	}
	for b, want := range map[int64]string{1: "1 КБ", 1500: "2 КБ", 1 << 20: "1 МБ", 1572864: "1,5 МБ", 26214400: "25 МБ"} {
		if got := sizeText(b); got != want {
			t.Errorf("sizeText(%d) = %q, want %q", b, got, want)
		}
	}
	for _, tc := range []struct {
		in   mediaInput
		want string
	}{
		{mediaInput{kind: mediaDocument, mime: "application/pdf"}, "application/pdf"},
		{mediaInput{kind: mediaDocument, name: "scan.PNG", mime: "application/octet-stream"}, "image/png"},
		{mediaInput{kind: mediaDocument, name: "a.docx", mime: "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}, ""},
		{mediaInput{kind: mediaAudio, mime: "audio/mpeg"}, "audio/mp3"},
		{mediaInput{kind: mediaAudio, mime: "audio/x-m4a"}, ""},
		{mediaInput{kind: mediaVoice}, "audio/ogg"},
		{mediaInput{kind: mediaVideoNote}, "video/mp4"},
	} {
		if got := modelMIME(tc.in); got != tc.want {
			t.Errorf("modelMIME(%+v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
