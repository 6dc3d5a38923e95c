package sheets

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"
)

// Options configure a Server. The zero value is a usable in-memory emulator
// with Google's quotas.
type Options struct {
	// Quota overrides the enforced quotas; nil means DefaultQuota(). It is
	// a pointer because a zero Quota is meaningful: no limits at all.
	Quota *Quota

	// XLSXPath, when set, persists the spreadsheet SpreadsheetID to this
	// .xlsx file: it is loaded at start if the file exists and saved after
	// changes (debounced) and on Close. Other spreadsheets live in memory.
	XLSXPath      string
	SpreadsheetID string
	// SaveDebounce is the longest a change waits before it is saved;
	// 0 means one second.
	SaveDebounce time.Duration

	Logger *slog.Logger     // nil means slog.Default()
	Now    func() time.Time // clock for quotas and faults; nil means time.Now

	// Auth, when set, makes every API request need a valid Bearer token
	// (see RequireAuth); nil serves without authentication.
	Auth TokenChecker
}

// ErrNotFound is returned by the Go helpers for an unknown spreadsheet id.
var ErrNotFound = errors.New("sheets emulator: spreadsheet not found")

// maxBody bounds request bodies: a batch of a few thousand full cells.
const maxBody = 256 << 20

// Server is the emulator: an http.Handler serving the Sheets API v4 under
// /v4/ and the control API under /_emulator/. It is safe for concurrent use.
type Server struct {
	log    *slog.Logger
	now    func() time.Time
	gov    *governor
	faults faultSet
	saver  *saver   // nil without XLSXPath
	auth   authGate // Bearer tokens required when it has a checker (auth.go)

	mu    sync.RWMutex
	books map[string]*book
}

// New creates a Server. With Options.XLSXPath it loads the file if it exists;
// a file that cannot be read is an error rather than something to overwrite.
func New(opts Options) (*Server, error) {
	q := DefaultQuota()
	if opts.Quota != nil {
		q = *opts.Quota
	}
	s := &Server{
		log:   opts.Logger,
		now:   opts.Now,
		gov:   newGovernor(q),
		books: map[string]*book{},
	}
	s.auth.checker = opts.Auth
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if opts.XLSXPath != "" {
		if opts.SpreadsheetID == "" {
			return nil, errors.New("sheets emulator: XLSXPath needs SpreadsheetID")
		}
		b, err := loadXLSXFile(opts.XLSXPath, opts.SpreadsheetID)
		switch {
		case err == nil:
			s.books[b.id] = b
			s.log.Info("sheets emulator: loaded spreadsheet", "path", opts.XLSXPath,
				"spreadsheet_id", b.id, "sheets", len(b.sheets))
		case errors.Is(err, errNoFile):
		default:
			return nil, fmt.Errorf("sheets emulator: load %s: %w", opts.XLSXPath, err)
		}
		debounce := opts.SaveDebounce
		if debounce <= 0 {
			debounce = time.Second
		}
		s.saver = newSaver(s, opts.XLSXPath, opts.SpreadsheetID, debounce)
	}
	return s, nil
}

// Close saves pending changes of the persisted spreadsheet and stops saving.
// The Server keeps serving from memory afterwards.
func (s *Server) Close() error {
	if s.saver == nil {
		return nil
	}
	return s.saver.close()
}

// changed records that b was modified.
func (s *Server) changed(b *book) {
	if s.saver != nil && b.id == s.saver.id {
		s.saver.mark()
	}
}

func (s *Server) lookup(id string) *book {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.books[id]
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The sandbox page calls the emulator from the browser.
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Goog-Api-Key")
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	p := r.URL.EscapedPath()
	switch {
	case strings.HasPrefix(p, "/v4/spreadsheets/"):
		s.serveAPI(w, r, strings.TrimPrefix(p, "/v4/spreadsheets/"))
	case p == "/_emulator" || strings.HasPrefix(p, "/_emulator/"):
		s.serveControl(w, r, strings.TrimPrefix(strings.TrimPrefix(p, "/_emulator"), "/"))
	default:
		writeAPIError(w, newAPIError(http.StatusNotFound, "Method not found."))
	}
}

// route is one recognized API call.
type route struct {
	method string // one of the Method… constants
	id     string // spreadsheet id
	rng    string // unescaped A1 range for per-range methods
}

