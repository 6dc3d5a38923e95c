package gemini

import (
	"math"
	"regexp"
	"strings"
	"unicode"
)

// Respond is the emulator's offline model: it answers req from what the
// request itself carries, deterministically (same request, same answer).
// In order of precedence:
//
//  1. Editor stand-in: if the last user turn holds a block between a line
//     "<<<ТЕКСТ" and a line "ТЕКСТ>>>", the block is returned verbatim, so
//     a "polish this text" call never changes numbers.
//  2. Knowledge: the "[Знание N]" entries after "# База знаний" in the
//     system instruction are scored against the last user turn (stemmed
//     word overlap, topic and question weighted above the answer). The best
//     entry above a threshold is returned as light Markdown: a bold topic,
//     then the answer. A multi-line turn (several quick messages) is matched
//     line by line first and may combine up to three entries.
//  3. Script: the best system-prompt section ("§3. Аналитика 360") that has
//     a line "Пример ответа: …" returns that example.
//  4. A greeting gets a greeting that offers what the bot can do.
//  5. Anything else gets a polite request to clarify, listing the same.
//
// The partner's first name, when the "# Партнёр" block gives one, is used to
// address them in 2, 4 and 5. No reply contains a number that is not in the
// request.
func Respond(req GenerateRequest) string {
	question := req.LastUserText()
	if block, ok := editorBlock(question); ok {
		return block
	}
	ins := parseInstruction(req.SystemText())
	if entries := ins.matchKnowledge(question); len(entries) > 0 {
		return formatKnowledge(entries, ins.partnerName)
	}
	if sec, ok := ins.matchSection(question); ok {
		return sec.example
	}
	if hasGreeting(question) {
		return greetingReply(ins.partnerName)
	}
	return clarifyReply(ins.partnerName)
}

const (
	editorOpen  = "<<<ТЕКСТ"
	editorClose = "ТЕКСТ>>>"
)

// editorBlock returns the text between the editor markers, byte for byte.
func editorBlock(text string) (string, bool) {
	lines := strings.Split(text, "\n")
	start := -1
	for i, l := range lines {
		t := strings.TrimSpace(l)
		switch {
		case start < 0 && t == editorOpen:
			start = i
		case start >= 0 && t == editorClose:
			return strings.Join(lines[start+1:i], "\n"), true
		}
	}
	return "", false
}

type knowledgeEntry struct {
	topic, question, answer string
}

type promptSection struct {
	title, body, example string
}

// instruction is what the bot's system instruction tells the responder.
type instruction struct {
	sections    []promptSection
	knowledge   []knowledgeEntry
	partnerName string // first name only; empty when unknown
}

var (
	sectionHeading = regexp.MustCompile(`^[#*_>\s]*§\s*\d+\s*[.):]?\s*(.*)$`)
	exampleLine    = regexp.MustCompile(`(?i)^[\s*_>•·\-–—]*пример\s+ответа[\s*_]*:[\s*_]*(.*)$`)
	knowledgeMark  = regexp.MustCompile(`(?i)^\[\s*знание[^\]]*\]\s*$`)
	fieldLine      = regexp.MustCompile(`(?i)^(тема|вопрос|ключевые слова|ответ)\s*:\s*(.*)$`)
	keyValueLine   = regexp.MustCompile(`^([^:]{1,40}):\s*(.+)$`)
)

type block int

const (
	blockPrompt block = iota
	blockKnowledge
	blockPartner
	blockOther
)

// parseInstruction splits the system instruction into the prompt's
// sections, the knowledge entries and the partner's name. Level-1 headings
// ("# …") other than the two known ones end the knowledge and partner
// blocks, but not the prompt: the prompt may use headings of its own.
func parseInstruction(text string) instruction {
	p := &instructionParser{cur: blockPrompt}
	for _, raw := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		line := strings.TrimRight(raw, " \t\r")
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "# ") && p.heading(trimmed) {
			continue
		}
		switch p.cur {
		case blockPrompt:
			p.promptLine(line, trimmed)
		case blockKnowledge:
			p.knowledgeLine(line, trimmed)
		case blockPartner:
			if trimmed != "" {
				p.partnerRaw = append(p.partnerRaw, trimmed)
			}
		}
	}
	p.flushSection()
	p.flushEntry()
	p.ins.partnerName = partnerFirstName(p.partnerRaw)
	return p.ins
}

// instructionParser is the state of parseInstruction: the block it is in,
// the prompt section and knowledge entry being read.
type instructionParser struct {
	ins        instruction
	cur        block
	sec        *promptSection
	entry      *knowledgeEntry
	field      *string // the entry's field that continuation lines extend
	inExample  bool
	partnerRaw []string
}

