package store

import (
	"strings"
	"testing"
)

// The partner's topic in the operators' forum is a column of ours in Auth,
// found by its header wherever it stands; without that column the write is
// refused, naming it, and nothing is written.
func TestOperatorsTopicByHeader(t *testing.T) {
	mem := newMemSheets()
	header := []any{"Заметка", " OPERATORS_TOPIC_ID ", "Код партнера", "Телефон", "ФИО", "STATUS", "Telegram ID", "authorized_at", "bot_blocked_at"}
	mem.setRows(testTitles.Auth, [][]any{header,
		{"звонить", "", "P-1", "79120000001", "Анна", "authorized", "101", "", ""},
		{"", "", "P-2", "79120000002", "Борис", "authorized", "102", "", ""}})
	s := newTestStore(t, mem, nil)
	ctx := testCtx(t)
	if err := s.SetOperatorsTopic(ctx, 102, 57); err != nil {
		t.Fatal(err)
	}
	rows := mem.rows(testTitles.Auth)
	if rows[2][1] != "57" || rows[1][1] != "" || rows[1][0] != "звонить" {
		t.Fatalf("rows after the write: %#v", rows)
	}
	p, found, err := s.PartnerByTelegramID(ctx, 102)
	if err != nil || !found || p.OperatorsTopicID != 57 {
		t.Fatalf("partner 102: %+v %v %v", p, found, err)
	}
	writes := mem.updates
	if err := s.SetOperatorsTopic(ctx, 102, 57); err != nil || mem.updates != writes {
		t.Fatalf("the same topic again: %v, %d writes (want none)", err, mem.updates-writes)
	}
	if err := s.SetOperatorsTopic(ctx, 102, 0); err != nil || mem.rows(testTitles.Auth)[2][1] != "" {
		t.Fatalf("clearing: %v, row %#v", err, mem.rows(testTitles.Auth)[2])
	}

	mem.setRows(testTitles.Auth, [][]any{header[2:], {"P-1", "79120000001", "Анна", "authorized", "101", "", ""}})
	s = newTestStore(t, mem, nil)
	writes = mem.updates
	err = s.SetOperatorsTopic(ctx, 101, 60)
	if err == nil || !strings.Contains(err.Error(), `no usable column "operators_topic_id"`) || mem.updates != writes {
		t.Fatalf("without the column: %v, %d writes", err, mem.updates-writes)
	}
}
