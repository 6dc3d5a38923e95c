package telegram

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	"github.com/mymmrac/telego"
	ta "github.com/mymmrac/telego/telegoapi"
	"github.com/prometheus/client_golang/prometheus"

	"marketingbot/pkg/obs"
)

// Downloads of the files users send (voice notes, photos, documents):
// getFile, then GET /file/bot<token>/<file_path>, as the Bot API documents.
// A bot may download files of at most 20 MB; getFile answers "Bad Request:
// file is too big" above that. The bytes are read into memory with a hard
// bound (never more than the caller's limit plus one byte, never to disk),
// and failures are classified: too big and gone are answers no retry can
// change; network errors, 5xx and 429 are retried (failsafe-go) a bounded
// number of times, after which ErrDownload says so.

// Download failures.
var (
	// ErrFileTooBig: the file is over the caller's limit or Telegram's
	// 20 MB bot limit. Never retried.
	ErrFileTooBig = errors.New("telegram: file is too big")
	// ErrFileGone: Telegram does not have the file for this bot (a wrong or
	// expired file_id, a download path that is gone). Never retried.
	ErrFileGone = errors.New("telegram: file is gone")
	// ErrDownload: the file could not be fetched after the retries for
	// transient failures (network, 5xx, 429), or Telegram refused the
	// download itself.
	ErrDownload = errors.New("telegram: file download failed")
)

// File is a downloaded file.
type File struct {
	Data []byte
	// Path is Telegram's file_path ("voice/file_3.oga"); its extension
	// tells the type when the message does not.
	Path string
	// ContentType is what the download answered with ("" when none).
	ContentType string
}

// DownloaderOptions configure a Downloader.
type DownloaderOptions struct {
	// Attempts bounds the tries of one download for transient failures (>= 1).
	Attempts int
	// Timeout bounds a whole download, all attempts together (0: ctx only).
	Timeout time.Duration
	// HTTP fetches the file (nil: a client with Timeout).
	HTTP     *http.Client
	Registry prometheus.Registerer
	Logger   *slog.Logger
}

// Downloader fetches users' files through the Bot API.
type Downloader struct {
	bot  *telego.Bot
	http *http.Client
	o    DownloaderOptions
	log  *slog.Logger

	calls *prometheus.CounterVec
	// firstBackoff is the wait after the first transient failure (tests shorten it).
	firstBackoff time.Duration
}

// NewDownloader builds a downloader over bot and registers its metrics.
func NewDownloader(bot *telego.Bot, o DownloaderOptions) *Downloader {
	o.Attempts = max(o.Attempts, 1)
	hc := o.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: o.Timeout}
	}
	d := &Downloader{bot: bot, http: hc, o: o, log: o.Logger, firstBackoff: 300 * time.Millisecond,
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: obs.Namespace, Subsystem: "telegram", Name: "file_downloads_total",
			Help: "Downloads of users' files by result (ok, too_big, gone, failed)."}, []string{"result"})}
	if o.Registry != nil {
		o.Registry.MustRegister(d.calls)
	}
	return d
}

// Download fetches the file fileID of at most maxBytes bytes. knownSize is
// the size the message announced (0 when unknown): a file over the limit
// is refused before anything is fetched.
func (d *Downloader) Download(ctx context.Context, fileID string, knownSize, maxBytes int64) (File, error) {
	f, err := d.download(ctx, fileID, knownSize, maxBytes)
	d.calls.WithLabelValues(downloadResult(err)).Inc()
	return f, err
}

func (d *Downloader) download(ctx context.Context, fileID string, knownSize, maxBytes int64) (File, error) {
	if knownSize > maxBytes {
		return File{}, fmt.Errorf("%w: %d bytes, limit %d", ErrFileTooBig, knownSize, maxBytes)
	}
	if d.o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.o.Timeout)
		defer cancel()
	}
	policy := retrypolicy.NewBuilder[File]().
		HandleIf(func(_ File, err error) bool { return err != nil && !permanentDownload(err) && ctx.Err() == nil }).
		WithMaxAttempts(d.o.Attempts).
		WithBackoff(d.firstBackoff, 8*d.firstBackoff).
		WithDelayFunc(func(e failsafe.ExecutionAttempt[File]) time.Duration {
			var flood *FloodError
			if errors.As(e.LastError(), &flood) {
				return flood.RetryAfter
			}
			return -1 // the backoff
		}).
		OnRetryScheduled(func(e failsafe.ExecutionScheduledEvent[File]) {
			d.log.Warn("file download failed; retrying", "attempt", e.Attempts(), "wait", e.Delay, "err", e.LastError())
		}).
		ReturnLastFailure().
		Build()
	f, err := failsafe.With(policy).WithContext(ctx).Get(func() (File, error) { return d.attempt(ctx, fileID, maxBytes) })
	switch {
	case err == nil:
		return f, nil
	case errors.Is(err, ErrFileTooBig) || errors.Is(err, ErrFileGone) || errors.Is(err, ErrDownload):
		return File{}, err
	}
	return File{}, fmt.Errorf("%w: %w", ErrDownload, err)
}

