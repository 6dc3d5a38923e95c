package sheets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"google.golang.org/api/option"
	sheetsapi "google.golang.org/api/sheets/v4"

	"marketingbot/pkg/config"
	"marketingbot/pkg/sheets/a1"
)

// GoogleQuotaPerWindow is Google's per-user limit for reads and for writes.
const GoogleQuotaPerWindow = 60

// Options configure a Gateway. FromConfig fills them from the configuration.
type Options struct {
	SpreadsheetID   string
	Titles          config.SheetTitles
	Endpoint        string // emulator; no authentication when set
	CredentialsFile string
	HTTPClient      *http.Client

	Batching        bool
	FlushInterval   time.Duration
	MaxBatch        int
	ReadsPerWindow  int
	WritesPerWindow int
	QuotaWindow     time.Duration
	RequestTimeout  time.Duration
	RetryMaxDelay   time.Duration
	BreakerDelay    time.Duration
	BreakerFailures uint

	AuthTTL      time.Duration
	KnowledgeTTL time.Duration
	ListingsTTL  time.Duration

	Location  *time.Location
	Redis     redis.UniversalClient
	KeyPrefix string
	Registry  prometheus.Registerer
	Logger    *slog.Logger
}

// FromConfig maps the configuration to Options.
func FromConfig(cfg *config.Config, rdb redis.UniversalClient, reg prometheus.Registerer, log *slog.Logger) Options {
	s := cfg.Sheets
	return Options{
		SpreadsheetID: s.SpreadsheetID, Titles: s.Titles, Endpoint: s.Endpoint, CredentialsFile: s.CredentialsFile,
		Batching: s.Batching, FlushInterval: s.FlushInterval, MaxBatch: s.MaxBatch,
		ReadsPerWindow: s.ReadsPerMinute, WritesPerWindow: s.WritesPerMinute, QuotaWindow: s.QuotaWindow,
		RequestTimeout: s.RequestTimeout, AuthTTL: s.AuthCacheTTL, KnowledgeTTL: s.KnowledgeTTL, ListingsTTL: s.ListingsTTL,
		Location: cfg.Location(), Redis: rdb, KeyPrefix: cfg.Redis.KeyPrefix, Registry: reg, Logger: log,
	}
}

// Gateway is the typed access to the spreadsheet.
type Gateway struct {
	o     Options
	c     *client
	b     *batcher
	rdb   redis.UniversalClient
	m     *metrics
	log   *slog.Logger
	loc   *time.Location
	idx   *rowIndex
	cache *caches
}

// New builds the gateway. It makes no request; Check does.
func New(ctx context.Context, o Options) (*Gateway, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.QuotaWindow <= 0 {
		o.QuotaWindow = time.Minute
	}
	if o.ReadsPerWindow <= 0 {
		o.ReadsPerWindow = 55
	}
	if o.WritesPerWindow <= 0 {
		o.WritesPerWindow = 55
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 100
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 20 * time.Second
	}
	if o.RetryMaxDelay <= 0 {
		o.RetryMaxDelay = 10 * time.Second
	}
	if o.BreakerDelay <= 0 {
		o.BreakerDelay = 5 * time.Second
	}
	if o.BreakerFailures == 0 {
		o.BreakerFailures = 5
	}
	if o.Redis == nil {
		return nil, errors.New("sheets: a Redis client is required (shared quota and row index)")
	}
	opts := []option.ClientOption{}
	switch {
	case o.Endpoint != "":
		opts = append(opts, option.WithEndpoint(strings.TrimRight(o.Endpoint, "/")+"/"), option.WithoutAuthentication())
		if o.HTTPClient != nil {
			opts = append(opts, option.WithHTTPClient(o.HTTPClient))
		}
	case o.CredentialsFile != "":
		opts = append(opts, option.WithAuthCredentialsFile(option.ServiceAccount, o.CredentialsFile), option.WithScopes(sheetsapi.SpreadsheetsScope))
	default:
		return nil, errors.New("sheets: either an endpoint (emulator) or a credentials file is required")
	}
	svc, err := sheetsapi.NewService(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("sheets: create client: %w", err)
	}
	m := newMetrics(o.Registry)
	rp, cb := newPolicies(o.RetryMaxDelay, o.BreakerDelay, o.BreakerFailures, m, o.Logger)
	prefix := o.KeyPrefix + "sheets:" + o.SpreadsheetID + ":"
	c := &client{
		svc: svc, id: o.SpreadsheetID, limiter: redis_rate.NewLimiter(o.Redis),
		limits: map[quotaKind]redis_rate.Limit{
			quotaRead:  quotaLimit(o.ReadsPerWindow, o.QuotaWindow, GoogleQuotaPerWindow),
			quotaWrite: quotaLimit(o.WritesPerWindow, o.QuotaWindow, GoogleQuotaPerWindow),
		},
		keys:    map[quotaKind]string{quotaRead: prefix + "quota:read", quotaWrite: prefix + "quota:write"},
		breaker: cb, retry: rp, timeout: o.RequestTimeout, m: m, log: o.Logger,
	}
	g := &Gateway{o: o, c: c, rdb: o.Redis, m: m, log: o.Logger, loc: o.Location}
	g.b = newBatcher(c, o.Batching, o.FlushInterval, o.MaxBatch)
	g.idx = &rowIndex{rdb: o.Redis, prefix: prefix + "idx:"}
	g.cache = newCaches()
	return g, nil
}

