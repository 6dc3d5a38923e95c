package chat

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"marketingbot/pkg/ai"
	"marketingbot/pkg/history"
	"marketingbot/pkg/tasks"
)

// userLines are the texts of the user's lines in the user's appeal rows.
func userLines(b *bench, uid int64) []string {
	var out []string
	for _, turns := range b.history(uid) {
		for _, t := range turns {
			if t.Role == history.RoleUser {
				out = append(out, t.Text)
			}
		}
	}
	return out
}

// A task that finds the user's lease taken leaves its update to the holder.
func TestDrainLeavesAHeldUserToTheHolder(t *testing.T) {
	b := authorizedBench(t, nil)
	ctx := context.Background()
	l, err := b.s.ib.lock(ctx, partnerUID, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	b.handle(b.text(partnerUID, "раз"))
	b.handle(b.text(partnerUID, "два"))
	if got := b.inbox(partnerUID); len(got) != 2 || len(b.gen.calls()) != 0 {
		t.Fatalf("processed under another worker's lease: inbox %v", got)
	}
	l.release(ctx)
	b.drain(partnerUID)
	if got := userLines(b, partnerUID); strings.Join(got, "|") != "раз|два" || len(b.gen.calls()) != 1 {
		t.Fatalf("history %q, %d model calls", got, len(b.gen.calls()))
	}
}

// Tasks reach the worker in any order; the user's updates are taken up in
// the order they were sent.
func TestUpdatesArrivingOutOfOrder(t *testing.T) {
	b := authorizedBench(t, nil)
	first, second, third := b.text(partnerUID, "раз"), b.text(partnerUID, "/help"), b.text(partnerUID, "три")
	b.handle(third)
	b.handle(second)
	if got := b.inbox(partnerUID); len(got) != 2 || len(b.sender.msgs) != 0 {
		t.Fatalf("went ahead of the first update: inbox %v, sent %+v", got, b.sender.msgs)
	}
	b.handle(first)
	ms := b.sender.to(partnerUID)
	if len(ms) != 3 || ms[0].replyTo != 1 || ms[1].text != b.tx.Help || ms[2].replyTo != 3 {
		t.Fatalf("answers %+v", ms)
	}
	if got := userLines(b, partnerUID); strings.Join(got, "|") != "раз|три" {
		t.Fatalf("history %q", got)
	}
}

// Many users, each sending quickly; every task runs concurrently in a random
// order. Each user's messages are answered once each, in order, and the
// history holds them in order once each.
func TestPerUserOrderUnderConcurrentDrains(t *testing.T) {
	const users, messages = 8, 12
	b := newBench(t, nil)
	var all []item
	for u := range users {
		b.partner(fmt.Sprintf("P-%04d", u+1), fmt.Sprintf("7900000%04d", u), "Партнёр", int64(9000+u))
	}
	for i := range messages {
		for u := range users {
			all = append(all, b.text(int64(9000+u), fmt.Sprintf("сообщение %d", i)))
		}
	}
	rand.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	var wg sync.WaitGroup
	for _, it := range all {
		wg.Go(func() {
			if err := b.handleErr(it); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	// A drain that found a gap may have let go of the lease just as the
	// missing update's task found it taken; the poller's sweeper enqueues
	// a drain for such inboxes (TestSweeperEnqueuesDrainsOfIdleInboxes).
	for u := range users {
		b.drain(int64(9000 + u))
	}
	for u := range users {
		uid := int64(9000 + u)
		var want []string
		for i := range messages {
			want = append(want, fmt.Sprintf("сообщение %d", i))
		}
		if got := userLines(b, uid); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("user %d history %q", uid, got)
		}
		last := 0
		for _, m := range b.sender.to(uid) {
			if m.replyTo <= last {
				t.Fatalf("user %d: replies out of order or twice: %+v", uid, b.sender.to(uid))
			}
			last = m.replyTo
		}
		if got := b.inbox(uid); len(got) != 0 {
			t.Fatalf("user %d: inbox %v", uid, got)
		}
	}
}

func TestSweeperEnqueuesDrainsOfIdleInboxes(t *testing.T) {
	b := authorizedBench(t, nil)
	ctx := context.Background()
	const held = 7002
	b.push(partnerUID, b.text(partnerUID, "раз"))
	b.push(held, b.text(held, "два"))
	if _, err := b.s.ib.lock(ctx, held, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := b.s.SweepScanner().Scan(ctx); err != nil {
		t.Fatal(err)
	}
	if len(b.enq.tasks) != 1 || b.enq.tasks[0].Type() != tasks.TypeChatDrain {
		t.Fatalf("tasks %+v", b.enq.tasks)
	}
	p, err := tasks.ParseDrain(b.enq.tasks[0])
	if err != nil || p.UserID != partnerUID {
		t.Fatalf("drain of %d (%v), want %d", p.UserID, err, partnerUID)
	}
	// Drained and empty: off the sweeper's list.
	b.drain(partnerUID)
	b.enq.tasks = nil
	if err := b.s.SweepScanner().Scan(ctx); err != nil {
		t.Fatal(err)
	}
	if len(b.enq.tasks) != 0 {
		t.Fatalf("tasks after the drain: %+v", b.enq.tasks)
	}
	if ok, _ := b.rdb.SIsMember(ctx, b.s.ib.usersKey(), partnerUID).Result(); ok {
		t.Fatal("an empty inbox stayed on the sweeper's list")
	}
}

func TestAuthScannerSyncsTheProjection(t *testing.T) {
	b := newBench(t, nil)
	b.partner("P-0001", "79120000001", "Один", 101)
	b.partner("P-0002", "79120000002", "Два", 0) // not bound
	b.partner("P-0003", "79120000003", "Три", 103)
	b.store.partners[2].BotBlockedAt = time.Now()
	if err := b.s.AuthScanner().Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(b.proj.synced) != 1 || b.proj.synced[0].TelegramID != 101 || b.proj.synced[0].Code != "P-0001" {
		t.Fatalf("synced %+v", b.proj.synced)
	}
}

func TestMemberUpdates(t *testing.T) {
	b := authorizedBench(t, nil)
	member := func(status string) {
		t.Helper()
		raw := fmt.Sprintf(`{"update_id":0,"my_chat_member":{"chat":{"id":%d,"type":"private"},"from":{"id":%d,"is_bot":false,"first_name":"М"},"date":1700000000,`+
			`"old_chat_member":{"status":"member","user":{"id":1,"is_bot":true,"first_name":"bot"}},"new_chat_member":{"status":%q,"user":{"id":1,"is_bot":true,"first_name":"bot"}%s}}}`,
			partnerUID, partnerUID, status, map[bool]string{true: `,"until_date":0`}[status == "kicked"])
		it := b.payload(tasks.TypeChatMember, partnerUID, tasks.KindMember, []byte(raw))
		task, err := tasks.NewUpdateTask(it.Type, it.Payload, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.s.HandleMember(context.Background(), task); err != nil {
			t.Fatal(err)
		}
	}
	member("kicked")
	if p := b.store.partner("P-0001"); !p.Blocked() || len(b.proj.removed) != 1 {
		t.Fatalf("block not recorded: %+v, removed %v", p, b.proj.removed)
	}
	member("member")
	if p := b.store.partner("P-0001"); p.Blocked() {
		t.Fatal("unblock not recorded")
	}
}

// A drain that lost the user's lease (it expired while Redis was away and
// another worker took the user) stops before its next effect: nothing is
// sent or written, and the unit stays for the new holder.
func TestLostLeaseStopsTheDrain(t *testing.T) {
	b := authorizedBench(t, nil)
	b.gen.GenerateFn = func(req ai.Request) (string, error) {
		b.mr.Set(b.s.ib.lockKey(partnerUID), "another worker")
		return "ответ", nil
	}
	if err := b.handleErr(b.text(partnerUID, "Какая комиссия?")); !errors.Is(err, errLeaseLost) {
		t.Fatalf("err = %v, want the lease lost", err)
	}
	if len(b.sender.msgs) != 0 || len(b.store.rows(partnerUID)) != 0 {
		t.Fatalf("acted without the lease: sent %+v, rows %+v", b.sender.msgs, b.store.rows(partnerUID))
	}
	if got := b.inbox(partnerUID); len(got) != 1 {
		t.Fatalf("inbox %v", got)
	}
	if v, _ := b.mr.Get(b.s.ib.lockKey(partnerUID)); v != "another worker" {
		t.Fatalf("the other worker's lease was touched: %q", v)
	}
}