// parseRoute recognizes the paths the Go client produces, e.g.
// "ID/values/Sheet1%21A1%3AB2:append". The range is path-escaped by the
// client; callers such as curl may leave ":" unescaped, so the verb is
// taken from the end of the path.
func parseRoute(httpMethod, p string) (route, bool) {
	id, rest := p, ""
	if i := strings.IndexAny(p, "/:"); i >= 0 {
		id, rest = p[:i], p[i:]
	}
	if id == "" {
		return route{}, false
	}
	uid, err := url.PathUnescape(id)
	if err != nil {
		return route{}, false
	}
	rt := route{id: uid}
	switch {
	case rest == "" && httpMethod == http.MethodGet:
		rt.method = MethodGet
	case rest == ":batchUpdate" && httpMethod == http.MethodPost:
		rt.method = MethodBatchUpdate
	case rest == "/values:batchGet" && httpMethod == http.MethodGet:
		rt.method = MethodValuesBatchGet
	case rest == "/values:batchUpdate" && httpMethod == http.MethodPost:
		rt.method = MethodValuesBatchUpdate
	case rest == "/values:batchClear" && httpMethod == http.MethodPost:
		rt.method = MethodValuesBatchClear
	case strings.HasPrefix(rest, "/values/"):
		esc := strings.TrimPrefix(rest, "/values/")
		switch {
		case strings.HasSuffix(esc, ":append") && httpMethod == http.MethodPost:
			rt.method, esc = MethodValuesAppend, strings.TrimSuffix(esc, ":append")
		case strings.HasSuffix(esc, ":clear") && httpMethod == http.MethodPost:
			rt.method, esc = MethodValuesClear, strings.TrimSuffix(esc, ":clear")
		case httpMethod == http.MethodGet:
			rt.method = MethodValuesGet
		case httpMethod == http.MethodPut:
			rt.method = MethodValuesUpdate
		default:
			return route{}, false
		}
		if rt.rng, err = url.PathUnescape(esc); err != nil || rt.rng == "" {
			return route{}, false
		}
	default:
		return route{}, false
	}
	return rt, true
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, p string) {
	defer func() {
		// A bug here must look like a Google 500 to the client under test,
		// not like a dropped connection; the stack goes to the log.
		if v := recover(); v != nil {
			s.log.Error("sheets emulator: panic", "method", r.Method, "path", p, "panic", v, "stack", string(debug.Stack()))
			writeAPIError(w, newAPIError(http.StatusInternalServerError, "Internal error encountered."))
		}
	}()
	rt, ok := parseRoute(r.Method, p)
	if !ok {
		writeAPIError(w, newAPIError(http.StatusNotFound, "Method not found."))
		return
	}
	if !s.authenticate(w, r, rt.method) {
		return
	}
	s.gov.countMethod(rt.method)
	delay, status := s.faults.decide(rt.method, s.now())
	if err := sleep(r.Context(), delay); err != nil {
		return // the caller is gone
	}
	if status != 0 {
		s.gov.countInjected(status)
		writeAPIError(w, newAPIError(status, "%s", defaultMessage(status)))
		return
	}
	if e := s.gov.admit(s.quotaCaller(r), methodKinds[rt.method], s.now()); e != nil {
		writeAPIError(w, e)
		return
	}
	b := s.lookup(rt.id)
	if b == nil {
		writeAPIError(w, errSpreadsheetNotFound)
		return
	}
	q := r.URL.Query()
	var (
		body []byte
		e    *apiError
	)
	switch rt.method {
	case MethodGet:
		body, e = s.spreadsheetGet(b, q)
	case MethodBatchUpdate:
		body, e = withRequest(r, func(req *batchUpdateSpreadsheetRequest) ([]byte, *apiError) {
			return s.spreadsheetBatchUpdate(b, req)
		})
	case MethodValuesGet:
		body, e = s.valuesGet(b, rt.rng, q)
	case MethodValuesBatchGet:
		body, e = s.valuesBatchGet(b, q)
	case MethodValuesUpdate:
		body, e = withRequest(r, func(req *valueRange) ([]byte, *apiError) {
			return s.valuesUpdate(b, rt.rng, q, req)
		})
	case MethodValuesBatchUpdate:
		body, e = withRequest(r, func(req *batchUpdateValuesRequest) ([]byte, *apiError) {
			return s.valuesBatchUpdate(b, req)
		})
	case MethodValuesAppend:
		body, e = withRequest(r, func(req *valueRange) ([]byte, *apiError) {
			return s.valuesAppend(b, rt.rng, q, req)
		})
	case MethodValuesClear:
		body, e = s.valuesClear(b, rt.rng)
	case MethodValuesBatchClear:
		body, e = withRequest(r, func(req *batchClearValuesRequest) ([]byte, *apiError) {
			return s.valuesBatchClear(b, req)
		})
	}
	if e != nil {
		writeAPIError(w, e)
		return
	}
	writeJSONBytes(w, http.StatusOK, body)
}

