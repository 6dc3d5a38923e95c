package tghtml_test

import (
	"fmt"

	"marketingbot/pkg/telegram/tghtml"
)

func ExampleFromMarkdown() {
	html := tghtml.FromMarkdown("## Комиссия\n\nСтандартная — **2 %**, см. [условия](https://example.com/terms).\n\n- квартиры\n- дома <до 200 м²>")
	fmt.Println(html)
	// Output:
	// <b>Комиссия</b>
	//
	// Стандартная — <b>2 %</b>, см. <a href="https://example.com/terms">условия</a>.
	//
	// • квартиры
	// • дома &lt;до 200 м²&gt;
}

func ExampleSplit() {
	html := "<b>Первый абзац.</b>\n\n<i>Второй абзац, подлиннее.</i>"
	for _, part := range tghtml.Split(html, 30) {
		fmt.Printf("%d %s\n", tghtml.VisibleLen(part), part)
	}
	// Output:
	// 13 <b>Первый абзац.</b>
	// 24 <i>Второй абзац, подлиннее.</i>
}

func ExamplePlain() {
	fmt.Println(tghtml.Plain(`<b>Цена</b> &lt; 5 млн &amp; <a href="https://example.com">подробнее</a>`))
	// Output: Цена < 5 млн & подробнее
}
