package gemini

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func loadInstruction(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile("testdata/system_instruction.txt")
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	return string(b)
}

func textContent(role, text string) Content {
	return Content{Role: role, Parts: []Part{{Text: text}}}
}

func requestWith(system string, turns ...Content) GenerateRequest {
	req := GenerateRequest{Contents: turns}
	if system != "" {
		sys := textContent("", system)
		req.SystemInstruction = &sys
	}
	return req
}

func TestRespond(t *testing.T) {
	system := loadInstruction(t)
	tests := slices.Concat(respondKnowledgeTests(system), respondPromptTests(system), respondFallbackTests(system))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkRespond(t, tt) })
	}
}

// respondTest is a request and what the answer must (not) say.
type respondTest struct {
	name string
	req  GenerateRequest
	want string // exact answer, when set
	has  []string
	not  []string
}

// respondKnowledgeTests are answers from the knowledge entries.
func respondKnowledgeTests(system string) []respondTest {
	return []respondTest{
		{
			name: "knowledge match is formatted and addressed by first name",
			req:  requestWith(system, textContent("user", "Подскажите, какая комиссия у партнёра за сделку?")),
			want: "Иван, вот что я нашёл по вашему вопросу.\n\n" +
				"**Комиссия партнёра**\n" +
				"Стандартная комиссия партнёра — 2 % от стоимости объекта.\n" +
				"- выплачивается после регистрации сделки;\n" +
				"- для новостроек действует повышенная ставка.",
		}, {
			name: "knowledge match across word forms",
			req:  requestWith(system, textContent("user", "когда мне выплатят вознаграждение?")),
			has:  []string{"**Выплаты**", "в течение 10 рабочих дней"},
			not:  []string{"Комиссия партнёра"},
		}, {
			name: "last user turn is the question",
			req: requestWith(system,
				textContent("user", "Какая комиссия за сделку?"),
				textContent("model", "Стандартная комиссия партнёра — 2 %."),
				textContent("user", "А какие сейчас акции?")),
			has: []string{"**Акции**", "разделе «Акции» Mini App"},
			not: []string{"Комиссия"},
		}, {
			name: "several quick messages combine entries",
			req:  requestWith(system, textContent("user", "Привет!\nкакая у меня комиссия?\nи когда выплаты?")),
			has:  []string{"Иван, отвечаю по порядку.", "**Комиссия партнёра**", "**Выплаты**"},
		}}
}

// respondPromptTests are greetings and the system prompt's example answers.
func respondPromptTests(system string) []respondTest {
	return []respondTest{
		{
			name: "greeting",
			req:  requestWith(system, textContent("user", "Добрый день!")),
			has:  []string{"Здравствуйте, Иван!", "Аналитика 360", "акции", "комиссия", "оператор"},
		}, {
			name: "greeting without partner or prompt",
			req:  requestWith("", textContent("user", "привет")),
			has:  []string{"Здравствуйте!", "оператор"},
			not:  []string{"Иван"},
		}, {
			name: "system section example",
			req:  requestWith(system, textContent("user", "Хочу заказать аналитику по объекту")),
			want: "Чтобы получить Аналитику 360, откройте Mini App, выберите «Аналитика» и введите код объекта — отчёт придёт в этот чат.",
		}, {
			name: "multi-line section example",
			req:  requestWith(system, textContent("user", "Что по ипотеке?")),
			want: "Условия ипотеки зависят от банка и клиента. Напишите «оператор», и менеджер подберёт программу.",
		}}
}

// respondFallbackTests are editor requests and what is answered without a match.
func respondFallbackTests(system string) []respondTest {
	return []respondTest{
		{
			name: "no match asks to clarify",
			req:  requestWith(system, textContent("user", "Какая погода завтра в Сочи?")),
			has:  []string{"Иван, я не нашёл точного ответа", "Уточните", "оператор"},
			not:  []string{"**Комиссия партнёра**", "Mini App"},
		}, {
			name: "editor block is returned verbatim",
			req: requestWith("Ты редактор. Не меняй числа.", textContent("user",
				"Отредактируй текст.\n<<<ТЕКСТ\nОбъект 12345: цена 7 500 000 ₽,\n  рост 3,5 % за год.\n\n**Итог**: спрос выше среднего.\nТЕКСТ>>>\nСпасибо!")),
			want: "Объект 12345: цена 7 500 000 ₽,\n  рост 3,5 % за год.\n\n**Итог**: спрос выше среднего.",
		}, {
			name: "unclosed editor block is not an editor request",
			req:  requestWith(system, textContent("user", "<<<ТЕКСТ\nкакая комиссия за сделку?")),
			has:  []string{"**Комиссия партнёра**"},
		}, {
			name: "no user turn at all",
			req:  requestWith(system, textContent("model", "Чем помочь?")),
			has:  []string{"Уточните"},
		},
	}
}

