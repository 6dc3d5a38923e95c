package reports

import (
	"context"
	"fmt"
	"strings"

	"github.com/hibiken/asynq"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/tasks"
)

// HandleRequest handles tasks.TypeAnalyticsRequest: it appends the NEW row to
// the Queue sheet (idempotent by the request id, so a retried task finds its
// row instead of adding a second one), mirrors it into the projection and,
// with the built-in engine, enqueues the processing.
func (s *Service) HandleRequest(ctx context.Context, t *asynq.Task) error {
	p, err := tasks.ParseAnalyticsRequest(t)
	if err != nil {
		return err
	}
	if strings.TrimSpace(p.RequestID) == "" || p.TelegramID <= 0 || strings.TrimSpace(p.ObjectCode) == "" {
		return fmt.Errorf("reports: request %q: id, telegram id and object code are required: %w", p.RequestID, asynq.SkipRetry)
	}
	now := s.now()
	created := p.CreatedAt
	if created.IsZero() {
		created = now
	}
	row, err := s.d.Store.AppendRequest(ctx, domain.AnalyticsRequest{
		ID: p.RequestID, CreatedAt: created, ObjectCode: p.ObjectCode, TelegramID: p.TelegramID,
		Requester: p.Requester, Status: domain.RequestStatusNew, UpdatedAt: now,
	})
	if err != nil {
		return fmt.Errorf("reports: request %s: %w", p.RequestID, err)
	}
	s.project(ctx, row, false)
	s.log.Info("analytics request queued", "request_id", row.ID, "telegram_id", row.TelegramID,
		"object_code", row.ObjectCode, "row", row.Row, "status", string(row.Status))

	if !s.builtin() || row.Status != domain.RequestStatusNew {
		return nil // Apps Script picks the row up, or a retry found it already moving
	}
	task, err := tasks.NewAnalyticsProcessTask(row.ID)
	if err != nil {
		return fmt.Errorf("reports: request %s: %w", row.ID, err)
	}
	if _, err := s.d.Tasks.EnqueueContext(ctx, task); err != nil && !tasks.IsDuplicate(err) {
		// The row exists; the retry appends nothing and enqueues again. Should
		// the retries run out, the scanner re-enqueues NEW rows that wait.
		return fmt.Errorf("reports: request %s: enqueue processing: %w", row.ID, err)
	}
	return nil
}
