package reports

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/projection"
	"marketingbot/pkg/reportlink"
	"marketingbot/pkg/scan"
	"marketingbot/pkg/tasks"
)

const (
	// lostAfter: a NEW row older than this has waited for its process task
	// far longer than a healthy queue takes; the task may have been lost.
	lostAfter = time.Minute
	// reverifyAfter bounds how long the scanner trusts that a projection
	// entry it wrote is still there (Redis may have been flushed).
	reverifyAfter = 10 * time.Minute
)

// Scanner returns the Queue scanner; the poller runs it every poll
// interval (poller.interval in the configuration).
func (s *Service) Scanner() scan.Scanner {
	return scan.ScanFunc{N: "queue", F: s.scan}
}

// seenRow is what the scanner last mirrored of a row.
type seenRow struct {
	fingerprint string
	at          time.Time
}

// scan reads the Queue sheet once and acts on every row.
func (s *Service) scan(ctx context.Context) error {
	readAt := s.now()
	rows, err := s.d.Store.Requests(ctx)
	if err != nil {
		return fmt.Errorf("reports: scan: %w", err)
	}
	now := s.now()
	var errs []error
	live := make(map[string]bool, len(rows))
	for _, r := range rows {
		if r.TelegramID <= 0 {
			continue // a hand-made row nobody can be told about
		}
		live[r.ID] = true
		switch {
		case r.Status.Final() && r.DeliveredAt.IsZero():
			errs = append(errs, s.enqueueDeliver(ctx, r.ID))
		case r.Status == domain.RequestStatusProcessing && now.Sub(lastChange(r)) > s.o.ProcessingTimeout:
			timedOut, err := s.timeout(ctx, r)
			if err != nil {
				errs = append(errs, err)
				break
			}
			r = timedOut
			if r.Status.Final() && r.DeliveredAt.IsZero() {
				errs = append(errs, s.enqueueDeliver(ctx, r.ID))
			}
		case r.Status == domain.RequestStatusNew && s.builtin() && now.Sub(lastChange(r)) > lostAfter:
			task, err := tasks.NewAnalyticsProcessTask(r.ID)
			if err == nil {
				var enqueued bool
				if enqueued, err = s.ensureTask(ctx, task, processTaskID(r.ID), lostAfter); enqueued {
					s.log.Info("analytics request was waiting; processing enqueued", "request_id", r.ID)
				}
			}
			errs = append(errs, err)
		}
		if now.Sub(r.CreatedAt) < projection.RequestTTL || r.CreatedAt.IsZero() {
			errs = append(errs, s.mirror(ctx, r, readAt, now))
		}
	}
	s.seenMu.Lock()
	for id := range s.seen {
		if !live[id] {
			delete(s.seen, id)
		}
	}
	s.seenMu.Unlock()
	return errors.Join(errs...)
}

func lastChange(r domain.AnalyticsRequest) time.Time {
	if !r.UpdatedAt.IsZero() {
		return r.UpdatedAt
	}
	return r.CreatedAt
}

func (s *Service) enqueueDeliver(ctx context.Context, id string) error {
	task, err := tasks.NewAnalyticsDeliverTask(id)
	if err != nil {
		return err
	}
	_, err = s.ensureTask(ctx, task, deliverTaskID(id), lostAfter)
	return err
}