func (p *instructionParser) flushSection() {
	if p.sec != nil {
		p.sec.body = strings.TrimSpace(p.sec.body)
		p.sec.example = strings.TrimSpace(unquote(strings.TrimSpace(p.sec.example)))
		p.ins.sections = append(p.ins.sections, *p.sec)
		p.sec = nil
	}
	p.inExample = false
}

func (p *instructionParser) flushEntry() {
	// An entry without an answer cannot answer anything.
	if p.entry != nil {
		if p.entry.answer = strings.TrimSpace(p.entry.answer); p.entry.answer != "" {
			p.ins.knowledge = append(p.ins.knowledge, *p.entry)
		}
	}
	p.entry, p.field = nil, nil
}

// heading handles a level-1 heading; false means the line is the prompt's
// own heading, to be read as a prompt line.
func (p *instructionParser) heading(trimmed string) bool {
	heading := normalize(strings.TrimSpace(trimmed[2:]))
	switch {
	case strings.HasPrefix(heading, "база знаний"):
		p.flushSection()
		p.flushEntry()
		p.cur = blockKnowledge
	case strings.HasPrefix(heading, "партнер"):
		p.flushSection()
		p.flushEntry()
		p.cur = blockPartner
		// "# Партнёр: Иван Петров" carries the name in the heading.
		if _, rest, ok := strings.Cut(trimmed, ":"); ok && strings.TrimSpace(rest) != "" {
			p.partnerRaw = append(p.partnerRaw, strings.TrimSpace(rest))
		}
	case p.cur != blockPrompt:
		p.flushEntry()
		p.cur = blockOther
	default:
		return false
	}
	return true
}

func (p *instructionParser) promptLine(line, trimmed string) {
	if m := sectionHeading.FindStringSubmatch(trimmed); m != nil {
		p.flushSection()
		p.sec = &promptSection{title: strings.Trim(m[1], "*_ ")}
		return
	}
	sec := p.sec
	if sec == nil {
		return
	}
	if m := exampleLine.FindStringSubmatch(trimmed); m != nil {
		if sec.example == "" {
			sec.example = m[1]
			p.inExample = strings.TrimSpace(m[1]) == ""
		}
		return
	}
	if p.inExample {
		if trimmed == "" {
			p.inExample = sec.example == ""
			return
		}
		sec.example = strings.TrimSpace(sec.example + "\n" + line)
		return
	}
	sec.body += line + "\n"
}

func (p *instructionParser) knowledgeLine(line, trimmed string) {
	if knowledgeMark.MatchString(trimmed) {
		p.flushEntry()
		p.entry = &knowledgeEntry{}
		return
	}
	m := fieldLine.FindStringSubmatch(trimmed)
	if m == nil {
		if p.field != nil {
			*p.field += "\n" + line
		}
		return
	}
	name := normalize(m[1])
	// Without "[Знание N]" markers, a repeated topic or a question after an
	// answer starts the next entry.
	if e := p.entry; e == nil || (name == "тема" && e.topic != "") || (name != "ответ" && e.answer != "") {
		p.flushEntry()
		p.entry = &knowledgeEntry{}
	}
	switch name {
	case "тема":
		p.field = &p.entry.topic
	case "ответ":
		p.field = &p.entry.answer
	default: // вопрос, ключевые слова: both describe what is asked
		p.field = &p.entry.question
	}
	*p.field = joinLine(*p.field, m[2])
}

func joinLine(prev, next string) string {
	if prev == "" {
		return next
	}
	return prev + "\n" + next
}

// unquote removes one pair of quotes around an example answer.
func unquote(s string) string {
	for _, q := range [][2]string{{"«", "»"}, {`"`, `"`}, {"“", "”"}, {"„", "“"}} {
		if len(s) >= len(q[0])+len(q[1]) && strings.HasPrefix(s, q[0]) && strings.HasSuffix(s, q[1]) {
			return s[len(q[0]) : len(s)-len(q[1])]
		}
	}
	return s
}

// partnerFirstName finds the partner's first name in the lines of the
// "# Партнёр" block: the value of a name-like key ("Имя", "ФИО"), or else
// the first line that is not "key: value".
func partnerFirstName(lines []string) string {
	var fallback string
	for _, l := range lines {
		m := keyValueLine.FindStringSubmatch(l)
		if m == nil {
			if fallback == "" {
				fallback = l
			}
			continue
		}
		switch normalize(strings.Trim(m[1], "-*•_ ")) {
		case "имя", "фио", "name", "партнер", "полное имя", "имя партнера", "ф.и.о.", "ф. и. о.":
			return firstName(m[2])
		}
	}
	if fallback != "" {
		return firstName(fallback)
	}
	return ""
}

