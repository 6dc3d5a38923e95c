package chat

import (
	"context"
	"mime"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/mymmrac/telego"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/history"
)

// Media in. A voice note, an audio file, a video note, a photo or a
// document (PDF, JPEG, PNG) of an authorized partner is downloaded from
// Telegram (within the limits of MediaOptions) and answered in one model
// call that also says what it was: the voice note's transcript, or a short
// description of the photo or document (media_turn.go). The history stores
// that text, never the file: "[голосовое 0:42] <transcript>", "[фото]
// <description>", "[документ договор.pdf] <description>", with the caption
// on the next line. A file that cannot be taken in — too big, too long, of
// a type the model does not read, gone from Telegram, failing to download
// after the bounded retries, refused by Gemini — gets a defined reply and a
// history line saying what came and why it was not taken ("[документ
// big.zip, 25 МБ — не принят: …]"); nothing of it is retried beyond that.
// While an operator has the appeal, media is relayed to the operators'
// group as it is (copyMessage), a voice note with its transcript
// (media_relay.go). Other non-text messages (stickers, videos, locations…)
// get a polite answer, as does everything when media is switched off.

// MediaOptions are the limits of media in.
type MediaOptions struct {
	// Enabled: media is taken in; otherwise every non-text message gets
	// media_unsupported.
	Enabled bool
	// MaxBytes is the largest file downloaded (at most Telegram's 20 MB).
	MaxBytes int64
	// MaxDuration is the longest voice note, audio or video note.
	MaxDuration time.Duration
	// MaxPhotoSide: of a photo's sizes, the largest with no side longer
	// than this goes to the model (px).
	MaxPhotoSide int
	// InflightBytes bounds the media bytes the service holds at once
	// (downloads and model calls wait beyond it); 0: MaxBytes × 8.
	InflightBytes int64
	// MaxOutputTokens is the output cap of a media turn (0: the model's default).
	MaxOutputTokens int
	// KnowledgeChars bounds the knowledge given with media (see mediaKnowledge).
	KnowledgeChars int
	// TranscribeEscalated: a voice note relayed to an operator is
	// transcribed first (a model call without the conversation).
	TranscribeEscalated bool
}

// Kinds of media taken in.
const (
	mediaVoice     = "voice"
	mediaAudio     = "audio"
	mediaVideoNote = "video_note"
	mediaPhoto     = "photo"
	mediaDocument  = "document"
)

// mediaInput is a file a message carries, as the message describes it.
type mediaInput struct {
	kind     string
	fileID   string
	size     int64 // bytes; 0 when the message does not say
	duration int   // seconds (voice, audio, video note)
	mime     string
	name     string // the file's name (documents, audio)
	caption  string
}

// heard: the model is asked for a transcript (voice, audio, video note),
// otherwise for a description.
func (in mediaInput) heard() bool {
	return in.kind == mediaVoice || in.kind == mediaAudio || in.kind == mediaVideoNote
}

// mediaOf reads the file a message carries; ok is false for messages that
// are not voice notes, audio, video notes, photos or documents.
func (s *Service) mediaOf(m *telego.Message) (mediaInput, bool) {
	in := mediaInput{caption: strings.TrimSpace(m.Caption)}
	switch {
	case m.Voice != nil:
		v := m.Voice
		in.kind, in.fileID, in.size, in.duration, in.mime = mediaVoice, v.FileID, v.FileSize, v.Duration, v.MimeType
		if in.mime == "" {
			in.mime = "audio/ogg" // Telegram's voice notes are OGG/Opus
		}
	case m.Audio != nil:
		a := m.Audio
		in.kind, in.fileID, in.size, in.duration, in.mime, in.name = mediaAudio, a.FileID, a.FileSize, a.Duration, a.MimeType, a.FileName
	case m.VideoNote != nil:
		v := m.VideoNote
		in.kind, in.fileID, in.size, in.duration, in.mime = mediaVideoNote, v.FileID, int64(v.FileSize), v.Duration, "video/mp4"
	case len(m.Photo) > 0:
		p := s.photoSize(m.Photo)
		in.kind, in.fileID, in.size, in.mime = mediaPhoto, p.FileID, int64(p.FileSize), "image/jpeg"
	case m.Document != nil:
		d := m.Document
		in.kind, in.fileID, in.size, in.mime, in.name = mediaDocument, d.FileID, d.FileSize, d.MimeType, d.FileName
	default:
		return mediaInput{}, false
	}
	return in, in.fileID != ""
}

