package gemini

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"time"
)

const controlPrefix = "/_emulator/"

// RequestLogLimit is how many API calls the request log keeps; older ones
// are dropped (the stats keep counting them).
const RequestLogLimit = 2000

// DefaultRetryDelay is the RetryInfo delay of an injected 429 when the
// fault does not set one.
const DefaultRetryDelay = time.Second

// LoggedRequest is one API call in the request log.
type LoggedRequest struct {
	ID     int64     `json:"id"`
	Time   time.Time `json:"time"`
	Model  string    `json:"model"`
	Method string    `json:"method"`
	Status int       `json:"status"`
	// Request is the request body as the client sent it (null for GETs; a
	// JSON string when the body was not valid JSON).
	Request json.RawMessage `json:"request"`
	// ResponseText is the answer text for generate calls (after
	// maxOutputTokens and stop sequences), a short summary for the others.
	ResponseText string `json:"response_text"`
	// Error is "STATUS: message" for failed calls.
	Error      string `json:"error,omitempty"`
	DurationMS int64  `json:"duration_ms"`
}

// GenerateRequest decodes the body of a logged generateContent or
// streamGenerateContent call, so a test can inspect the system instruction
// and the turns the client sent.
func (l LoggedRequest) GenerateRequest() (GenerateRequest, error) {
	var req GenerateRequest
	if err := json.Unmarshal(l.Request, &req); err != nil {
		return GenerateRequest{}, fmt.Errorf("gemini: decode logged request %d: %w", l.ID, err)
	}
	return req, nil
}

// RequestFilter selects entries of the request log. Zero fields match all.
type RequestFilter struct {
	Model  string // with or without "models/"
	Method string // e.g. MethodGenerateContent
	Limit  int    // keep only the newest Limit matches
}

// Stats counts API calls since start or the last Reset.
type Stats struct {
	Requests int64            `json:"requests"`
	InFlight int64            `json:"in_flight"`
	ByStatus map[string]int64 `json:"by_status"`
	ByMethod map[string]int64 `json:"by_method"`
	ByModel  map[string]int64 `json:"by_model"`
}

// Fault makes matching API calls fail in Google's error shape. It applies to
// calls on a model (generate, stream, embed, count tokens), never to model
// listing. With Count and Duration both zero it lasts until ClearFaults;
// with both set it ends at whichever comes first.
type Fault struct {
	Status     int           // 429, 500, 503 or 504
	Count      int           // fail the next Count matching calls
	Duration   time.Duration // fail matching calls for this long
	RetryDelay time.Duration // RetryInfo.retryDelay of a 429; 0 means DefaultRetryDelay
	Models     []string      // empty matches every model
	Methods    []string      // empty matches every method
	// AfterChunks > 0 makes it a mid-stream fault: it hits only
	// streamGenerateContent?alt=sse calls, which answer 200 and send this
	// many chunks (or all but the last, when the answer has fewer), then an
	// error event in Google's shape, data: {"error":{…}} — or, with Drop,
	// cut the connection without a word.
	AfterChunks int
	Drop        bool
}

// ActiveFault is a fault rule as the control API lists it.
type ActiveFault struct {
	ID          int       `json:"id"`
	Status      int       `json:"status"`
	Remaining   int       `json:"remaining,omitempty"`
	Until       time.Time `json:"until,omitzero"`
	RetryDelayS float64   `json:"retry_delay_s"`
	Models      []string  `json:"models,omitempty"`
	Methods     []string  `json:"methods,omitempty"`
	AfterChunks int       `json:"after_chunks,omitempty"`
	Drop        bool      `json:"drop,omitempty"`
}

type faultRule struct {
	ActiveFault
	limited bool // Remaining counts down; the rule ends at zero
}

func (f *faultRule) matches(method, model string, now time.Time) bool {
	return (len(f.Models) == 0 || slices.Contains(f.Models, model)) &&
		(len(f.Methods) == 0 || slices.Contains(f.Methods, method)) &&
		(f.Until.IsZero() || now.Before(f.Until))
}

