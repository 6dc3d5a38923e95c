package knowledge_test

import (
	"fmt"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/knowledge"
)

func ExampleTokens() {
	fmt.Println(knowledge.Tokens("Какую комиссию я получу за объект MSK-100001?"))
	// Output: [комисс получ объект msk 100001]
}

func ExampleIndex_Search() {
	ix := knowledge.NewIndex([]domain.KnowledgeEntry{
		{Topic: "Комиссии", Question: "Какой процент комиссии получает партнёр?", Answer: "От 30 до 50% комиссии агентства."},
		{Topic: "Выплаты", Question: "Сроки выплаты вознаграждения", Answer: "В течение 10 рабочих дней после оплаты."},
		{Topic: "Акции", Question: "Акции месяца", Answer: "Повышенная ставка по новостройкам."},
	})
	for _, h := range ix.Search("какую комиссию я получу", 3) {
		fmt.Println(h.Entry.Topic)
	}
	// Output: Комиссии
}

func ExamplePromptBlock() {
	hits := []knowledge.Hit{{Entry: domain.KnowledgeEntry{
		Topic:    "Акции",
		Question: "Какие акции действуют в этом месяце?",
		Answer:   "+5 п.п. к доле по новостройкам.\nУсловия — у куратора.",
	}}}
	fmt.Print(knowledge.PromptBlock(hits))
	// Output:
	// # База знаний
	// [Знание 1]
	// Тема: Акции
	// Вопрос: Какие акции действуют в этом месяце?
	// Ответ: +5 п.п. к доле по новостройкам.
	// Условия — у куратора.
}
