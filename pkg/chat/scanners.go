package chat

import (
	"context"
	"fmt"
	"strconv"

	"marketingbot/pkg/projection"
	"marketingbot/pkg/scan"
	"marketingbot/pkg/tasks"
)

// AuthScanner keeps the authorization projection the bot and the Mini App
// read in step with the Auth sheet: one read per scan. Every projected user
// the sheet no longer binds to an authorized, unblocked row — unbound or
// rebound by a person, whoever projected it — loses access at this scan.
func (s *Service) AuthScanner() scan.Scanner {
	return scan.ScanFunc{N: "auth", F: func(ctx context.Context) error {
		mark, err := s.d.Projection.MarkPartnerScan(ctx)
		if err != nil {
			return err
		}
		ps, err := s.d.Store.RefreshPartners(ctx)
		if err != nil {
			return err
		}
		var out []projection.Partner
		for _, p := range ps {
			if p.Authorized() && !p.Blocked() {
				out = append(out, projectionOf(p.TelegramID, p))
			}
		}
		return s.d.Projection.SyncPartners(ctx, mark, out, partnerTTL)
	}}
}

// SweepScanner finds inboxes that hold updates but no lease (their holder
// died after the lease expired and before its task was re-run) and enqueues a
// drain for them; the drain task id makes duplicates harmless.
func (s *Service) SweepScanner() scan.Scanner {
	return scan.ScanFunc{N: "inboxes", F: func(ctx context.Context) error {
		ids, err := s.d.Redis.SMembers(ctx, s.ib.usersKey()).Result()
		if err != nil {
			return fmt.Errorf("chat: sweep: %w", err)
		}
		for _, v := range ids {
			uid, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				s.d.Redis.SRem(ctx, s.ib.usersKey(), v)
				continue
			}
			n, err := s.d.Redis.ZCard(ctx, s.ib.itemsKey(uid)).Result()
			if err != nil {
				return fmt.Errorf("chat: sweep: %w", err)
			}
			if n == 0 {
				continue
			}
			locked, err := s.d.Redis.Exists(ctx, s.ib.lockKey(uid)).Result()
			if err != nil {
				return fmt.Errorf("chat: sweep: %w", err)
			}
			if locked > 0 {
				continue
			}
			t, err := tasks.NewDrainTask(uid, s.now())
			if err != nil {
				return err
			}
			if _, err := s.d.Tasks.EnqueueContext(ctx, t); err != nil && !tasks.IsDuplicate(err) {
				return fmt.Errorf("chat: sweep: enqueue drain: %w", err)
			}
		}
		return nil
	}}
}