func (f *faultRule) over(now time.Time) bool {
	return (f.limited && f.Remaining <= 0) || (!f.Until.IsZero() && !now.Before(f.Until))
}

// state is everything Reset clears; guarded by Server.mu.
type state struct {
	latency, jitter time.Duration
	faults          []*faultRule
	nextFaultID     int
	outcomes        []*outcomeRule
	nextOutcomeID   int
	log             []LoggedRequest
	nextRequestID   int64
	requests        int64
	byStatus        map[string]int64
	byMethod        map[string]int64
	byModel         map[string]int64
	media           map[string]string // what registered bytes contain, by SHA-256 (media.go)
}

func newState(latency, jitter time.Duration) state {
	return state{
		latency:  latency,
		jitter:   jitter,
		byStatus: make(map[string]int64),
		byMethod: make(map[string]int64),
		byModel:  make(map[string]int64),
	}
}

// record adds a finished call to the log and the stats.
func (s *Server) record(c *call) {
	entry := LoggedRequest{
		Time:         c.start,
		Model:        c.model,
		Method:       c.method,
		Status:       c.status,
		Request:      rawJSON(c.body),
		ResponseText: c.responseText,
		Error:        c.errText,
		DurationMS:   time.Since(c.start).Milliseconds(),
	}
	s.mu.Lock()
	st := &s.state
	st.nextRequestID++
	entry.ID = st.nextRequestID
	st.log = append(st.log, entry)
	if len(st.log) > RequestLogLimit {
		st.log = slices.Delete(st.log, 0, len(st.log)-RequestLogLimit)
	}
	st.requests++
	st.byStatus[strconv.Itoa(c.status)]++
	st.byMethod[c.method]++
	if c.model != "" {
		st.byModel[c.model]++
	}
	s.mu.Unlock()

	s.logger.Debug("gemini emulator call",
		slog.Int64("request_id", entry.ID),
		slog.String("method", c.method),
		slog.String("model", c.model),
		slog.Int("status", c.status),
		slog.Int64("duration_ms", entry.DurationMS),
		slog.String("error", c.errText))
}

// rawJSON keeps a valid JSON body as is and wraps anything else in a JSON
// string, so the log itself always encodes.
func rawJSON(body []byte) json.RawMessage {
	switch {
	case len(body) == 0:
		return nil
	case json.Valid(body):
		return body
	}
	b, _ := json.Marshal(string(body))
	return b
}

// Requests returns the logged API calls that match f, oldest first.
func (s *Server) Requests(f RequestFilter) []LoggedRequest {
	model := trimModel(f.Model)
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []LoggedRequest
	for _, e := range s.state.log {
		if (model == "" || e.Model == model) && (f.Method == "" || e.Method == f.Method) {
			out = append(out, e)
		}
	}
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[len(out)-f.Limit:]
	}
	return out
}

// Stats returns a snapshot of the call counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{
		Requests: s.state.requests,
		InFlight: s.inFlight.Load(),
		ByStatus: cloneCounts(s.state.byStatus),
		ByMethod: cloneCounts(s.state.byMethod),
		ByModel:  cloneCounts(s.state.byModel),
	}
}

