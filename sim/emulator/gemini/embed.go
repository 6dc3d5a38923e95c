package gemini

import (
	"hash/fnv"
	"math"
)

const (
	// DefaultEmbeddingDimensions is the vector length when a request does
	// not ask for outputDimensionality.
	DefaultEmbeddingDimensions = 256
	// MaxEmbeddingDimensions is the largest outputDimensionality accepted,
	// as for gemini-embedding-001.
	MaxEmbeddingDimensions = 3072

	// Character trigrams of each stem add a little weight so that word forms
	// the stemmer does not unify still land close together.
	trigramWeight = 0.3
)

// Embed returns a deterministic, L2-normalized embedding of text with dims
// dimensions (DefaultEmbeddingDimensions when dims <= 0). It hashes the
// stems of the topic-bearing words, and their character trigrams, into the
// vector with a hash-derived sign, so texts that share Russian words (in any
// grammatical form) have a higher cosine similarity than texts that do not.
// Text without any word still gets a unit vector, so cosine similarity is
// always defined.
func Embed(text string, dims int) []float32 {
	if dims <= 0 {
		dims = DefaultEmbeddingDimensions
	}
	acc := make([]float64, dims)
	terms := 0
	for _, w := range words(text) {
		if isStopWord(w) {
			continue
		}
		terms++
		s := stem(w)
		addHashed(acc, "w\x00"+s, 1)
		r := []rune("^" + s + "$")
		for i := 0; i+3 <= len(r); i++ {
			addHashed(acc, "g\x00"+string(r[i:i+3]), trigramWeight)
		}
	}
	if terms == 0 {
		// Only stop words or none at all: fall back to the raw words so that
		// different short texts still differ, and to a fixed axis for none.
		for _, w := range words(text) {
			addHashed(acc, "w\x00"+w, 1)
		}
	}
	var norm float64
	for _, v := range acc {
		norm += v * v
	}
	out := make([]float32, dims)
	if norm == 0 {
		out[0] = 1
		return out
	}
	norm = math.Sqrt(norm)
	for i, v := range acc {
		out[i] = float32(v / norm)
	}
	return out
}

// addHashed adds weight to the bucket of key, with a sign taken from another
// bit of the hash so that collisions cancel out on average instead of
// inflating similarity between unrelated texts.
func addHashed(acc []float64, key string, weight float64) {
	h := fnv.New64a()
	_, _ = h.Write([]byte(key))
	sum := h.Sum64()
	i := int(sum % uint64(len(acc)))
	if sum>>63 == 1 {
		weight = -weight
	}
	acc[i] += weight
}
