package telegram_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/mymmrac/telego"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/telegram"
	"marketingbot/pkg/telegram/tghtml"
)

// A draft goes to a chat only while the chat's bucket is full, so the
// reply that follows finds the rest of the burst.
func TestLimiterDraftLeavesTheChatBurstToReplies(t *testing.T) {
	t.Parallel()
	l, mr, now := newLimiter(t) // chat: 1/s, burst 3
	if d := take(t, l, 1, 7, telegram.PriorityDraft)[0]; d != 0 {
		t.Fatalf("first draft asked to wait %s", d)
	}
	if d := take(t, l, 1, 7, telegram.PriorityDraft)[0]; d == 0 {
		t.Fatal("a second draft went while the chat's bucket was not full")
	}
	if n := granted(take(t, l, 3, 7, telegram.PriorityChat)); n != 2 {
		t.Fatalf("%d replies went at once after a draft, want the 2 it left", n)
	}
	mr.SetTime(now.Add(3 * time.Second))
	mr.FastForward(3 * time.Second) // the refused reply's waiting mark expires too
	if d := take(t, l, 1, 7, telegram.PriorityDraft)[0]; d != 0 {
		t.Fatalf("a draft waits %s once the bucket is full again", d)
	}
}

// Drafts take at most half the global burst: messages keep the other half.
func TestLimiterDraftLeavesHalfTheGlobalBurst(t *testing.T) {
	t.Parallel()
	l, _, _ := newLimiter(t) // global: 30/s, burst 20
	went := 0
	for chat := int64(1); chat <= 20; chat++ {
		if take(t, l, 1, chat, telegram.PriorityDraft)[0] == 0 {
			went++
		}
	}
	if went != 10 {
		t.Fatalf("%d drafts went on a fresh global bucket of 20, want 10", went)
	}
	if n := granted(take(t, l, 11, 100, telegram.PriorityChat)); n < 3 {
		t.Fatalf("%d messages went at once after the drafts", n)
	}
	if n := granted(take(t, l, 8, 0, telegram.PriorityChat)); n != 7 {
		t.Fatalf("the other half: %d more messages, want 7 (10 minus chat 100's 3)", n)
	}
}

// While a message waits for a bucket, no draft takes a token of it, even
// when the bucket has refilled: the waiting mark outlasts the wait.
func TestLimiterDraftStepsAsideWhileAMessageWaits(t *testing.T) {
	t.Parallel()
	l, mr, now := newLimiter(t)
	take(t, l, 20, 0, telegram.PriorityChat) // the global burst is spent
	if d := take(t, l, 1, 5, telegram.PriorityChat)[0]; d == 0 {
		t.Fatal("a 21st message went at once")
	}
	mr.SetTime(now.Add(2 * time.Second)) // the bucket is full again, the mark still there
	if d := take(t, l, 1, 6, telegram.PriorityDraft)[0]; d == 0 {
		t.Fatal("a draft went while a message was marked waiting")
	}
	mr.FastForward(2 * time.Second) // the mark expires
	if d := take(t, l, 1, 6, telegram.PriorityDraft)[0]; d != 0 {
		t.Fatalf("a draft waits %s after the mark expired", d)
	}
}

