package gemini

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kljensen/snowball/english"
	"github.com/kljensen/snowball/russian"
)

// fillerWords carry no topic in a partner's question ("подскажите,
// пожалуйста, какая …"). Dropping them keeps them from diluting the match
// score; the snowball list only covers grammatical stop words.
var fillerWords = setOf(
	"подскажите", "подскажи", "пожалуйста", "пожалуй", "скажите", "скажи",
	"расскажите", "расскажи", "объясните", "объясни", "хочу", "хотел",
	"хотела", "хотелось", "хотим", "узнать", "уточнить", "можете", "могу",
	"могли", "бы", "интересует", "интересно", "вопрос", "вопросы", "спасибо",
	"благодарю", "это", "эта", "эти", "этим", "какие", "каких", "каком",
	"какую", "какое", "каким", "какова", "каков", "сколько", "ваш", "ваша",
	"ваши", "вашей", "вашего", "наш", "наша", "наши", "свой", "своя", "очень",
	"просто", "вообще", "также", "ещё", "еще", "нужно", "нужна", "нужен",
	"надо", "бот", "ли", "the", "a", "an", "is", "are", "to", "of", "and",
	"or", "what", "how",
)

// greetingWords are stripped from the question before matching and decide
// the greeting reply when nothing else matched. Multi-word greetings are
// handled by greetingPhrases first so that "день" in "добрый день" does not
// survive as a topic word.
var greetingWords = setOf(
	"привет", "приветик", "приветствую", "здравствуйте", "здравствуй",
	"здрасте", "здрасьте", "хай", "салют", "hello", "hi", "hey",
)

var greetingPhrases = []string{
	"доброго времени суток", "добрый день", "добрый вечер", "доброе утро",
	"доброй ночи", "доброго дня", "доброго вечера", "доброго утра",
}

func setOf(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// normalize lower-cases text and folds ё to е: users type both, and the
// snowball stemmer treats them as different letters.
func normalize(text string) string {
	return strings.ReplaceAll(strings.ToLower(text), "ё", "е")
}

// words splits text into normalized words: maximal runs of letters and
// digits. Hyphenated compounds ("онлайн-показ") become separate words.
func words(text string) []string {
	return strings.FieldsFunc(normalize(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// isStopWord reports words that say nothing about the topic of a question.
func isStopWord(w string) bool {
	return utf8.RuneCountInString(w) < 2 || russian.IsStopWord(w) || fillerWords[w] || greetingWords[w]
}

// stem reduces a normalized word to its snowball stem: Russian for words
// with Cyrillic letters, English otherwise, digits unchanged.
func stem(w string) string {
	for _, r := range w {
		if unicode.Is(unicode.Cyrillic, r) {
			return russian.Stem(w, true)
		}
	}
	for _, r := range w {
		if unicode.IsLetter(r) {
			return english.Stem(w, true)
		}
	}
	return w
}

// contentStems returns the stems of the topic-bearing words of text in order
// of first appearance, without duplicates. Order matters: scores are summed
// in this order, so floating-point results (and thus tie-breaks) never
// depend on map iteration.
func contentStems(text string) []string {
	var out []string
	seen := make(map[string]bool)
	for _, w := range words(stripGreetings(text)) {
		if isStopWord(w) {
			continue
		}
		s := stem(w)
		if s == "" || seen[s] {
			continue
		}
		seen[s] = true
		out = append(out, s)
	}
	return out
}

// stripGreetings removes greeting phrases so that their words do not count
// as topic words.
func stripGreetings(text string) string {
	t := normalize(text)
	for _, p := range greetingPhrases {
		t = strings.ReplaceAll(t, p, " ")
	}
	return t
}

// hasGreeting reports whether text contains a greeting.
func hasGreeting(text string) bool {
	t := normalize(text)
	for _, p := range greetingPhrases {
		if strings.Contains(t, p) {
			return true
		}
	}
	for _, w := range words(t) {
		if greetingWords[w] {
			return true
		}
	}
	return false
}

// nearStems reports whether two different stems are forms of one word the
// stemmer failed to unify ("выплат"/"выплачива", "партнер"/"партнерск"):
// they share all but at most one letter of the shorter stem, and at least
// four letters, so short stems like "акц" never match loosely.
func nearStems(a, b string) bool {
	ra, rb := []rune(a), []rune(b)
	shorter := min(len(ra), len(rb))
	if shorter < 4 {
		return false
	}
	common := 0
	for common < shorter && ra[common] == rb[common] {
		common++
	}
	return common >= max(4, shorter-1)
}

// estimateTokens approximates Gemini's token count: about four characters a
// token. Callers only need stable, plausible usage numbers.
func estimateTokens(text string) int {
	n := utf8.RuneCountInString(text)
	if n == 0 {
		return 0
	}
	return (n + 3) / 4
}
