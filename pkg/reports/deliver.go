package reports

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/hibiken/asynq"
	"github.com/mymmrac/telego"
	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/reportlink"
	"marketingbot/pkg/tasks"
	"marketingbot/pkg/telegram"
	"marketingbot/pkg/telegram/tghtml"
)

const (
	// deliverLease outlives the deliver task's timeout (3 min).
	deliverLease = 4 * time.Minute
	// markerTTL keeps the per-step markers long enough for every retry of
	// a delivery (asynq gives up within a day).
	markerTTL = 7 * 24 * time.Hour
	// sendMaxWait: a longer flood wait frees the worker and reschedules.
	sendMaxWait = 30 * time.Second
)

// Fields of the per-request marker hash.
const (
	markText = "text" // parts of the text already sent
	markFile = "file" // the PDF (or the external link) was sent
)

// HandleDeliver handles tasks.TypeAnalyticsDeliver: it sends a DONE result
// (header + summary, split under Telegram's limit, then the PDF as a document
// or, for an external report, its link) or an ERROR notice, and writes
// delivered_at last. Each step leaves a marker in Redis first, so a delivery
// interrupted anywhere resumes where it stopped and nothing is sent twice.
func (s *Service) HandleDeliver(ctx context.Context, t *asynq.Task) error {
	p, err := tasks.ParseAnalyticsRow(t)
	if err != nil {
		return err
	}
	if p.RequestID == "" {
		return fmt.Errorf("reports: deliver: no request id: %w", asynq.SkipRetry)
	}
	release, err := s.lock(ctx, "deliver", p.RequestID, deliverLease)
	if errors.Is(err, errLocked) {
		return tasks.RetryAfter(5*time.Second, "request "+p.RequestID+" is being delivered by another worker")
	}
	if err != nil {
		return err
	}
	defer release()

	r, err := s.d.Store.Request(ctx, p.RequestID)
	if errors.Is(err, domain.ErrNotFound) {
		return fmt.Errorf("reports: deliver %s: the Queue row is gone: %w", p.RequestID, asynq.SkipRetry)
	}
	if err != nil {
		return fmt.Errorf("reports: deliver %s: %w", p.RequestID, err)
	}
	hasReport := r.Status == domain.RequestStatusDone && reportlink.IsOurs(r.ReportURL, r.ID)
	switch {
	case !r.DeliveredAt.IsZero():
		s.project(ctx, r, hasReport)
		return nil
	case !r.Status.Final():
		s.log.Warn("analytics delivery skipped: the row is not finished", "request_id", r.ID, "status", string(r.Status))
		return nil
	case r.TelegramID <= 0:
		return fmt.Errorf("reports: deliver %s: the row has no telegram_id: %w", r.ID, asynq.SkipRetry)
	}

	outcome, err := s.deliver(ctx, r)
	if err != nil {
		if _, deferred := tasks.AsRetryAfter(err); !deferred && lastAttempt(ctx, err) {
			s.m.deliveries.WithLabelValues("failed").Inc()
			s.log.Error("analytics delivery abandoned", "request_id", r.ID, "telegram_id", r.TelegramID, "err", err)
		}
		return err
	}

	now := s.now()
	r.DeliveredAt, r.UpdatedAt = now, now
	if r, err = s.d.Store.UpdateRequest(ctx, r, domain.RequestFieldDeliveredAt); err != nil {
		// The markers make the retry skip what was sent.
		return fmt.Errorf("reports: deliver %s: write delivered_at: %w", r.ID, err)
	}
	s.project(ctx, r, hasReport)
	if err := s.d.Redis.Del(ctx, s.markerKey(r.ID)).Err(); err != nil {
		s.log.Debug("delivery markers not removed; they expire", "request_id", r.ID, "err", err)
	}
	s.m.deliveries.WithLabelValues(outcome).Inc()
	s.log.Info("analytics result delivered", "request_id", r.ID, "telegram_id", r.TelegramID,
		"status", string(r.Status), "outcome", outcome)
	return nil
}

func (s *Service) markerKey(requestID string) string {
	return s.keys.Key("analytics", "delivery", requestID)
}

// deliver runs the steps not yet marked done. It returns the outcome for the
// metric, or an error to retry.
func (s *Service) deliver(ctx context.Context, r domain.AnalyticsRequest) (outcome string, err error) {
	o := telegram.Options{Priority: telegram.PriorityChat, MaxWait: sendMaxWait}
	api := mediaSender{s.d.Sender}
	text := telegram.Text{ChatID: r.TelegramID, Body: s.message(r), Steps: s.marks(r.ID, markText)}
	if _, err := telegram.SendText(ctx, api, text, o); err != nil {
		return s.sendFailed(ctx, r, err)
	}
	if r.Status != domain.RequestStatusDone {
		return "ok", nil
	}
	pdf, stored, err := s.d.Projection.Report(ctx, r.ID)
	if err != nil {
		return "", fmt.Errorf("reports: deliver %s: %w", r.ID, err)
	}
	caption := s.tx.Render(s.tx.AnalyticsReportCaption, map[string]any{"Code": tghtml.Escape(r.ObjectCode)})
	switch {
	case stored:
		// The caption's beginning goes with the PDF, the rest (a hand-edited
		// template or object code can make it long) right after it.
		_, err = telegram.SendMedia(ctx, api, telegram.Media{ChatID: r.TelegramID, Kind: telegram.MediaDocument,
			File:    telego.InputFile{File: &replayableFile{name: reportlink.FileName(r.ObjectCode), data: pdf}},
			Caption: caption, Steps: s.marks(r.ID, markFile)}, o)
	case externalURL(r) != "":
		_, err = telegram.SendText(ctx, api, telegram.Text{ChatID: r.TelegramID, Steps: s.marks(r.ID, markFile),
			Body: `<a href="` + tghtml.Escape(externalURL(r)) + `">` + caption + `</a>`}, o)
	case r.ReportURL != "":
		// Our own PDF is gone from Redis (expired or lost): the link would
		// answer 404, so the partner gets the text only.
		s.log.Warn("analytics PDF no longer stored; delivered without it", "request_id", r.ID)
	}
	if err != nil {
		return s.sendFailed(ctx, r, err)
	}
	return "ok", nil
}