// Close stops the batchers; callers still waiting get an error.
func (g *Gateway) Close() { g.b.close() }

// Location is the time zone timestamps are written in.
func (g *Gateway) Location() *time.Location { return g.loc }

// Titles returns the configured sheet titles.
func (g *Gateway) Titles() config.SheetTitles { return g.o.Titles }

// Check verifies that the spreadsheet answers and has every configured
// sheet; missing ones are named. It costs one read request.
func (g *Gateway) Check(ctx context.Context) error {
	var ss *sheetsapi.Spreadsheet
	err := g.c.call(ctx, quotaRead, "spreadsheets.get", false, func(ctx context.Context) error {
		var err error
		ss, err = g.c.svc.Spreadsheets.Get(g.c.id).Fields("properties.title,sheets.properties.title").Context(ctx).Do()
		return err
	})
	if err != nil {
		return fmt.Errorf("sheets: spreadsheet %s: %w", g.c.id, err)
	}
	have := map[string]bool{}
	for _, s := range ss.Sheets {
		have[s.Properties.Title] = true
	}
	var missing []string
	t := g.o.Titles
	for _, title := range []string{t.Auth, t.Appeals, t.Queue, t.Listings, t.Promotions, t.Knowledge} {
		if !have[title] {
			missing = append(missing, strconv.Quote(title))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("sheets: spreadsheet %s has no sheet %s", g.c.id, strings.Join(missing, ", "))
	}
	return nil
}

// ---- cells and ranges ----

func quoteTitle(title string) string { return a1.Quote(title) }

func parseRange(s string) (a1.Range, error) { return a1.Parse(s) }

// rowRange is 'Sheet'!A5:H5.
func rowRange(sheet string, width, row int) string { return a1.Row(sheet, 0, width-1, row) }

// cellString renders a cell read with UNFORMATTED_VALUE as text: integral
// numbers without a fraction (Telegram IDs typed by hand come back as numbers).
func cellString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		if x {
			return "TRUE"
		}
		return "FALSE"
	case json.Number:
		return x.String()
	default:
		return fmt.Sprint(x)
	}
}

func cell(row []any, i int) string {
	if i < len(row) {
		return strings.TrimSpace(cellString(row[i]))
	}
	return ""
}

// rawCell keeps the text exactly (history cells keep their indentation).
func rawCell(row []any, i int) string {
	if i < len(row) {
		return cellString(row[i])
	}
	return ""
}

func cellInt(row []any, i int) int64 {
	s := strings.ReplaceAll(strings.ReplaceAll(cell(row, i), " ", ""), "\u00a0", "")
	if s == "" {
		return 0
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n
	}
	if f, err := strconv.ParseFloat(strings.ReplaceAll(s, ",", "."), 64); err == nil {
		return int64(math.Round(f))
	}
	return 0
}

func cellFloat(row []any, i int) float64 {
	s := strings.ReplaceAll(strings.ReplaceAll(cell(row, i), " ", ""), "\u00a0", "")
	f, _ := strconv.ParseFloat(strings.ReplaceAll(s, ",", "."), 64)
	return f
}

func emptyRow(row []any) bool {
	for _, v := range row {
		if strings.TrimSpace(cellString(v)) != "" {
			return false
		}
	}
	return true
}

func valueRange(rng string, cells ...any) *sheetsapi.ValueRange {
	return &sheetsapi.ValueRange{Range: rng, MajorDimension: "ROWS", Values: [][]any{cells}}
}
