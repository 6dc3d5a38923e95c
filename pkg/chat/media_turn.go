package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"golang.org/x/sync/semaphore"

	"marketingbot/pkg/ai"
	"marketingbot/pkg/domain"
	"marketingbot/pkg/history"
	"marketingbot/pkg/telegram"
)

// The media turn: download, one model call that both understands the file
// and answers (structured output: {transcript|description, answer}), then
// the answer goes out through the AI turn's own delivery (deliver) and the
// history gets the partner's line with what the model heard or saw. The
// answer is not streamed: it arrives inside a JSON object.

// mediaOutcome is the "media" step: what a media turn came to, kept in
// Redis so that a re-run sends and writes exactly this and never calls the
// model or downloads again.
type mediaOutcome struct {
	Gen generated `json:"gen"`
	// Content is the transcript or the description ("" when none).
	Content string `json:"content,omitempty"`
	// Refused: the file was not taken in; Reply goes to the partner and
	// Reason into the history line.
	Refused bool   `json:"refused,omitempty"`
	Reply   string `json:"reply,omitempty"`
	Reason  string `json:"reason,omitempty"`
	// Escalate: the transcript asks for a person.
	Escalate bool `json:"escalate,omitempty"`
}

// mediaTurn answers a file that may be taken in.
func (s *Service) mediaTurn(ctx context.Context, uid int64, p domain.Partner, u unit, in mediaInput) error {
	out, err := s.mediaGenerate(ctx, uid, p, u, in)
	if err != nil {
		return err
	}
	m := u.message(0)
	ap, err := s.loadAppeal(ctx, opening{uid: uid, partner: p, user: m.From, first: msgTime(m)})
	if err != nil {
		return err
	}
	switch {
	case out.Refused:
		return s.mediaRefused(ctx, uid, u, ap, in, mediaRefusal{reply: out.Reply, reason: out.Reason})
	case out.Escalate:
		return s.escalateMedia(ctx, uid, p, u, s.mediaLine(u, in, out.Content))
	}
	s.metrics.turns.WithLabelValues("media_" + out.Gen.Kind).Inc()
	job := saveJob{u: u, ap: ap}
	if err := s.deliver(ctx, uid, out.Gen, &job, []history.Turn{s.mediaLine(u, in, out.Content)}); err != nil {
		return err
	}
	return s.saveAppeal(ctx, appealWrite{uid: uid, u: u, ap: ap, turns: job.turns, status: job.status(ap)})
}

// mediaGenerate runs the "media" step once: the user's rate limit, then
// the download and the model call.
func (s *Service) mediaGenerate(ctx context.Context, uid int64, p domain.Partner, u unit, in mediaInput) (mediaOutcome, error) {
	step := stepRef{uid, u.lastID(), "media"}
	if v, ok, err := s.ib.stepDone(ctx, step); err != nil {
		return mediaOutcome{}, err
	} else if ok {
		var out mediaOutcome
		if json.Unmarshal([]byte(v), &out) == nil {
			return out, nil
		}
	}
	out := mediaOutcome{Gen: generated{Time: s.now().Truncate(time.Second)}}
	res, err := s.rate.AllowN(ctx, s.keys.Key("chat", "rate", uidStr(uid)), redis_rate.PerMinute(s.o.UserMessagesPerMinute), 1)
	switch {
	case err != nil:
		return out, fmt.Errorf("chat: rate limit: %w", err)
	case res.Allowed == 0:
		out.Gen.Kind = "throttled"
	default:
		if out, err = s.understand(ctx, uid, p, u, in); err != nil {
			return out, err
		}
	}
	out.Gen.Time = s.now().Truncate(time.Second)
	b, _ := json.Marshal(out)
	return out, s.ib.markStep(ctx, step, string(b))
}

