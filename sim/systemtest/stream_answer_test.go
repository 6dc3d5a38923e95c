package systemtest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"marketingbot/pkg/config"
	"marketingbot/pkg/domain"
	gememu "marketingbot/sim/emulator/gemini"
	tgemu "marketingbot/sim/emulator/telegram"
	"marketingbot/sim/fixtures"
	"marketingbot/sim/world"
)

// Streamed answers end the way unstreamed ones do: the drafts come first,
// the final message is the non-streaming answer to the same prompt (parts,
// entities, the quote), it takes the draft's place, and the history has it
// once.

const streamWait = 40 * time.Second

// streamQuestion matches streamData's knowledge entry.
const streamQuestion = "Какой регламент потоковой сделки?"

// streamData: partners with the same name (the emulator addresses the
// partner by first name, so two of them get the same answer) and a
// knowledge entry whose answer is long, rich Markdown; visible is what a
// reader sees of the answer.
func streamData(n int, ids ...int64) (d *fixtures.Data, visible string) {
	var md, vis strings.Builder
	for i := 0; md.Len() < 2*n; i++ { // Cyrillic: two bytes a character
		fmt.Fprintf(&md, "Шаг %d: **важное условие %d** и [документ %d](https://example.com/d/%d), код `A-%d`. Итог шага %d.\n\n", i, i, i, i, i, i)
		fmt.Fprintf(&vis, "Шаг %d: важное условие %d и документ %d, код A-%d. Итог шага %d.\n\n", i, i, i, i, i)
	}
	d = &fixtures.Data{Knowledge: []domain.KnowledgeEntry{{Topic: "Регламент потоковой сделки", Question: "регламент потоковой сделки порядок",
		Answer: strings.TrimSpace(md.String())}}}
	for i, id := range ids {
		d.Partners = append(d.Partners, domain.Partner{Code: fmt.Sprintf("S-%04d", i+1), Phone: fmt.Sprintf("+7 901 %07d", i+1),
			FullName: "Потоков Сергей Иванович", Status: "authorized", TelegramID: id})
	}
	return d, strings.TrimSpace(vis.String())
}

// streamCompare fails unless the messages are the same: texts, parse
// mode, entities, and each quotes a message (the first) or none.
func streamCompare(t *testing.T, streamed, plain []tgemu.TranscriptMessage) {
	t.Helper()
	if len(streamed) != len(plain) {
		t.Fatalf("%d messages streamed, %d without streaming", len(streamed), len(plain))
	}
	for i := range plain {
		s, p := streamed[i], plain[i]
		if s.Text != p.Text || s.ParseMode != p.ParseMode || string(s.Entities) != string(p.Entities) || (s.ReplyToMessageID == 0) != (p.ReplyToMessageID == 0) {
			t.Fatalf("part %d differs:\nstreamed %q %s %s reply %d\nplain    %q %s %s reply %d", i,
				world.Clip(s.Text, 200), s.ParseMode, world.Clip(string(s.Entities), 200), s.ReplyToMessageID,
				world.Clip(p.Text, 200), p.ParseMode, world.Clip(string(p.Entities), 200), p.ReplyToMessageID)
		}
	}
}

func TestStreamFinalEqualsNonStreaming(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	const plainUID, streamUID = 9711, 9712
	d, visible := streamData(5000, plainUID, streamUID)
	e := world.New(t, world.Options{Data: d, Settings: map[string]string{"MARKETINGBOT_GEMINI_MAX_OUTPUT_TOKENS": "16384"}})
	worker := e.Start(config.RoleWorker)
	e.Start(config.RolePoller)
	e.Start(config.RoleBot)

	e.AddUser(plainUID, "Сергей", "")
	e.Send(plainUID, streamQuestion)
	plain := e.WaitBotText(plainUID, 0, visible, streamWait)
	e.WaitHistory(plainUID, streamWait, func(h string) bool { return strings.Contains(h, "Итог шага 3.") })
	if n := len(e.DraftCalls(plainUID)); n != 0 {
		t.Fatalf("%d drafts without streaming", n)
	}

	// The same prompt again, from a worker that streams.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := worker.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	for k, v := range world.StreamSettings(300*time.Millisecond, nil) {
		e.Set(k, v)
	}
	e.Gemini.SetLatency(3*time.Second, 0) // the chunks arrive over three seconds
	e.Start(config.RoleWorker)
	e.AddUser(streamUID, "Сергей", "")
	e.Send(streamUID, streamQuestion)
	streamed := e.WaitBotText(streamUID, 0, visible, streamWait)

	streamCompare(t, streamed, plain)
	if len(plain) < 2 {
		t.Fatalf("a %d-character answer in %d message(s): want it in parts", len(visible), len(plain))
	}
	drafts := e.DraftCalls(streamUID)
	if len(drafts) == 0 {
		t.Fatal("no draft was shown while the answer streamed")
	}
	t.Logf("%d drafts, then %d parts", len(drafts), len(streamed))
	if last := drafts[len(drafts)-1].Time; !last.Before(streamed[0].SentAt) {
		t.Fatalf("a draft (%s) after the final message (%s)", last, streamed[0].SentAt)
	}
	if streamed[0].Draft == nil || e.LiveDraft(streamUID) != nil {
		t.Fatalf("the final message did not take the draft's place: replaced %+v, live %+v", streamed[0].Draft, e.LiveDraft(streamUID))
	}
	if n := len(e.Gemini.Requests(gememu.RequestFilter{Method: gememu.MethodStreamGenerateContent})); n != 1 {
		t.Fatalf("%d streamGenerateContent calls, want 1", n)
	}
	for _, uid := range []int64{plainUID, streamUID} {
		h := e.WaitHistory(uid, streamWait, func(h string) bool { return strings.Contains(h, "Итог шага 3.") })
		if n := strings.Count(h, "Итог шага 3."); n != 1 {
			t.Fatalf("user %d: the answer is %d times in the history", uid, n)
		}
	}
}
