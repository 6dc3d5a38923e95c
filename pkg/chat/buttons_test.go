package chat

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"marketingbot/pkg/domain"
)

// Button presses whose data we never issued: Telegram hands over whatever
// the client sent. Each is answered with a short notice, does nothing, and
// never holds the user's next message back. The bench's clock stands
// still, so a message that waited for the gap timeout would never be
// answered here.

// forgedButtons are data a user may press in their private chat that we
// never issued there.
func forgedButtons(uid int64) map[string]string {
	return map[string]string{
		"unknown data":                           "whatever",
		"empty data":                             "",
		"operator's take in the private chat":    fmt.Sprintf("op:take:%d", uid),
		"operator's resolve of another user":     "op:res:4242",
		"malformed operator data":                "op:take:x",
		"promotion's button in the private chat": "promo:go:A-1",
		"escalation with a suffix":               callbackEscalate + ":1",
		"rating of an appeal never asked":        "rate:1741608000:5",
		"malformed rating":                       "rate:1741608000:9",
	}
}

// answerOf is the bench's answer to callback query id (the bench names
// queries "cb<message id>").
func answerOf(t *testing.T, b *bench, id string) (string, bool) {
	t.Helper()
	b.sender.mu.Lock()
	defer b.sender.mu.Unlock()
	n, text := 0, ""
	for _, a := range b.sender.answered {
		if a.CallbackQueryID == id {
			n++
			text = a.Text
		}
	}
	if n > 1 {
		t.Fatalf("callback query %s answered %d times", id, n)
	}
	return text, n == 1
}

func TestForgedButtonDoesNotHoldTheNextMessage(t *testing.T) {
	for name, data := range forgedButtons(partnerUID) {
		for _, order := range []string{"press first", "message first"} {
			t.Run(name+"/"+order, func(t *testing.T) {
				b := authorizedBench(t, nil)
				b.partner("P-0002", "79120000002", "Другой Партнёр", 4242)
				press := b.callback(partnerUID, partnerUID, 5, data)
				text := b.text(partnerUID, "Какая комиссия?")
				if order == "press first" {
					b.handle(press)
					b.handle(text)
				} else { // the press's task reaches a worker late
					b.handle(text)
					b.handle(press)
				}
				ms := b.sender.to(partnerUID)
				if len(ms) != 1 || !strings.HasPrefix(ms[0].text, "Ответ: ") {
					t.Fatalf("messages to the user: %+v; want the answer to the text", ms)
				}
				if got := b.inbox(partnerUID); len(got) != 0 {
					t.Fatalf("inbox %v, want empty", got)
				}
				if got, ok := answerOf(t, b, "cb5"); !ok || got != b.tx.ButtonUnknown {
					t.Fatalf("the press was answered %v with %q, want the notice %q", ok, got, b.tx.ButtonUnknown)
				}
				// It did nothing: no card, no appeal status, no other user's inbox.
				if len(b.sender.to(operatorsChat)) != 0 || len(b.ops.presses) != 0 || len(b.inbox(4242)) != 0 {
					t.Fatalf("a forged press acted: group %+v, promo %v, inbox of 4242 %v", b.sender.to(operatorsChat), b.ops.presses, b.inbox(4242))
				}
				if a, _ := rowOf(t, b, partnerUID); a.Status != domain.AppealStatusAIAnswered {
					t.Fatalf("appeal status %q", a.Status)
				}
				if n := gapTimeouts(t, b); n != 0 {
					t.Fatalf("%v gap timeouts", n)
				}
			})
		}
	}
}

// A press whose update cannot be read is still in the user's chain: the
// message after it is answered.
func TestUnreadablePressDoesNotHoldTheNextMessage(t *testing.T) {
	b := authorizedBench(t, nil)
	press := b.callback(partnerUID, partnerUID, 5, "whatever")
	press.Payload.Update = json.RawMessage(fmt.Sprintf(`{"update_id":%d}`, press.Payload.UpdateID))
	text := b.text(partnerUID, "Какая комиссия?")
	b.handle(text)
	if err := b.handleErr(press); err != nil {
		t.Fatalf("unreadable press: %v", err)
	}
	if ms := b.sender.to(partnerUID); len(ms) != 1 || !strings.HasPrefix(ms[0].text, "Ответ: ") {
		t.Fatalf("messages to the user: %+v", ms)
	}
	if got := b.inbox(partnerUID); len(got) != 0 {
		t.Fatalf("inbox %v", got)
	}
}

