package telegram

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"net/http"
	"path"
	"time"

	"golang.org/x/image/draw"
)

// Users' media: voice notes, audio, video notes, photos and documents with
// real bytes, as a Telegram client sends them (SendMedia, POST
// /_emulator/send_media). The bot reads them with getFile and downloads
// them from /file/bot<token>/<file_path>; getFile refuses files over
// Telegram's 20 MB bot limit with "Bad Request: file is too big".
//
// A photo comes in several sizes, as Telegram makes them: JPEG downscales
// whose longer side is 90, 320, 800, 1280 and 2560 px (those smaller than
// the picture), smallest first, and the uploaded bytes themselves as the
// largest size (Telegram re-encodes that one too; the emulator keeps the
// bytes so a test knows what the bot may download). Voice notes, audio and
// video notes carry their duration and MIME type; copyMessage and
// forwardMessage copy them like documents and photos.

// MaxDownloadBytes is the largest file a bot may download (getFile).
const MaxDownloadBytes = 20 << 20

// photoSides are the longer sides of the sizes Telegram makes of a photo.
var photoSides = []int{90, 320, 800, 1280, 2560}

// relayedKinds are message contents copyMessage and forwardMessage copy
// from a message's extra or raw fields.
var relayedKinds = []string{"voice", "audio", "video_note", "video", "animation", "sticker"}

// MediaMessage is a file a user sends to the bot in their private chat.
type MediaMessage struct {
	UserID int64 `json:"user_id"`
	// Kind: voice, audio, video_note, photo or document.
	Kind string `json:"kind"`
	// Data is the file (base64 in JSON); FileName and MimeType describe it
	// (defaults: OGG for voice, MP3 for audio, MP4 for video notes, by
	// name or content otherwise).
	Data     []byte `json:"data"`
	FileName string `json:"file_name,omitempty"`
	MimeType string `json:"mime_type,omitempty"`
	// Duration in seconds (voice, audio, video notes).
	Duration int    `json:"duration,omitempty"`
	Caption  string `json:"caption,omitempty"`
}

// MediaSent is the update of a media message and the files it carries (a
// photo's sizes, smallest first; one file otherwise).
type MediaSent struct {
	Sent
	Files []FileInfo `json:"files"`
}

