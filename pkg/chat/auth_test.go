package chat

import (
	"strings"
	"testing"
)

func lastText(t *testing.T, b *bench, chat int64) string {
	t.Helper()
	ms := b.sender.to(chat)
	if len(ms) == 0 {
		t.Fatalf("nothing sent to %d", chat)
	}
	return ms[len(ms)-1].text
}

func TestAuthorizeOwnContact(t *testing.T) {
	const uid = 6001
	b := newBench(t, nil)
	b.partner("P-0001", "79123456789", "Иванова Мария Петровна", 0)
	// The phone as Telegram sends it: any spelling normalizes to the sheet's.
	b.handle(b.contact(uid, uid, "+7 (912) 345-67-89"))

	p := b.store.partner("P-0001")
	if p.TelegramID != uid || !p.Authorized() {
		t.Fatalf("partner not bound: %+v", p)
	}
	if len(b.store.phones) != 1 || b.store.phones[0] != "79123456789" {
		t.Fatalf("the store was asked for %q, want the normalized phone", b.store.phones)
	}
	if len(b.proj.put) != 1 || b.proj.put[0].TelegramID != uid || b.proj.put[0].Code != "P-0001" {
		t.Fatalf("projection: %+v", b.proj.put)
	}
	ms := b.sender.to(uid)
	if len(ms) != 2 || !strings.Contains(ms[0].text, "P-0001") || !strings.Contains(ms[0].text, "Мария") || ms[1].text != b.tx.Help {
		t.Fatalf("answers: %+v", ms)
	}
	if len(b.store.rows(uid)) != 0 {
		t.Fatal("authorization wrote an appeal")
	}
}

func TestAuthorizeRefusesSomeoneElsesContact(t *testing.T) {
	const uid = 6002
	b := newBench(t, nil)
	b.partner("P-0001", "79123456789", "Иванова Мария", 0)
	b.handle(b.contact(uid, 424242, "+79123456789"))

	if got := lastText(t, b, uid); got != b.tx.AuthForeignContact {
		t.Fatalf("answer %q", got)
	}
	if b.store.authCalls != 0 || len(b.store.phones) != 0 || len(b.proj.put) != 0 {
		t.Fatalf("a foreign contact reached the sheet: authorize %d, phone lookups %q, projection %v", b.store.authCalls, b.store.phones, b.proj.put)
	}
	if p := b.store.partner("P-0001"); p.TelegramID != 0 {
		t.Fatalf("partner bound: %+v", p)
	}
}

func TestAuthorizeUnknownOrBadPhone(t *testing.T) {
	cases := []struct {
		name   string
		phone  string
		lookup bool // the store is asked
	}{
		{"unknown", "+7 999 000-11-22", true},
		{"not a phone", "12-34", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			const uid = 6003
			b := newBench(t, func(o *Options) { o.SupportContact = "@desk" })
			b.partner("P-0001", "79123456789", "Иванова Мария", 0)
			b.handle(b.contact(uid, uid, c.phone))
			if got := lastText(t, b, uid); !strings.Contains(got, "@desk") {
				t.Fatalf("answer %q does not name the support contact", got)
			}
			if (len(b.store.phones) == 1) != c.lookup || b.store.authCalls != 0 {
				t.Fatalf("lookups %q, authorize calls %d", b.store.phones, b.store.authCalls)
			}
		})
	}
}

// Failed attempts are counted per hour; over the limit the user is told to
// contact support and nothing is looked up any more.
func TestAuthorizeFailuresThrottled(t *testing.T) {
	const uid = 6004
	b := newBench(t, func(o *Options) { o.AuthFailuresPerHour = 2; o.SupportContact = "@desk" })
	b.partner("P-0001", "79123456789", "Иванова Мария", 0)
	for range 3 {
		b.handle(b.contact(uid, uid, "+79990001122"))
	}
	ms := b.sender.to(uid)
	if len(ms) != 3 {
		t.Fatalf("%d answers, want 3", len(ms))
	}
	tooMany := b.tx.Render(b.tx.AuthTooMany, map[string]any{"Support": "@desk"})
	if ms[0].text == tooMany || ms[1].text == tooMany || ms[2].text != tooMany {
		t.Fatalf("answers: %q / %q / %q", ms[0].text, ms[1].text, ms[2].text)
	}
	if len(b.store.phones) != 2 {
		t.Fatalf("%d phone lookups, want 2 (none once throttled)", len(b.store.phones))
	}
	// Even the right phone is refused until the hour is over.
	b.handle(b.contact(uid, uid, "+79123456789"))
	if got := lastText(t, b, uid); got != tooMany || b.store.authCalls != 0 {
		t.Fatalf("throttled user authorized: %q", got)
	}
}

// A typed partner code is remembered; the contact must then be that partner's.
func TestAuthorizeByCodeThenContact(t *testing.T) {
	const uid = 6005
	b := newBench(t, nil)
	b.partner("P-0001", "79123456789", "Иванова Мария", 0)
	b.partner("P-0002", "79120000002", "Петров Пётр", 0)
	b.handle(b.text(uid, "p-0002"))
	if got := lastText(t, b, uid); !strings.Contains(got, "P-0002") {
		t.Fatalf("code answer %q", got)
	}
	b.handle(b.contact(uid, uid, "+79123456789")) // P-0001's phone
	if got := lastText(t, b, uid); !strings.Contains(got, "P-0002") || b.store.authCalls != 0 {
		t.Fatalf("mismatch answer %q, authorize calls %d", got, b.store.authCalls)
	}
	b.handle(b.contact(uid, uid, "+79120000002"))
	if p := b.store.partner("P-0002"); p.TelegramID != uid {
		t.Fatalf("P-0002 not bound: %+v", p)
	}
}

// Everything else an unknown user sends gets the request to authorize, and
// nothing goes into the history or to the model.
func TestUnknownUserIsAskedToAuthorize(t *testing.T) {
	const uid = 6006
	b := newBench(t, nil)
	b.handle(b.text(uid, "/start"))
	b.handle(b.text(uid, "Какая комиссия?"))
	b.handle(b.text(uid, "оператор"))
	ms := b.sender.to(uid)
	if len(ms) != 3 || ms[0].text != b.tx.StartUnauthorized || ms[1].text != b.tx.AuthPrompt || ms[2].text != b.tx.AuthPrompt {
		t.Fatalf("answers: %+v", ms)
	}
	if !strings.Contains(mustJSON(t, ms[0].markup), "request_contact") {
		t.Fatalf("no share-contact keyboard: %s", mustJSON(t, ms[0].markup))
	}
	if len(b.gen.calls()) != 0 || len(b.store.rows(uid)) != 0 || len(b.sender.to(operatorsChat)) != 0 {
		t.Fatal("an unknown user reached the model, the history or the operators")
	}
}
