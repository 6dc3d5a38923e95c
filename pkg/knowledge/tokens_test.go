package knowledge_test

import (
	"slices"
	"testing"

	"marketingbot/pkg/knowledge"
)

func TestTokens(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"word forms meet", "Какую КОМИССИЮ я получу? комиссия, комиссии", []string{"комисс", "получ", "комисс", "комисс"}},
		{"ё folds to е", "Ещё раз: ёлки", []string{"елк"}},
		{"stop words only", "а как же мне с этим быть?", nil},
		{"courtesy words", "Здравствуйте! Подскажите, пожалуйста, спасибо", nil},
		{"empty", "", nil},
		{"punctuation only", " ?!… — «» ", nil},
		{"single letters dropped, digits kept", "x y я 3", []string{"3"}},
		{"latin stemmed with english", "Mini App payments and the CRM", []string{"mini", "app", "payment", "crm"}},
		{"codes and numbers as written", "MSK-100001 за 10 000 000 ₽, 3% и 2,5 млн", []string{"msk", "100001", "10", "000", "000", "3", "2", "5", "млн"}},
		{"hyphen splits", "Telegram-бот", []string{"telegram", "бот"}},
		{"latin lookalikes inside a russian word", "кoмиссия", []string{"комисс"}}, // Latin o
		{"mixed alphabets otherwise kept", "iPhoneчехол", []string{"iphoneчехол"}},
		{"stress accent", "за\u0301мок", []string{"замок"}},
		{"decomposed й", "и\u0306ошкар", []string{"йошкар"}},
		{"soft hyphen inside a word", "ко\u00adмиссия", []string{"комисс"}},
		{"other alphabets unstemmed", "Ünïcode", []string{"ünïcode"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := knowledge.Tokens(tt.text)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Tokens(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

func BenchmarkTokens(b *testing.B) {
	const text = "Добрый день! Какую комиссию я получу за сделку по объекту MSK-100001 в новостройке, если клиент зафиксирован в этом месяце?"
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		knowledge.Tokens(text)
	}
}