// SendMedia delivers a user's voice note, audio, video note, photo or
// document with its bytes.
func (s *Server) SendMedia(mm MediaMessage) (MediaSent, error) {
	if len(mm.Data) == 0 {
		return MediaSent{}, fmt.Errorf("telegram emulator: media without data: %w", ErrInvalid)
	}
	if utf16Len(mm.Caption) > maxCaptionLen {
		return MediaSent{}, fmt.Errorf("telegram emulator: caption longer than %d: %w", maxCaptionLen, ErrInvalid)
	}
	var files []*storedFile
	var err error
	m := &message{date: time.Now().Unix(), caption: mm.Caption}
	switch mm.Kind {
	case "voice", "audio", "video_note":
		files, err = s.mediaFile(mm, m)
	case "photo":
		files, err = photoFiles(mm.Data)
		if err == nil {
			m.photo = &files[len(files)-1].ref
			m.extra = map[string]json.RawMessage{"photo": photoSizesJSON(files)}
		}
	case "document":
		var f *storedFile
		f, err = newUploadedFile("documents", mm.FileName, mm.MimeType, mm.Data)
		files = []*storedFile{f}
		if err == nil {
			m.document = &f.ref
		}
	default:
		err = fmt.Errorf("telegram emulator: media kind %q is not voice, audio, video_note, photo or document: %w", mm.Kind, ErrInvalid)
	}
	if err != nil {
		return MediaSent{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(mm.UserID)
	if err != nil {
		return MediaSent{}, err
	}
	if u.Blocked {
		s.setBlockedLocked(u, false)
	}
	m.from = u.sender()
	out := MediaSent{}
	for _, f := range files {
		s.addFileLocked(f)
		out.Files = append(out.Files, f.info())
	}
	out.Sent = s.userMessageLocked(s.chats[mm.UserID], m)
	return out, nil
}

// mediaFile stores a voice note, audio or video note and describes it in
// the message.
func (s *Server) mediaFile(mm MediaMessage, m *message) ([]*storedFile, error) {
	spec := map[string][4]string{
		"voice":      {"voice", "audio/ogg", ".oga", "AwACAgIAAxkBAAE"},
		"audio":      {"music", "audio/mpeg", ".mp3", "CQACAgIAAxkBAAE"},
		"video_note": {"video_notes", "video/mp4", ".mp4", "DQACAgIAAxkBAAE"},
	}[mm.Kind]
	dir, mimeType, ext, prefix := spec[0], spec[1], spec[2], spec[3]
	if mm.MimeType != "" {
		mimeType = mm.MimeType
	}
	if e := path.Ext(mm.FileName); e != "" {
		ext = e
	}
	id, unique := newFileID(prefix)
	f := &storedFile{data: mm.Data, path: dir + "/file_" + unique + ext,
		ref: fileRef{FileID: id, FileUniqueID: unique, FileSize: int64(len(mm.Data)), MimeType: mimeType}}
	obj := map[string]any{"file_id": id, "file_unique_id": unique, "duration": mm.Duration, "file_size": len(mm.Data)}
	switch mm.Kind {
	case "video_note":
		obj["length"] = 240
	case "audio":
		obj["mime_type"] = mimeType
		if mm.FileName != "" {
			obj["file_name"] = path.Base(mm.FileName)
			f.ref.FileName = path.Base(mm.FileName)
		}
	default:
		obj["mime_type"] = mimeType
	}
	m.extra = map[string]json.RawMessage{mm.Kind: mustJSON(obj)}
	return []*storedFile{f}, nil
}

// photoFiles makes the sizes of a photo: downscaled JPEGs, then the
// uploaded bytes.
func photoFiles(data []byte) ([]*storedFile, error) {
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("telegram emulator: photo: %v: %w", err, ErrInvalid)
	}
	var out []*storedFile
	b := img.Bounds()
	long := max(b.Dx(), b.Dy())
	for _, side := range photoSides {
		if side >= long {
			break
		}
		w, h := max(1, b.Dx()*side/long), max(1, b.Dy()*side/long)
		dst := image.NewRGBA(image.Rect(0, 0, w, h))
		draw.ApproxBiLinear.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, dst, &jpeg.Options{Quality: 80}); err != nil {
			return nil, fmt.Errorf("telegram emulator: photo: %w", err)
		}
		f, err := newUploadedFile("photos", "photo.jpg", "image/jpeg", buf.Bytes())
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	f, err := newUploadedFile("photos", "photo.jpg", "image/jpeg", data)
	if err != nil {
		return nil, err
	}
	return append(out, f), nil
}

func photoSizesJSON(files []*storedFile) json.RawMessage {
	sizes := make([]wirePhotoSize, 0, len(files))
	for _, f := range files {
		sizes = append(sizes, wirePhotoSize{FileID: f.ref.FileID, FileUniqueID: f.ref.FileUniqueID, Width: f.ref.Width, Height: f.ref.Height, FileSize: f.ref.FileSize})
	}
	return mustJSON(sizes)
}

// relayedExtra is what a copy or forward of src carries besides text,
// captions, documents, photos and contacts: its voice, audio, video note…
// and a photo's sizes.
func relayedExtra(src *message) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	for _, k := range append([]string{"photo"}, relayedKinds...) {
		if v, ok := src.extra[k]; ok {
			out[k] = v
		} else if v, ok := src.raw[k]; ok && k != "photo" {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// withExtra merges a message's extra fields into its wire form.
func withExtra(w json.RawMessage, extra map[string]json.RawMessage) json.RawMessage {
	if len(extra) == 0 {
		return w
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(w, &fields) != nil {
		return w
	}
	for k, v := range extra {
		fields[k] = v
	}
	return mustJSON(fields)
}

// transcriptMedia is a voice note's, audio's or video note's file for the
// transcript.
func (s *Server) transcriptMediaLocked(m *message) *TranscriptFile {
	for _, k := range relayedKinds[:3] {
		v, ok := m.extra[k]
		if !ok {
			v, ok = m.raw[k]
		}
		if !ok {
			continue
		}
		var f struct {
			FileID   string `json:"file_id"`
			FileName string `json:"file_name"`
			MimeType string `json:"mime_type"`
			FileSize int64  `json:"file_size"`
			Duration int    `json:"duration"`
		}
		_ = json.Unmarshal(v, &f)
		tf := &TranscriptFile{FileID: f.FileID, FileName: f.FileName, MimeType: f.MimeType, Size: f.FileSize, Duration: f.Duration}
		if _, ok := s.files[f.FileID]; ok {
			tf.URL = fileURL(f.FileID)
		}
		return tf
	}
	return nil
}

func (s *Server) handleSendMedia(w http.ResponseWriter, r *http.Request) {
	var req MediaMessage
	dec := json.NewDecoder(io.LimitReader(r.Body, maxRequestBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeControlError(w, fmt.Errorf("decode request body: %v: %w", err, ErrInvalid))
		return
	}
	sent, err := s.SendMedia(req)
	if err == nil {
		for i := range sent.Files {
			sent.Files[i].URL = baseURL(r) + sent.Files[i].URL
		}
	}
	reply(w, sent, err)
}

// fileTooBig: getFile's answer for a file over the bot download limit.
func fileTooBig(f *storedFile) bool {
	return f.ref.FileSize > MaxDownloadBytes || int64(len(f.data)) > MaxDownloadBytes
}
