package chat

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/history"
)

// The history lines of media and the refusals before any download.

// mediaRefusal is why a file is not taken in: the partner's reply and the
// reason in the history line.
type mediaRefusal struct {
	reply  string
	reason string
}

// refusal checks what the message itself tells — size, duration, type —
// so a file that cannot be taken in is never downloaded.
func (s *Service) refusal(in mediaInput) (mediaRefusal, bool) {
	o := s.o.Media
	label := s.mediaLabel(in)
	limitDur := clock(int(o.MaxDuration / time.Second))
	switch {
	case in.size > o.MaxBytes:
		limit := sizeText(o.MaxBytes)
		return mediaRefusal{
			reply:  s.tx.Render(s.tx.MediaTooBig, map[string]any{"What": label, "Size": sizeText(in.size), "Limit": limit}),
			reason: s.tx.Render(s.tx.MediaReasonTooBig, map[string]any{"Limit": limit}),
		}, true
	case in.heard() && time.Duration(in.duration)*time.Second > o.MaxDuration:
		return mediaRefusal{
			reply:  s.tx.Render(s.tx.MediaTooLong, map[string]any{"Duration": clock(in.duration), "Limit": limitDur}),
			reason: s.tx.Render(s.tx.MediaReasonTooLong, map[string]any{"Limit": limitDur}),
		}, true
	case modelMIME(in) == "":
		t := typeName(in)
		return mediaRefusal{
			reply:  s.tx.Render(s.tx.MediaTypeUnsupported, map[string]any{"Type": t}),
			reason: s.tx.Render(s.tx.MediaReasonType, map[string]any{"Type": t}),
		}, true
	}
	return mediaRefusal{}, false
}

// mediaRefused answers a file that is not taken in and records what came.
func (s *Service) mediaRefused(ctx context.Context, uid int64, u unit, ap appealState, in mediaInput, r mediaRefusal) error {
	s.metrics.turns.WithLabelValues("media_refused").Inc()
	if _, err := s.sendOnce(ctx, stepRef{uid, u.lastID(), "reply"}, r.reply, nil); err != nil {
		return err
	}
	line := s.refusedLine(u, in, r.reason)
	return s.saveAppeal(ctx, appealWrite{uid: uid, u: u, ap: ap, turns: []history.Turn{line}, status: unansweredStatus(ap)})
}

// unansweredStatus: a new appeal nobody answered is Новое (operators see
// it); an existing one keeps its status.
func unansweredStatus(ap appealState) domain.AppealStatus {
	if !ap.exists {
		return domain.AppealStatusNew
	}
	return ap.a.Status
}

// mediaLabel names the file: "голосовое 0:42", "документ договор.pdf".
func (s *Service) mediaLabel(in mediaInput) string {
	return s.tx.MediaLabel(in.kind, map[string]any{"Duration": clock(in.duration), "Name": in.name})
}

// mediaLine is the partner's history line of a file taken in: the label,
// what the model heard or saw (content; a voice note it could not
// transcribe says so), and the caption on the next line.
func (s *Service) mediaLine(u unit, in mediaInput, content string) history.Turn {
	content = strings.TrimSpace(content)
	if content == "" && in.heard() {
		content = s.tx.MediaNotTranscribed
	}
	text := "[" + s.mediaLabel(in) + "]"
	if content != "" {
		text += " " + content
	}
	return s.userLine(u, s.withCaption(text, in))
}

// refusedLine is the history line of a file that was not taken in:
// "[документ big.zip, 25 МБ — не принят: больше 20 МБ]".
func (s *Service) refusedLine(u unit, in mediaInput, reason string) history.Turn {
	text := "[" + s.mediaLabel(in)
	if in.size > 0 {
		text += ", " + sizeText(in.size)
	}
	text += " — " + s.tx.Render(s.tx.MediaNotAccepted, map[string]any{"Reason": reason}) + "]"
	return s.userLine(u, s.withCaption(text, in))
}

func (s *Service) withCaption(text string, in mediaInput) string {
	if in.caption == "" {
		return text
	}
	return text + "\n" + s.tx.Render(s.tx.MediaCaption, map[string]any{"Caption": in.caption})
}

func (s *Service) userLine(u unit, text string) history.Turn {
	return history.Turn{ID: "u" + strconv.FormatInt(u.lastID(), 10), Role: history.RoleUser, Time: msgTime(u.message(0)), Text: text}
}

// clock renders seconds as m:ss (h:mm:ss from an hour).
func clock(sec int) string {
	sec = max(sec, 0)
	if sec >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", sec/3600, sec/60%60, sec%60)
	}
	return fmt.Sprintf("%d:%02d", sec/60, sec%60)
}

// sizeText renders a size the Russian way: "850 КБ", "1,5 МБ", "25 МБ".
func sizeText(b int64) string {
	const kb, mb = 1024, 1024 * 1024
	if b < mb {
		return strconv.FormatInt(max(1, int64(math.Ceil(float64(b)/kb))), 10) + " КБ"
	}
	v := float64(b) / mb
	if v >= 10 || v == math.Trunc(v) {
		return strconv.FormatFloat(math.Round(v), 'f', 0, 64) + " МБ"
	}
	return strings.Replace(strconv.FormatFloat(v, 'f', 1, 64), ".", ",", 1) + " МБ"
}