// attempt is one getFile and one GET.
func (d *Downloader) attempt(ctx context.Context, fileID string, maxBytes int64) (File, error) {
	info, err := d.bot.GetFile(ctx, &telego.GetFileParams{FileID: fileID})
	if err != nil {
		return File{}, d.redact(classifyGetFile(err))
	}
	if info.FileSize > maxBytes {
		return File{}, fmt.Errorf("%w: %d bytes, limit %d", ErrFileTooBig, info.FileSize, maxBytes)
	}
	if info.FilePath == "" {
		return File{}, fmt.Errorf("%w: getFile gave no file_path", ErrFileGone)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.bot.FileDownloadURL(info.FilePath), nil)
	if err != nil {
		return File{}, d.redact(fmt.Errorf("%w: %w", ErrDownload, err))
	}
	resp, err := d.http.Do(req)
	if err != nil {
		return File{}, d.redact(fmt.Errorf("telegram: download: %w", err))
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return File{}, fmt.Errorf("%w: download answered %s", ErrFileGone, resp.Status)
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return File{}, fmt.Errorf("telegram: download answered %s", resp.Status)
	case resp.StatusCode != http.StatusOK:
		return File{}, fmt.Errorf("%w: download answered %s", ErrDownload, resp.Status)
	case resp.ContentLength > maxBytes:
		return File{}, fmt.Errorf("%w: %d bytes, limit %d", ErrFileTooBig, resp.ContentLength, maxBytes)
	}
	data, err := readBounded(resp.Body, maxBytes, max(info.FileSize, resp.ContentLength))
	if err != nil {
		return File{}, d.redact(err)
	}
	return File{Data: data, Path: info.FilePath, ContentType: resp.Header.Get("Content-Type")}, nil
}

// readBounded reads r to its end, refusing (ErrFileTooBig) anything over
// limit bytes; it never holds more than limit+1 bytes. hint is the expected
// size (0 when unknown) and sizes the buffer once.
func readBounded(r io.Reader, limit, hint int64) ([]byte, error) {
	capacity := min(max(hint, 64<<10), limit+1)
	buf := make([]byte, 0, capacity)
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > limit {
				return nil, fmt.Errorf("%w: more than %d bytes", ErrFileTooBig, limit)
			}
			next := min(int64(cap(buf))*2, limit+1)
			grown := make([]byte, len(buf), next)
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return nil, fmt.Errorf("%w: more than %d bytes", ErrFileTooBig, limit)
		}
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return nil, fmt.Errorf("telegram: download: read: %w", err)
		}
	}
}

// classifyGetFile tells getFile's answers apart: too big and a wrong or
// unavailable file are final, a 429 waits, 5xx and network errors are
// transient.
func classifyGetFile(err error) error {
	var apiErr *ta.Error
	if !errors.As(err, &apiErr) {
		return fmt.Errorf("telegram: getFile: %w", err)
	}
	d := strings.ToLower(apiErr.Description)
	switch {
	case apiErr.ErrorCode == 429:
		return classify(err)
	case strings.Contains(d, "file is too big"):
		return fmt.Errorf("%w: %w", ErrFileTooBig, apiErr)
	case apiErr.ErrorCode == 400 || apiErr.ErrorCode == 404:
		// "wrong file_id or the file is temporarily unavailable", "invalid file_id"
		return fmt.Errorf("%w: %w", ErrFileGone, apiErr)
	case apiErr.ErrorCode >= 500:
		return fmt.Errorf("telegram: getFile: %w", apiErr)
	}
	return fmt.Errorf("%w: getFile: %w", ErrDownload, apiErr)
}

// permanentDownload: no retry of the same download can change err.
func permanentDownload(err error) bool {
	return errors.Is(err, ErrFileTooBig) || errors.Is(err, ErrFileGone) || errors.Is(err, ErrDownload) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// redact keeps the bot token (part of the download URL) out of err.
func (d *Downloader) redact(err error) error {
	if err == nil {
		return nil
	}
	if tok := d.bot.Token(); tok != "" && strings.Contains(err.Error(), tok) {
		return &redactedError{msg: strings.ReplaceAll(err.Error(), tok, "BOT_TOKEN"), err: err}
	}
	return err
}

func downloadResult(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrFileTooBig):
		return "too_big"
	case errors.Is(err, ErrFileGone):
		return "gone"
	}
	return "failed"
}
