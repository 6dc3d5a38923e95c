package telegram_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"

	"marketingbot/sim/emulator/telegram"
)

// BenchmarkSendMessage measures sendMessage over HTTP from parallel
// clients spread over 2,000 chats, flood limits off: the emulator's
// ceiling for load runs.
func BenchmarkSendMessage(b *testing.B) {
	e := startBench(b)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	endpoint := e.url + "/bot" + e.srv.Token() + "/sendMessage"
	var n atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			body := fmt.Sprintf(`{"chat_id":%d,"text":"<b>Ответ</b> номер %d","parse_mode":"HTML"}`, 10000+i%2000, i)
			resp, err := client.Post(endpoint, "application/json", bytes.NewBufferString(body))
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}

// BenchmarkInjectAndPoll measures the update path: users' messages through
// the control API, drained by getUpdates with confirmation.
func BenchmarkInjectAndPoll(b *testing.B) {
	e := startBench(b)
	for i := 0; b.Loop(); i++ {
		if _, err := e.srv.SendText(int64(10000+i%2000), "привет"); err != nil {
			b.Fatal(err)
		}
		if i%100 == 99 {
			resp, err := http.Get(fmt.Sprintf("%s/bot%s/getUpdates?offset=-1", e.url, e.srv.Token()))
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
}

func startBench(b *testing.B) *emulator {
	b.Helper()
	e := start(b, telegram.Options{})
	users := make([]telegram.User, 2000)
	for i := range users {
		users[i] = telegram.User{ID: int64(10000 + i), FirstName: "Load"}
	}
	if _, err := e.srv.PutUsers(users...); err != nil {
		b.Fatal(err)
	}
	return e
}
