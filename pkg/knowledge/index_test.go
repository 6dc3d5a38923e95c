package knowledge_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/knowledge"
	"marketingbot/sim/demo"
)

// corpus is a small Knowledge sheet; the realistic one lives in pkg/demo and
// is checked there entry by entry.
var corpus = []domain.KnowledgeEntry{
	{Topic: "Комиссии", Question: "Какой процент комиссии получает партнёр?", Answer: "Партнёр получает от 30 до 50% комиссии агентства в зависимости от уровня."},
	{Topic: "Выплаты", Question: "Сроки выплаты вознаграждения", Answer: "Вознаграждение перечисляется в течение 10 рабочих дней после оплаты от застройщика или покупателя."},
	{Topic: "Акции", Question: "Спецпредложения и акции месяца", Answer: "В этом месяце действует повышенная ставка по новостройкам."},
	{Topic: "Аналитика 360", Question: "Как заказать отчёт Аналитика 360 по объекту", Answer: "Откройте Mini App, выберите «Аналитика 360» и введите код объекта из CRM, например MSK-100001."},
	{Topic: "Ипотека", Question: "Банки-партнёры по ипотеке", Answer: "Сбербанк, ВТБ и Альфа-Банк; предварительное одобрение за 1–3 дня."},
	{Topic: "Документы", Question: "Какие документы нужны продавцу", Answer: "Паспорт, выписка из ЕГРН и нотариальное согласие супруга."},
	{Topic: "Режим работы", Question: "Когда работают операторы", Answer: "Операторы отвечают с 9:00 до 20:00 по будням, в субботу до 16:00."},
	{Topic: "Контакты", Question: "Как связаться с куратором", Answer: "Напишите «оператор» или отправьте команду /operator."},
}

func questions(hits []knowledge.Hit) []string {
	var qs []string
	for _, h := range hits {
		qs = append(qs, h.Entry.Question)
	}
	return qs
}

func TestSearchFindsWordForms(t *testing.T) {
	ix := knowledge.NewIndex(corpus)
	tests := []struct {
		query string
		want  string // question of the expected top hit
	}{
		{"какую комиссию я получу", "Какой процент комиссии получает партнёр?"},
		{"акции в этом месяце", "Спецпредложения и акции месяца"},
		{"как заказать аналитику по объекту", "Как заказать отчёт Аналитика 360 по объекту"},
		{"Когда выплатят вознаграждение?", "Сроки выплаты вознаграждения"},
		{"ИПОТЕКУ в каких банках оформить", "Банки-партнёры по ипотеке"},
		{"документов продавца", "Какие документы нужны продавцу"},
		{"Работает ли оператор в субботу?", "Когда работают операторы"},
		{"mini app", "Как заказать отчёт Аналитика 360 по объекту"},
		{"msk-100001", "Как заказать отчёт Аналитика 360 по объекту"},
		{"CRM", "Как заказать отчёт Аналитика 360 по объекту"},
		{"кoмиссия", "Какой процент комиссии получает партнёр?"}, // Latin o
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			hits := ix.Search(tt.query, 3)
			if len(hits) == 0 {
				t.Fatal("no hits")
			}
			if hits[0].Entry.Question != tt.want {
				t.Errorf("top hits %q, want %q first", questions(hits), tt.want)
			}
			for i := 1; i < len(hits); i++ {
				if hits[i].Score > hits[i-1].Score {
					t.Errorf("hits not ordered by score: %v", hits)
				}
			}
		})
	}
}

