package chat

import (
	"errors"
	"strings"
	"testing"
	"time"

	"marketingbot/pkg/ai"
	"marketingbot/pkg/domain"
	"marketingbot/pkg/history"
	"marketingbot/pkg/tasks"
)

const partnerUID = 7001

// authorizedBench has one authorized partner, partnerUID.
func authorizedBench(t *testing.T, mod func(*Options)) *bench {
	b := newBench(t, mod)
	b.partner("P-0001", "79123456789", "Иванова Мария Петровна", partnerUID)
	b.store.knowledge = []domain.KnowledgeEntry{{Topic: "Комиссия", Question: "Какая комиссия партнёра?", Answer: "Комиссия 3 % от сделки."}}
	return b
}

// rowOf returns the user's only appeal row and its turns.
func rowOf(t *testing.T, b *bench, uid int64) (domain.Appeal, []history.Turn) {
	t.Helper()
	rows := b.store.rows(uid)
	if len(rows) != 1 {
		t.Fatalf("%d appeal rows, want 1: %+v", len(rows), rows)
	}
	return rows[0], history.Parse(rows[0].History, time.UTC)
}

// existing puts an appeal row in the sheet as if written before.
func (b *bench) existing(uid int64, status domain.AppealStatus, turns ...history.Turn) {
	cell, _ := history.Append("", turns, time.UTC)
	b.store.mu.Lock()
	defer b.store.mu.Unlock()
	b.store.appeals = append(b.store.appeals, domain.Appeal{Row: len(b.store.appeals) + 2, CreatedAt: b.now.Add(-time.Hour),
		TelegramID: uid, PartnerCode: "P-0001", History: cell, Status: status})
}

func TestAITurnWritesUserAndAILines(t *testing.T) {
	b := authorizedBench(t, nil)
	it := b.text(partnerUID, "Какая комиссия?")
	b.handle(it)

	row, turns := rowOf(t, b, partnerUID)
	if got := ids(turns); got != "user:u101 ai:a101" {
		t.Fatalf("history %s", got)
	}
	if turns[0].Text != "Какая комиссия?" || turns[1].Text != "Ответ: Какая комиссия?" {
		t.Fatalf("texts %q / %q", turns[0].Text, turns[1].Text)
	}
	if row.Status != domain.AppealStatusAIAnswered || row.PartnerCode != "P-0001" || row.UserName != "@maria" {
		t.Fatalf("row %+v", row)
	}
	ms := b.sender.to(partnerUID)
	if len(ms) != 1 || ms[0].text != "Ответ: Какая комиссия?" || ms[0].replyTo != 1 {
		t.Fatalf("reply %+v", ms)
	}
	req := b.gen.calls()[0]
	for _, want := range []string{"Ты помощник.", "Комиссия 3 %", "Код партнёра: P-0001", "Иванова Мария Петровна"} {
		if !strings.Contains(req.System, want) {
			t.Errorf("system instruction lacks %q:\n%s", want, req.System)
		}
	}
	if len(b.inbox(partnerUID)) != 0 {
		t.Fatal("the unit stayed in the inbox")
	}
}

// The model sees the appeal's earlier turns from the sheet (operators' lines
// as the model's side), and the conversation opens with the user.
func TestAITurnSendsTheHistory(t *testing.T) {
	b := authorizedBench(t, nil)
	at := b.clock().Add(-time.Hour)
	b.existing(partnerUID, domain.AppealStatusAIAnswered,
		history.Turn{ID: "o1", Role: history.RoleOperator, Author: "Ольга", Time: at, Text: "Здравствуйте!"},
		history.Turn{ID: "u1", Role: history.RoleUser, Time: at, Text: "Исправлено в таблице"})
	b.handle(b.text(partnerUID, "А фиксация?"))
	req := b.gen.calls()[0]
	var got []string
	for _, tn := range req.Turns {
		got = append(got, string(tn.Role)+"="+tn.Text)
	}
	want := "user=(начало диалога)|model=[Оператор Ольга] Здравствуйте!|user=Исправлено в таблице\n\nА фиксация?"
	if strings.Join(got, "|") != want {
		t.Fatalf("turns %q", got)
	}
	if _, turns := rowOf(t, b, partnerUID); ids(turns) != "operator:o1 user:u1 user:u101 ai:a101" {
		t.Fatalf("history %s", ids(turns))
	}
}

func TestQuickTextsAnsweredByOneTurn(t *testing.T) {
	b := authorizedBench(t, nil)
	b.push(partnerUID, b.text(partnerUID, "Какая комиссия?"), b.text(partnerUID, "За аренду"), b.text(partnerUID, "И за продажу"))
	b.drain(partnerUID)

	if n := len(b.gen.calls()); n != 1 {
		t.Fatalf("%d model calls, want 1", n)
	}
	if q := b.gen.calls()[0].Turns[0].Text; q != "Какая комиссия?\nЗа аренду\nИ за продажу" {
		t.Fatalf("question %q", q)
	}
	ms := b.sender.to(partnerUID)
	if len(ms) != 1 || ms[0].replyTo != 3 {
		t.Fatalf("replies %+v, want one quoting the last message", ms)
	}
	if _, turns := rowOf(t, b, partnerUID); ids(turns) != "user:u101 user:u102 user:u103 ai:a103" {
		t.Fatalf("history %s", ids(turns))
	}
}

