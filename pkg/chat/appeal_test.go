package chat

import (
	"testing"
	"time"

	"github.com/mymmrac/telego"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/history"
)

func TestAppealAfter(t *testing.T) {
	b := newBench(t, nil)
	at := time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)
	o := opening{uid: 42, partner: domain.Partner{Code: "P-0001", FullName: "Иванова Мария"}, user: &telego.User{ID: 42, Username: "maria"}, first: at.Add(500 * time.Millisecond)}
	turn := func(id string) history.Turn { return history.Turn{ID: id, Role: history.RoleUser, Time: at, Text: id} }
	cell := func(ids ...string) string {
		var ts []history.Turn
		for _, id := range ids {
			ts = append(ts, turn(id))
		}
		c, _ := history.Append("", ts, time.UTC)
		return c
	}
	row := func(created time.Time, status domain.AppealStatus, ids ...string) domain.Appeal {
		return domain.Appeal{Row: 2, CreatedAt: created, TelegramID: 42, PartnerCode: "P-0001", Status: status, History: cell(ids...)}
	}
	open := row(at.Add(-time.Hour), domain.AppealStatusAIAnswered, "u1")
	cases := []struct {
		name        string
		read        sheetAppeal
		prior       *priorWrite
		exists      bool
		created     time.Time
		status      domain.AppealStatus
		historyWant string
	}{
		{"open row", sheetAppeal{open, true}, nil, true, open.CreatedAt, domain.AppealStatusAIAnswered, "user:u1"},
		{"no row: a new one", sheetAppeal{}, nil, false, at, domain.AppealStatusNew, ""},
		{"closed row: a new one", sheetAppeal{row(at.Add(-time.Hour), domain.AppealStatusResolved, "u1"), true}, nil, false, at, domain.AppealStatusNew, ""},
		{"closed within the same second: a second later", sheetAppeal{row(at, domain.AppealStatusResolved, "u1"), true}, nil, false, at.Add(time.Second), domain.AppealStatusNew, ""},
		{"prior row not appended yet", sheetAppeal{}, &priorWrite{a: row(at, domain.AppealStatusAIAnswered, "u1", "a1"), turns: []history.Turn{turn("u1")}},
			true, at, domain.AppealStatusAIAnswered, "user:u1 user:a1"},
		{"prior write not landed on the row", sheetAppeal{open, true}, &priorWrite{a: row(open.CreatedAt, domain.AppealStatusEscalated), turns: []history.Turn{turn("u2")}},
			true, open.CreatedAt, domain.AppealStatusEscalated, "user:u1 user:u2"},
		{"prior write landed", sheetAppeal{row(open.CreatedAt, domain.AppealStatusAIAnswered, "u1", "u2"), true}, &priorWrite{a: row(open.CreatedAt, domain.AppealStatusEscalated), turns: []history.Turn{turn("u2")}},
			true, open.CreatedAt, domain.AppealStatusAIAnswered, "user:u1 user:u2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := b.s.appealAfter(o, c.read, c.prior)
			if got.exists != c.exists || !got.a.CreatedAt.Equal(c.created) || got.a.Status != c.status {
				t.Fatalf("exists %v created %v status %s", got.exists, got.a.CreatedAt, got.a.Status)
			}
			if h := ids(history.Parse(got.a.History, time.UTC)); h != c.historyWant {
				t.Fatalf("history %s, want %s", h, c.historyWant)
			}
			if !c.exists && (got.a.TelegramID != 42 || got.a.PartnerCode != "P-0001" || got.a.UserName != "@maria") {
				t.Fatalf("new row %+v", got.a)
			}
		})
	}
}

// A history that outgrows the cell continues in a new row that points back.
func TestSaveRollsOverToAContinuationRow(t *testing.T) {
	b := authorizedBench(t, nil)
	long := make([]byte, history.RolloverLimit-500)
	for i := range long {
		long[i] = 'x'
	}
	b.existing(partnerUID, domain.AppealStatusAIAnswered, history.Turn{ID: "u1", Role: history.RoleUser, Time: b.clock().Add(-time.Hour), Text: string(long)})
	b.handle(b.text(partnerUID, string(long[:2000])))
	rows := b.store.rows(partnerUID)
	if len(rows) != 2 {
		t.Fatalf("%d rows, want a continuation", len(rows))
	}
	turns := history.Parse(rows[1].History, time.UTC)
	if len(turns) == 0 || turns[0].Role != history.RoleSystem || turns[0].ID != "s-cont-u101" {
		t.Fatalf("continuation %s", ids(turns))
	}
	if rows[1].Status != domain.AppealStatusAIAnswered || !rows[1].CreatedAt.After(rows[0].CreatedAt) {
		t.Fatalf("continuation row %+v", rows[1])
	}
}
