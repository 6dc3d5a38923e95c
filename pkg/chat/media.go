package chat

import (
	"context"
	"strconv"

	"github.com/mymmrac/telego"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/history"
)

// media: non-text input gets a placeholder line in the history and a polite
// answer (or goes to the operator when the appeal is escalated).
func (s *Service) media(ctx context.Context, uid int64, p domain.Partner, u unit) error {
	m := u.message(0)
	if m == nil {
		return nil
	}
	kind := mediaKind(m)
	text := s.tx.Media(kind)
	if m.Caption != "" {
		text += " " + m.Caption
	}
	turns := []history.Turn{{ID: "u" + strconv.FormatInt(u.lastID(), 10), Role: history.RoleUser, Time: msgTime(m), Text: text}}
	ap, err := s.loadAppeal(ctx, opening{uid: uid, partner: p, user: m.From, first: msgTime(m)})
	if err != nil {
		return err
	}
	if ap.a.Status == domain.AppealStatusEscalated {
		return s.forwardToOperators(ctx, forward{uid: uid, p: p, ap: ap, u: u, turns: turns})
	}
	reply := s.tx.MediaUnsupported
	if kind == "location" {
		reply = s.tx.LocationUnsupport
	}
	if _, err := s.sendOnce(ctx, stepRef{uid, u.lastID(), "reply"}, reply, nil); err != nil {
		return err
	}
	return s.saveAppeal(ctx, appealWrite{uid: uid, u: u, ap: ap, turns: turns, status: ap.a.Status})
}

func mediaKind(m *telego.Message) string {
	switch {
	case len(m.Photo) > 0:
		return "photo"
	case m.Video != nil:
		return "video"
	case m.VideoNote != nil:
		return "video_note"
	case m.Voice != nil:
		return "voice"
	case m.Audio != nil:
		return "audio"
	case m.Document != nil:
		return "document"
	case m.Sticker != nil:
		return "sticker"
	case m.Animation != nil:
		return "animation"
	case m.Location != nil || m.Venue != nil:
		return "location"
	case m.Contact != nil:
		return "contact"
	}
	return "other"
}