func TestFallbackWhenTheModelIsUnavailable(t *testing.T) {
	cases := []struct {
		name     string
		before   domain.AppealStatus // "" = no appeal yet
		want     domain.AppealStatus
		wantTurn string
	}{
		{"new appeal stays Новое", "", domain.AppealStatusNew, "user:u101 system:s-ai-101"},
		{"answered appeal keeps its status", domain.AppealStatusAIAnswered, domain.AppealStatusAIAnswered, "user:u1 user:u101 system:s-ai-101"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := authorizedBench(t, nil)
			if c.before != "" {
				b.existing(partnerUID, c.before, history.Turn{ID: "u1", Role: history.RoleUser, Time: b.clock().Add(-time.Hour), Text: "раньше"})
			}
			b.gen.GenerateFn = func(ai.Request) (string, error) { return "", ai.ErrUnavailable }
			b.handle(b.text(partnerUID, "Какая комиссия?"))
			row, turns := rowOf(t, b, partnerUID)
			if ids(turns) != c.wantTurn || row.Status != c.want {
				t.Fatalf("history %s, status %s", ids(turns), row.Status)
			}
			if turns[len(turns)-1].Text != b.tx.HistoryAIUnavailable {
				t.Fatalf("system line %q", turns[len(turns)-1].Text)
			}
			if got := lastText(t, b, partnerUID); got != b.tx.AIFallback {
				t.Fatalf("answer %q", got)
			}
		})
	}
}

// A model error other than "unavailable" leaves the unit for the retry.
func TestModelErrorLeavesTheUnit(t *testing.T) {
	b := authorizedBench(t, nil)
	b.gen.GenerateFn = func(ai.Request) (string, error) { return "", errors.New("boom") }
	if err := b.handleErr(b.text(partnerUID, "Какая комиссия?")); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("err = %v", err)
	}
	if got := b.inbox(partnerUID); len(got) != 1 {
		t.Fatalf("inbox %v", got)
	}
	if len(b.sender.to(partnerUID)) != 0 || len(b.store.rows(partnerUID)) != 0 {
		t.Fatal("something was sent or written")
	}
}

func TestThrottledTurnsRecordedWithoutTheModel(t *testing.T) {
	b := authorizedBench(t, func(o *Options) { o.UserMessagesPerMinute = 1 })
	for _, q := range []string{"раз", "два", "три"} {
		b.handle(b.text(partnerUID, q))
	}
	if n := len(b.gen.calls()); n != 1 {
		t.Fatalf("%d model calls, want 1", n)
	}
	notices := 0
	for _, m := range b.sender.to(partnerUID) {
		if m.text == b.tx.Throttled {
			notices++
		}
	}
	if notices != 1 {
		t.Fatalf("%d throttle notices, want 1 a minute", notices)
	}
	row, turns := rowOf(t, b, partnerUID)
	if got := ids(turns); got != "user:u101 ai:a101 user:u102 system:s-th-102 user:u103 system:s-th-103" {
		t.Fatalf("history %s", got)
	}
	if row.Status != domain.AppealStatusAIAnswered {
		t.Fatalf("status %s", row.Status)
	}
}

func TestMediaAndEmptyInputs(t *testing.T) {
	photo := `"photo":[{"file_id":"p","file_unique_id":"u","width":1,"height":1}],"caption":"вот фасад"`
	cases := []struct {
		name  string
		it    func(b *bench) item
		reply func(b *bench) string
		lines string // user lines' texts, "" = no appeal row
	}{
		{"photo", func(b *bench) item { return b.media(partnerUID, tasks.KindMedia, photo) },
			func(b *bench) string { return b.tx.MediaUnsupported }, "[фото] вот фасад"},
		{"location", func(b *bench) item {
			return b.media(partnerUID, tasks.KindLocation, `"location":{"latitude":55.7,"longitude":37.6}`)
		}, func(b *bench) string { return b.tx.LocationUnsupport }, "[геопозиция]"},
		{"whitespace", func(b *bench) item { return b.text(partnerUID, " \n\t") },
			func(b *bench) string { return b.tx.EmptyText }, ""},
		{"own contact again", func(b *bench) item { return b.contact(partnerUID, partnerUID, "+79123456789") },
			func(b *bench) string {
				return b.tx.Render(b.tx.AlreadyAuthorized, map[string]any{"Name": "Мария"})
			}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := authorizedBench(t, nil)
			b.handle(c.it(b))
			if got := lastText(t, b, partnerUID); got != c.reply(b) {
				t.Fatalf("answer %q, want %q", got, c.reply(b))
			}
			if len(b.gen.calls()) != 0 {
				t.Fatal("the model was called")
			}
			if c.lines == "" {
				if rows := b.store.rows(partnerUID); len(rows) != 0 {
					t.Fatalf("an appeal row was written: %+v", rows)
				}
				return
			}
			if _, turns := rowOf(t, b, partnerUID); ids(turns) != "user:u101" || turns[0].Text != c.lines {
				t.Fatalf("history %s %q", ids(turns), turns[0].Text)
			}
		})
	}
}

func TestEditedMessageRecordedWithPrefix(t *testing.T) {
	b := authorizedBench(t, nil)
	b.handle(b.edited(partnerUID, "Какая комиссия за аренду?"))
	_, turns := rowOf(t, b, partnerUID)
	if ids(turns) != "user:u101 ai:a101" || turns[0].Text != b.tx.EditedPrefix+"Какая комиссия за аренду?" {
		t.Fatalf("history %s %q", ids(turns), turns[0].Text)
	}
}
