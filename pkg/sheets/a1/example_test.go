package a1_test

import (
	"fmt"

	"marketingbot/pkg/sheets/a1"
)

func ExampleParse() {
	r, err := a1.Parse("'Обращения'!D2:F")
	if err != nil {
		panic(err)
	}
	fmt.Println(r.Sheet, r.StartCol, r.StartRow, r.EndCol, r.EndRow == a1.Unbounded)
	fmt.Println(r)
	// Output:
	// Обращения 3 2 5 true
	// 'Обращения'!D2:F
}

func ExampleRow() {
	fmt.Println(a1.Row("Auth", a1.ColumnIndex("A"), a1.ColumnIndex("G"), 5))
	fmt.Println(a1.Cell("Очередь", a1.ColumnIndex("K"), 12))
	// Output:
	// Auth!A5:G5
	// 'Очередь'!K12
}
