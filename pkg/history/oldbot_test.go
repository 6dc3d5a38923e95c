package history

import (
	"os"
	"strings"
	"testing"
)

// The Python bot (v3.4.0) wrote the history cell in formats of its own,
// which were never specified. Whatever it left is read tolerantly: nothing
// is lost, lines that are not a header of ours are kept as text (before the
// first header as one RoleLegacy turn, verbatim; after one as the text of
// the turn above), a line that happens to look like a header of ours
// without an id is read as that turn, and appending keeps the old text
// byte for byte.
func oldBotCell(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("testdata/old_bot_cell.txt")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(string(b), "\n")
}

func TestOldBotCellParsesTolerantly(t *testing.T) {
	cell := oldBotCell(t)
	turns := Parse(cell, msk)
	if len(turns) != 3 {
		t.Fatalf("%d turns, want legacy + the two lines shaped like ours: %+v", len(turns), turns)
	}
	legacy, op, sys := turns[0], turns[1], turns[2]
	head, _, _ := strings.Cut(cell, "\n[10.02.2026 15:02]")
	if legacy.Role != RoleLegacy || legacy.Text != head || legacy.ID != "" {
		t.Errorf("legacy turn %+v, want the old lines verbatim:\n%s", legacy, head)
	}
	if op.Role != RoleOperator || op.ID != "" || op.Time != at(10, 15, 2).AddDate(0, -9, 0) ||
		op.Text != "Добрый день, это Иван. Чем помочь?\nПользователь: уже разобрались\n(отступ старого бота)" {
		t.Errorf("operator turn %+v", op)
	}
	if sys.Role != RoleSystem || sys.Text != "Обращение закрыто" {
		t.Errorf("system turn %+v", sys)
	}
	// Nothing is lost: every word of every line is in some turn.
	var all strings.Builder
	for _, tr := range turns {
		all.WriteString(tr.Text + "\n")
	}
	for _, line := range strings.Split(cell, "\n") {
		for _, w := range strings.Fields(line) {
			if !strings.Contains(all.String(), w) && !strings.Contains("[10.02.2026 15:02] Оператор: [11.02.2026 09:00] Система:", w) {
				t.Errorf("%q of line %q is lost", w, line)
			}
		}
	}
}

// The old text is kept byte for byte when the bot appends, with Windows
// line breaks too; the new turns parse with their ids, a retried append
// adds nothing, and an id quoted in the old text does not count.
func TestAppendAfterOldBotCell(t *testing.T) {
	for _, cell := range []string{oldBotCell(t), strings.ReplaceAll(oldBotCell(t), "\n", "\r\n"), "просто текст старого бота без дат #u7"} {
		turns := []Turn{
			{ID: "u7", Role: RoleUser, Time: at(25, 10, 0), Text: "Новый вопрос"},
			{ID: "a7", Role: RoleAI, Time: at(25, 10, 1), Text: "Новый ответ"},
		}
		out, added := Append(cell, turns, msk)
		if !strings.HasPrefix(out, cell+"\n") || len(added) != 2 {
			t.Fatalf("append changed the old text or skipped turns (%d added):\n%q", len(added), out)
		}
		if again, added := Append(out, turns, msk); again != out || len(added) != 0 {
			t.Errorf("a retried append changed the cell: %d added", len(added))
		}
		parsed := Parse(out, msk)
		last := parsed[len(parsed)-2:]
		if last[0].ID != "u7" || last[0].Text != "Новый вопрос" || last[1].ID != "a7" || !Contains(out, "u7") || !Contains(out, "a7") {
			t.Errorf("new turns after the old text: %+v", last)
		}
		if parsed[0].Role != RoleLegacy {
			t.Errorf("first turn %+v, want the old text as legacy", parsed[0])
		}
		// The AI sees the old text as the partner's context.
		if r := Recent(parsed, 100000); r[0].Role != RoleLegacy {
			t.Errorf("recent turns lost the old text: %+v", r[0])
		}
	}
}