func cloneCounts(m map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

var errBadFault = errors.New("gemini: invalid fault")

// InjectFault adds a fault rule and returns its id. Rules are tried in the
// order they were added; the first one that matches a call fails it.
func (s *Server) InjectFault(f Fault) (int, error) {
	switch {
	case !f.Drop && f.Status != http.StatusTooManyRequests && f.Status != http.StatusInternalServerError &&
		f.Status != http.StatusServiceUnavailable && f.Status != http.StatusGatewayTimeout:
		return 0, fmt.Errorf("%w: status %d is not one of 429, 500, 503, 504", errBadFault, f.Status)
	case f.Count < 0 || f.Duration < 0 || f.RetryDelay < 0 || f.AfterChunks < 0:
		return 0, fmt.Errorf("%w: count, duration, retry delay and after_chunks must not be negative", errBadFault)
	case f.Drop && f.AfterChunks == 0:
		return 0, fmt.Errorf("%w: drop needs after_chunks (the chunks sent before the connection is cut)", errBadFault)
	}
	if f.RetryDelay == 0 {
		f.RetryDelay = DefaultRetryDelay
	}
	rule := &faultRule{
		ActiveFault: ActiveFault{
			Status:      f.Status,
			Remaining:   f.Count,
			RetryDelayS: f.RetryDelay.Seconds(),
			Methods:     slices.Clone(f.Methods),
			AfterChunks: f.AfterChunks,
			Drop:        f.Drop,
		},
		limited: f.Count > 0,
	}
	for _, m := range f.Models {
		rule.Models = append(rule.Models, trimModel(m))
	}
	if f.Duration > 0 {
		rule.Until = time.Now().Add(f.Duration)
	}
	s.mu.Lock()
	s.state.nextFaultID++
	rule.ID = s.state.nextFaultID
	s.state.faults = append(s.state.faults, rule)
	s.mu.Unlock()
	s.logger.Info("gemini emulator fault injected",
		slog.Int("fault_id", rule.ID), slog.Int("status", f.Status), slog.Int("count", f.Count),
		slog.Duration("duration", f.Duration), slog.Any("models", rule.Models), slog.Any("methods", rule.Methods))
	return rule.ID, nil
}

// ClearFaults removes every fault rule.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	s.state.faults = nil
	s.mu.Unlock()
	s.logger.Info("gemini emulator faults cleared")
}

// Faults lists the fault rules still in force.
func (s *Server) Faults() []ActiveFault {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []ActiveFault{}
	for _, f := range s.state.faults {
		if !f.over(now) {
			out = append(out, f.ActiveFault)
		}
	}
	return out
}

// takeFault returns the error for a call if a fault rule claims it
// (mid-stream rules are takeStreamFault's).
func (s *Server) takeFault(method, model string) *apiError {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.state
	st.faults = slices.DeleteFunc(st.faults, func(f *faultRule) bool { return f.over(now) })
	for _, f := range st.faults {
		if f.AfterChunks > 0 || !f.matches(method, model, now) {
			continue
		}
		if f.limited {
			f.Remaining--
		}
		delay := time.Duration(f.RetryDelayS * float64(time.Second))
		return errInjected(f.Status, delay, model)
	}
	return nil
}

// SetLatency changes the latency added to generate calls. Each call waits
// latency plus a uniformly random offset in [-jitter, +jitter] (never less
// than zero); randomness, not a fixed pattern, so load tests see a spread.
func (s *Server) SetLatency(latency, jitter time.Duration) {
	s.mu.Lock()
	s.state.latency, s.state.jitter = max(latency, 0), max(jitter, 0)
	s.mu.Unlock()
	s.logger.Info("gemini emulator latency set", slog.Duration("latency", latency), slog.Duration("jitter", jitter))
}

// Latency returns the current latency and jitter.
func (s *Server) Latency() (latency, jitter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state.latency, s.state.jitter
}

func (s *Server) pickLatency() time.Duration {
	latency, jitter := s.Latency()
	if jitter > 0 {
		latency += time.Duration(rand.Int64N(int64(2*jitter)+1)) - jitter
	}
	return max(latency, 0)
}

// Reset clears the request log, the stats and the faults, and restores the
// latency and the models of Options. Request ids keep increasing across resets so a poller
// never mistakes a new call for one it has seen.
func (s *Server) Reset() {
	s.mu.Lock()
	next := s.state.nextRequestID
	nextFault := s.state.nextFaultID
	nextOutcome := s.state.nextOutcomeID
	s.state = newState(s.baseLatency, s.baseJitter)
	s.state.nextRequestID, s.state.nextFaultID, s.state.nextOutcomeID = next, nextFault, nextOutcome
	s.mu.Unlock()
	s.models.set(s.models.base)
	s.logger.Info("gemini emulator reset")
}

