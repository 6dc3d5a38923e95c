package sheets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"google.golang.org/api/option"
	sheetsapi "google.golang.org/api/sheets/v4"
)

// GoogleQuotaPerWindow is Google's per-user limit for reads and for writes.
const GoogleQuotaPerWindow = 60

// ErrRowMoved means a guarded write found other key cells than its Guard
// expected (someone sorted or inserted rows); nothing was written. Callers
// re-resolve the row and retry.
var ErrRowMoved = errors.New("sheets: row moved")

// Options configure a Client. They are plain values: pkg/app maps the
// configuration onto them. Zero durations and counts take the defaults.
type Options struct {
	SpreadsheetID   string
	Endpoint        string       // emulator (or another Sheets API base URL); Google when empty
	CredentialsFile string       // service-account key; without it an Endpoint is used unauthenticated
	HTTPClient      *http.Client // with an Endpoint and no CredentialsFile only

	Batching bool // false: one request per operation (load tools compare)
	// ProcessLocal coalesces only this process's calls (each process
	// batches alone, as before the fleet coalescer); the default coalesces
	// the whole fleet's calls through Redis (fleet.go). Load tools compare.
	ProcessLocal    bool
	FlushInterval   time.Duration // how long a batch gathers callers before asking for a slot
	MaxBatch        int           // callers per request at most (default 100)
	ReadsPerWindow  int           // shared read budget (default 55)
	WritesPerWindow int           // shared write budget (default 55)
	QuotaWindow     time.Duration // Google counts per minute; tests shrink it
	RequestTimeout  time.Duration // one attempt (default 20 s)
	RetryMaxDelay   time.Duration // longest backoff between attempts (default 10 s)
	BreakerDelay    time.Duration // open breaker waits this long before probing (default 5 s)
	BreakerFailures uint          // consecutive server failures that open the breaker (default 5)

	Redis     redis.UniversalClient // the shared quota lives here; required
	KeyPrefix string
	Registry  prometheus.Registerer // nil: a private registry
	Logger    *slog.Logger          // nil: discard
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
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
	return o
}

// clientOptions: Google (or an emulator at Endpoint) with the service
// account of CredentialsFile, whose email comes back too; an emulator
// without authentication when only Endpoint is set (sandbox, most tests).
func (o Options) clientOptions() ([]option.ClientOption, string, error) {
	var opts []option.ClientOption
	if o.Endpoint != "" {
		opts = append(opts, option.WithEndpoint(strings.TrimRight(o.Endpoint, "/")+"/"))
	}
	switch {
	case o.CredentialsFile != "":
		if o.HTTPClient != nil {
			return nil, "", errHTTPClientWithCredentials
		}
		creds, account, err := serviceAccountCredentials(o.CredentialsFile)
		if err != nil {
			return nil, "", err
		}
		return append(opts, option.WithAuthCredentials(creds)), account, nil
	case o.Endpoint != "":
		opts = append(opts, option.WithoutAuthentication())
		if o.HTTPClient != nil {
			opts = append(opts, option.WithHTTPClient(o.HTTPClient))
		}
		return opts, "", nil
	default:
		return nil, "", errors.New("sheets: either an endpoint (emulator) or a credentials file is required")
	}
}

// Client is the transport to one spreadsheet: coalesced, budgeted, retried
// requests. It is safe for concurrent use.
type Client struct {
	id      string
	account string // the service account's email ("" unauthenticated)
	svc     *service
	b       *batcher
	fleet   *fleet // nil: process-local or per-call
}