var (
	patronymicEndings = []string{"ович", "евич", "ьич", "ична", "овна", "евна", "инична"}
	surnameEndings    = []string{"ов", "ев", "ёв", "ова", "ева", "ёва", "ский", "ская", "цкий", "цкая", "ук", "юк", "енко"}
)

// firstName picks the given name out of a full name in either order:
// "Иван Петров", "Петров Иван", "Петров Иван Сергеевич". A Russian ФИО puts
// the surname first, so a patronymic or a surname-like first word moves the
// pick to the next word. Values that are not a capitalized name give "".
func firstName(full string) string {
	if i := strings.IndexAny(full, "(,;"); i >= 0 {
		full = full[:i]
	}
	var parts []string
	for _, w := range strings.Fields(full) {
		w = strings.Trim(w, ".*_\"«»")
		if !isName(w) {
			break
		}
		parts = append(parts, w)
	}
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return parts[0]
	}
	if len(parts) >= 3 && hasEnding(parts[2], patronymicEndings) {
		return parts[1] // Фамилия Имя Отчество
	}
	if hasEnding(parts[1], patronymicEndings) {
		return parts[0] // Имя Отчество
	}
	if hasEnding(parts[0], surnameEndings) && !hasEnding(parts[1], surnameEndings) {
		return parts[1] // Фамилия Имя
	}
	return parts[0]
}

func isName(w string) bool {
	if w == "" {
		return false
	}
	for i, r := range w {
		if i == 0 && !unicode.IsUpper(r) {
			return false
		}
		if !unicode.IsLetter(r) && r != '-' {
			return false
		}
	}
	return true
}

func hasEnding(w string, endings []string) bool {
	w = strings.ToLower(w)
	for _, e := range endings {
		if strings.HasSuffix(w, e) && len([]rune(w)) > len([]rune(e))+1 {
			return true
		}
	}
	return false
}

// Scoring. Each query stem is weighted by how rare it is among the
// candidates (a smoothed IDF), so "партнёр", present in every entry of a
// partner network's knowledge base, decides less than "ипотека". A stem
// found in a strong field (topic, question, section title) counts three
// times one found only in a weak field (answer, section body).
const (
	strongWeight = 3.0
	weakWeight   = 1.0
	nearFactor   = 0.6
	// minRelevance is the share of the best possible score a candidate needs.
	// Together with the rule that at least one stem must hit a strong field,
	// it keeps off-topic questions from being answered with a random entry.
	minRelevance = 0.3
	// maxCombined bounds how many entries one multi-line turn may combine.
	maxCombined = 3
)

type fieldIndex struct {
	set  map[string]bool
	list []string
}

func newFieldIndex(texts ...string) fieldIndex {
	f := fieldIndex{set: make(map[string]bool)}
	for _, t := range texts {
		for _, s := range contentStems(t) {
			if !f.set[s] {
				f.set[s] = true
				f.list = append(f.list, s)
			}
		}
	}
	return f
}

func (f fieldIndex) match(q string) float64 {
	if f.set[q] {
		return 1
	}
	for _, s := range f.list {
		if nearStems(q, s) {
			return nearFactor
		}
	}
	return 0
}

type document struct {
	strong, weak fieldIndex
}

// matchStrength scores one query stem against d and reports whether it hit
// a strong field.
func (d document) matchStrength(q string) (float64, bool) {
	s := d.strong.match(q) * strongWeight
	w := d.weak.match(q) * weakWeight
	return max(s, w), s > 0
}

// bestDocument returns the index of the document that answers query best,
// or false when none is relevant enough. Ties go to the earlier document.
func bestDocument(query []string, docs []document) (int, bool) {
	if len(query) == 0 || len(docs) == 0 {
		return -1, false
	}
	weights := make([]float64, len(query))
	var possible float64
	for i, q := range query {
		df := 0
		for _, d := range docs {
			if m, _ := d.matchStrength(q); m > 0 {
				df++
			}
		}
		weights[i] = 1 + math.Log(float64(len(docs)+1)/float64(df+1))
		possible += weights[i] * strongWeight
	}
	best, bestRelevance := -1, 0.0
	for j, d := range docs {
		var score float64
		strongHit := false
		for i, q := range query {
			m, strong := d.matchStrength(q)
			score += weights[i] * m
			strongHit = strongHit || strong
		}
		relevance := score / possible
		if strongHit && relevance >= minRelevance && relevance > bestRelevance {
			best, bestRelevance = j, relevance
		}
	}
	return best, best >= 0
}