// Presses in the operators' group: ours act, the promotions' go to their
// extension, anything else gets the notice and lands in nobody's inbox.
func TestButtonsInTheOperatorsGroup(t *testing.T) {
	b := authorizedBench(t, nil)
	b.handle(b.callback(77, operatorsChat, 9, "promo:go:A-1"))
	if len(b.ops.presses) != 1 {
		t.Fatalf("promotion presses %v", b.ops.presses)
	}
	for i, data := range []string{"whatever", callbackEscalate, "op:take:x", "op:drop:7001"} {
		id := 20 + i
		b.handle(b.callback(77, operatorsChat, id, data))
		if got, ok := answerOf(t, b, fmt.Sprintf("cb%d", id)); !ok || got != b.tx.ButtonUnknown {
			t.Fatalf("%q: answered %v with %q", data, ok, got)
		}
	}
	if len(b.inbox(77)) != 0 || len(b.inbox(partnerUID)) != 0 || len(b.sender.msgs) != 0 || len(b.sender.edits) != 0 {
		t.Fatalf("unknown group presses acted: inboxes %v %v, sent %+v", b.inbox(77), b.inbox(partnerUID), b.sender.msgs)
	}
	// A real one still works, and is answered without a notice.
	b.handle(b.callback(77, operatorsChat, 30, fmt.Sprintf("op:take:%d", partnerUID)))
	if got, ok := answerOf(t, b, "cb30"); !ok || got != "" {
		t.Fatalf("take answered %v with %q", ok, got)
	}
}

// The menu's button still escalates, answered without a notice.
func TestEscalationButtonIsAnsweredPlainly(t *testing.T) {
	b := authorizedBench(t, nil)
	b.handle(b.callback(partnerUID, partnerUID, 5, callbackEscalate))
	if got, ok := answerOf(t, b, "cb5"); !ok || got != "" {
		t.Fatalf("answered %v with %q", ok, got)
	}
	if len(b.sender.to(operatorsChat)) != 1 {
		t.Fatalf("no card in the group: %+v", b.sender.msgs)
	}
}

// A predecessor that really never arrives holds the user for gapTimeout,
// then is given up on, counted once.
func TestGapTimeoutIsCounted(t *testing.T) {
	b := authorizedBench(t, nil)
	_ = b.text(partnerUID, "потерялось") // its task never comes
	b.handle(b.text(partnerUID, "Какая комиссия?"))
	if len(b.sender.to(partnerUID)) != 0 {
		t.Fatal("went ahead of its predecessor")
	}
	b.advance(gapTimeout + time.Second)
	b.drain(partnerUID)
	if ms := b.sender.to(partnerUID); len(ms) != 1 {
		t.Fatalf("after the gap timeout: %+v", ms)
	}
	if n := gapTimeouts(t, b); n != 1 {
		t.Fatalf("gap timeouts %v, want 1", n)
	}
}

// gapTimeouts reads chat_gap_timeouts_total.
func gapTimeouts(t *testing.T, b *bench) float64 {
	t.Helper()
	var m dto.Metric
	if err := b.s.metrics.gapTimeouts.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// A predecessor that reaches the inbox while the holder looks at the gap
// (its task finds the lease taken and leaves it to the holder) is drained
// by the holder before it lets go.
func TestPredecessorArrivingWhileTheHolderLooks(t *testing.T) {
	b := authorizedBench(t, nil)
	first, second := b.text(partnerUID, "раз"), b.text(partnerUID, "два")
	var once sync.Once
	b.onClock(func() { // the pass asks the time exactly when it sees the gap
		once.Do(func() {
			b.push(partnerUID, first)
			if err := b.s.drainUser(t.Context(), partnerUID); err != nil { // finds the lease taken
				t.Error(err)
			}
		})
	})
	b.handle(second)
	if got := userLines(b, partnerUID); strings.Join(got, "|") != "раз|два" {
		t.Fatalf("history %q, inbox %v", got, b.inbox(partnerUID))
	}
}
