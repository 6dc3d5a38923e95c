package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/obs"
	"marketingbot/pkg/sheets"
)

// Titles are the titles of the six sheets of the spreadsheet.
type Titles struct {
	Auth       string
	Appeals    string
	Queue      string
	Listings   string
	Promotions string
	Knowledge  string
}

// Transport is what the repositories need of the Sheets transport.
type Transport interface {
	SpreadsheetID() string
	SheetTitles(ctx context.Context) ([]string, error)
	Read(ctx context.Context, ranges ...string) ([][][]any, error)
	Update(ctx context.Context, g *sheets.Guard, data ...sheets.Values) error
	Append(ctx context.Context, sheet string, rows [][]any, key string, verify sheets.VerifyFunc) (int, error)
}

var _ Transport = (*sheets.Client)(nil)

// Options configure a Spreadsheet; plain values (pkg/app maps the
// configuration onto them).
type Options struct {
	Titles       Titles
	AuthTTL      time.Duration // Auth sheet cache
	KnowledgeTTL time.Duration
	ListingsTTL  time.Duration
	Location     *time.Location // time zone of the sheets' timestamps (nil: UTC)

	Redis     redis.UniversalClient // the shared row index lives here; required
	KeyPrefix string
	Registry  prometheus.Registerer // nil: a private registry
	Logger    *slog.Logger          // nil: discard
}

// Spreadsheet is the typed access to the team's spreadsheet. It does not own
// its transport: whoever built the *sheets.Client closes it.
type Spreadsheet struct {
	o     Options
	t     Transport
	m     *metrics
	log   *slog.Logger
	loc   *time.Location
	idx   *rowIndex
	cache *caches
}

// New builds the repositories on t. It makes no request; Check does.
func New(t Transport, o Options) (*Spreadsheet, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Redis == nil {
		return nil, errors.New("store: a Redis client is required (row index)")
	}
	prefix := o.KeyPrefix + "sheets:" + t.SpreadsheetID() + ":idx:"
	return &Spreadsheet{o: o, t: t, m: newMetrics(o.Registry), log: o.Logger, loc: o.Location,
		idx: &rowIndex{rdb: o.Redis, prefix: prefix}, cache: newCaches()}, nil
}

// Location is the time zone timestamps are written in.
func (s *Spreadsheet) Location() *time.Location { return s.loc }

// Titles returns the configured sheet titles.
func (s *Spreadsheet) Titles() Titles { return s.o.Titles }

// Check verifies that the spreadsheet answers and has every configured
// sheet; missing ones are named. It costs one read request.
func (s *Spreadsheet) Check(ctx context.Context) error {
	titles, err := s.t.SheetTitles(ctx)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, title := range titles {
		have[title] = true
	}
	var missing []string
	t := s.o.Titles
	for _, title := range []string{t.Auth, t.Appeals, t.Queue, t.Listings, t.Promotions, t.Knowledge} {
		if !have[title] {
			missing = append(missing, strconv.Quote(title))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("store: spreadsheet %s has no sheet %s", s.t.SpreadsheetID(), strings.Join(missing, ", "))
	}
	return nil
}

// Read exposes a raw coalesced read of A1 ranges (tools, tests).
func (s *Spreadsheet) Read(ctx context.Context, ranges ...string) ([][][]any, error) {
	return s.t.Read(ctx, ranges...)
}

// Write exposes a raw coalesced RAW write (tools, tests); no guard.
func (s *Spreadsheet) Write(ctx context.Context, rng string, rows [][]any) error {
	return s.t.Update(ctx, nil, sheets.Values{Range: rng, Rows: rows})
}

// rowMovedAttempts bounds the writes of one call whose row keeps moving
// (someone sorting the sheet over and over).
var rowMovedAttempts = retrypolicy.NewBuilder[any]().HandleErrors(sheets.ErrRowMoved).
	WithMaxAttempts(3).ReturnLastFailure().Build()

// retryMoved runs write; after a refusal with sheets.ErrRowMoved it runs
// relocate (which finds the row again for the next write) and writes again,
// three writes at most. werr is the last write's error (ErrRowMoved when the
// row kept moving); rerr is relocate's error, which ends the attempts.
func retryMoved(ctx context.Context, write, relocate func() error) (werr, rerr error) {
	err := failsafe.With(rowMovedAttempts).WithContext(ctx).Run(func() error {
		if werr = write(); !errors.Is(werr, sheets.ErrRowMoved) {
			return werr
		}
		if rerr = relocate(); rerr != nil {
			return nil // stop; the caller returns rerr
		}
		return werr
	})
	if rerr != nil {
		return nil, rerr
	}
	return err, nil
}

type metrics struct {
	indexRebuilds *prometheus.CounterVec
	cacheHits     *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		indexRebuilds: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: obs.Namespace, Subsystem: "sheets", Name: "index_rebuilds_total",
			Help: "Row index rebuilds by sheet (rows moved or unknown keys)."}, []string{"sheet"}),
		cacheHits: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: obs.Namespace, Subsystem: "sheets", Name: "cache_total",
			Help: "Sheet cache lookups by sheet and result (hit, miss)."}, []string{"sheet", "result"}),
	}
	reg.MustRegister(m.indexRebuilds, m.cacheHits)
	return m
}
