package chat

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// unitIDs renders how next cuts items into units: "[101 102] [103]".
func unitIDs(t *testing.T, b *bench, uid int64, items []item, authorized bool) string {
	t.Helper()
	out := ""
	for len(items) > 0 {
		u, err := b.s.next(context.Background(), uid, items, authorized)
		if err != nil {
			t.Fatal(err)
		}
		out += fmt.Sprint(u.ids())
		items = items[len(u.items):]
		if len(items) > 0 {
			out += " "
		}
	}
	return out
}

func TestNextMergesQuickTexts(t *testing.T) {
	const uid = 5002
	cases := []struct {
		name       string
		items      func(b *bench) []item
		authorized bool
		want       string
	}{
		{"three texts make one unit", func(b *bench) []item {
			return []item{b.text(uid, "раз"), b.text(uid, "два"), b.text(uid, "три")}
		}, true, "[101 102 103]"},
		{"a command ends the unit", func(b *bench) []item {
			return []item{b.text(uid, "раз"), b.text(uid, "/help"), b.text(uid, "три")}
		}, true, "[101] [102] [103]"},
		{"an edit is a unit of its own", func(b *bench) []item {
			return []item{b.text(uid, "раз"), b.edited(uid, "раз!"), b.text(uid, "три")}
		}, true, "[101] [102] [103]"},
		{"a keyword message is not merged", func(b *bench) []item {
			return []item{b.text(uid, "раз"), b.text(uid, "оператор"), b.text(uid, "три")}
		}, true, "[101] [102] [103]"},
		{"media ends the unit", func(b *bench) []item {
			return []item{b.text(uid, "раз"), b.media(uid, "media", `"voice":{"file_id":"v","file_unique_id":"u","duration":1}`)}
		}, true, "[101] [102]"},
		{"an unknown user's texts are not merged", func(b *bench) []item {
			return []item{b.text(uid, "раз"), b.text(uid, "два")}
		}, false, "[101] [102]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newBench(t, nil)
			if got := unitIDs(t, b, uid, c.items(b), c.authorized); got != c.want {
				t.Fatalf("units %s, want %s", got, c.want)
			}
		})
	}
}

// A unit never grows past an update whose unit already has its reply
// generated (recorded under the unit's last update): a re-run after a
// crash cuts the same units, so the recorded reply still answers exactly
// the messages it was generated for.
func TestNextStopsAtAGeneratedEnd(t *testing.T) {
	const uid = 5003
	b := newBench(t, nil)
	items := []item{b.text(uid, "раз"), b.text(uid, "два"), b.text(uid, "три"), b.text(uid, "четыре")}
	ctx := context.Background()
	if err := b.s.ib.markStep(ctx, stepRef{uid, items[1].Payload.UpdateID, "gen"}, `{"kind":"ai","text":"x"}`); err != nil {
		t.Fatal(err)
	}
	if got := unitIDs(t, b, uid, items, true); got != "[101 102] [103 104]" {
		t.Fatalf("units %s, want [101 102] [103 104]", got)
	}
}

func TestReadyWaitsForAPredecessor(t *testing.T) {
	const uid = 5004
	ctx := context.Background()
	b := newBench(t, nil)
	first, second, third := b.text(uid, "раз"), b.text(uid, "два"), b.text(uid, "три")
	ready := func(items ...item) string {
		t.Helper()
		got, err := b.s.ready(ctx, uid, items)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, it := range got {
			out = append(out, it.Payload.UpdateID)
		}
		return fmt.Sprint(out)
	}
	// 102 and 103 arrived, 101 (their predecessor) did not: wait.
	if got := ready(second, third); got != "[]" {
		t.Fatalf("ready %s before the predecessor arrived", got)
	}
	// The predecessor is in the inbox ahead of them: all go.
	if got := ready(first, second, third); got != "[101 102 103]" {
		t.Fatalf("ready %s", got)
	}
	// The predecessor was processed: go.
	if err := b.s.ib.complete(ctx, uid, first.Payload.UpdateID); err != nil {
		t.Fatal(err)
	}
	if got := ready(second, third); got != "[102 103]" {
		t.Fatalf("ready %s after the predecessor was done", got)
	}
	// A gap in the middle stops there.
	fifth := b.text(uid, "пять")
	fifth.Payload.Prev = 199
	if got := ready(second, third, fifth); got != "[102 103]" {
		t.Fatalf("ready %s with a gap before 104", got)
	}
	// A predecessor that never comes holds the user back only so long.
	b.advance(gapTimeout + time.Second)
	if got := ready(second, third, fifth); got != "[102 103 104]" {
		t.Fatalf("ready %s after the gap timed out", got)
	}
}

func TestUnitMessages(t *testing.T) {
	const uid = 5005
	b := newBench(t, nil)
	items := []item{b.text(uid, "раз"), b.edited(uid, "два")}
	u := unit{items: items}
	for _, it := range items {
		up, err := decode(it)
		if err != nil {
			t.Fatal(err)
		}
		u.upd = append(u.upd, up)
	}
	if u.firstID() != 101 || u.lastID() != 102 || !u.has(102) || u.has(103) {
		t.Fatalf("ids: first %d last %d", u.firstID(), u.lastID())
	}
	if u.message(0).Text != "раз" || u.message(1).Text != "два" {
		t.Fatalf("messages: %q %q", u.message(0).Text, u.message(1).Text)
	}
	turns, question := b.s.userTurns(u)
	if ids(turns) != "user:u101 user:u102" || question != "раз\n"+b.tx.EditedPrefix+"два" {
		t.Fatalf("user turns %s, question %q", ids(turns), question)
	}
}
