package intake

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync/atomic"
	"time"

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
	backoff := newBackoff(100*time.Millisecond, p.MaxBackoff)
	for ctx.Err() == nil {
		updates, err := p.src.GetUpdates(ctx, &telego.GetUpdatesParams{
			Offset:         int(p.offset.Load()),
			Timeout:        int(p.timeout / time.Second),
			AllowedUpdates: AllowedUpdates,
		})
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			p.in.m.PollErrors.Inc()
			p.pollErr.Store(&err)
			p.log.Warn("getUpdates failed", "err", err)
			if sleep(ctx, backoff.next()) != nil {
				break
			}
			continue
		}
		p.pollErr.Store(nil)
		backoff.reset()
		if err := p.enqueueAll(ctx, updates); err != nil {
			break // stopped while Redis was down: nothing past the failure was confirmed
		}
	}
	p.confirm()
	return nil
}

// enqueueAll stores the batch in order. On an enqueue failure it keeps
// retrying the same update (the batch stays in memory, the offset stays
// behind it) until Redis answers or shutdown.
func (p *LongPoll) enqueueAll(ctx context.Context, updates []telego.Update) error {
	p.in.m.Backlog.Set(float64(len(updates)))
	defer p.in.m.Backlog.Set(0)
	backoff := newBackoff(100*time.Millisecond, p.MaxBackoff)
	for i, u := range updates {
		raw, err := json.Marshal(u)
		if err != nil {
			p.log.Error("update cannot be re-encoded; skipped", "update_id", u.UpdateID, "err", err)
			p.offset.Store(int64(u.UpdateID) + 1)
			continue
		}
		for {
			_, err := p.in.Accept(ctx, raw)
			if err == nil {
				break
			}
			p.log.Warn("enqueue failed; update kept for retry", "update_id", u.UpdateID, "err", err)
			if sleep(ctx, backoff.next()) != nil {
				return errStopped
			}
		}
		backoff.reset()
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

type backoff struct {
	min, max, cur time.Duration
}

func newBackoff(min, max time.Duration) *backoff { return &backoff{min: min, max: max} }

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else if b.cur *= 2; b.cur > b.max {
		b.cur = b.max
	}
	return b.cur
}

func (b *backoff) reset() { b.cur = 0 }

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