// timeout turns a row stuck in PROCESSING into ERROR. The row is read again
// first: the engine (or Apps Script) may have finished since the scan's read.
func (s *Service) timeout(ctx context.Context, r domain.AnalyticsRequest) (domain.AnalyticsRequest, error) {
	fresh, err := s.d.Store.Request(ctx, r.ID)
	if errors.Is(err, domain.ErrNotFound) {
		return r, nil
	}
	if err != nil {
		return r, fmt.Errorf("reports: timeout %s: %w", r.ID, err)
	}
	now := s.now()
	if fresh.Status != domain.RequestStatusProcessing || now.Sub(lastChange(fresh)) <= s.o.ProcessingTimeout {
		return fresh, nil
	}
	fresh.Status, fresh.Error, fresh.UpdatedAt = domain.RequestStatusError, s.tx.AnalyticsTimeout, now
	if fresh, err = s.d.Store.UpdateRequest(ctx, fresh, domain.RequestFieldStatus, domain.RequestFieldError); err != nil {
		return r, fmt.Errorf("reports: timeout %s: %w", r.ID, err)
	}
	s.project(ctx, fresh, false)
	s.m.requests.WithLabelValues("error").Inc()
	s.log.Warn("analytics request timed out", "request_id", r.ID, "telegram_id", r.TelegramID,
		"object_code", r.ObjectCode, "processing_since", lastChange(r))
	return fresh, nil
}

// mirror brings the projection in line with a row read at readAt. The
// projection never goes back in time (PutRequest ignores older updates), but
// the sheet's updated_at has whole seconds and Apps Script may not touch it
// at all, so a row that moved on is written with a timestamp just past the
// stored one; a row that looks older than the projection (a worker wrote
// after our read) is left alone unless the sheet says it changed later.
func (s *Service) mirror(ctx context.Context, r domain.AnalyticsRequest, readAt, now time.Time) error {
	fp := fingerprint(r)
	s.seenMu.Lock()
	prev, known := s.seen[r.ID]
	s.seenMu.Unlock()
	if known && prev.fingerprint == fp && now.Sub(prev.at) < reverifyAfter {
		return nil
	}
	cur, ok, err := s.d.Projection.Request(ctx, r.ID)
	if err != nil {
		return err
	}
	hasReport := r.Status == domain.RequestStatusDone && reportlink.IsOurs(r.ReportURL, r.ID) &&
		now.Before(r.CreatedAt.Add(s.o.ReportTTL))
	want := s.projected(r, hasReport)
	if ok {
		want.HasReport = want.HasReport || (cur.HasReport && reportlink.IsOurs(r.ReportURL, r.ID))
		switch {
		case sameState(cur, want):
			s.remember(r.ID, fp, now)
			return nil
		case want.UpdatedAt.After(cur.UpdatedAt):
		case progress(want) >= progress(cur) && cur.UpdatedAt.Before(readAt):
			want.UpdatedAt = cur.UpdatedAt.Add(time.Millisecond)
		default:
			return nil // the projection is ahead of our read; the next scan agrees
		}
	}
	if err := s.d.Projection.PutRequest(ctx, want); err != nil {
		return err
	}
	s.remember(r.ID, fp, now)
	return nil
}

func (s *Service) remember(id, fp string, now time.Time) {
	s.seenMu.Lock()
	s.seen[id] = seenRow{fingerprint: fp, at: now}
	s.seenMu.Unlock()
}

// fingerprint covers every column the projection shows.
func fingerprint(r domain.AnalyticsRequest) string {
	h := sha256.New()
	for _, f := range []string{r.ObjectCode, strconv.FormatInt(r.TelegramID, 10), string(r.Status), r.Error, r.ReportURL, r.ResultText,
		r.CreatedAt.String(), r.UpdatedAt.String(), r.DeliveredAt.String()} {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// sameState compares what the Mini App shows, ignoring timestamps that the
// sheet stores with less precision than the projection.
func sameState(a, b projection.Request) bool {
	return a.Status == b.Status && a.Error == b.Error && a.ResultText == b.ResultText && a.ReportURL == b.ReportURL &&
		a.HasReport == b.HasReport && a.ObjectCode == b.ObjectCode && a.TelegramID == b.TelegramID &&
		a.DeliveredAt.IsZero() == b.DeliveredAt.IsZero()
}

// progress orders the protocol's states: NEW, PROCESSING, finished, delivered.
func progress(r projection.Request) int {
	switch {
	case !r.DeliveredAt.IsZero():
		return 3
	case domain.RequestStatus(r.Status).Final():
		return 2
	case domain.RequestStatus(r.Status) == domain.RequestStatusProcessing:
		return 1
	}
	return 0
}