// withRequest decodes the JSON body into a new T and calls fn with it.
func withRequest[T any](r *http.Request, fn func(*T) ([]byte, *apiError)) ([]byte, *apiError) {
	req := new(T)
	data, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		return nil, badRequest("Request body could not be read: %v", err)
	}
	if len(strings.TrimSpace(string(data))) > 0 {
		if err := json.Unmarshal(data, req); err != nil {
			return nil, badRequest("Invalid JSON payload received. %v", err)
		}
	}
	return fn(req)
}

func writeJSONBytes(w http.ResponseWriter, code int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeAPIError(w, newAPIError(http.StatusInternalServerError, "encode response: %v", err))
		return
	}
	writeJSONBytes(w, code, body)
}

// Load creates or replaces the spreadsheet id with data. Sheets without
// RowCount/ColumnCount get Google's 1000×26 grid or the size of their data.
func (s *Server) Load(id string, data Spreadsheet) error {
	if id == "" {
		return errors.New("sheets emulator: load: empty spreadsheet id")
	}
	nb, err := bookFromSpreadsheet(id, data)
	if err != nil {
		return fmt.Errorf("sheets emulator: load %s: %w", id, err)
	}
	s.install(nb)
	return nil
}

// install puts nb in place of the spreadsheet with its id. An existing book
// is updated under its own lock so that requests in flight finish first.
func (s *Server) install(nb *book) {
	s.mu.Lock()
	b := s.books[nb.id]
	if b == nil {
		s.books[nb.id] = nb
		s.mu.Unlock()
		s.changed(nb)
		return
	}
	s.mu.Unlock()
	b.mu.Lock()
	b.title, b.sheets = nb.title, nb.sheets
	b.version++
	b.mu.Unlock()
	s.changed(b)
}

// Snapshot returns the current content of the spreadsheet id.
func (s *Server) Snapshot(id string) (Spreadsheet, error) {
	b := s.lookup(id)
	if b == nil {
		return Spreadsheet{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.snapshot(), nil
}

// Delete removes the spreadsheet id. The persisted spreadsheet's file is
// removed too, so that a restart does not bring it back.
func (s *Server) Delete(id string) error {
	s.mu.Lock()
	b := s.books[id]
	delete(s.books, id)
	s.mu.Unlock()
	if b == nil {
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	s.changed(b)
	return nil
}

// SpreadsheetIDs lists the spreadsheets, sorted.
func (s *Server) SpreadsheetIDs() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ids := make([]string, 0, len(s.books))
	for id := range s.books {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Reset drops every spreadsheet, fault, statistic and quota usage.
func (s *Server) Reset() {
	s.mu.Lock()
	old := s.books
	s.books = map[string]*book{}
	s.mu.Unlock()
	s.faults.clear()
	s.gov.resetAll()
	if s.saver != nil {
		if b := old[s.saver.id]; b != nil {
			s.changed(b)
		}
	}
}

// Stats returns the request counters.
func (s *Server) Stats() Stats { return s.gov.snapshot() }

// ResetStats zeroes the counters; quota usage is kept.
func (s *Server) ResetStats() { s.gov.resetStats() }

// SetQuota replaces the enforced quota; usage within the window is kept.
func (s *Server) SetQuota(q Quota) { s.gov.setQuota(q) }

// Quota returns the enforced quota.
func (s *Server) Quota() Quota { return s.gov.getQuota() }

// InjectFault adds a fault rule; see Fault.
func (s *Server) InjectFault(f Fault) error { return s.faults.add(f, s.now()) }

// ClearFaults removes every fault rule.
func (s *Server) ClearFaults() { s.faults.clear() }

// Faults lists the active fault rules with their remaining count and time.
func (s *Server) Faults() []Fault { return s.faults.list(s.now()) }