// New builds the client. It makes no request.
func New(ctx context.Context, o Options) (*Client, error) {
	o = o.withDefaults()
	if o.Redis == nil {
		return nil, errors.New("sheets: a Redis client is required (shared quota)")
	}
	opts, account, err := o.clientOptions()
	if err != nil {
		return nil, err
	}
	gs, err := sheetsapi.NewService(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("sheets: create client: %w", err)
	}
	m := newMetrics(o.Registry)
	rp, cb := newPolicies(o.RetryMaxDelay, o.BreakerDelay, o.BreakerFailures, m, o.Logger)
	svc := &service{
		gs: gs, id: o.SpreadsheetID,
		quota:   newQuota(o.Redis, o.KeyPrefix+"sheets:"+o.SpreadsheetID+":", o.ReadsPerWindow, o.WritesPerWindow, o.QuotaWindow, m),
		breaker: cb, retry: rp, timeout: o.RequestTimeout, m: m, log: o.Logger,
	}
	b := newBatcher(svc, m, batchOptions{rdb: o.Redis, batching: o.Batching, interval: o.FlushInterval, maxBatch: o.MaxBatch})
	c := &Client{id: o.SpreadsheetID, account: account, svc: svc, b: b}
	if o.Batching && !o.ProcessLocal {
		c.fleet = newFleet(o.Redis, o.KeyPrefix+"sheets:{"+o.SpreadsheetID+"}:fleet:", b, m, o.Logger, fleetOptions{})
	}
	return c, nil
}

// Close stops carrying the fleet's requests (handing the lease over) and
// the batchers; callers still waiting get an error.
func (c *Client) Close() {
	if c.fleet != nil {
		c.fleet.close()
	}
	c.b.close()
}

// ServiceAccount is the email of the service account the client
// authenticates as ("" without credentials): the spreadsheet must be
// shared with it.
func (c *Client) ServiceAccount() string { return c.account }

// SpreadsheetID is the spreadsheet the client talks to.
func (c *Client) SpreadsheetID() string { return c.id }

// Values are the cells written into one A1 range, row by row.
type Values struct {
	Range string
	Rows  [][]any
}

// Guard makes a write conditional on the key cells of its row still holding
// what the caller expects. They are read right before the write (sharing a
// read request with other callers); on mismatch the write is refused with
// ErrRowMoved and nothing of it is written. See guard.go for More and
// Header (key cells in other columns, and the header row: a column moved
// under the write refuses it with ErrColumnsMoved).
type Guard struct {
	Sheet  string               // sheet title, for the row_moved metric
	Range  string               // A1 range of the row's key cells
	Holds  func(row []any) bool // true when the row is still the one meant
	More   []GuardRange         // further key cells, checked like Range
	Header *GuardRange          // the sheet's header row; nil: not checked
}

// VerifyFunc reports the rows (1-based) where the given idempotency keys
// already are. Append calls it after an ambiguous failure, before appending
// again.
type VerifyFunc func(ctx context.Context, keys []string) (map[string]int, error)

// Read returns the rows of every A1 range, in order (coalesced into one
// values.batchGet with other callers' reads).
func (c *Client) Read(ctx context.Context, ranges ...string) ([][][]any, error) {
	if c.fleet != nil {
		return c.fleet.read(ctx, ranges)
	}
	return c.b.read(ctx, ranges...)
}

// Update writes data (RAW), after checking g when it is not nil (coalesced
// into one values.batchUpdate with other callers' writes).
func (c *Client) Update(ctx context.Context, g *Guard, data ...Values) error {
	if c.fleet != nil {
		return c.fleet.update(ctx, g, data)
	}
	return c.b.update(ctx, g, data)
}

// Append appends rows to sheet and returns the first row number they got
// (coalesced into one values.append with other appends to that sheet). key
// identifies the rows for verify, which is asked after an ambiguous failure;
// with an empty key or a nil verify the rows are appended again unasked.
func (c *Client) Append(ctx context.Context, sheet string, rows [][]any, key string, verify VerifyFunc) (int, error) {
	if c.fleet != nil {
		return c.fleet.appendRows(ctx, sheet, rows, key, verify)
	}
	return c.b.appendRows(ctx, sheet, rows, key, verify)
}

// SheetTitles lists the titles of the spreadsheet's sheets. It costs one
// read request.
func (c *Client) SheetTitles(ctx context.Context) ([]string, error) {
	titles, err := c.svc.sheetTitles(ctx)
	if err != nil {
		return nil, fmt.Errorf("sheets: spreadsheet %s: %w", c.id, err)
	}
	return titles, nil
}
