package reports

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/tasks"
)

func TestNumberSet(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		{"Цена: 12\u00a0000\u00a0000\u00a0₽ (200\u00a0000 ₽/м²)", []string{"12000000", "200000"}},
		{"Тренд: +22,1 %, скидка -4,0 % и −1,5", []string{"+22,1", "-4,0", "-1,5"}},
		{"Аналитика 360 · MSK-100001 · 15.06.2025", []string{"360", "100001", "15,06", "2025"}},
		{"1–3 комн., 45–75 м² — 7 конкурентов", []string{"1", "3", "45", "75", "7"}},
		{"по 6 сделкам за 12 месяцев", []string{"6", "12"}},
		{"12 000 000 и 1 2345", []string{"12000000", "1", "2345"}},
		{"без чисел", nil},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got := numberSet(tt.text)
			if len(got) != len(tt.want) {
				t.Fatalf("numberSet = %v, want %v", got, tt.want)
			}
			for _, n := range tt.want {
				if !got[n] {
					t.Fatalf("numberSet = %v, missing %q", got, n)
				}
			}
		})
	}
}

func TestAcceptPolished(t *testing.T) {
	summary, err := os.ReadFile("../analytics/testdata/summary_district.golden")
	if err != nil {
		t.Fatal(err)
	}
	orig := strings.TrimSpace(string(summary))
	tests := []struct {
		name   string
		answer string
		ok     bool
	}{
		{"unchanged", orig, true},
		{"rephrased", strings.Replace(orig, "Вывод: цена объекта", "Итог: объект стоит", 1), true},
		{"inside the markers", "Вот текст:\n<<<ТЕКСТ\n" + orig + "\nТЕКСТ>>>", true},
		{"regular spaces in thousands", strings.ReplaceAll(orig, "\u00a0", " "), true},
		{"a figure changed", strings.Replace(orig, "65 дней", "56 дней", 1), false},
		{"a sign dropped", strings.Replace(orig, "+22,1", "22,1", 1), false},
		{"a line dropped", orig[:strings.LastIndex(orig, "\n")], false},
		{"a figure invented", orig + "\nСпрос вырос в 5,5 раза.", false},
		{"empty", "  ", false},
		{"rambling", orig + strings.Repeat(" очень", 1000), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := acceptPolished(orig, tt.answer)
			if ok != tt.ok {
				t.Fatalf("accepted = %v, want %v", ok, tt.ok)
			}
			if ok && (strings.Contains(got, "ТЕКСТ") || got != strings.TrimSpace(got)) {
				t.Fatalf("markers or spaces left: %q", got)
			}
		})
	}
}

// TestTaskIDs pins the TaskIDs the scanner inspects to the ones the tasks
// constructors set.
func TestTaskIDs(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: miniredis.RunT(t).Addr()})
	defer rdb.Close()
	client := asynq.NewClientFromRedisClient(rdb)
	defer client.Close()
	build := []struct {
		task func(string) (*asynq.Task, error)
		id   func(string) string
	}{
		{tasks.NewAnalyticsProcessTask, processTaskID},
		{tasks.NewAnalyticsDeliverTask, deliverTaskID},
	}
	for _, b := range build {
		task, err := b.task("row-1")
		if err != nil {
			t.Fatal(err)
		}
		info, err := client.EnqueueContext(context.Background(), task, asynq.ProcessIn(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if info.ID != b.id("row-1") || info.Queue != tasks.QueueAnalytics {
			t.Errorf("task %s: id %q queue %q, want %q in %s", task.Type(), info.ID, info.Queue, b.id("row-1"), tasks.QueueAnalytics)
		}
	}
}