// understand downloads the file and asks the model about it.
func (s *Service) understand(ctx context.Context, uid int64, p domain.Partner, u unit, in mediaInput) (mediaOutcome, error) {
	out := mediaOutcome{Gen: generated{Time: s.now().Truncate(time.Second)}}
	release, err := s.mediaHold(ctx, in)
	if err != nil {
		return out, err
	}
	defer release()
	stopTyping := s.typing(ctx, uid)
	defer stopTyping()
	file, err := s.d.Files.Download(ctx, in.fileID, in.size, s.o.Media.MaxBytes)
	if err != nil {
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
		s.log.Warn("partner's file not downloaded", "telegram_id", uid, "update_id", u.lastID(), "kind", in.kind, "err", err)
		return s.downloadRefusal(in, err), nil
	}
	cur, _, err := s.d.Store.CurrentAppeal(ctx, uid)
	if err != nil {
		return out, err
	}
	req, err := s.buildMediaRequest(ctx, p, history.Parse(cur.History, s.loc), in, file.Data)
	if err != nil {
		return out, err
	}
	ans, err := s.d.AI.Generate(ctx, req)
	switch {
	case err == nil:
		return s.fromMediaAnswer(out, uid, in, ans), nil
	case errors.Is(err, ai.ErrRejected):
		s.log.Warn("Gemini refused the partner's file", "telegram_id", uid, "kind", in.kind, "mime", modelMIME(in), "err", err)
		out.Refused, out.Reply = true, s.tx.MediaRejected
		out.Reason = s.tx.Render(s.tx.MediaReasonRejected, map[string]any{"Error": ai.RejectionMessage(err)})
	case errors.Is(err, ai.ErrUnavailable):
		s.log.Warn("AI unavailable; fallback sent", "telegram_id", uid, "err", err)
		out.Gen.Kind = "fallback"
	default:
		return out, err
	}
	return out, nil
}

// fromMediaAnswer reads the structured answer: the content for the
// history, the answer as any model answer (cut, empty…); a refusal of the
// file itself (safety, a blocked prompt) is a refusal of the file.
func (s *Service) fromMediaAnswer(out mediaOutcome, uid int64, in mediaInput, ans ai.Answer) mediaOutcome {
	if ans.Outcome() == ai.OutcomeBlocked {
		reason := ans.FinishReason
		if ans.BlockReason != "" {
			reason = ans.BlockReason
		}
		out.Refused, out.Reply = true, s.tx.MediaRejected
		out.Reason = s.tx.Render(s.tx.MediaReasonBlocked, map[string]any{"Reason": reason})
		return out
	}
	parsed := ai.ParseMediaAnswer(ans.Text, contentField(in))
	if parsed.Malformed {
		s.log.Warn("media answer is not the JSON asked for; read what could be read", "telegram_id", uid, "kind", in.kind,
			"finish_reason", ans.FinishReason, "chars", len([]rune(ans.Text)), "content_chars", len([]rune(parsed.Content)))
	}
	out.Content = parsed.Content
	out.Gen = s.fromAnswer(out.Gen, ai.Answer{Text: parsed.Answer, FinishReason: ans.FinishReason, BlockReason: ans.BlockReason})
	out.Escalate = in.heard() && s.isEscalation(out.Content)
	return out
}

// downloadRefusal words a failed download: too big, gone, or not fetched.
func (s *Service) downloadRefusal(in mediaInput, err error) mediaOutcome {
	out := mediaOutcome{Refused: true, Reply: s.tx.MediaDownloadFailed, Reason: s.tx.MediaReasonDownload}
	switch {
	case errors.Is(err, telegram.ErrFileTooBig):
		limit := sizeText(s.o.Media.MaxBytes)
		size := in.size
		if size <= 0 {
			size = s.o.Media.MaxBytes + 1
		}
		out.Reply = s.tx.Render(s.tx.MediaTooBig, map[string]any{"What": s.mediaLabel(in), "Size": sizeText(size), "Limit": limit})
		out.Reason = s.tx.Render(s.tx.MediaReasonTooBig, map[string]any{"Limit": limit})
	case errors.Is(err, telegram.ErrFileGone):
		out.Reason = s.tx.MediaReasonGone
	}
	return out
}

// contentField is the property of the structured answer that says what
// the file held.
func contentField(in mediaInput) string {
	if in.heard() {
		return "transcript"
	}
	return "description"
}

// mediaBudget bounds the media bytes the service holds at once.
type mediaBudget struct {
	sem  *semaphore.Weighted
	size int64
}

func newMediaBudget(o MediaOptions) *mediaBudget {
	n := o.InflightBytes
	if n <= 0 {
		n = max(o.MaxBytes, 1) * 8
	}
	return &mediaBudget{sem: semaphore.NewWeighted(n), size: n}
}

// mediaHold takes the file's share of the media budget (the whole file
// limit when the message does not say its size) until release.
func (s *Service) mediaHold(ctx context.Context, in mediaInput) (release func(), err error) {
	n := in.size
	if n <= 0 || n > s.o.Media.MaxBytes {
		n = s.o.Media.MaxBytes
	}
	n = min(max(n, 1), s.mediaBudget.size)
	if err := s.mediaBudget.sem.Acquire(ctx, n); err != nil {
		return nil, fmt.Errorf("chat: media budget: %w", err)
	}
	return func() { s.mediaBudget.sem.Release(n) }, nil
}