// marks records the parts of one step of a delivery in the marker hash:
// field holds how many parts left.
func (s *Service) marks(requestID, field string) telegram.Steps {
	return deliveryMarks{rdb: s.d.Redis, key: s.markerKey(requestID), field: field}
}

type deliveryMarks struct {
	rdb   redis.UniversalClient
	key   string
	field string
}

func (m deliveryMarks) PartSent(ctx context.Context, part int) (int, bool, error) {
	n, err := m.rdb.HGet(ctx, m.key, m.field).Int()
	if errors.Is(err, redis.Nil) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("reports: read delivery marker: %w", err)
	}
	return 0, part < n, nil
}

func (m deliveryMarks) PartDone(ctx context.Context, part, _ int) error {
	ctx = context.WithoutCancel(ctx) // the part left: record it even if the task's context ends
	pipe := m.rdb.TxPipeline()
	pipe.HSet(ctx, m.key, m.field, part+1)
	pipe.Expire(ctx, m.key, markerTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("reports: write delivery marker: %w", err)
	}
	return nil
}

// mediaSender is the Sender as the text path's MediaAPI: deliveries send
// documents, never photos.
type mediaSender struct{ Sender }

func (mediaSender) SendPhoto(context.Context, *telego.SendPhotoParams, telegram.Options) (*telego.Message, error) {
	return nil, errors.New("reports: deliveries send no photos")
}

// message renders what the partner reads (the text path splits it under
// Telegram's limit). The summary is plain text from the engine (or the
// polished one), so it is escaped; the header is ours.
func (s *Service) message(r domain.AnalyticsRequest) string {
	code := tghtml.Escape(r.ObjectCode)
	if r.Status == domain.RequestStatusError {
		reason := r.Error
		if reason == "" {
			reason = s.tx.AnalyticsFailed
		}
		return s.tx.Render(s.tx.AnalyticsError, map[string]any{"Code": code, "Reason": tghtml.Escape(reason)})
	}
	text := s.tx.Render(s.tx.AnalyticsResultHeader, map[string]any{"Code": code})
	if r.ResultText != "" {
		text += "\n\n" + tghtml.Escape(r.ResultText)
	}
	return text
}

// sendFailed classifies a failed send: permanent failures end the delivery
// (delivered_at is still written: nothing more can be done, and the same
// request would be refused again), the rest are retried.
func (s *Service) sendFailed(ctx context.Context, r domain.AnalyticsRequest, err error) (string, error) {
	var flood *telegram.FloodError
	switch {
	case errors.Is(err, telegram.ErrBlocked):
		if err := s.d.Store.SetBotBlocked(ctx, r.TelegramID, s.now()); err != nil {
			return "", fmt.Errorf("reports: deliver %s: mark the user blocked: %w", r.ID, err)
		}
		s.log.Info("analytics result not delivered: the user blocked the bot", "request_id", r.ID, "telegram_id", r.TelegramID)
		return "blocked", nil
	case errors.Is(err, telegram.ErrChatNotFound):
		s.log.Warn("analytics result not delivered: chat not found", "request_id", r.ID, "telegram_id", r.TelegramID)
		return "failed", nil
	case errors.As(err, &flood):
		return "", tasks.RetryAfter(flood.RetryAfter, "telegram flood control")
	case telegram.Permanent(err):
		s.log.Error("analytics result not delivered: Telegram refused it for good; not retried", "request_id", r.ID,
			"telegram_id", r.TelegramID, "err", err)
		return "failed", nil
	}
	return "", fmt.Errorf("reports: deliver %s: %w", r.ID, err)
}

// externalURL is the row's report link when it is someone else's (Apps
// Script) and safe to put into a message.
func externalURL(r domain.AnalyticsRequest) string {
	if r.ReportURL == "" || reportlink.IsOurs(r.ReportURL, r.ID) {
		return ""
	}
	u, err := url.Parse(r.ReportURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return ""
	}
	return r.ReportURL
}

// lastAttempt reports whether asynq will not run the task again after err.
func lastAttempt(ctx context.Context, err error) bool {
	if errors.Is(err, asynq.SkipRetry) {
		return true
	}
	retried, ok1 := asynq.GetRetryCount(ctx)
	maxRetry, ok2 := asynq.GetMaxRetry(ctx)
	return ok1 && ok2 && retried >= maxRetry
}

// replayableFile is an upload that survives the sender's retries: telego
// copies the file with io.Copy, which prefers WriterTo, and WriteTo always
// writes the whole PDF, however much an interrupted attempt had read.
type replayableFile struct {
	name string
	data []byte
	r    *bytes.Reader
}

func (f *replayableFile) Name() string { return f.name }

func (f *replayableFile) Read(p []byte) (int, error) {
	if f.r == nil {
		f.r = bytes.NewReader(f.data)
	}
	return f.r.Read(p)
}

func (f *replayableFile) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(f.data)
	return int64(n), err
}
