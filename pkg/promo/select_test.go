package promo

import (
	"slices"
	"testing"
	"time"

	"marketingbot/pkg/domain"
)

func TestSelectRecipients(t *testing.T) {
	blockedAt := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	partners := []domain.Partner{
		{Code: "SPB-1", Status: "authorized", TelegramID: 1},
		{Code: "SPB-2", Status: "avtorizovan", TelegramID: 2},                         // the original spreadsheet's spelling
		{Code: "spb-3", Status: " Authorized ", TelegramID: 3},                        // hand-edited cells
		{Code: "SPB-4", Status: "", TelegramID: 4},                                    // not authorized
		{Code: "SPB-5", Status: "authorized"},                                         // no Telegram account yet
		{Code: "SPB-6", Status: "authorized", TelegramID: 6, BotBlockedAt: blockedAt}, // blocked the bot
		{Code: "MSK-7", Status: "authorized", TelegramID: 7},
		{Code: "MSK-8", Status: "authorized", TelegramID: 1}, // a second row of account 1
		{Code: "MSK-9", Status: "AVTORIZOVAN", TelegramID: 9},
		{Code: "MSK-10", Status: "blocked", TelegramID: 10},     // not a spelling of authorized
		{Code: "MSK-11", Status: "авторизован", TelegramID: 11}, // nor is the Cyrillic word
		{Code: "MSK-12", Status: "avtorizovan", TelegramID: 12, BotBlockedAt: blockedAt},
		{Code: " ekb-13 ", Status: "authorized", TelegramID: 13},
	}
	tests := []struct {
		audience string
		want     []int64
	}{
		{"all", []int64{1, 2, 3, 7, 9, 13}},
		{"ALL", []int64{1, 2, 3, 7, 9, 13}},
		{" all ", []int64{1, 2, 3, 7, 9, 13}},
		{"", []int64{1, 2, 3, 7, 9, 13}},
		{"все", []int64{1, 2, 3, 7, 9, 13}},
		{"SPB-", []int64{1, 2, 3}},
		{" SPB- ", []int64{1, 2, 3}},
		{"msk", []int64{7, 1, 9}},
		{"MSK-1", nil}, // MSK-10…12: not authorized, or blocked the bot
		{"EKB-", []int64{13}},
		{"NSK-", nil},
	}
	for _, tc := range tests {
		t.Run(tc.audience, func(t *testing.T) {
			got := selectRecipients(domain.Promotion{Audience: tc.audience}, partners)
			if !slices.Equal(got, tc.want) {
				t.Errorf("recipients %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPromotionsURL(t *testing.T) {
	tests := map[string]string{
		"https://bot.example/app/":     "https://bot.example/app/?screen=promotions",
		"https://bot.example/app/?v=2": "https://bot.example/app/?screen=promotions&v=2",
		"http://127.0.0.1:8081/app/":   "http://127.0.0.1:8081/app/?screen=promotions",
	}
	for in, want := range tests {
		if got := promotionsURL(in); got != want {
			t.Errorf("promotionsURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStartedAt(t *testing.T) {
	now := time.Date(2025, 5, 10, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		p    domain.Promotion
		want time.Time
	}{
		{"scheduled start", domain.Promotion{StartsAt: now.Add(-time.Hour)}, now.Add(-time.Hour)},
		{"started early by an operator, finished", domain.Promotion{StartsAt: now.Add(time.Hour), FinishedAt: now.Add(-time.Minute)}, now.Add(-time.Minute)},
		{"no start time, still sending", domain.Promotion{}, now},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := startedAt(tc.p, now); !got.Equal(tc.want) {
				t.Errorf("startedAt = %s, want %s", got, tc.want)
			}
		})
	}
}
