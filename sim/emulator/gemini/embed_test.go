package gemini

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func TestEmbed(t *testing.T) {
	t.Run("shape", func(t *testing.T) {
		tests := []struct {
			text string
			dims int
			want int
		}{
			{"комиссия партнёра", 0, DefaultEmbeddingDimensions},
			{"комиссия партнёра", 64, 64},
			{"", 0, DefaultEmbeddingDimensions},
			{"и в на", 32, 32}, // stop words only
			{"?!", 16, 16},
		}
		for _, tt := range tests {
			t.Run(tt.text, func(t *testing.T) {
				v := Embed(tt.text, tt.dims)
				if len(v) != tt.want {
					t.Fatalf("len = %d, want %d", len(v), tt.want)
				}
				if n := cosine(v, v); math.Abs(n-1) > 1e-5 || math.IsNaN(n) {
					t.Errorf("not a unit vector: |v|² = %v", n)
				}
				if !slices.Equal(v, Embed(strings.Clone(tt.text), tt.dims)) {
					t.Errorf("not deterministic")
				}
			})
		}
	})

	t.Run("similarity", func(t *testing.T) {
		tests := []struct {
			anchor, similar, unrelated string
		}{
			{"Какая комиссия у партнёра?", "комиссии партнёрам за сделки", "погода в Сочи завтра"},
			{"Когда выплатят вознаграждение?", "Выплата вознаграждения партнёру", "Аналитика по объекту недвижимости"},
			{"акции для клиентов", "Действующие акции и скидки клиентам", "документы для ипотеки"},
			{"Ё и е: отчёт", "отчет", "скидка"},
		}
		for _, tt := range tests {
			t.Run(tt.anchor, func(t *testing.T) {
				a := Embed(tt.anchor, 0)
				sim, unrel := cosine(a, Embed(tt.similar, 0)), cosine(a, Embed(tt.unrelated, 0))
				if sim <= unrel || sim < 0.3 {
					t.Errorf("cos(similar)=%.3f, cos(unrelated)=%.3f", sim, unrel)
				}
			})
		}
	})
}

func TestSplitChunks(t *testing.T) {
	tests := []string{
		"",
		"Коротко.",
		strings.Repeat("Стандартная комиссия партнёра — 2 % от стоимости объекта. ", 6),
		strings.Repeat("ДлинноеСловоБезПробелов", 20),
	}
	for _, text := range tests {
		t.Run(text[:min(len(text), 20)], func(t *testing.T) {
			chunks := splitChunks(text)
			if strings.Join(chunks, "") != text {
				t.Fatalf("chunks do not join back to the text: %q", chunks)
			}
			if len(chunks) > maxChunks || (len([]rune(text)) >= 2*chunkRunes && strings.Contains(text, " ") && len(chunks) < 2) {
				t.Errorf("%d chunks of %d runes, want a few, at most %d", len(chunks), len([]rune(text)), maxChunks)
			}
			for _, c := range chunks {
				if c == "" && text != "" {
					t.Errorf("empty chunk in %q", chunks)
				}
			}
		})
	}
}

func TestNearStems(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"выплат", "выплачива", true},
		{"партнер", "партнерск", true},
		{"акц", "акциz", false}, // stems this short only match exactly
		{"комисс", "компан", false},
	}
	for _, tt := range tests {
		t.Run(tt.a+"/"+tt.b, func(t *testing.T) {
			if got := nearStems(tt.a, tt.b); got != tt.want {
				t.Errorf("nearStems = %v, want %v", got, tt.want)
			}
		})
	}
}
