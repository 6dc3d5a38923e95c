package chat

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/mymmrac/telego"

	"marketingbot/pkg/ai"
	"marketingbot/pkg/domain"
	"marketingbot/pkg/telegram"
)

var errSheetsDown = errors.New("sheets down")

// failOnce makes the next n appeal writes fail, as a worker dying before
// its write would (the unit stays in the inbox and its task is re-run).
func failWrites(b *bench, n int) *int {
	creates := 0
	rechecks := new(int)
	b.store.CreateAppealFn = func(_ domain.Appeal, recheck bool) error {
		if recheck {
			*rechecks++
		}
		if creates++; creates <= n {
			return errSheetsDown
		}
		return nil
	}
	b.store.UpdateAppealFn = func(domain.Appeal) error {
		if creates++; creates <= n {
			return errSheetsDown
		}
		return nil
	}
	return rechecks
}

// The reply went out, the sheet write did not: the re-run writes the
// history once and sends and generates nothing again.
func TestRerunAfterFailedWriteDoesNotRepeat(t *testing.T) {
	b := authorizedBench(t, nil)
	rechecks := failWrites(b, 1)
	it := b.text(partnerUID, "Какая комиссия?")
	if err := b.handleErr(it); !errors.Is(err, errSheetsDown) {
		t.Fatalf("first run: %v", err)
	}
	if got := b.inbox(partnerUID); len(got) != 1 || len(b.sender.to(partnerUID)) != 1 {
		t.Fatalf("after the failed write: inbox %v, %d sent", got, len(b.sender.to(partnerUID)))
	}
	b.handle(it) // asynq's retry of the same task

	if n := len(b.gen.calls()); n != 1 {
		t.Fatalf("%d model calls, want 1", n)
	}
	if n := len(b.sender.to(partnerUID)); n != 1 {
		t.Fatalf("%d replies, want 1", n)
	}
	if _, turns := rowOf(t, b, partnerUID); ids(turns) != "user:u101 ai:a101" {
		t.Fatalf("history %s", ids(turns))
	}
	if *rechecks != 1 {
		t.Fatalf("the re-run created the row without looking first (%d rechecks)", *rechecks)
	}
	if len(b.inbox(partnerUID)) != 0 {
		t.Fatal("the unit stayed in the inbox")
	}
}

// The sheet write landed, the inbox was not cleared: the re-run finds its
// AI line in the history and does nothing.
func TestRerunAfterLandedWriteIsANoop(t *testing.T) {
	b := authorizedBench(t, nil)
	it := b.text(partnerUID, "Какая комиссия?")
	b.handle(it)
	ctx := context.Background()
	// Undo the inbox's completion only.
	if err := b.rdb.ZRem(ctx, b.s.ib.doneKey(partnerUID), strconv.FormatInt(it.Payload.UpdateID, 10)).Err(); err != nil {
		t.Fatal(err)
	}
	b.handle(it)
	if n, m := len(b.gen.calls()), len(b.sender.to(partnerUID)); n != 1 || m != 1 {
		t.Fatalf("%d model calls and %d replies, want 1 and 1", n, m)
	}
	if _, turns := rowOf(t, b, partnerUID); ids(turns) != "user:u101 ai:a101" {
		t.Fatalf("history %s", ids(turns))
	}
}

// A merged unit failed after its reply was generated; a message arriving
// meanwhile does not join it on the re-run, so the recorded reply answers
// what it was generated for and the new message gets its own.
func TestRerunKeepsTheUnitItGenerated(t *testing.T) {
	b := authorizedBench(t, nil)
	failWrites(b, 1)
	b.push(partnerUID, b.text(partnerUID, "раз"), b.text(partnerUID, "два"))
	if err := b.s.drainUser(context.Background(), partnerUID); !errors.Is(err, errSheetsDown) {
		t.Fatalf("first drain: %v", err)
	}
	b.push(partnerUID, b.text(partnerUID, "три"))
	b.drain(partnerUID)

	calls := b.gen.calls()
	if len(calls) != 2 || calls[1].Turns[len(calls[1].Turns)-1].Text != "три" {
		t.Fatalf("%d model calls: %+v", len(calls), calls)
	}
	if ms := b.sender.to(partnerUID); len(ms) != 2 || ms[0].replyTo != 2 || ms[1].replyTo != 3 {
		t.Fatalf("replies %+v", ms)
	}
	if _, turns := rowOf(t, b, partnerUID); ids(turns) != "user:u101 user:u102 ai:a102 user:u103 ai:a103" {
		t.Fatalf("history %s", ids(turns))
	}
}