func TestSearchRanking(t *testing.T) {
	entries := []domain.KnowledgeEntry{
		{Topic: "Новости", Question: "Новости сети", Answer: "Ипотека, ипотека, ипотека: про ипотеку снова, ипотека везде, ипотека и ипотека, ставки по ипотеке."},
		{Topic: "Ипотека", Question: "Ипотека для клиента", Answer: "Брокер подаёт заявку сразу в несколько мест и сообщает решение."},
		{Topic: "Банки", Question: "Банки-партнёры по ипотеке", Answer: "Сбербанк и ВТБ."},
		{Topic: "Обучение", Question: "Вебинары для партнёров", Answer: "Каждый вторник в 11:00 по Москве."},
		{Topic: "Контакты", Question: "Как связаться с куратором", Answer: "Напишите «оператор» или команду /operator."},
		{Topic: "Показы", Question: "Как организовать показ объекта", Answer: "Согласуйте показ с куратором за сутки."},
	}
	tests := []struct {
		name  string
		query string
		want  []string
	}{
		{
			name:  "all query words beat some",
			query: "ипотека банки",
			want:  []string{"Банки-партнёры по ипотеке", "Ипотека для клиента"},
		},
		{
			name:  "topic and question beat an answer repeating the word",
			query: "ипотека",
			want:  []string{"Ипотека для клиента", "Банки-партнёры по ипотеке", "Новости сети"},
		},
		{
			name:  "question beats answer",
			query: "куратор",
			want:  []string{"Как связаться с куратором", "Как организовать показ объекта"},
		},
	}
	ix := knowledge.NewIndex(entries)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := questions(ix.Search(tt.query, 10)); !slices.Equal(got, tt.want) {
				t.Errorf("Search(%q) = %q, want %q", tt.query, got, tt.want)
			}
		})
	}
}

func TestSearchTiesKeepSheetOrder(t *testing.T) {
	// Same wording apart from one answer word of the same length: equal scores.
	entries := []domain.KnowledgeEntry{
		{Topic: "Показы", Question: "Показ объекта", Answer: "Согласуйте с куратором."},
		{Topic: "Показы", Question: "Показ объекта", Answer: "Согласуйте с юристом."},
		{Topic: "Показы", Question: "Показ объекта", Answer: "Согласуйте с агентом."},
		{Topic: "Контакты", Question: "Куратор", Answer: "Телефон в кабинете."},
	}
	hits := knowledge.NewIndex(entries).Search("показ", 10)
	var answers []string
	for _, h := range hits {
		answers = append(answers, h.Entry.Answer)
	}
	want := []string{"Согласуйте с куратором.", "Согласуйте с юристом.", "Согласуйте с агентом."}
	if !slices.Equal(answers, want) {
		t.Errorf("tied hits in order %q, want sheet order %q", answers, want)
	}
}

func TestSearchK(t *testing.T) {
	ix := knowledge.NewIndex(demo.Knowledge())
	const query = "Аналитика 360"
	all := ix.Search(query, 100)
	if len(all) < 3 {
		t.Fatalf("want at least 3 hits for %q to test k, got %d", query, len(all))
	}
	tests := []struct {
		k    int
		want int
	}{
		{-1, 0},
		{0, 0},
		{1, 1},
		{2, 2},
		{len(all), len(all)},
		{len(all) + 5, len(all)},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint("k=", tt.k), func(t *testing.T) {
			hits := ix.Search(query, tt.k)
			if len(hits) != tt.want {
				t.Fatalf("got %d hits, want %d", len(hits), tt.want)
			}
			if !slices.Equal(hits, all[:tt.want]) {
				t.Errorf("top %d differ from the head of the full list", tt.k)
			}
		})
	}
}

func TestSearchNothingRelevant(t *testing.T) {
	ix := knowledge.NewIndex(corpus)
	for _, q := range []string{
		"",
		"   \n\t",
		"?!… — «»",
		"а как же мне с этим быть?",
		"Здравствуйте, подскажите пожалуйста",
		"фотосинтез хлорофилла",
	} {
		t.Run(q, func(t *testing.T) {
			if hits := ix.Search(q, 5); len(hits) != 0 {
				t.Errorf("Search(%q) = %q, want no hits", q, questions(hits))
			}
		})
	}
}

func TestSearchMinimumRelevance(t *testing.T) {
	// "сделка" is in every answer, so it tells the entries apart no better
	// than chance and must not pull any of them into the prompt.
	entries := make([]domain.KnowledgeEntry, 0, len(corpus))
	for _, e := range corpus {
		e.Answer += " Это касается каждой сделки."
		entries = append(entries, e)
	}
	ix := knowledge.NewIndex(entries)
	if hits := ix.Search("сделка", 5); len(hits) != 0 {
		t.Errorf("a word present in every answer found %q", questions(hits))
	}
	// A strong match leaves out an entry that shares one answer word with the
	// query, although that word alone finds it.
	if got := questions(ix.Search("суббота", 10)); !slices.Equal(got, []string{"Когда работают операторы"}) {
		t.Fatalf("Search(суббота) = %q, want the working hours entry", got)
	}
	hits := ix.Search("банки ипотека суббота", 10)
	if got := questions(hits); !slices.Equal(got, []string{"Банки-партнёры по ипотеке"}) {
		t.Errorf("got %q, want only the mortgage entry", got)
	}
	for _, h := range hits {
		if h.Score < knowledge.MinScore {
			t.Errorf("hit %q scores %.2f below MinScore", h.Entry.Question, h.Score)
		}
	}
}

