package chat

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/redislock"
	"marketingbot/pkg/scan"
	"marketingbot/pkg/telegram"
	"marketingbot/pkg/telegram/tghtml"
)

// OpeningScanner posts, once per opening of the desk, the list of partners
// who asked for a person out of hours and still wait (hours.go). Run it at
// the poller's interval: a scan in a closed period, or after the opening's
// message went, does nothing but look at the clock and one Redis key.
func (s *Service) OpeningScanner() scan.Scanner {
	return scan.ScanFunc{N: "hours", F: func(ctx context.Context) error {
		if !s.hoursOn() {
			return nil
		}
		opened, ok := s.schedule(ctx).OpenedAt(s.now())
		if !ok {
			return nil
		}
		return s.remindAt(ctx, opened)
	}}
}

// remindAt sends the reminder of the opening at opened unless it went
// already: under a claim (one scan at a time, fleet-wide), its parts
// recorded, then marked done.
func (s *Service) remindAt(ctx context.Context, opened time.Time) error {
	done := s.reminderKey(opened, "done")
	if n, err := s.d.Redis.Exists(ctx, done).Result(); err != nil || n > 0 {
		return err
	}
	claim, token := s.reminderKey(opened, "claim"), uuid.NewString()
	ok, err := s.d.Redis.SetNX(ctx, claim, token, reminderClaim).Result()
	if err != nil || !ok {
		return err // another scan has it
	}
	defer redislock.Release(context.WithoutCancel(ctx), s.d.Redis, claim, token)
	if n, err := s.d.Redis.Exists(ctx, done).Result(); err != nil || n > 0 {
		return err // it finished between our look and our claim
	}
	waiting, err := s.d.Redis.ZRangeByScoreWithScores(ctx, s.waitingKey(), &redis.ZRangeBy{Min: "-inf", Max: strconv.FormatInt(opened.Unix(), 10)}).Result()
	if err != nil {
		return fmt.Errorf("chat: waiting list: %w", err)
	}
	lines, seen, err := s.reminderLines(ctx, waiting)
	if err != nil {
		return err
	}
	if len(lines) > 0 {
		body := s.tx.Render(s.tx.HoursReminder, map[string]any{"Count": len(lines), "List": strings.Join(lines, "\n")})
		_, err := telegram.SendText(ctx, s.d.Sender, telegram.Text{ChatID: s.o.OperatorsChatID, Body: body, Marker: s.tx.TrimmedMarker,
			Steps: reminderSteps{s: s, key: s.reminderKey(opened, "parts")}}, chatSend)
		if err != nil && !telegram.Permanent(err) {
			return fmt.Errorf("chat: opening reminder: %w", err)
		}
		if err != nil {
			s.log.Error("opening reminder refused by Telegram for good", "err", err)
		}
		s.metrics.escalation.WithLabelValues("opening_reminder").Inc()
	}
	pipe := s.d.Redis.TxPipeline()
	pipe.Set(ctx, done, 1, 30*24*time.Hour)
	if len(seen) > 0 {
		pipe.ZRem(ctx, s.waitingKey(), seen...)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("chat: opening reminder: %w", err)
	}
	return nil
}

// reminderLines are the list's lines, oldest first, of the waiting partners
// whose appeal is still В работе; seen are every partner looked at (they
// leave the waiting list once the reminder went).
func (s *Service) reminderLines(ctx context.Context, waiting []redis.Z) (lines []string, seen []any, err error) {
	uids := make([]int64, 0, len(waiting))
	for _, z := range waiting {
		seen = append(seen, z.Member)
		if uid, err := strconv.ParseInt(fmt.Sprint(z.Member), 10, 64); err == nil {
			uids = append(uids, uid)
		}
	}
	appeals, unread := s.currentAppeals(ctx, uids)
	if len(unread) > 0 { // the next scan tries again
		var errs []error
		for uid, err := range unread {
			errs = append(errs, fmt.Errorf("chat: opening reminder: appeal of %d: %w", uid, err))
		}
		return nil, nil, errors.Join(errs...)
	}
	forum, err := s.isForum(ctx)
	if err != nil {
		return nil, nil, err
	}
	for i, uid := range uids {
		a, ok := appeals[uid]
		if !ok || a.Status != domain.AppealStatusEscalated {
			continue // answered, resolved or handed back meanwhile
		}
		p, _, err := s.d.Store.PartnerByTelegramID(ctx, uid)
		if err != nil {
			return nil, nil, err
		}
		who := tghtml.Escape(topicName(p, uid))
		if forum {
			if rec, err := s.topicOf(ctx, uid); err == nil && rec.thread != 0 {
				who = fmt.Sprintf(`<a href="%s">%s</a>`, topicLink(s.o.OperatorsChatID, rec.thread), who)
			}
		}
		since := time.Unix(int64(waiting[i].Score), 0).In(s.o.Hours.Schedule.Location())
		lines = append(lines, s.tx.Render(s.tx.HoursReminderLine, map[string]any{"N": len(lines) + 1, "Partner": who,
			"Since": s.tx.HoursWeekdaysShort[mondayFirst(since.Weekday())] + " " + since.Format("02.01 15:04")}))
	}
	return lines, seen, nil
}

// topicLink opens a topic of a supergroup (-100… ids) in Telegram.
func topicLink(chatID int64, thread int) string {
	id := strconv.FormatInt(-chatID, 10)
	return fmt.Sprintf("https://t.me/c/%s/%d", strings.TrimPrefix(id, "100"), thread)
}

// currentAppeals reads the partners' current appeals, concurrently (the
// Sheets gateway batches the reads): found has those with one, unread the
// errors of those that could not be read now.
func (s *Service) currentAppeals(ctx context.Context, uids []int64) (found map[int64]domain.Appeal, unread map[int64]error) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	found, unread = make(map[int64]domain.Appeal, len(uids)), map[int64]error{}
	sem := make(chan struct{}, topicScanReads)
	for _, uid := range uids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			a, ok, err := s.d.Store.CurrentAppeal(ctx, uid)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				unread[uid] = err
			case ok:
				found[uid] = a
			}
		}()
	}
	wg.Wait()
	return found, unread
}

// reminderSteps records the parts of an opening's reminder in one hash.
type reminderSteps struct {
	s   *Service
	key string
}

func (r reminderSteps) PartSent(ctx context.Context, part int) (int, bool, error) {
	v, err := r.s.d.Redis.HGet(ctx, r.key, strconv.Itoa(part)).Result()
	if errors.Is(err, redis.Nil) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	id, _ := strconv.Atoi(v)
	return id, true, nil
}

func (r reminderSteps) PartDone(ctx context.Context, part, id int) error {
	pipe := r.s.d.Redis.TxPipeline()
	pipe.HSet(ctx, r.key, strconv.Itoa(part), id)
	pipe.Expire(ctx, r.key, 30*24*time.Hour)
	_, err := pipe.Exec(ctx)
	return err
}