// Escalation saved, then the answer failed: the re-run neither writes the
// system line again nor posts a second card.
func TestRerunOfEscalation(t *testing.T) {
	b := authorizedBench(t, nil)
	fails := 1
	b.sender.SendMessageFn = func(p *telego.SendMessageParams) error {
		if p.ChatID.ID == partnerUID && fails > 0 {
			fails--
			return errors.New("telegram down")
		}
		return nil
	}
	it := b.text(partnerUID, "оператор")
	if err := b.handleErr(it); err == nil {
		t.Fatal("first run succeeded")
	}
	b.handle(it)
	if _, turns := rowOf(t, b, partnerUID); ids(turns) != "user:u101 system:s-esc-101" {
		t.Fatalf("history %s", ids(turns))
	}
	if n, g := len(b.sender.to(partnerUID)), len(b.sender.to(operatorsChat)); n != 1 || g != 1 {
		t.Fatalf("%d answers and %d cards, want 1 and 1", n, g)
	}
}

// Bound in the sheet, then the success message failed: the re-run does not
// bind again, and finishes what was left (the success message and the
// menu), although it now finds the user authorized.
func TestRerunOfAuthorization(t *testing.T) {
	const uid = 6101
	b := newBench(t, nil)
	b.partner("P-0001", "79123456789", "Иванова Мария", 0)
	fails := 1
	b.sender.SendMessageFn = func(*telego.SendMessageParams) error {
		if fails > 0 {
			fails--
			return errors.New("telegram down")
		}
		return nil
	}
	it := b.contact(uid, uid, "+79123456789")
	if err := b.handleErr(it); err == nil {
		t.Fatal("first run succeeded")
	}
	b.handle(it)
	if b.store.authCalls != 1 {
		t.Fatalf("%d AuthorizePartner calls, want 1", b.store.authCalls)
	}
	if ms := b.sender.to(uid); len(ms) != 2 || !strings.Contains(ms[0].text, "P-0001") || ms[1].text != b.tx.Help {
		t.Fatalf("messages %+v", ms)
	}
}

// A unit that keeps failing is given up with an apology, so that it does
// not block the user's inbox.
func TestPoisonedUnitGivenUp(t *testing.T) {
	b := authorizedBench(t, nil)
	b.store.CreateAppealFn = func(domain.Appeal, bool) error { return errSheetsDown }
	it := b.text(partnerUID, "Какая комиссия?")
	for i := 1; i < maxAttempts; i++ {
		if err := b.handleErr(it); !errors.Is(err, errSheetsDown) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if err := b.handleErr(it); err != nil {
		t.Fatalf("attempt %d: %v", maxAttempts, err)
	}
	if got := lastText(t, b, partnerUID); got != b.tx.ProcessingFailed {
		t.Fatalf("last message %q", got)
	}
	if len(b.inbox(partnerUID)) != 0 {
		t.Fatal("the poisoned unit is still in the inbox")
	}
}

// A user who blocked the bot is marked once; the unit is not retried.
func TestBlockedUserMarkedNotRetried(t *testing.T) {
	b := authorizedBench(t, nil)
	attempts := 0
	b.sender.SendMessageFn = func(*telego.SendMessageParams) error {
		attempts++
		return telegram.ErrBlocked
	}
	b.handle(b.text(partnerUID, "Какая комиссия?"))
	if attempts != 1 {
		t.Fatalf("%d send attempts, want 1", attempts)
	}
	if p := b.store.partner("P-0001"); !p.Blocked() {
		t.Fatal("Auth G not written")
	}
	if len(b.proj.removed) != 1 || b.proj.removed[0] != partnerUID {
		t.Fatalf("projection not cleared: %v", b.proj.removed)
	}
	if len(b.inbox(partnerUID)) != 0 {
		t.Fatal("the unit stayed in the inbox")
	}
}

// The fallback went out, the write did not: the re-run sends it no more.
func TestRerunOfFallback(t *testing.T) {
	b := authorizedBench(t, nil)
	failWrites(b, 1)
	b.gen.GenerateFn = func(ai.Request) (string, error) { return "", ai.ErrUnavailable }
	it := b.text(partnerUID, "Какая комиссия?")
	if err := b.handleErr(it); !errors.Is(err, errSheetsDown) {
		t.Fatalf("first run: %v", err)
	}
	b.handle(it)
	if ms := b.sender.to(partnerUID); len(ms) != 1 || ms[0].text != b.tx.AIFallback {
		t.Fatalf("messages %+v", ms)
	}
	if n := len(b.gen.calls()); n != 1 {
		t.Fatalf("%d model calls, want 1", n)
	}
	if _, turns := rowOf(t, b, partnerUID); ids(turns) != "user:u101 system:s-ai-101" {
		t.Fatalf("history %s", ids(turns))
	}
}
