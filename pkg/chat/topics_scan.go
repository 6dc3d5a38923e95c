package chat

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"marketingbot/pkg/scan"
	"marketingbot/pkg/tasks"
	"marketingbot/pkg/telegram"
)

// topicScanReads bounds the appeal reads of one scan that run at once (the
// Sheets gateway batches concurrent reads into one request).
const topicScanReads = 16

// TopicScanner closes the topics of partners whose appeal a person set to
// Решено by hand in the sheet (or whose row is gone): the poller's open
// topics are checked against the sheet at every scan. A partner is closed
// under their lease, as a worker would, so a scan never closes a topic an
// escalation is reopening; one whose lease is taken waits for the next
// scan. Nothing is read when no topic is open.
func (s *Service) TopicScanner() scan.Scanner {
	return scan.ScanFunc{N: "topics", F: func(ctx context.Context) error {
		vals, err := s.d.Redis.SMembers(ctx, s.openTopicsKey()).Result()
		if err != nil {
			return fmt.Errorf("chat: open topics: %w", err)
		}
		var uids []int64
		for _, v := range vals {
			if uid, err := strconv.ParseInt(v, 10, 64); err == nil {
				uids = append(uids, uid)
			}
		}
		if len(uids) == 0 {
			return nil
		}
		if forum, err := s.isForum(ctx); err != nil || !forum {
			return err
		}
		var errs []error
		for _, uid := range s.resolvedInSheet(ctx, uids) {
			if err := s.closeResolvedTopic(ctx, uid); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}}
}

// resolvedInSheet returns the partners among uids whose current appeal is
// closed (Решено) or gone; a partner whose row cannot be read now is
// looked at again at the next scan.
func (s *Service) resolvedInSheet(ctx context.Context, uids []int64) []int64 {
	found, unread := s.currentAppeals(ctx, uids) // hours_remind.go
	var out []int64
	for _, uid := range uids {
		if err, ok := unread[uid]; ok {
			s.log.Warn("topic scan: appeal not read", "telegram_id", uid, "err", err)
			continue
		}
		if a, ok := found[uid]; !ok || a.Closed() {
			out = append(out, uid)
		}
	}
	return out
}

// closeResolvedTopic closes the partner's topic under the partner's lease
// if the appeal is still closed in the sheet; updates that came meanwhile
// get a drain.
func (s *Service) closeResolvedTopic(ctx context.Context, uid int64) error {
	l, err := s.ib.lock(ctx, uid, s.o.LockTTL)
	if errors.Is(err, errLocked) {
		return nil // a worker has the partner now; the next scan looks again
	}
	if err != nil {
		return err
	}
	workCtx, cancel := context.WithCancel(ctx)
	err = s.closeIfResolved(withLease(workCtx, l, s.o.LockTTL, cancel), uid)
	cancel()
	l.release(context.WithoutCancel(ctx))
	if n, zerr := s.d.Redis.ZCard(ctx, s.ib.itemsKey(uid)).Result(); zerr == nil && n > 0 {
		// A task that found the lease taken left its update to the holder.
		t, terr := tasks.NewDrainTask(uid, s.now())
		if terr == nil {
			if _, terr = s.d.Tasks.EnqueueContext(ctx, t); terr != nil && !tasks.IsDuplicate(terr) {
				err = errors.Join(err, fmt.Errorf("chat: topic scan: enqueue drain: %w", terr))
			}
		}
	}
	return err
}

func (s *Service) closeIfResolved(ctx context.Context, uid int64) error {
	a, found, err := s.d.Store.CurrentAppeal(ctx, uid)
	if err != nil {
		return err
	}
	if found && !a.Closed() {
		return nil // escalated again since the scan read it
	}
	rec, err := s.topicOf(ctx, uid)
	if err != nil {
		return err
	}
	if rec.thread != 0 {
		s.metrics.escalation.WithLabelValues("resolved_in_sheet").Inc()
		if err := s.retireCard(ctx, uid); err != nil {
			return err
		}
		s.noteInTopic(ctx, uid, rec.thread, s.tx.TopicResolvedInSheet)
	}
	p, _, err := s.d.Store.PartnerByTelegramID(ctx, uid)
	if err != nil {
		return err
	}
	return s.afterResolve(ctx, uid, p, 0)
}

// noteInTopic posts a line in the partner's topic as it is (never making
// or reopening one); a refusal is only logged. It is no recorded step: a
// scan that dies after it may post it twice.
func (s *Service) noteInTopic(ctx context.Context, uid int64, thread int, text string) {
	_, err := telegram.SendText(ctx, s.d.Sender, telegram.Text{ChatID: s.o.OperatorsChatID, ThreadID: thread, Body: text, Marker: s.tx.TrimmedMarker}, chatSend)
	if err != nil {
		s.log.Warn("note not posted in the partner's topic", "telegram_id", uid, "topic_id", thread, "err", err)
	}
}
