package history_test

import (
	"fmt"
	"time"

	"marketingbot/pkg/history"
)

func ExampleAppend() {
	loc := time.FixedZone("MSK", 3*60*60)
	at := time.Date(2026, 11, 25, 14, 3, 0, 0, loc)
	turns := []history.Turn{
		{ID: "u1042", Role: history.RoleUser, Time: at, Text: "Здравствуйте, какая комиссия?"},
		{ID: "a1042", Role: history.RoleAI, Time: at, Text: "Стандартная комиссия — 2 %.\nВторая строка ответа"},
	}
	cell, added := history.Append("", turns, loc)
	fmt.Println(cell)
	// A retried task appends the same turns again: nothing changes.
	_, added = history.Append(cell, turns, loc)
	fmt.Println(len(added))
	// Output:
	// [25.11.2026 14:03] Партнёр #u1042: Здравствуйте, какая комиссия?
	// [25.11.2026 14:03] ИИ #a1042: Стандартная комиссия — 2 %.
	//   Вторая строка ответа
	// 0
}

func ExampleParse() {
	cell := "Лог старого бота\n[25.11.2026 14:10] Оператор Иван Петров #o5531: Добрый день,\n  я подключился."
	for _, t := range history.Parse(cell, time.UTC) {
		fmt.Printf("%s %q %q %q\n", t.Role, t.Author, t.ID, t.Text)
	}
	// Output:
	// legacy "" "" "Лог старого бота"
	// operator "Иван Петров" "o5531" "Добрый день,\nя подключился."
}