func TestNewIndex(t *testing.T) {
	t.Run("rows without an answer are skipped", func(t *testing.T) {
		entries := append([]domain.KnowledgeEntry{
			{Topic: "Вебинары", Question: "Расписание вебинаров", Answer: "  \n"},
			{},
		}, corpus...)
		ix := knowledge.NewIndex(entries)
		if ix.Len() != len(corpus) {
			t.Errorf("Len() = %d, want %d", ix.Len(), len(corpus))
		}
		if hits := ix.Search("вебинары", 5); len(hits) != 0 {
			t.Errorf("found %q", questions(hits))
		}
	})
	t.Run("input is copied", func(t *testing.T) {
		entries := slices.Clone(corpus)
		ix := knowledge.NewIndex(entries)
		entries[0].Answer = "изменено"
		hits := ix.Search("комиссия", 1)
		if len(hits) != 1 || hits[0].Entry != corpus[0] {
			t.Errorf("index changed with its input: %v", hits)
		}
	})
	t.Run("empty and nil", func(t *testing.T) {
		for _, ix := range []*knowledge.Index{nil, {}, knowledge.NewIndex(nil)} {
			if ix.Len() != 0 || ix.Search("комиссия", 3) != nil {
				t.Errorf("empty index %v found something", ix)
			}
		}
	})
}

func TestSearchConcurrent(t *testing.T) {
	ix := knowledge.NewIndex(demo.Knowledge())
	queries := []string{"какую комиссию я получу", "акции в этом месяце", "как заказать аналитику по объекту", "ипотека", "MSK-100001"}
	want := make([][]knowledge.Hit, len(queries))
	for i, q := range queries {
		want[i] = ix.Search(q, 4)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 16*len(queries))
	for g := range 16 {
		wg.Go(func() {
			for i := range 50 {
				n := (g + i) % len(queries)
				if got := ix.Search(queries[n], 4); !slices.Equal(got, want[n]) {
					errs <- queries[n]
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for q := range errs {
		t.Errorf("concurrent Search(%q) differs from the sequential one", q)
	}
}

// syntheticCorpus builds n entries from the demo sheet's vocabulary: every
// entry is a demo entry with words of other entries mixed in, so term
// frequencies look like a real, larger sheet rather than n copies.
func syntheticCorpus(n int) []domain.KnowledgeEntry {
	base := demo.Knowledge()
	var vocab []string
	for _, e := range base {
		vocab = append(vocab, strings.Fields(e.Question+" "+e.Answer)...)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	words := func(k int) string {
		w := make([]string, k)
		for i := range w {
			w[i] = vocab[rng.IntN(len(vocab))]
		}
		return strings.Join(w, " ")
	}
	out := make([]domain.KnowledgeEntry, n)
	for i := range out {
		e := base[i%len(base)]
		out[i] = domain.KnowledgeEntry{
			Topic:    e.Topic,
			Question: e.Question + " " + words(3),
			Answer:   fmt.Sprintf("%s %s Объект MSK-%06d.", e.Answer, words(20), 100000+i),
		}
	}
	return out
}

func BenchmarkSearch(b *testing.B) {
	ix := knowledge.NewIndex(syntheticCorpus(1000))
	queries := []string{
		"какую комиссию я получу",
		"акции в этом месяце",
		"как заказать аналитику по объекту MSK-100500",
		"Добрый день! У клиента вопрос по ипотеке, он хочет взять квартиру в новостройке, какие банки у вас партнёры?",
	}
	for _, q := range queries {
		b.Run(fmt.Sprintf("%.20s", q), func(b *testing.B) {
			for b.Loop() {
				ix.Search(q, 4)
			}
		})
	}
}

func BenchmarkNewIndex(b *testing.B) {
	entries := syntheticCorpus(1000)
	b.ReportAllocs()
	for b.Loop() {
		knowledge.NewIndex(entries)
	}
}
