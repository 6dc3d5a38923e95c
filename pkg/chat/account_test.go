package chat

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// Account state that follows the sheet: the Auth row's Telegram ID and
// bot_blocked_at, and the projection the Mini App reads (b.proj keeps it
// for real on miniredis).

const (
	oldAccount = int64(7101)
	newAccount = int64(7102)
)

// reboundBench has P-0001 bound to oldAccount, which had blocked the bot.
func reboundBench(t *testing.T, clearsBlocked bool) *bench {
	b := newBench(t, nil)
	b.store.clearsBlocked = clearsBlocked
	b.partner("P-0001", "79123456789", "Иванова Мария Петровна", oldAccount)
	b.store.partners[0].BotBlockedAt = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	if err := b.proj.PutPartner(context.Background(), projectionOf(oldAccount, b.store.partners[0]), partnerTTL); err != nil {
		t.Fatal(err)
	}
	return b
}

// A partner re-authorizes with a new Telegram account: the row is the new
// account's, not blocked; the old account loses the Mini App at once and the
// chat no longer takes it for the partner. Whether the store clears the
// blocked mark itself or leaves it, the row ends unblocked.
func TestReauthorizingARowWithANewAccount(t *testing.T) {
	for _, clears := range []bool{false, true} {
		name := map[bool]string{false: "store keeps the mark", true: "store clears the mark"}[clears]
		t.Run(name, func(t *testing.T) {
			b := reboundBench(t, clears)
			if !b.proj.miniApp(t, oldAccount) {
				t.Fatal("bench: the old account has no Mini App access")
			}
			b.handle(b.contact(newAccount, newAccount, "+79123456789"))

			p := b.store.partner("P-0001")
			if p.TelegramID != newAccount || !p.Authorized() || p.Blocked() {
				t.Fatalf("row %+v: want bound to the new account and not blocked", p)
			}
			if blocked, _ := b.s.isBlocked(context.Background(), newAccount); blocked {
				t.Fatal("the new account is treated as blocked")
			}
			if b.proj.miniApp(t, oldAccount) {
				t.Fatal("the old account keeps the Mini App")
			}
			if !b.proj.miniApp(t, newAccount) {
				t.Fatal("the new account has no Mini App")
			}
			// The old account writes: it is asked to authorize, not answered as P-0001.
			b.handle(b.text(oldAccount, "Какая комиссия?"))
			if got := lastText(t, b, oldAccount); got != b.tx.AuthPrompt || len(b.gen.calls()) != 0 {
				t.Fatalf("the old account was answered %q (%d model calls)", got, len(b.gen.calls()))
			}
			// And the scan that follows keeps it so.
			if err := b.s.AuthScanner().Scan(context.Background()); err != nil {
				t.Fatal(err)
			}
			if b.proj.miniApp(t, oldAccount) || !b.proj.miniApp(t, newAccount) {
				t.Fatal("the scan brought the old account back or dropped the new one")
			}
		})
	}
}

// The authorization's unit fails after the row was written (here: clearing
// the mark fails once); its re-run still knows the previous account.
func TestReauthorizationRerunKnowsThePreviousAccount(t *testing.T) {
	b := reboundBench(t, false)
	failed := false
	b.store.SetBotBlockedFn = func(int64, time.Time) error {
		if !failed {
			failed = true
			return errors.New("sheets: 503")
		}
		return nil
	}
	it := b.contact(newAccount, newAccount, "+79123456789")
	if err := b.handleErr(it); err == nil {
		t.Fatal("the first run did not fail")
	}
	if p := b.store.partner("P-0001"); p.TelegramID != newAccount {
		t.Fatalf("bench: the first run did not write the row: %+v", p)
	}
	b.handle(it) // the task's retry
	if p := b.store.partner("P-0001"); p.Blocked() {
		t.Fatalf("row still blocked: %+v", p)
	}
	if b.proj.miniApp(t, oldAccount) || !b.proj.miniApp(t, newAccount) {
		t.Fatal("projection after the re-run")
	}
	if b.store.authCalls != 1 {
		t.Fatalf("the row was written %d times", b.store.authCalls)
	}
}

// The same account authorizing again (a person had revoked the row's
// STATUS and left its Telegram ID) is not blocked any more, and nothing is
// taken from it.
func TestReauthorizingTheSameAccount(t *testing.T) {
	b := reboundBench(t, false)
	b.store.partners[0].Status = ""
	b.handle(b.contact(oldAccount, oldAccount, "+79123456789"))
	if p := b.store.partner("P-0001"); p.TelegramID != oldAccount || p.Blocked() {
		t.Fatalf("row %+v", p)
	}
	if !b.proj.miniApp(t, oldAccount) || len(b.proj.removed) != 0 {
		t.Fatalf("projection: access %v, removed %v", b.proj.miniApp(t, oldAccount), b.proj.removed)
	}
}