// checkRespond runs one respondTest.
func checkRespond(t *testing.T, tt respondTest) {
	got := Respond(tt.req)
	if tt.want != "" && got != tt.want {
		t.Fatalf("Respond() =\n%s\nwant\n%s", got, tt.want)
	}
	for _, s := range tt.has {
		if !strings.Contains(got, s) {
			t.Errorf("answer lacks %q:\n%s", s, got)
		}
	}
	for _, s := range tt.not {
		if strings.Contains(got, s) {
			t.Errorf("answer has %q:\n%s", s, got)
		}
	}
	assertNoInventedNumbers(t, tt.req, got)
	if again := Respond(tt.req); again != got {
		t.Errorf("not deterministic: second answer\n%s", again)
	}
}

var numberRE = regexp.MustCompile(`\d+`)

// assertNoInventedNumbers checks that every number in the answer occurs in
// the request. "360" is the product name in the capability list.
func assertNoInventedNumbers(t *testing.T, req GenerateRequest, answer string) {
	t.Helper()
	var all strings.Builder
	all.WriteString(req.SystemText())
	for _, c := range req.Contents {
		all.WriteString("\n" + c.Text())
	}
	known := numberRE.FindAllString(all.String(), -1)
	for _, n := range numberRE.FindAllString(answer, -1) {
		if n != "360" && !slices.Contains(known, n) {
			t.Errorf("answer invents number %s:\n%s", n, answer)
		}
	}
}

func TestRespondDeterministicAcrossCopies(t *testing.T) {
	system := loadInstruction(t)
	questions := []string{"какая комиссия?", "привет", "аналитика", "погода", "акции и выплаты"}
	for _, q := range questions {
		t.Run(q, func(t *testing.T) {
			first := Respond(requestWith(system, textContent("user", q)))
			for range 20 {
				if got := Respond(requestWith(strings.Clone(system), textContent("user", strings.Clone(q)))); got != first {
					t.Fatalf("answer changed:\n%s\nvs\n%s", got, first)
				}
			}
		})
	}
}

func TestParseInstruction(t *testing.T) {
	ins := parseInstruction(loadInstruction(t))
	if got := len(ins.knowledge); got != 4 {
		t.Fatalf("knowledge entries = %d, want 4", got)
	}
	if e := ins.knowledge[0]; e.topic != "Комиссия партнёра" || !strings.HasPrefix(e.answer, "Стандартная") || !strings.Contains(e.answer, "\n• для новостроек") {
		t.Errorf("first entry = %+v", e)
	}
	var titles []string
	for _, s := range ins.sections {
		titles = append(titles, s.title)
	}
	if want := []string{"Приветствие", "Аналитика 360", "Эскалация", "Ипотека и банки-партнёры"}; !slices.Equal(titles, want) {
		t.Errorf("section titles = %q, want %q", titles, want)
	}
	if ins.partnerName != "Иван" {
		t.Errorf("partner name = %q, want Иван", ins.partnerName)
	}
}

func TestParseKnowledgeWithoutMarkers(t *testing.T) {
	ins := parseInstruction("# База знаний\n" +
		"Тема: Выплаты\nВопрос: Когда выплата?\nОтвет: В течение 10 дней.\n\n" +
		"Вопрос: Где акции?\nОтвет: В Mini App.\n" +
		"Тема: Пустая\nВопрос: Без ответа?\n" +
		"# Другое\nОтвет: не знание")
	var got []string
	for _, e := range ins.knowledge {
		got = append(got, e.topic+"|"+e.question+"|"+e.answer)
	}
	want := []string{"Выплаты|Когда выплата?|В течение 10 дней.", "|Где акции?|В Mini App."}
	if !slices.Equal(got, want) {
		t.Errorf("entries = %q, want %q", got, want)
	}
}

func TestFirstName(t *testing.T) {
	tests := []struct{ full, want string }{
		{"Петров Иван Сергеевич", "Иван"},
		{"Иван Сергеевич Петров", "Иван"},
		{"Иван Петров", "Иван"},
		{"Петров Иван", "Иван"},
		{"Иванова Марина", "Марина"},
		{"Марина Иванова", "Марина"},
		{"Анна", "Анна"},
		{"Анна Ковальчук (P-7)", "Анна"},
		{"не указано", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.full, func(t *testing.T) {
			if got := firstName(tt.full); got != tt.want {
				t.Errorf("firstName(%q) = %q, want %q", tt.full, got, tt.want)
			}
		})
	}
}

func TestPartnerBlockVariants(t *testing.T) {
	tests := []struct {
		name, block, want string
	}{
		{"name key", "# Партнёр\nИмя: Ольга\nКод: P-1", "Ольга"},
		{"fio key", "# Партнер\n- ФИО: Сидорова Ольга Петровна", "Ольга"},
		{"free line", "# Партнёр\nОльга Сидорова (P-1)", "Ольга"},
		{"name in heading", "# Партнёр: Ольга Сидорова\nКод: P-1", "Ольга"},
		{"code only", "# Партнёр\nКод: P-1", ""},
		{"no block", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ins := parseInstruction("Промпт\n# База знаний\n" + tt.block)
			if ins.partnerName != tt.want {
				t.Errorf("partner name = %q, want %q", ins.partnerName, tt.want)
			}
		})
	}
}

func BenchmarkRespond(b *testing.B) {
	req := requestWith(loadInstruction(b), textContent("user", "Подскажите, какая комиссия у партнёра за сделку?"))
	for b.Loop() {
		Respond(req)
	}
}
