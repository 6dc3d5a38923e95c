package telegram

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"image"
	_ "image/gif" // sendPhoto reads the dimensions of GIF, JPEG and PNG uploads
	_ "image/jpeg"
	_ "image/png"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
)

// storedFile is a file the emulator can serve: uploaded by the bot,
// through the control API, or an external URL the bot sent by reference.
type storedFile struct {
	ref  fileRef
	data []byte // nil for external URLs
	url  string // the external URL; never fetched
	path string // file_path for getFile and /file/bot<token>/<path>
	seq  int64  // order of storage; the newest files win a place in the state file
}

// newFileID returns an opaque id shaped like Telegram's (URL-safe base64).
func newFileID(prefix string) (id, uniqueID string) {
	var b [18]byte
	_, _ = rand.Read(b[:])
	return prefix + base64.RawURLEncoding.EncodeToString(b[:]), "AQAD" + base64.RawURLEncoding.EncodeToString(b[:6])
}

// newUploadedFile builds a stored file from uploaded bytes. kind is
// "documents" or "photos", as in Telegram's file paths.
func newUploadedFile(kind, name, contentType string, data []byte) (*storedFile, error) {
	prefix := "BQACAgIAAxkBAAE" // document
	if kind == "photos" {
		prefix = "AgACAgIAAxkBAAE"
	}
	id, unique := newFileID(prefix)
	f := &storedFile{data: data, ref: fileRef{FileID: id, FileUniqueID: unique, FileName: path.Base(name), FileSize: int64(len(data))}}
	if f.ref.FileName == "." || f.ref.FileName == "/" {
		f.ref.FileName = ""
	}
	f.ref.MimeType = detectMime(f.ref.FileName, contentType, data)
	if kind == "photos" {
		cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("decode image: %w", err)
		}
		f.ref.Width, f.ref.Height = cfg.Width, cfg.Height
		f.ref.FileName = "" // Telegram does not keep names of photos
	}
	ext := path.Ext(f.ref.FileName)
	if ext == "" {
		if exts, _ := mime.ExtensionsByType(f.ref.MimeType); len(exts) > 0 {
			ext = exts[0]
		}
	}
	f.path = kind + "/file_" + unique + ext
	return f, nil
}

// newURLFile refers to a file by URL. Telegram would download it; the
// emulator records the reference only, so tests never touch the network.
func newURLFile(kind, rawURL string) *storedFile {
	prefix := "BQACAgIAAxkBAAE"
	if kind == "photos" {
		prefix = "AgACAgIAAxkBAAE"
	}
	id, unique := newFileID(prefix)
	name := ""
	if u, err := url.Parse(rawURL); err == nil {
		name = path.Base(u.Path)
		if name == "." || name == "/" {
			name = ""
		}
	}
	f := &storedFile{url: rawURL, ref: fileRef{FileID: id, FileUniqueID: unique, FileName: name}}
	f.ref.MimeType = detectMime(name, "", nil)
	if kind == "photos" {
		f.ref.FileName = ""
	}
	return f
}

// detectMime prefers the extension, as Telegram does for documents, then
// the declared type unless it is the generic one multipart writers use.
func detectMime(name, declared string, data []byte) string {
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		t, _, _ = strings.Cut(t, ";")
		return t
	}
	if declared != "" && declared != "application/octet-stream" {
		return declared
	}
	if len(data) > 0 {
		t, _, _ := strings.Cut(http.DetectContentType(data), ";")
		return t
	}
	return "application/octet-stream"
}

func (s *Server) addFileLocked(f *storedFile) {
	s.fileSeq++
	f.seq = s.fileSeq
	s.markDirtyLocked()
	s.files[f.ref.FileID] = f
	if f.path != "" {
		s.filesByPath[f.path] = f
	}
}

// FileInfo describes a stored file for the control API.
type FileInfo struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	FilePath     string `json:"file_path,omitempty"`
	FileName     string `json:"file_name,omitempty"`
	MimeType     string `json:"mime_type,omitempty"`
	FileSize     int64  `json:"file_size,omitempty"`
	Width        int    `json:"width,omitempty"`
	Height       int    `json:"height,omitempty"`
	// URL downloads the file from the emulator (relative to its base URL).
	URL string `json:"url"`
}

// PutFile stores a file as if a user had sent it, so injected updates can
// refer to a file_id the bot can download. An image becomes a photo (with
// its dimensions), anything else a document.
func (s *Server) PutFile(name, contentType string, data []byte) FileInfo {
	f, err := newUploadedFile("photos", name, contentType, data)
	if err != nil {
		f, _ = newUploadedFile("documents", name, contentType, data)
	}
	s.mu.Lock()
	s.addFileLocked(f)
	s.mu.Unlock()
	return f.info()
}

func (f *storedFile) info() FileInfo {
	return FileInfo{
		FileID: f.ref.FileID, FileUniqueID: f.ref.FileUniqueID, FilePath: f.path,
		FileName: f.ref.FileName, MimeType: f.ref.MimeType, FileSize: f.ref.FileSize,
		Width: f.ref.Width, Height: f.ref.Height, URL: fileURL(f.ref.FileID),
	}
}

func fileURL(fileID string) string { return "/_emulator/files/" + url.PathEscape(fileID) }

// serveFile writes a stored file, or redirects to an external one.
func serveFile(w http.ResponseWriter, r *http.Request, f *storedFile) {
	if f.data == nil {
		http.Redirect(w, r, f.url, http.StatusFound)
		return
	}
	w.Header().Set("Content-Type", f.ref.MimeType)
	if f.ref.FileName != "" {
		w.Header().Set("Content-Disposition", mime.FormatMediaType("inline", map[string]string{"filename": f.ref.FileName}))
	}
	http.ServeContent(w, r, f.ref.FileName, time.Time{}, bytes.NewReader(f.data))
}

// serveTelegramFile handles Telegram's download path /file/bot<token>/<file_path>.
func (s *Server) serveTelegramFile(w http.ResponseWriter, r *http.Request) {
	token, filePath, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/file/bot"), "/")
	if !ok || token != s.opts.Token {
		writeAPIResult(w, nil, &apiError{code: http.StatusUnauthorized, description: "Unauthorized"})
		return
	}
	s.mu.Lock()
	f := s.filesByPath[filePath]
	s.mu.Unlock()
	if f == nil {
		writeAPIResult(w, nil, &apiError{code: http.StatusNotFound, description: "Not Found"})
		return
	}
	serveFile(w, r, f)
}
