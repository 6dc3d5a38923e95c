package reports

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unsafe"

	"github.com/hibiken/asynq"

	"marketingbot/pkg/ai"
	"marketingbot/pkg/analytics"
	"marketingbot/pkg/domain"
	"marketingbot/pkg/reportlink"
	"marketingbot/pkg/tasks"
)

// processLease outlives the process task's timeout (5 min).
const processLease = 6 * time.Minute

// HandleProcess handles tasks.TypeAnalyticsProcess with the built-in engine:
// claim the NEW row (PROCESSING), analyse the object on the cached Listings
// sheet, store the PDF, write DONE with the summary and a signed link — or
// ERROR with a reason the partner understands. A retried task that finds its
// own PROCESSING claim continues; a DONE or ERROR row is left alone.
func (s *Service) HandleProcess(ctx context.Context, t *asynq.Task) error {
	p, err := tasks.ParseAnalyticsRow(t)
	if err != nil {
		return err
	}
	if p.RequestID == "" {
		return fmt.Errorf("reports: process: no request id: %w", asynq.SkipRetry)
	}
	if !s.builtin() {
		// Apps Script owns NEW and PROCESSING rows; a task left over from
		// before the switch must not race it.
		s.log.Warn("analytics process task ignored: engine is apps_script", "request_id", p.RequestID)
		return nil
	}
	release, err := s.lock(ctx, "process", p.RequestID, processLease)
	if errors.Is(err, errLocked) {
		return tasks.RetryAfter(10*time.Second, "request "+p.RequestID+" is being processed by another worker")
	}
	if err != nil {
		return err
	}
	defer release()

	r, err := s.d.Store.Request(ctx, p.RequestID)
	if errors.Is(err, domain.ErrNotFound) {
		return fmt.Errorf("reports: process %s: the Queue row is gone: %w", p.RequestID, asynq.SkipRetry)
	}
	if err != nil {
		return fmt.Errorf("reports: process %s: %w", p.RequestID, err)
	}
	switch r.Status {
	case domain.RequestStatusDone, domain.RequestStatusError:
		return nil
	case domain.RequestStatusProcessing:
		// Only this task's id processes this row, so the claim is ours from
		// an attempt that did not finish.
	case domain.RequestStatusNew:
		r.Status, r.UpdatedAt = domain.RequestStatusProcessing, s.now()
		if r, err = s.d.Store.UpdateRequest(ctx, r, domain.RequestFieldStatus); err != nil {
			return fmt.Errorf("reports: claim %s: %w", r.ID, err)
		}
		s.project(ctx, r, false)
	default:
		s.log.Warn("analytics request has an unknown status; left alone", "request_id", r.ID, "status", string(r.Status))
		return nil
	}

	start := time.Now()
	listings, err := s.d.Store.Listings(ctx)
	if err != nil {
		return fmt.Errorf("reports: process %s: %w", r.ID, err)
	}
	rep, err := s.engine(listings).Analyze(r.ObjectCode, s.now())
	switch {
	case errors.Is(err, analytics.ErrObjectNotFound):
		return s.fail(ctx, r, s.tx.AnalyticsNotFound, start)
	case errors.Is(err, analytics.ErrInvalidObject):
		return s.fail(ctx, r, s.tx.AnalyticsInvalidObject, start)
	case err != nil:
		// Analyze is pure: the same input fails the same way on a retry.
		s.log.Error("analytics engine failed", "request_id", r.ID, "object_code", r.ObjectCode, "err", err)
		return s.fail(ctx, r, s.tx.AnalyticsFailed, start)
	}
	pdf, err := analytics.RenderPDF(rep)
	if err != nil {
		s.log.Error("analytics PDF failed", "request_id", r.ID, "object_code", r.ObjectCode, "err", err)
		return s.fail(ctx, r, s.tx.AnalyticsFailed, start)
	}
	summary := s.polish(ctx, r.ID, rep.Summary())

	if err := s.d.Projection.PutReport(ctx, r.ID, pdf, s.o.ReportTTL); err != nil {
		return fmt.Errorf("reports: process %s: %w", r.ID, err)
	}
	now := s.now()
	r.Status, r.ResultText, r.Error, r.UpdatedAt = domain.RequestStatusDone, summary, "", now
	r.ReportURL = reportlink.URL(s.o.PublicURL, s.o.LinkSecret, r.ID, now.Add(s.o.ReportTTL))
	if r, err = s.d.Store.UpdateRequest(ctx, r, domain.RequestFieldStatus, domain.RequestFieldResultText, domain.RequestFieldReportURL, domain.RequestFieldError); err != nil {
		return fmt.Errorf("reports: process %s: write result: %w", r.ID, err)
	}
	s.project(ctx, r, true)
	s.m.requests.WithLabelValues("done").Inc()
	s.m.processing.Observe(time.Since(start).Seconds())
	s.log.Info("analytics request done", "request_id", r.ID, "telegram_id", r.TelegramID, "object_code", r.ObjectCode,
		"competitors", len(rep.Competitors), "pdf_bytes", len(pdf))
	return nil
}

// fail writes ERROR with a reason for the partner; the poller delivers it.
func (s *Service) fail(ctx context.Context, r domain.AnalyticsRequest, reason string, start time.Time) error {
	r.Status, r.Error, r.UpdatedAt = domain.RequestStatusError, reason, s.now()
	r, err := s.d.Store.UpdateRequest(ctx, r, domain.RequestFieldStatus, domain.RequestFieldError)
	if err != nil {
		return fmt.Errorf("reports: process %s: write error: %w", r.ID, err)
	}
	s.project(ctx, r, false)
	s.m.requests.WithLabelValues("error").Inc()
	s.m.processing.Observe(time.Since(start).Seconds())
	s.log.Info("analytics request failed", "request_id", r.ID, "telegram_id", r.TelegramID, "object_code", r.ObjectCode, "reason", reason)
	return nil
}