// The check behind the metric telegram_limiter_waits_behind_draft_total
// sees a draft that took a token a waiting message needed — here with the
// draft rules switched off (no reserve, marks expired), as a broken limiter
// would let it.
func TestLimiterReportsAWaitBehindADraft(t *testing.T) {
	t.Parallel()
	mr := miniredis.RunT(t) // real clock: the wait sleeps
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	l := telegram.NewLimiter(rdb, "test:", 30, 10, 1, 20) // a chat: 10/s, burst 1
	l.Chat.DraftReserve = 0
	take(t, l, 1, 7, telegram.PriorityChat)
	stop := make(chan struct{})
	var drafts atomic.Int64
	go func() { // a broken drafter grabs every token the moment it frees up
		for {
			select {
			case <-stop:
				return
			default:
			}
			mr.Del("test:tg:limit:chat:7:waiting") // marks disappear at once
			mr.Del("test:tg:limit:global:waiting")
			if d, err := l.Reserve(context.Background(), 7, telegram.PriorityDraft); err == nil && d == 0 {
				drafts.Add(1)
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	behind, _ := telegram.WaitReport(l, ctx, 7, telegram.PriorityChat) // the broken drafter may starve it until ctx ends
	close(stop)
	if drafts.Load() == 0 {
		t.Skip("the drafter never won a token; nothing to report")
	}
	if !behind {
		t.Fatalf("%d drafts took tokens while the message waited; not reported", drafts.Load())
	}
}

// draftAPI is a Bot API that accepts sendMessageDraft and sendMessage,
// counts them, and refuses HTML drafts when refuseHTML is set.
type draftAPI struct {
	mu         sync.Mutex
	refuseHTML bool
	drafts     []string // "mode|text"
	messages   int
}

func (f *draftAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/json")
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case strings.HasSuffix(r.URL.Path, "/sendMessageDraft"):
		if f.refuseHTML && strings.Contains(string(body), `"parse_mode":"HTML"`) {
			_, _ = io.WriteString(w, badEntities)
			return
		}
		f.drafts = append(f.drafts, string(body))
		_, _ = io.WriteString(w, `{"ok":true,"result":true}`)
	default:
		f.messages++
		_, _ = io.WriteString(w, okMessage)
	}
}

func newDraftSender(t *testing.T, api http.Handler, lim *telegram.Limiter) (*telegram.Sender, *prometheus.Registry) {
	t.Helper()
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	bot, err := telegram.NewBot(telegram.BotOptions{Token: testToken, APIURL: srv.URL + "/", RequestTimeout: 5 * time.Second}, log)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	return telegram.NewSender(bot, lim, reg, log), reg
}

func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// Many chats draft as fast as they can while messages queue for a small
// global budget: every draft either goes at once or is skipped, no message
// ever waits behind a draft, and the drafts that could not go were skipped,
// not queued.
func TestSenderDraftsNeverDelayMessages(t *testing.T) {
	t.Parallel()
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	lim := telegram.NewLimiter(rdb, "test:", 6, 1, 3, 20) // global 6/s, burst 4
	api := &draftAPI{}
	s, reg := newDraftSender(t, api, lim)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for chat := int64(1); chat <= 8; chat++ {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				// A draft is sent at once or skipped, never held for the
				// limiter: one held behind the queued messages (seconds of
				// the global budget) would reach this deadline.
				dctx, dcancel := context.WithTimeout(ctx, time.Second)
				err := s.SendMessageDraft(dctx, &telego.SendMessageDraftParams{ChatID: chat, DraftID: 1, Text: fmt.Sprint("черновик ", i)})
				waited := dctx.Err() != nil
				dcancel()
				if waited || (err != nil && !errors.Is(err, telegram.ErrDraftSkipped)) {
					t.Errorf("draft: %v (deadline reached: %t): drafts must not wait for the limiter", err, waited)
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	time.Sleep(500 * time.Millisecond) // drafts alone first: they go
	var msgs sync.WaitGroup
	for chat := int64(100); chat < 112; chat++ {
		msgs.Go(func() {
			if _, err := s.SendMessage(ctx, &telego.SendMessageParams{ChatID: telego.ChatID{ID: chat}, Text: "ответ"}, telegram.Options{Priority: telegram.PriorityChat}); err != nil {
				t.Errorf("message: %v", err)
			}
		})
	}
	msgs.Wait()
	time.Sleep(time.Second) // and alone again after the messages
	close(stop)
	wg.Wait()

	if behind := counter(t, reg, "marketingbot_telegram_limiter_waits_behind_draft_total"); behind != 0 {
		t.Fatalf("%v messages waited behind a draft", behind)
	}
	api.mu.Lock()
	sent, messages := len(api.drafts), api.messages
	api.mu.Unlock()
	skipped := counter(t, reg, "marketingbot_telegram_drafts_skipped_total")
	if messages != 12 || sent == 0 || skipped == 0 {
		t.Fatalf("messages %d, drafts sent %d, skipped %v: want all 12 messages and drafts both sent and skipped", messages, sent, skipped)
	}
}

func TestSendDraftFitsAndFallsBack(t *testing.T) {
	t.Parallel()
	api := &draftAPI{}
	s, _ := newDraftSender(t, api, nil)
	long := strings.Repeat("<b>жирный</b> текст абзаца.\n\n", 400) // ~11,000 units
	shown, err := telegram.SendDraft(context.Background(), s, telegram.Draft{ChatID: 7, DraftID: 5, Body: long})
	if err != nil || telegramLen(shown) > telegram.MaxTextLen || !strings.HasPrefix(shown, "<b>жирный</b>") {
		t.Fatalf("long draft: %d units, %v", telegramLen(shown), err)
	}
	if _, err := telegram.SendDraft(context.Background(), s, telegram.Draft{ChatID: 7, DraftID: 5, Body: "<b> </b>"}); !errors.Is(err, telegram.ErrEmptyText) {
		t.Fatalf("invisible draft: %v, want ErrEmptyText", err)
	}
	api.refuseHTML = true
	shown, err = telegram.SendDraft(context.Background(), s, telegram.Draft{ChatID: 7, DraftID: 5, Body: "<b>Жирный</b> &amp; обычный"})
	if err != nil || shown != "Жирный & обычный" {
		t.Fatalf("refused entities: shown %q, %v; want the plain text", shown, err)
	}
	if n := len(api.drafts); n != 2 || !strings.Contains(api.drafts[1], `"draft_id":5`) {
		t.Fatalf("drafts sent: %q", api.drafts)
	}
}

// A 429 on a draft is not waited out and not retried.
func TestSendDraftFloodIsNotRetried(t *testing.T) {
	t.Parallel()
	f := newSender(t, flood1s, `{"ok":true,"result":true}`)
	// A deadline shorter than retry_after: a call that waited it out would
	// still be waiting when the deadline came.
	ctx, cancel := context.WithTimeout(context.Background(), 900*time.Millisecond)
	defer cancel()
	err := f.sender.SendMessageDraft(ctx, &telego.SendMessageDraftParams{ChatID: 7, DraftID: 1, Text: "x"})
	var flood *telegram.FloodError
	if !errors.As(err, &flood) || len(f.api.requests()) != 1 || ctx.Err() != nil {
		t.Fatalf("err %v after %d requests (deadline: %v); want the 429 at once, once", err, len(f.api.requests()), ctx.Err())
	}
}

func telegramLen(html string) int { return tghtml.VisibleLen(html) }
