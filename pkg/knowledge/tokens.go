package knowledge

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kljensen/snowball/english"
	"github.com/kljensen/snowball/russian"
)

// Tokens splits text into the terms the index compares: lowercase, ё folded to
// е, words split on every rune that is neither a letter nor a digit, stop
// words and single letters dropped, Cyrillic words stemmed with the Snowball
// Russian stemmer and Latin words with the English one (each with its own stop
// list). A Russian word typed with Latin lookalikes ("кoмиссия" with a Latin o)
// is repaired first. Tokens containing digits (prices, object codes such as
// "MSK-100001" → "msk", "100001") and words in other alphabets are kept as
// written. Terms come back in text order, repeats included.
func Tokens(text string) []string {
	return appendTokens(nil, text, nil)
}

// termCache maps a lowercased word to its term ("" for a dropped word). The
// Snowball stemmers allocate and convert strings to runes many times per word,
// so building an index caches every word it meets, and searching that index
// reads the cache (never writes it, which keeps Search free of locks).
type termCache struct {
	terms    map[string]string
	readOnly bool
}

// appendTokens is Tokens with an optional cache.
func appendTokens(dst []string, text string, cache *termCache) []string {
	word := make([]byte, 0, 64)
	for _, r := range text {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			r = unicode.ToLower(r)
			if r == 'ё' {
				r = 'е'
			}
			word = utf8.AppendRune(word, r)
		case unicode.Is(unicode.Mn, r):
			// Combining marks sit inside words and are dropped without splitting
			// them: stress accents in dictionary-style text ("за́мок") and the
			// marks of a decomposed ё (е + U+0308) or й (и + U+0306, recomposed).
			if r == '\u0306' && bytes.HasSuffix(word, []byte("и")) {
				word = append(word[:len(word)-len("и")], "й"...)
			}
		case unicode.Is(unicode.Cf, r):
			// Soft hyphens and zero-width characters pasted from web pages and
			// messengers are invisible to the reader, so they must not split a word.
		default:
			dst = appendTerm(dst, word, cache)
			word = word[:0]
		}
	}
	return appendTerm(dst, word, cache)
}

func appendTerm(dst []string, word []byte, cache *termCache) []string {
	if len(word) == 0 {
		return dst
	}
	var t string
	if cache == nil {
		t = term([]rune(string(word)))
	} else if cached, ok := cache.terms[string(word)]; ok { // no allocation for the lookup
		t = cached
	} else {
		t = term([]rune(string(word)))
		if !cache.readOnly {
			cache.terms[string(word)] = t
		}
	}
	if t == "" {
		return dst
	}
	return append(dst, t)
}

type script int

const (
	scriptOther script = iota
	scriptCyrillic
	scriptLatin
)

// term turns one lowercased word into its index term, or "" when the word
// carries no meaning of its own.
func term(word []rune) string {
	sc := classify(word)
	if sc == scriptOther && repairLatinLookalikes(word) {
		sc = scriptCyrillic
	}
	// A lone letter is a preposition, a conjunction or an initial; digits, even
	// single ones ("3 дня"), carry meaning.
	if len(word) == 1 && sc != scriptOther {
		return ""
	}
	w := string(word)
	switch sc {
	case scriptCyrillic:
		if russian.IsStopWord(w) || extraRussianStopWords[w] {
			return ""
		}
		return russian.Stem(w, true)
	case scriptLatin:
		if english.IsStopWord(w) {
			return ""
		}
		return english.Stem(w, true)
	default:
		return w
	}
}

// classify reports whether a lowercase word is made only of Russian letters or
// only of basic Latin letters; anything else (digits, other alphabets, a mix)
// is scriptOther and is kept unstemmed.
func classify(word []rune) script {
	sc := scriptOther
	for i, r := range word {
		var rs script
		switch {
		case r >= 'а' && r <= 'я':
			rs = scriptCyrillic
		case r >= 'a' && r <= 'z':
			rs = scriptLatin
		default:
			return scriptOther
		}
		if i == 0 {
			sc = rs
		} else if rs != sc {
			return scriptOther
		}
	}
	return sc
}

// latinLookalikes maps Latin letters to the Cyrillic letters they imitate
// (after lowercasing, so both "A" and "a" are covered).
var latinLookalikes = map[rune]rune{
	'a': 'а', 'b': 'в', 'c': 'с', 'e': 'е', 'h': 'н', 'k': 'к', 'm': 'м',
	'o': 'о', 'p': 'р', 't': 'т', 'x': 'х', 'y': 'у',
}

// repairLatinLookalikes repairs, in place, a Russian word typed with a few Latin
// letters (a keyboard layout switched mid-word, "кoмиссия" with a Latin o).
// It reports whether the word is now purely Cyrillic; words that mix the
// alphabets in any other way are left untouched.
func repairLatinLookalikes(word []rune) bool {
	cyrillic := false
	for _, r := range word {
		switch {
		case r >= 'а' && r <= 'я':
			cyrillic = true
		case r >= 'a' && r <= 'z':
			if _, ok := latinLookalikes[r]; !ok {
				return false
			}
		default:
			return false
		}
	}
	if !cyrillic {
		return false
	}
	for i, r := range word {
		if c, ok := latinLookalikes[r]; ok {
			word[i] = c
		}
	}
	return true
}

// extraRussianStopWords complements the Snowball list, which names one form
// of most pronouns ("какой", "этот") but not the others, and lacks the
// courtesy words and "хочу" that open almost every chat message and would
// otherwise match whichever answer happens to contain them.
var extraRussianStopWords = func() map[string]bool {
	m := make(map[string]bool)
	for _, w := range strings.Fields(`
		это эта эти этим этих этому этими
		какую какие каких каким какими какое каком какому какого какой каков какова каково каковы
		мои мою мое моего моей моих моим моему моими
		наш наша наше наши нашего нашей наших нашим нашему нашими
		ваш ваша ваше ваши вашего вашей ваших вашим вашему вашими
		свой своя свое свои своего своей своих своим своему своими
		который которая которое которые которого которой которых которым которому
		также либо ещё почему зачем чей чья чьи
		пожалуйста спасибо здравствуйте привет добрый доброе доброго добрая
		подскажите подскажи скажите скажи хочу хочет хотим хотят хотел хотела хотели
	`) {
		m[strings.ReplaceAll(w, "ё", "е")] = true
	}
	return m
}()
