package knowledge

import (
	"regexp"
	"strconv"
	"strings"
)

// PromptHeader opens the block that PromptBlock renders.
const PromptHeader = "# База знаний"

// PromptBlock renders hits as the knowledge block appended to the system
// instruction, numbered in rank order:
//
//	# База знаний
//	[Знание 1]
//	Тема: <topic>
//	Вопрос: <question>
//	Ответ: <answer, possibly several lines>
//
//	[Знание 2]
//	…
//
// The format is a contract: the system prompt tells the model how to read it
// and the Gemini emulator parses it. Cells are edited by hand, so they are
// made to fit: topic and question become one line each; the answer keeps its
// lines but loses blank ones (a blank line ends an entry) and Markdown heading
// marks ("#" opens a new block), a "[Знание N]" line gets round brackets, and
// a line starting with "Тема:", "Вопрос:" or "Ответ:" gets a leading dash, as
// it would otherwise read as a field. The block ends with a newline; no hits
// give "".
func PromptBlock(hits []Hit) string {
	if len(hits) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(PromptHeader)
	b.WriteByte('\n')
	for i, h := range hits {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString("[Знание ")
		b.WriteString(strconv.Itoa(i + 1))
		b.WriteString("]\n")
		writeField(&b, "Тема:", oneLine(h.Entry.Topic))
		writeField(&b, "Вопрос:", oneLine(h.Entry.Question))
		writeField(&b, "Ответ:", answerLines(h.Entry.Answer))
	}
	return b.String()
}

func writeField(b *strings.Builder, label, value string) {
	b.WriteString(label)
	if value != "" {
		b.WriteByte(' ')
		b.WriteString(value)
	}
	b.WriteByte('\n')
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// answerLines keeps the answer's line structure (lists, steps) but drops
// empty lines and neutralizes lines that look like block structure.
var fieldLabel = regexp.MustCompile(`(?i)^(тема|вопрос|ключевые слова|ответ)\s*:`)

func answerLines(s string) string {
	s = strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(s)
	lines := strings.Split(s, "\n")
	kept := lines[:0]
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "#") {
			// A Markdown heading in a cell would read as a new prompt section.
			l = strings.TrimSpace(strings.TrimLeft(l, "#"))
		}
		if rest, ok := strings.CutPrefix(l, "[Знание"); ok {
			// An entry marker inside an answer would split it in two.
			l = "(Знание" + strings.Replace(rest, "]", ")", 1)
		}
		if fieldLabel.MatchString(l) {
			// So would a line that reads as another entry's field.
			l = "— " + l
		}
		if l != "" {
			kept = append(kept, l)
		}
	}
	return strings.Join(kept, "\n")
}