// Control API over HTTP: the same operations for the sandbox's web page, the
// load tool and tests in other processes. See the package documentation.

type faultJSON struct {
	Status      int      `json:"status"`
	Count       int      `json:"count"`
	DurationMS  int64    `json:"duration_ms"`
	RetryDelayS float64  `json:"retry_delay_s"`
	Models      []string `json:"models"`
	Methods     []string `json:"methods"`
	AfterChunks int      `json:"after_chunks"`
	Drop        bool     `json:"drop"`
}

type latencyJSON struct {
	MS       int64 `json:"ms"`
	JitterMS int64 `json:"jitter_ms"`
}

func (s *Server) controlMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_emulator/requests", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f := RequestFilter{Model: q.Get("model"), Method: q.Get("method")}
		if v := q.Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				controlError(w, http.StatusBadRequest, "limit must be a non-negative integer")
				return
			}
			f.Limit = n
		}
		out := s.Requests(f)
		if out == nil {
			out = []LoggedRequest{}
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("GET /_emulator/stats", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Stats())
	})
	mux.HandleFunc("GET /_emulator/faults", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Faults())
	})
	mux.HandleFunc("POST /_emulator/faults", func(w http.ResponseWriter, r *http.Request) {
		var fj faultJSON
		if err := decodeControl(r, &fj); err != nil {
			controlError(w, http.StatusBadRequest, err.Error())
			return
		}
		id, err := s.InjectFault(Fault{
			Status:      fj.Status,
			Count:       fj.Count,
			Duration:    time.Duration(fj.DurationMS) * time.Millisecond,
			RetryDelay:  time.Duration(fj.RetryDelayS * float64(time.Second)),
			Models:      fj.Models,
			Methods:     fj.Methods,
			AfterChunks: fj.AfterChunks,
			Drop:        fj.Drop,
		})
		if err != nil {
			controlError(w, http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, http.StatusCreated, struct {
			ID int `json:"id"`
		}{id})
	})
	mux.HandleFunc("DELETE /_emulator/faults", func(w http.ResponseWriter, r *http.Request) {
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /_emulator/latency", func(w http.ResponseWriter, r *http.Request) {
		latency, jitter := s.Latency()
		writeJSON(w, http.StatusOK, latencyJSON{MS: latency.Milliseconds(), JitterMS: jitter.Milliseconds()})
	})
	mux.HandleFunc("POST /_emulator/latency", func(w http.ResponseWriter, r *http.Request) {
		var lj latencyJSON
		if err := decodeControl(r, &lj); err != nil {
			controlError(w, http.StatusBadRequest, err.Error())
			return
		}
		if lj.MS < 0 || lj.JitterMS < 0 {
			controlError(w, http.StatusBadRequest, "ms and jitter_ms must not be negative")
			return
		}
		s.SetLatency(time.Duration(lj.MS)*time.Millisecond, time.Duration(lj.JitterMS)*time.Millisecond)
		writeJSON(w, http.StatusOK, lj)
	})
	s.mountModelControl(mux) // models.go
	mux.HandleFunc("POST /_emulator/reset", func(w http.ResponseWriter, r *http.Request) {
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	})
	s.outcomeRoutes(mux)
	s.mediaRoutes(mux) // media.go
	mux.HandleFunc("/_emulator/", func(w http.ResponseWriter, r *http.Request) {
		controlError(w, http.StatusNotFound, "unknown control endpoint "+r.Method+" "+r.URL.Path)
	})
	return mux
}

func decodeControl(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode body: %w", err)
	}
	return nil
}

func controlError(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, struct {
		Error string `json:"error"`
	}{message})
}
