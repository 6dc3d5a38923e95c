package intake

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	"github.com/mymmrac/telego"
)

// UpdatesSource is the part of *telego.Bot the poller needs.
type UpdatesSource interface {
	GetUpdates(ctx context.Context, params *telego.GetUpdatesParams) ([]telego.Update, error)
}

// LongPoll is the lossless long-polling loop.
type LongPoll struct {
	src     UpdatesSource
	in      *Intake
	timeout time.Duration
	log     *slog.Logger

	offset  atomic.Int64
	pollErr atomic.Pointer[error]
	retry   retrypolicy.RetryPolicy[any] // built by Run from MaxBackoff
	// MaxBackoff caps the wait between retries while Telegram or Redis fail.
	MaxBackoff time.Duration
}

// NewLongPoll builds the loop; timeout is the long-poll timeout Telegram holds a call.
func NewLongPoll(src UpdatesSource, in *Intake, timeout time.Duration, log *slog.Logger) *LongPoll {
	return &LongPoll{src: src, in: in, timeout: timeout, log: log, MaxBackoff: 5 * time.Second}
}

// Healthy reports whether the last getUpdates call and the last enqueue worked.
func (p *LongPoll) Healthy() error {
	if e := p.pollErr.Load(); e != nil {
		return *e
	}
	return p.in.Healthy()
}

// Offset is the next update id the poller will ask for.
func (p *LongPoll) Offset() int64 { return p.offset.Load() }

// Run polls until ctx is cancelled. On the way out it confirms what was
// enqueued so a restart does not fetch it again (harmless if skipped: the
// task ids catch duplicates).
func (p *LongPoll) Run(ctx context.Context) error {
	p.retry = p.retryPolicy()
	for ctx.Err() == nil {
		updates, err := p.fetch(ctx)
		if err != nil {
			break // stopped
		}
		if err := p.enqueueAll(ctx, updates); err != nil {
			break // stopped while Redis was down: nothing past the failure was confirmed
		}
	}
	p.confirm()
	return nil
}

// retryPolicy: while Telegram or Redis fail, try again after 100 ms,
// doubling up to MaxBackoff, until it works or shutdown; every fetch and
// every update starts again from 100 ms.
func (p *LongPoll) retryPolicy() retrypolicy.RetryPolicy[any] {
	return retrypolicy.NewBuilder[any]().
		WithMaxRetries(-1). // until ctx ends
		WithBackoff(100*time.Millisecond, p.MaxBackoff).
		Build()
}

// fetch calls getUpdates until it answers; it fails only when ctx ends.
func (p *LongPoll) fetch(ctx context.Context) ([]telego.Update, error) {
	var updates []telego.Update
	fetched := false
	err := failsafe.With(p.retry).WithContext(ctx).Run(func() error {
		var err error
		updates, err = p.src.GetUpdates(ctx, &telego.GetUpdatesParams{
			Offset:         int(p.offset.Load()),
			Timeout:        int(p.timeout / time.Second),
			AllowedUpdates: AllowedUpdates,
		})
		if err != nil {
			if ctx.Err() == nil {
				p.in.m.PollErrors.Inc()
				p.pollErr.Store(&err)
				p.log.Warn("getUpdates failed", "err", err)
			}
			return err
		}
		p.pollErr.Store(nil)
		fetched = true
		return nil
	})
	if fetched {
		return updates, nil // even if ctx ended meanwhile: enqueueAll decides
	}
	return nil, err
}

// enqueueAll stores the batch in order. On an enqueue failure it keeps
// retrying the same update (the batch stays in memory, the offset stays
// behind it) until Redis answers or shutdown.
func (p *LongPoll) enqueueAll(ctx context.Context, updates []telego.Update) error {
	p.in.m.Backlog.Set(float64(len(updates)))
	defer p.in.m.Backlog.Set(0)
	for i, u := range updates {
		raw, err := json.Marshal(u)
		if err != nil {
			p.log.Error("update cannot be re-encoded; skipped", "update_id", u.UpdateID, "err", err)
			p.offset.Store(int64(u.UpdateID) + 1)
			continue
		}
		stored := false
		_ = failsafe.With(p.retry).WithContext(ctx).Run(func() error {
			_, err := p.in.Accept(ctx, raw)
			if err != nil {
				p.log.Warn("enqueue failed; update kept for retry", "update_id", u.UpdateID, "err", err)
				return err
			}
			stored = true
			return nil
		})
		if !stored {
			return errStopped
		}
		p.offset.Store(int64(u.UpdateID) + 1)
		p.in.m.Backlog.Set(float64(len(updates) - i - 1))
	}
	return nil
}

// confirm tells Telegram that everything below the offset is stored. A
// getUpdates call with timeout 0 confirms; the (at most one) update it may
// return is not confirmed and comes again next time.
func (p *LongPoll) confirm() {
	off := p.offset.Load()
	if off == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := p.src.GetUpdates(ctx, &telego.GetUpdatesParams{Offset: int(off), Limit: 1, Timeout: 0, AllowedUpdates: AllowedUpdates}); err != nil {
		p.log.Warn("final confirmation of updates failed; they will be recognised as duplicates", "offset", off, "err", err)
	}
}
