// Package knowledge finds the rows of the Knowledge sheet (База знаний:
// topic · question/keywords · answer) that answer a partner's message, and
// renders them as the "# База знаний" block appended to the model's system
// instruction.
//
// Retrieval is lexical and works offline: text is lowercased, ё is folded to е,
// split into words on anything that is not a letter or a digit, stripped of
// stop words, and stemmed with the Snowball stemmers (Russian for Cyrillic
// words, English for Latin ones); numbers and codes stay tokens as written.
// Word forms therefore meet ("комиссию" and "комиссия" both become
// "комисс"), but a misspelled word matches only if its stem survives the typo.
//
// Entries are ranked with BM25 computed per field and summed with field
// weights. Each field saturates on its own, so however often a word repeats
// in a long answer, the answer adds at most (k1+1)·idf = 2.2·idf for it — less
// than one occurrence in a question of average length (2.5·idf). A BM25F with
// one shared saturation would let the repetitive answer catch up. The
// parameters:
//
//	k1 = 1.2                              term-frequency saturation, per field
//	topic:    weight 1.5, b = 0.3         a category shared by several entries; short
//	question: weight 2.5, b = 0.5         the question and its keywords: what tells entries apart
//	answer:   weight 1.0, b = 0.75        long text; classic BM25 length normalization
//	idf(t) = ln(1 + (N − df + 0.5) / (df + 0.5))   df counts entries; never negative
//
// One occurrence in a field of average length scores idf × weight; the
// scores of the query's distinct terms add up.
//
// A hit must score at least MinScore and at least RelativeCutoff of the best
// hit: the block is pasted into every prompt, and an entry that shares only a
// common word with the message costs tokens and invites the model to talk
// about something that was not asked.
//
// An Index is immutable after NewIndex and safe for concurrent use; building
// one is cheap enough to redo whenever the cached Knowledge sheet refreshes.
package knowledge