// Block and unblock reach workers in any order; they are applied in the
// order the user made them, like the user's messages.
func TestBlockAndUnblockInTheUsersOrder(t *testing.T) {
	cases := map[string][]int{"in order": {0, 1, 2}, "reversed": {2, 1, 0}, "unblock first": {1, 0, 2}}
	for name, order := range cases {
		t.Run(name, func(t *testing.T) {
			b := authorizedBench(t, nil)
			ups := []item{b.member(partnerUID, "kicked"), b.member(partnerUID, "member"), b.text(partnerUID, "Какая комиссия?")}
			for _, i := range order {
				b.handle(ups[i])
			}
			if p := b.store.partner("P-0001"); p.Blocked() {
				t.Fatalf("the unblock was applied before the block: %+v", p)
			}
			if !b.proj.miniApp(t, partnerUID) {
				t.Fatal("no Mini App after the unblock")
			}
			if ms := b.sender.to(partnerUID); len(ms) != 1 {
				t.Fatalf("answers %+v", ms)
			}
			if got := b.inbox(partnerUID); len(got) != 0 {
				t.Fatalf("inbox %v", got)
			}
		})
	}
}

// Block → unblock → block, the last arriving first: the user ends blocked,
// without the Mini App.
func TestBlockUnblockBlock(t *testing.T) {
	b := authorizedBench(t, nil)
	ups := []item{b.member(partnerUID, "kicked"), b.member(partnerUID, "member"), b.member(partnerUID, "kicked")}
	for _, i := range []int{2, 0, 1} {
		b.handle(ups[i])
	}
	if p := b.store.partner("P-0001"); !p.Blocked() {
		t.Fatalf("row %+v: want blocked", p)
	}
	if b.proj.miniApp(t, partnerUID) {
		t.Fatal("a blocked user keeps the Mini App")
	}
}

// An unblock gives the Mini App back only to the account the row is bound
// to, and clears the mark either way.
func TestUnblockRestoresTheMiniApp(t *testing.T) {
	b := authorizedBench(t, nil)
	b.handle(b.member(partnerUID, "kicked"))
	if b.proj.miniApp(t, partnerUID) {
		t.Fatal("blocked, still in the Mini App")
	}
	b.handle(b.member(partnerUID, "member"))
	if !b.proj.miniApp(t, partnerUID) || b.store.partner("P-0001").Blocked() {
		t.Fatal("unblocked, no Mini App or still marked")
	}

	const stranger = 7200 // not a partner
	b.handle(b.member(stranger, "kicked"))
	b.handle(b.member(stranger, "member"))
	if b.proj.miniApp(t, stranger) {
		t.Fatal("a stranger's unblock gave them the Mini App")
	}
}

// A person edits the Auth sheet: clears an account's Telegram ID, or binds
// the row to another account. The next auth scan takes the Mini App from
// the old account, whoever projected it (here: the chat, at authorization).
func TestAuthScanRevokesAccountsUnboundByAPerson(t *testing.T) {
	b := newBench(t, nil)
	b.partner("P-0001", "79123456789", "Иванова Мария Петровна", 0)
	b.partner("P-0002", "79120000002", "Петров Пётр", 0)
	b.handle(b.contact(oldAccount, oldAccount, "+79123456789"))
	b.handle(b.contact(newAccount, newAccount, "+79120000002"))
	if !b.proj.miniApp(t, oldAccount) || !b.proj.miniApp(t, newAccount) {
		t.Fatal("bench: authorization did not project")
	}
	b.store.mu.Lock()
	b.store.partners[0].TelegramID = 0    // cleared by hand
	b.store.partners[1].TelegramID = 7300 // rebound by hand
	b.store.mu.Unlock()
	if err := b.s.AuthScanner().Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	if b.proj.miniApp(t, oldAccount) || b.proj.miniApp(t, newAccount) {
		t.Fatal("an unbound account keeps the Mini App after the scan")
	}
	if !b.proj.miniApp(t, 7300) {
		t.Fatal("the account bound by hand has no Mini App")
	}
	b.handle(b.text(oldAccount, "Какая комиссия?"))
	if got := lastText(t, b, oldAccount); !strings.Contains(got, b.tx.AuthPrompt) {
		t.Fatalf("the unbound account was answered %q", got)
	}
}

// A block written while the row is bound to nobody does not fail the unit.
func TestMemberUpdateOfAnUnboundRow(t *testing.T) {
	b := newBench(t, nil)
	b.partner("P-0001", "79123456789", "Иванова", 0)
	b.handle(b.member(oldAccount, "kicked"))
	if p := b.store.partner("P-0001"); p.Blocked() || p.TelegramID != 0 {
		t.Fatalf("row %+v", p)
	}
	if got := b.inbox(oldAccount); len(got) != 0 {
		t.Fatalf("inbox %v", got)
	}
}