// engine returns an engine over listings, rebuilding the index only when
// the gateway handed out a different slice (its cache was refreshed):
// indexing 100,000 rows costs far more than one analysis.
func (s *Service) engine(listings []domain.Listing) *analytics.Engine {
	s.engMu.Lock()
	defer s.engMu.Unlock()
	if s.eng == nil || !sameSlice(s.engFor, listings) {
		opts := analytics.DefaultOptions()
		opts.Location = s.o.Location // nil: the engine's default
		s.eng, s.engFor = analytics.NewEngine(listings, opts), listings
	}
	return s.eng
}

func sameSlice(a, b []domain.Listing) bool {
	return len(a) == len(b) && unsafe.SliceData(a) == unsafe.SliceData(b)
}

// ---- polishing ----

const (
	polishOpen  = "<<<ТЕКСТ"
	polishClose = "ТЕКСТ>>>"
)

const polishSystem = `Ты редактор отчётов для риелторов. Перепиши текст между строками <<<ТЕКСТ и ТЕКСТ>>> живым деловым русским языком, сохранив порядок и смысл.
Правила:
- все числа, проценты, суммы, даты и коды объектов оставь ровно как в исходном тексте, символ в символ;
- не добавляй новых чисел, фактов и выводов;
- без Markdown, без эмодзи, без приветствий и пояснений;
- ответ — только отредактированный текст, без строк <<<ТЕКСТ и ТЕКСТ>>>.`

// polish lets the analysis model rephrase the summary when configured. The
// answer is taken only if it carries exactly the numbers of the original:
// the figures always come from the engine, never from the model.
func (s *Service) polish(ctx context.Context, requestID, summary string) string {
	if s.d.AI == nil || !s.o.Polish {
		return summary
	}
	out, err := s.d.AI.Generate(ctx, ai.Request{
		Model:  s.o.PolishModel,
		System: polishSystem,
		Turns:  []ai.Turn{{Role: ai.RoleUser, Text: polishOpen + "\n" + summary + "\n" + polishClose}},
	})
	if err != nil {
		s.log.Warn("analytics summary not polished", "request_id", requestID, "err", err)
		return summary
	}
	if o := out.Outcome(); o != ai.OutcomeComplete {
		// A cut, empty or blocked rewrite would lose part of the summary.
		s.log.Warn("analytics summary not polished: the model's answer is not complete", "request_id", requestID,
			"outcome", string(o), "finish_reason", out.FinishReason, "block_reason", out.BlockReason)
		return summary
	}
	polished, ok := acceptPolished(summary, out.Text)
	if !ok {
		s.log.Warn("analytics polish rejected: the numbers changed", "request_id", requestID)
		return summary
	}
	return polished
}

// acceptPolished checks the model's answer: markers stripped, not empty, not
// wildly longer, and the same set of numbers as the original.
func acceptPolished(original, answer string) (string, bool) {
	text := strings.TrimSpace(answer)
	if i := strings.Index(text, polishOpen); i >= 0 {
		text = text[i+len(polishOpen):]
	}
	if i := strings.LastIndex(text, polishClose); i >= 0 {
		text = text[:i]
	}
	text = strings.TrimSpace(text)
	if text == "" || len(text) > 2*len(original)+200 {
		return "", false
	}
	want, got := numberSet(original), numberSet(text)
	if len(want) != len(got) {
		return "", false
	}
	for n := range want {
		if !got[n] {
			return "", false
		}
	}
	return text, true
}

// numberSet extracts the numbers of a Russian text in a canonical spelling:
// digit groups separated by (no-break) spaces are one number ("12 000 000"),
// a decimal comma or point continues it ("4,2", "15.06"), a sign counts
// only where it cannot be a hyphen ("+22,1" but not the "-1" of "MSK-1").
func numberSet(s string) map[string]bool {
	out := map[string]bool{}
	r := []rune(s)
	isDigit := func(i int) bool { return i >= 0 && i < len(r) && r[i] >= '0' && r[i] <= '9' }
	isWord := func(i int) bool {
		return i >= 0 && i < len(r) && (isDigit(i) || r[i] == '_' || (r[i] >= 'a' && r[i] <= 'z') || (r[i] >= 'A' && r[i] <= 'Z') || r[i] >= 0x400 && r[i] <= 0x4FF)
	}
	isGroupSep := func(c rune) bool { return c == ' ' || c == '\u00a0' || c == '\u202f' || c == '\u2009' }
	for i := 0; i < len(r); {
		if !isDigit(i) || isDigit(i-1) {
			i++
			continue
		}
		var b strings.Builder
		if i > 0 && (r[i-1] == '+' || r[i-1] == '-' || r[i-1] == '−') && !isWord(i-2) {
			if r[i-1] == '+' {
				b.WriteRune('+')
			} else {
				b.WriteRune('-')
			}
		}
		j := i
		for isDigit(j) {
			b.WriteRune(r[j])
			j++
		}
		// Thousands groups: a separator followed by exactly three digits.
		for j < len(r) && isGroupSep(r[j]) && isDigit(j+1) && isDigit(j+2) && isDigit(j+3) && !isDigit(j+4) {
			b.WriteString(string(r[j+1 : j+4]))
			j += 4
		}
		if j+1 < len(r) && (r[j] == ',' || r[j] == '.') && isDigit(j+1) {
			b.WriteRune(',')
			j++
			for isDigit(j) {
				b.WriteRune(r[j])
				j++
			}
		}
		out[b.String()] = true
		i = j
	}
	return out
}