// photoSize picks the largest of a photo's sizes whose longer side is at
// most MaxPhotoSide and whose bytes fit MaxBytes; the smallest when none
// does. Telegram lists the sizes from small to large.
func (s *Service) photoSize(sizes []telego.PhotoSize) telego.PhotoSize {
	best := -1
	for i, p := range sizes {
		if max(p.Width, p.Height) > s.o.Media.MaxPhotoSide || int64(p.FileSize) > s.o.Media.MaxBytes {
			continue
		}
		if best < 0 || p.Width*p.Height > sizes[best].Width*sizes[best].Height {
			best = i
		}
	}
	if best < 0 {
		best = 0
		for i, p := range sizes {
			if p.Width*p.Height < sizes[best].Width*sizes[best].Height {
				best = i
			}
		}
	}
	return sizes[best]
}

// modelMIME is the MIME type the model is given for a file, "" when the
// model does not read that type. Documents are known by their declared
// type or, failing that, their name.
func modelMIME(in mediaInput) string {
	t := strings.ToLower(strings.TrimSpace(in.mime))
	if t == "" || t == "application/octet-stream" {
		t, _, _ = strings.Cut(mime.TypeByExtension(strings.ToLower(path.Ext(in.name))), ";")
	}
	switch in.kind {
	case mediaVoice:
		return "audio/ogg"
	case mediaVideoNote:
		return "video/mp4"
	case mediaPhoto:
		return "image/jpeg"
	case mediaAudio:
		return map[string]string{"audio/ogg": "audio/ogg", "audio/mpeg": "audio/mp3", "audio/mp3": "audio/mp3", "audio/wav": "audio/wav",
			"audio/x-wav": "audio/wav", "audio/aac": "audio/aac", "audio/flac": "audio/flac", "audio/x-flac": "audio/flac",
			"audio/aiff": "audio/aiff", "audio/x-aiff": "audio/aiff"}[t]
	}
	switch t {
	case "application/pdf", "image/jpeg", "image/png":
		return t
	}
	return ""
}

// typeName names a file's type for the partner: its extension in capitals,
// else its MIME subtype.
func typeName(in mediaInput) string {
	if ext := strings.TrimPrefix(path.Ext(in.name), "."); ext != "" && len(ext) <= 8 {
		return strings.ToUpper(ext)
	}
	if _, sub, ok := strings.Cut(in.mime, "/"); ok && sub != "" {
		return strings.ToUpper(sub)
	}
	return "?"
}

// media handles a non-text message of an authorized user.
func (s *Service) media(ctx context.Context, uid int64, p domain.Partner, u unit) error {
	m := u.message(0)
	if m == nil {
		return nil
	}
	in, ok := s.mediaOf(m)
	if !ok || !s.o.Media.Enabled || s.d.Files == nil || s.d.AI == nil {
		return s.mediaPlain(ctx, uid, p, u)
	}
	ap, err := s.loadAppeal(ctx, opening{uid: uid, partner: p, user: m.From, first: msgTime(m)})
	if err != nil {
		return err
	}
	if ap.a.Status == domain.AppealStatusEscalated {
		return s.relayMedia(ctx, uid, p, u, ap, in)
	}
	if refusal, refused := s.refusal(in); refused {
		return s.mediaRefused(ctx, uid, u, ap, in, refusal)
	}
	if s.isEscalation(in.caption) {
		// "позовите оператора" in a caption: a person, without asking the model.
		return s.escalateMedia(ctx, uid, p, u, s.mediaLine(u, in, ""))
	}
	return s.mediaTurn(ctx, uid, p, u, in)
}

// mediaPlain: non-text input the model is not given gets a placeholder
// line in the history and a polite answer (or goes to the operator when
// the appeal is escalated).
func (s *Service) mediaPlain(ctx context.Context, uid int64, p domain.Partner, u unit) error {
	m := u.message(0)
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
