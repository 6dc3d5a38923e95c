package systemtest

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"marketingbot/pkg/config"
	tgemu "marketingbot/sim/emulator/telegram"
	"marketingbot/sim/world"
)

// Drafts never delay anyone's final reply: many users stream at once under
// a small flood budget (Telegram's and ours alike); every final reply goes
// out, no message waited for the shared limiter while a draft took a token
// it was waiting for (the limiter's own check, by priority), drafts that
// found no spare room were skipped — so there was contention — and
// Telegram refused no message for flooding.
func TestStreamDraftsNeverDelayFinalReplies(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	const users = 12
	var uids []int64
	for i := range users {
		uids = append(uids, int64(9731+i))
	}
	d, visible := streamData(700, uids...)
	flood := tgemu.FloodLimits{Enabled: true, GlobalRate: 5, GlobalBurst: 5, ChatRate: 1, ChatBurst: 3, GroupPerMinute: 20, GroupBurst: 20}
	e := world.New(t, world.Options{Data: d, FloodLimits: &flood, Settings: world.StreamSettings(200*time.Millisecond, map[string]string{
		"MARKETINGBOT_TELEGRAM_GLOBAL_PER_SECOND": "5", // the same budget as the emulator's
	})})
	e.Gemini.SetLatency(2*time.Second, 500*time.Millisecond)
	worker := e.Start(config.RoleWorker)
	e.Start(config.RolePoller)
	e.Start(config.RoleBot)
	for _, uid := range uids {
		e.AddUser(uid, "Сергей", "")
	}

	var wg sync.WaitGroup
	for _, uid := range uids {
		wg.Go(func() { e.Send(uid, streamQuestion) })
	}
	wg.Wait()
	drafts := 0
	for _, uid := range uids {
		msgs := e.WaitBotText(uid, 0, visible, streamWait)
		if e.LiveDraft(uid) != nil {
			t.Fatalf("user %d: a draft is left showing after %d messages", uid, len(msgs))
		}
		drafts += len(e.DraftCalls(uid))
	}

	behind := e.RoleMetric(worker, "marketingbot_telegram_limiter_waits_behind_draft_total", map[string]string{"priority": "chat"})
	skipped := e.RoleMetric(worker, "marketingbot_telegram_drafts_skipped_total", nil)
	chatWaits := e.RoleMetric(worker, "marketingbot_telegram_limiter_wait_seconds_sum", map[string]string{"priority": "chat"})
	t.Logf("%d drafts shown, %v skipped; messages waited %.1f s for the limiter in all", drafts, skipped, chatWaits)
	if behind != 0 {
		t.Fatalf("%v messages waited behind a draft", behind)
	}
	if drafts == 0 || skipped == 0 {
		t.Fatalf("%d drafts shown, %v skipped: the test needs both (contention for the budget)", drafts, skipped)
	}
	if n := e.MethodStatuses("sendMessage")[http.StatusTooManyRequests]; n != 0 {
		t.Fatalf("Telegram refused %d messages for flooding", n)
	}
}
