package systemtest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"marketingbot/pkg/texts"
	gememu "marketingbot/sim/emulator/gemini"
	tgemu "marketingbot/sim/emulator/telegram"
	"marketingbot/sim/world"
)

// A Gemini error in the middle of a stream never leaves a draft as the
// only answer: the stream is asked again within the AI's retry budget and
// the answer replaces the drafts, or the budget runs out and the fallback
// message does.

// streamFaultWorld streams with drafts; the model's answer to
// streamQuestion takes a second to arrive in chunks.
func streamFaultWorld(t *testing.T, uids ...int64) (*world.Env, string) {
	t.Helper()
	d, visible := streamData(1500, uids...)
	e := world.New(t, world.Options{Data: d, Settings: world.StreamSettings(200*time.Millisecond, nil)})
	e.Gemini.SetLatency(1500*time.Millisecond, 0)
	e.StartAll()
	for _, uid := range uids {
		e.AddUser(uid, "Сергей", "")
	}
	return e, visible
}

// streamLastBot is the bot's last message to uid.
func streamLastBot(e *world.Env, uid int64) tgemu.TranscriptMessage {
	msgs := e.BotMessages(uid)
	return msgs[len(msgs)-1]
}

func TestStreamErrorMidStreamIsAskedAgain(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	const uid = 9721
	e, visible := streamFaultWorld(t, uid)
	if _, err := e.Gemini.InjectFault(gememu.Fault{Status: http.StatusServiceUnavailable, AfterChunks: 8, Count: 1}); err != nil {
		t.Fatal(err)
	}
	e.Send(uid, streamQuestion)
	msgs := e.WaitBotText(uid, 0, visible, streamWait)
	if msgs[0].Draft == nil || e.LiveDraft(uid) != nil {
		t.Fatalf("the answer did not take the draft's place: replaced %+v, live %+v", msgs[0].Draft, e.LiveDraft(uid))
	}
	calls := e.Gemini.Requests(gememu.RequestFilter{Method: gememu.MethodStreamGenerateContent})
	if len(calls) != 2 || calls[0].Status != http.StatusServiceUnavailable || !strings.Contains(calls[0].Error, "mid-stream") || calls[1].Status != http.StatusOK {
		t.Fatalf("stream calls %+v: want the broken one, then one that finished", calls)
	}
	if n := len(e.DraftCalls(uid)); n == 0 {
		t.Fatal("no draft was shown")
	}
	h := e.WaitHistory(uid, streamWait, func(h string) bool { return strings.Contains(h, "Итог шага 3.") })
	if n := strings.Count(h, "Итог шага 3."); n != 1 {
		t.Fatalf("the answer is %d times in the history:\n%s", n, world.Clip(h, 600))
	}
}

func TestStreamErrorMidStreamEndsWithTheFallback(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	tx, err := texts.Load("")
	if err != nil {
		t.Fatal(err)
	}
	const eventUID, dropUID = 9722, 9723
	e, _ := streamFaultWorld(t, eventUID, dropUID)
	for _, tc := range []struct {
		uid   int64
		fault gememu.Fault
	}{
		{eventUID, gememu.Fault{Status: http.StatusInternalServerError, AfterChunks: 6}}, // until cleared: every attempt breaks
		{dropUID, gememu.Fault{Drop: true, AfterChunks: 6}},
	} {
		if _, err := e.Gemini.InjectFault(tc.fault); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		e.Send(tc.uid, streamQuestion)
		e.WaitBotText(tc.uid, 0, tx.AIFallback, streamWait)
		t.Logf("fallback after %s", time.Since(start))
		e.Gemini.ClearFaults()
		last := streamLastBot(e, tc.uid)
		if strings.TrimSpace(last.Text) != strings.TrimSpace(tx.AIFallback) {
			t.Fatalf("%+v: the last word is %q, want the fallback", tc.fault, last.Text)
		}
		if len(e.DraftCalls(tc.uid)) == 0 || last.Draft == nil {
			t.Fatalf("%+v: %d drafts; the fallback replaced %+v: the test wants drafts the fallback replaces", tc.fault, len(e.DraftCalls(tc.uid)), last.Draft)
		}
		if d := e.LiveDraft(tc.uid); d != nil {
			t.Fatalf("%+v: a draft is left showing: %+v", tc.fault, d)
		}
		h := e.WaitHistory(tc.uid, streamWait, func(h string) bool { return strings.Contains(h, tx.HistoryAIUnavailable) })
		t.Logf("history after %s", time.Since(start))
		if strings.Contains(h, "Итог шага") {
			t.Fatalf("%+v: a broken stream's text reached the history:\n%s", tc.fault, world.Clip(h, 600))
		}
	}
}