// questionLines returns the non-empty lines of a user turn.
func questionLines(question string) []string {
	var lines []string
	for _, l := range strings.Split(question, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// matchKnowledge returns the entries that answer question. A turn of
// several lines is matched line by line, because each line is usually a
// separate quick message; if no line matches on its own, the whole turn is
// matched at once.
func (ins instruction) matchKnowledge(question string) []knowledgeEntry {
	if len(ins.knowledge) == 0 {
		return nil
	}
	docs := make([]document, len(ins.knowledge))
	for i, e := range ins.knowledge {
		docs[i] = document{strong: newFieldIndex(e.topic, e.question), weak: newFieldIndex(e.answer)}
	}
	var found []knowledgeEntry
	if lines := questionLines(question); len(lines) > 1 {
		seen := make(map[int]bool)
		for _, l := range lines {
			if i, ok := bestDocument(contentStems(l), docs); ok && !seen[i] {
				seen[i] = true
				found = append(found, ins.knowledge[i])
				if len(found) == maxCombined {
					break
				}
			}
		}
	}
	if len(found) == 0 {
		if i, ok := bestDocument(contentStems(question), docs); ok {
			found = append(found, ins.knowledge[i])
		}
	}
	return found
}

// matchSection returns the prompt section, among those with an example
// answer, that fits question best.
func (ins instruction) matchSection(question string) (promptSection, bool) {
	var (
		candidates []promptSection
		docs       []document
	)
	for _, s := range ins.sections {
		if s.example == "" {
			continue
		}
		candidates = append(candidates, s)
		docs = append(docs, document{strong: newFieldIndex(s.title), weak: newFieldIndex(s.body)})
	}
	if len(docs) == 0 {
		return promptSection{}, false
	}
	if lines := questionLines(question); len(lines) > 1 {
		for _, l := range lines {
			if i, ok := bestDocument(contentStems(l), docs); ok {
				return candidates[i], true
			}
		}
	}
	if i, ok := bestDocument(contentStems(question), docs); ok {
		return candidates[i], true
	}
	return promptSection{}, false
}

var bulletPrefix = regexp.MustCompile(`^(\s*)[•·▪●◦–—]\s*`)

// formatKnowledge renders entries as light Markdown: an optional address,
// then per entry a bold topic and the answer with its lists kept.
func formatKnowledge(entries []knowledgeEntry, name string) string {
	var b strings.Builder
	switch {
	case name != "" && len(entries) > 1:
		b.WriteString(name + ", отвечаю по порядку.\n\n")
	case name != "":
		b.WriteString(name + ", вот что я нашёл по вашему вопросу.\n\n")
	case len(entries) > 1:
		b.WriteString("Отвечаю по порядку.\n\n")
	}
	for i, e := range entries {
		if i > 0 {
			b.WriteString("\n\n")
		}
		if topic := strings.TrimSpace(strings.ReplaceAll(e.topic, "*", "")); topic != "" {
			b.WriteString("**" + topic + "**\n")
		}
		b.WriteString(tidyAnswer(e.answer))
	}
	return b.String()
}

// tidyAnswer trims trailing spaces, collapses runs of blank lines and turns
// typographic bullets into Markdown list items, so a hand-typed sheet cell
// renders as a list.
func tidyAnswer(answer string) string {
	var out []string
	blank := false
	for _, l := range strings.Split(answer, "\n") {
		l = strings.TrimRight(l, " \t\r")
		if l == "" {
			if !blank && len(out) > 0 {
				out = append(out, "")
			}
			blank = true
			continue
		}
		blank = false
		out = append(out, bulletPrefix.ReplaceAllString(l, "$1- "))
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

const capabilities = "- **Аналитика 360** по вашему объекту;\n" +
	"- актуальные **акции** партнёрской сети;\n" +
	"- **комиссия** и выплаты;\n" +
	"- связь с **оператором** — просто напишите «оператор»."

func greetingReply(name string) string {
	hello := "Здравствуйте!"
	if name != "" {
		hello = "Здравствуйте, " + name + "!"
	}
	return hello + " Я помощник партнёрской сети. С чем могу помочь:\n" + capabilities
}

func clarifyReply(name string) string {
	lead := "Я не нашёл точного ответа на этот вопрос."
	if name != "" {
		lead = name + ", я не нашёл точного ответа на этот вопрос."
	}
	return lead + " Уточните, пожалуйста, что именно вас интересует. Я могу помочь с темами:\n" + capabilities
}
