package telegram_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"marketingbot/sim/emulator/telegram"
)

func TestFloodLimits(t *testing.T) {
	tests := []struct {
		name   string
		limits telegram.FloodLimits
		// chats to send to in turn, and how many sends pass before a 429
		chats   []int64
		allowed int
	}{
		{name: "per private chat", limits: telegram.FloodLimits{Enabled: true, ChatRate: 1, ChatBurst: 3, GlobalRate: 100, GlobalBurst: 100}, chats: []int64{1001}, allowed: 3},
		{name: "global", limits: telegram.FloodLimits{Enabled: true, GlobalRate: 1, GlobalBurst: 4, ChatRate: 100, ChatBurst: 100}, chats: []int64{1001, 1002}, allowed: 4},
		{name: "per group", limits: telegram.FloodLimits{Enabled: true, GroupPerMinute: 20, GroupBurst: 2, GlobalRate: 100, GlobalBurst: 100}, chats: []int64{-100}, allowed: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			limits := tt.limits
			e := start(t, telegram.Options{FloodLimits: &limits})
			e.addUser(t, 1001, "Anna")
			e.addUser(t, 1002, "Boris")
			e.mustDo(t, http.MethodPost, "/_emulator/groups", map[string]any{"id": -100, "title": "Ops"}, nil)
			send := func(i int) (int, apiEnvelope) {
				return e.botAPI(t, "sendMessage", map[string]any{"chat_id": tt.chats[i%len(tt.chats)], "text": "x"})
			}
			for i := range tt.allowed {
				if status, env := send(i); status != http.StatusOK {
					t.Fatalf("send %d: %d %+v", i, status, env)
				}
			}
			status, env := send(tt.allowed)
			if status != http.StatusTooManyRequests || env.ErrorCode != 429 || env.Parameters == nil || env.Parameters.RetryAfter < 1 {
				t.Fatalf("send over the limit: %d %+v", status, env)
			}
			if env.Description != "Too Many Requests: retry after "+strconv.Itoa(env.Parameters.RetryAfter) {
				t.Errorf("description = %q", env.Description)
			}
			var stats telegram.Stats
			e.mustDo(t, http.MethodGet, "/_emulator/stats", nil, &stats)
			if stats.HTTP429 != 1 || stats.Sends != int64(tt.allowed) {
				t.Errorf("stats = %+v", stats)
			}
		})
	}
}

func TestFloodRetryAfter(t *testing.T) {
	e := start(t, telegram.Options{FloodLimits: &telegram.FloodLimits{Enabled: true, ChatRate: 1, ChatBurst: 3}})
	e.addUser(t, 1001, "Anna")
	e.addUser(t, 1002, "Boris")
	send := func(chat int64) (int, apiEnvelope) {
		return e.botAPI(t, "sendMessage", map[string]any{"chat_id": chat, "text": "x"})
	}
	for range 3 {
		if status, env := send(1001); status != http.StatusOK {
			t.Fatalf("burst: %d %+v", status, env)
		}
	}
	status, env := send(1001)
	if status != http.StatusTooManyRequests || env.Parameters.RetryAfter != 1 {
		t.Fatalf("4th send: %d %+v, want 429 with retry_after 1", status, env)
	}
	// Rejected calls take no token, and other chats are not affected.
	if status, _ := send(1001); status != http.StatusTooManyRequests {
		t.Errorf("immediate retry: %d, want 429", status)
	}
	if status, _ := send(1002); status != http.StatusOK {
		t.Errorf("other chat: %d, want 200", status)
	}

	time.Sleep(time.Duration(env.Parameters.RetryAfter) * time.Second)
	if status, env := send(1001); status != http.StatusOK {
		t.Errorf("after retry_after: %d %+v", status, env)
	}
	if status, _ := send(1001); status != http.StatusTooManyRequests {
		t.Errorf("one second refills one token only: %d, want 429", status)
	}
}

func TestFloodLimitsSwitchable(t *testing.T) {
	e := start(t, telegram.Options{FloodLimits: &telegram.FloodLimits{Enabled: true, ChatRate: 1, ChatBurst: 1}})
	e.addUser(t, 1001, "Anna")
	var limits telegram.FloodLimits
	e.mustDo(t, http.MethodGet, "/_emulator/flood_limits", nil, &limits)
	if !limits.Enabled || limits.ChatBurst != 1 || limits.GlobalRate != 30 || limits.GroupPerMinute != 20 {
		t.Errorf("limits with defaults filled in = %+v", limits)
	}
	e.mustDo(t, http.MethodPost, "/_emulator/flood_limits", map[string]any{"enabled": false}, &limits)
	for i := range 50 {
		if status, env := e.botAPI(t, "sendMessage", map[string]any{"chat_id": 1001, "text": "x"}); status != http.StatusOK {
			t.Fatalf("send %d with limits off: %d %+v", i, status, env)
		}
	}
}
