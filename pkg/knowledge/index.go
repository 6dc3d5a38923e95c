package knowledge

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"marketingbot/pkg/domain"
)

// Relevance floors applied by Search; see the package comment for why.
const (
	// MinScore is the least score a hit may have. One occurrence of a
	// term that appears in about half of the entries, in an answer of average
	// length, scores about 0.7, so a hit must rest on more than one common word.
	MinScore = 0.8
	// RelativeCutoff drops hits scoring below this fraction of the best hit.
	RelativeCutoff = 0.3
)

// BM25 parameters; the package comment explains the choice.
const k1 = 1.2

type fieldParams struct {
	weight float64
	b      float64 // length normalization: 0 ignores length, 1 divides by relative length
}

const (
	fieldTopic = iota
	fieldQuestion
	fieldAnswer
	numFields
)

var fieldsParams = [numFields]fieldParams{
	fieldTopic:    {weight: 1.5, b: 0.3},
	fieldQuestion: {weight: 2.5, b: 0.5},
	fieldAnswer:   {weight: 1.0, b: 0.75},
}

// Hit is an entry found by Search with its score (higher is better;
// comparable only within one index).
type Hit struct {
	Entry domain.KnowledgeEntry
	Score float64
}

// Index ranks knowledge entries against free-text queries. The zero value and
// nil are empty indexes.
type Index struct {
	entries []domain.KnowledgeEntry
	terms   map[string]termPostings
	words   *termCache // every word of the entries; read-only after NewIndex
}

type termPostings struct {
	idf      float64
	postings []posting
}

// posting holds everything about one term in one entry except its idf: the
// sum over fields of weight·(k1+1)·tf/(k1+tf), tf normalized by field length.
type posting struct {
	doc    int32
	weight float64
}

// NewIndex indexes entries. Rows without an answer are skipped: they would
// give the model a question and nothing to say about it. The slice is copied,
// so the caller may reuse it.
func NewIndex(entries []domain.KnowledgeEntry) *Index {
	type doc struct {
		fields [numFields][]string
	}
	cache := &termCache{terms: make(map[string]string, 1024)}
	ix := &Index{terms: make(map[string]termPostings), words: cache}
	var docs []doc
	var totalLen [numFields]float64
	for _, e := range entries {
		if strings.TrimSpace(e.Answer) == "" {
			continue
		}
		var d doc
		for f, text := range [numFields]string{e.Topic, e.Question, e.Answer} {
			d.fields[f] = appendTokens(nil, text, cache)
			totalLen[f] += float64(len(d.fields[f]))
		}
		ix.entries = append(ix.entries, e)
		docs = append(docs, d)
	}
	cache.readOnly = true
	if len(docs) == 0 {
		return ix
	}

	var avgLen [numFields]float64
	for f := range avgLen {
		avgLen[f] = totalLen[f] / float64(len(docs))
	}
	postings := make(map[string][]posting)
	tf := make(map[string]float64)
	weights := make(map[string]float64)
	for i, d := range docs {
		clear(weights)
		for f, toks := range d.fields {
			if len(toks) == 0 {
				continue
			}
			clear(tf)
			for _, t := range toks {
				tf[t]++
			}
			p := fieldsParams[f]
			norm := 1.0
			if avgLen[f] > 0 {
				norm = 1 - p.b + p.b*float64(len(toks))/avgLen[f]
			}
			for t, n := range tf {
				v := n / norm
				weights[t] += p.weight * (k1 + 1) * v / (k1 + v)
			}
		}
		for t, w := range weights {
			postings[t] = append(postings[t], posting{doc: int32(i), weight: w})
		}
	}
	n := float64(len(docs))
	for t, ps := range postings {
		df := float64(len(ps))
		ix.terms[t] = termPostings{idf: math.Log(1 + (n-df+0.5)/(df+0.5)), postings: ps}
	}
	return ix
}

// Len reports how many entries are searchable.
func (ix *Index) Len() int {
	if ix == nil {
		return 0
	}
	return len(ix.entries)
}

// Search returns up to k entries relevant to query, best first; ties keep the
// sheet order. A query without searchable words (empty, only stop words or
// punctuation) finds nothing, as does k <= 0.
func (ix *Index) Search(query string, k int) []Hit {
	if ix == nil || k <= 0 || len(ix.entries) == 0 {
		return nil
	}
	terms := appendTokens(nil, query, ix.words)
	slices.Sort(terms)
	terms = slices.Compact(terms) // repeating a word in a message should not multiply its weight

	scores := make([]float64, len(ix.entries))
	var touched []int32
	for _, t := range terms {
		tp, ok := ix.terms[t]
		if !ok {
			continue
		}
		for _, p := range tp.postings {
			if scores[p.doc] == 0 {
				touched = append(touched, p.doc)
			}
			scores[p.doc] += tp.idf * p.weight
		}
	}
	if len(touched) == 0 {
		return nil
	}

	best := 0.0
	for _, d := range touched {
		best = max(best, scores[d])
	}
	floor := max(MinScore, RelativeCutoff*best)
	kept := touched[:0]
	for _, d := range touched {
		if scores[d] >= floor {
			kept = append(kept, d)
		}
	}
	better := func(a, b int32) int {
		if c := cmp.Compare(scores[b], scores[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	}
	top := kept
	if len(kept) > k {
		top = selectTop(kept, k, better)
	} else {
		slices.SortFunc(top, better)
	}
	hits := make([]Hit, len(top))
	for i, d := range top {
		hits[i] = Hit{Entry: ix.entries[d], Score: scores[d]}
	}
	return hits
}

// selectTop returns the k best of docs in order. A common word can touch most
// of a large sheet while the prompt takes a handful, so keeping a short
// sorted list beats sorting everything.
func selectTop(docs []int32, k int, better func(a, b int32) int) []int32 {
	top := make([]int32, 0, k+1)
	for _, d := range docs {
		if len(top) == k && better(d, top[k-1]) >= 0 {
			continue
		}
		i, _ := slices.BinarySearchFunc(top, d, better)
		top = slices.Insert(top, i, d)
		if len(top) > k {
			top = top[:k]
		}
	}
	return top
}
