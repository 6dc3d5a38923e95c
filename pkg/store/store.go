package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/obs"
	"marketingbot/pkg/sheets"
)

// Titles are the titles of the sheets of the spreadsheet.
type Titles struct {
	Auth       string
	Appeals    string
	Queue      string
	Listings   string
	Promotions string
	Knowledge  string
	Stats      string
	Templates  string
	Holidays   string
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
	Headers      Headers       // header names by sheet and field; missing: the defaults (Schema)
	HeaderTTL    time.Duration // how long a sheet's header row is trusted for writes (0: 1 minute)
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
	o       Options
	t       Transport
	m       *metrics
	log     *slog.Logger
	loc     *time.Location
	idx     *rowIndex
	cache   *caches
	schema  map[SheetKey][]Field // the contract with the configured headers
	layouts layouts              // where the fields stand, by sheet
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
	if o.HeaderTTL <= 0 {
		o.HeaderTTL = time.Minute
	}
	if o.Redis == nil {
		return nil, errors.New("store: a Redis client is required (row index)")
	}
	schema, err := resolveSchema(o.Headers)
	if err != nil {
		return nil, err
	}
	prefix := o.KeyPrefix + "sheets:" + t.SpreadsheetID() + ":idx:"
	return &Spreadsheet{o: o, t: t, m: newMetrics(o.Registry), log: o.Logger, loc: o.Location,
		idx: &rowIndex{rdb: o.Redis, prefix: prefix}, cache: newCaches(), schema: schema,
		layouts: layouts{m: map[SheetKey]layoutItem{}}}, nil
}

// Schema is the sheet's contract as configured: its fields with the
// headers they are found by.
func (s *Spreadsheet) Schema(k SheetKey) []Field { return append([]Field(nil), s.schema[k]...) }

// Location is the time zone timestamps are written in.
func (s *Spreadsheet) Location() *time.Location { return s.loc }

// Titles returns the configured sheet titles.
func (s *Spreadsheet) Titles() Titles { return s.o.Titles }

// Check verifies that the spreadsheet answers, has every configured sheet
// and every header of the contract exactly once; the problems are named in
// one line ("sheets: Обращения: missing "Статус"; Auth: "Telegram ID"
// appears twice (E, K)"). It costs two read requests.
func (s *Spreadsheet) Check(ctx context.Context) error {
	problems, err := s.Problems(ctx)
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return fmt.Errorf("sheets: %s", strings.Join(problems, "; "))
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
	headerChanges *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		indexRebuilds: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: obs.Namespace, Subsystem: "sheets", Name: "index_rebuilds_total",
			Help: "Row index rebuilds by sheet (rows moved or unknown keys)."}, []string{"sheet"}),
		cacheHits: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: obs.Namespace, Subsystem: "sheets", Name: "cache_total",
			Help: "Sheet cache lookups by sheet and result (hit, miss)."}, []string{"sheet", "result"}),
		headerChanges: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: obs.Namespace, Subsystem: "sheets", Name: "header_changes_total",
			Help: "Header rows found changed (columns inserted, moved or renamed) by sheet."}, []string{"sheet"}),
	}
	reg.MustRegister(m.indexRebuilds, m.cacheHits, m.headerChanges)
	return m
}
