package sheets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	sheetsapi "google.golang.org/api/sheets/v4"

	"marketingbot/pkg/sheets/a1"
)

// service is the batcher's api on the real Sheets API: one request with
// everything around it, the shared quota, retries with jittered exponential
// backoff, the circuit breaker, a per-request timeout and metrics.
// Everything the Client sends goes through call.
type service struct {
	gs      *sheetsapi.Service
	id      string
	quota   *quota
	breaker circuitbreaker.CircuitBreaker[any]
	retry   retrypolicy.RetryPolicy[any]
	timeout time.Duration
	m       *metrics
	log     *slog.Logger
}

var _ api = (*service)(nil)

func (s *service) acquire(ctx context.Context, kind quotaKind) error { return s.quota.wait(ctx, kind) }

// call runs fn under the policies. preAcquired says the caller already took
// the quota slot for the first attempt (the batchers take it while they
// collect callers). It returns only on success, on a permanent error, or when
// ctx ends: callers see errors only after their deadline.
func (s *service) call(ctx context.Context, kind quotaKind, method string, preAcquired bool, fn func(ctx context.Context) error) error {
	first := true
	err := failsafe.With[any](s.retry, s.breaker).WithContext(ctx).Run(func() error {
		if !(first && preAcquired) {
			if err := s.quota.wait(ctx, kind); err != nil {
				return err
			}
		}
		first = false
		rctx, cancel := context.WithTimeout(ctx, s.timeout)
		defer cancel()
		start := time.Now()
		err := fn(rctx)
		s.m.observe(method, err, time.Since(start))
		if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("sheets: %s timed out after %s: %w", method, s.timeout, errTimeout)
		}
		return err
	})
	if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
	}
	return err
}

// callNoAmbiguousRetry is call for non-idempotent requests: it retries only
// failures that certainly did not apply the request, and hands the others
// back so the caller can look before trying again.
func (s *service) callNoAmbiguousRetry(ctx context.Context, kind quotaKind, method string, preAcquired bool, fn func(ctx context.Context) error) error {
	err := s.call(ctx, kind, method, preAcquired, func(ctx context.Context) error {
		if err := fn(ctx); ambiguous(err) {
			return noRetry{err}
		} else {
			return err
		}
	})
	var nr noRetry
	if errors.As(err, &nr) {
		return nr.err
	}
	return err
}

func (s *service) batchGet(ctx context.Context, ranges []string, preAcquired bool) ([][][]any, error) {
	var resp *sheetsapi.BatchGetValuesResponse
	err := s.call(ctx, quotaRead, "values.batchGet", preAcquired, func(ctx context.Context) error {
		var err error
		resp, err = s.gs.Spreadsheets.Values.BatchGet(s.id).Ranges(ranges...).
			MajorDimension("ROWS").ValueRenderOption("UNFORMATTED_VALUE").
			DateTimeRenderOption("FORMATTED_STRING").Context(ctx).Do()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sheets: read %s: %w", strings.Join(ranges, ", "), err)
	}
	if len(resp.ValueRanges) != len(ranges) {
		return nil, fmt.Errorf("sheets: read: %d ranges asked, %d returned", len(ranges), len(resp.ValueRanges))
	}
	out := make([][][]any, len(ranges))
	for i, vr := range resp.ValueRanges {
		out[i] = vr.Values
	}
	return out, nil
}

func (s *service) batchUpdate(ctx context.Context, data []Values, preAcquired bool) error {
	req := &sheetsapi.BatchUpdateValuesRequest{ValueInputOption: "RAW"}
	for _, d := range data {
		req.Data = append(req.Data, &sheetsapi.ValueRange{Range: d.Range, MajorDimension: "ROWS", Values: d.Rows})
	}
	err := s.call(ctx, quotaWrite, "values.batchUpdate", preAcquired, func(ctx context.Context) error {
		_, err := s.gs.Spreadsheets.Values.BatchUpdate(s.id, req).Context(ctx).Do()
		return err
	})
	if err != nil {
		return fmt.Errorf("sheets: write %d ranges: %w", len(data), err)
	}
	return nil
}

func (s *service) appendRows(ctx context.Context, sheet string, rows [][]any, preAcquired bool) (string, error) {
	var resp *sheetsapi.AppendValuesResponse
	err := s.callNoAmbiguousRetry(ctx, quotaWrite, "values.append", preAcquired, func(ctx context.Context) error {
		var err error
		resp, err = s.gs.Spreadsheets.Values.Append(s.id, a1.Quote(sheet)+"!A1", &sheetsapi.ValueRange{Values: rows}).
			ValueInputOption("RAW").InsertDataOption("INSERT_ROWS").Context(ctx).Do()
		return err
	})
	if err != nil || resp == nil || resp.Updates == nil {
		return "", err
	}
	return resp.Updates.UpdatedRange, nil
}

func (s *service) sheetTitles(ctx context.Context) ([]string, error) {
	var ss *sheetsapi.Spreadsheet
	err := s.call(ctx, quotaRead, "spreadsheets.get", false, func(ctx context.Context) error {
		var err error
		ss, err = s.gs.Spreadsheets.Get(s.id).Fields("properties.title,sheets.properties.title").Context(ctx).Do()
		return err
	})
	if err != nil {
		return nil, err
	}
	titles := make([]string, 0, len(ss.Sheets))
	for _, sh := range ss.Sheets {
		titles = append(titles, sh.Properties.Title)
	}
	return titles, nil
}
