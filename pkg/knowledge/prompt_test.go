package knowledge_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/knowledge"
)

func TestPromptBlock(t *testing.T) {
	tests := []struct {
		name string
		hits []knowledge.Hit
		want string
	}{
		{name: "no hits", hits: nil, want: ""},
		{
			name: "entries in rank order",
			hits: []knowledge.Hit{
				{Entry: domain.KnowledgeEntry{Topic: "Комиссии", Question: "Какую комиссию я получу?", Answer: "30–50% комиссии агентства."}, Score: 9},
				{Entry: domain.KnowledgeEntry{Topic: "Выплаты", Question: "Сроки выплаты", Answer: "В течение 10 рабочих дней.\nПосле оплаты застройщиком."}, Score: 4},
			},
			want: "# База знаний\n" +
				"[Знание 1]\n" +
				"Тема: Комиссии\n" +
				"Вопрос: Какую комиссию я получу?\n" +
				"Ответ: 30–50% комиссии агентства.\n" +
				"\n" +
				"[Знание 2]\n" +
				"Тема: Выплаты\n" +
				"Вопрос: Сроки выплаты\n" +
				"Ответ: В течение 10 рабочих дней.\n" +
				"После оплаты застройщиком.\n",
		},
		{
			name: "hand-edited cells fit the format",
			hits: []knowledge.Hit{{Entry: domain.KnowledgeEntry{
				Topic:    "  Этапы\nсделки ",
				Question: "",
				Answer:   "Шаги:\r\n\r\n## Подготовка\r\n  1. Фиксация  \n\n[Знание 7] не путать\nвопрос: клиента?\n2. Показ\n",
			}}},
			want: "# База знаний\n" +
				"[Знание 1]\n" +
				"Тема: Этапы сделки\n" +
				"Вопрос:\n" +
				"Ответ: Шаги:\n" +
				"Подготовка\n" +
				"1. Фиксация\n" +
				"(Знание 7) не путать\n" +
				"— вопрос: клиента?\n" +
				"2. Показ\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := knowledge.PromptBlock(tt.hits); got != tt.want {
				t.Errorf("PromptBlock() =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestPromptBlockParsesBack reads the block the way a consumer does: split on
// blank lines, one entry per chunk, labelled lines in a fixed order.
func TestPromptBlockParsesBack(t *testing.T) {
	hits := knowledge.NewIndex(corpus).Search("как связаться с оператором и куратором в субботу", 4)
	if len(hits) < 2 {
		t.Fatalf("want several hits, got %d", len(hits))
	}
	block := knowledge.PromptBlock(hits)
	body, ok := strings.CutPrefix(block, knowledge.PromptHeader+"\n")
	if !ok {
		t.Fatalf("block does not start with %q:\n%s", knowledge.PromptHeader, block)
	}
	chunks := strings.Split(strings.TrimSuffix(body, "\n"), "\n\n")
	if len(chunks) != len(hits) {
		t.Fatalf("%d chunks for %d hits:\n%s", len(chunks), len(hits), block)
	}
	for i, c := range chunks {
		lines := strings.Split(c, "\n")
		if lines[0] != "[Знание "+strconv.Itoa(i+1)+"]" {
			t.Errorf("chunk %d starts with %q", i, lines[0])
		}
		e := hits[i].Entry
		if lines[1] != "Тема: "+e.Topic || lines[2] != "Вопрос: "+e.Question {
			t.Errorf("chunk %d header lines %q", i, lines[1:3])
		}
		if got := strings.TrimPrefix(strings.Join(lines[3:], "\n"), "Ответ: "); got != e.Answer {
			t.Errorf("chunk %d answer %q, want %q", i, got, e.Answer)
		}
	}
}

// TestDefaultSystemPrompt guards the contract between this package, the
// default system prompt and the Gemini emulator: the prompt explains the
// block PromptBlock writes, and every scenario §1–§14 is a "§N. Title" line
// followed by exactly one "Пример ответа:" line (the emulator's canned answers).
func TestDefaultSystemPrompt(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "configs", "system_prompt.txt"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	if !utf8.ValidString(text) {
		t.Fatal("system prompt is not UTF-8")
	}
	if n := len(data); n < 3*1024 || n > 7*1024 {
		t.Errorf("system prompt is %d bytes, want 3–7 KB", n)
	}
	for _, s := range []string{knowledge.PromptHeader, "[Знание N]", "# Партнёр", "/operator", "«оператор»", "1500"} {
		if !strings.Contains(text, s) {
			t.Errorf("system prompt does not mention %q", s)
		}
	}

	heading := regexp.MustCompile(`(?m)^§(\d+)\. \S.*$`)
	locs := heading.FindAllStringSubmatchIndex(text, -1)
	if len(locs) != 14 {
		t.Fatalf("found %d section headings, want 14", len(locs))
	}
	for i, loc := range locs {
		if n, _ := strconv.Atoi(text[loc[2]:loc[3]]); n != i+1 {
			t.Errorf("section %d is numbered §%d", i+1, n)
		}
		end := len(text)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		section := text[loc[1]:end]
		examples := regexp.MustCompile(`(?m)^Пример ответа: (.+)$`).FindAllStringSubmatch(section, -1)
		if len(examples) != 1 {
			t.Errorf("%s: %d example lines, want 1", text[loc[0]:loc[1]], len(examples))
			continue
		}
		if n := utf8.RuneCountInString(examples[0][1]); n < 40 || n > 400 {
			t.Errorf("%s: example answer of %d characters", text[loc[0]:loc[1]], n)
		}
	}
}
