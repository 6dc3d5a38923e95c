package telegram

import (
	"strconv"
	"sync"
	"time"
)

// callLogLimit bounds the calls log; older entries are dropped.
const callLogLimit = 10000

// Call is one Bot API call as the calls log records it.
type Call struct {
	Method string `json:"method"`
	// Params: scalars as the strings received, object and array parameters
	// as JSON, uploaded files as {"upload","size","content_type"}.
	Params      map[string]any `json:"params"`
	Time        time.Time      `json:"time"`
	Status      int            `json:"status"`
	Description string         `json:"description,omitempty"`
}

// Stats counts Bot API calls since start or the last reset.
type Stats struct {
	Calls int64 `json:"calls"`
	// Sends counts successful message-sending calls (sendMessage,
	// sendDocument, sendPhoto, copyMessage, forwardMessage).
	Sends        int64            `json:"sends"`
	HTTP429      int64            `json:"http_429"`
	ByMethod     map[string]int64 `json:"by_method"`
	StatusCounts map[string]int64 `json:"status_counts"`
}

// Fault makes the next Count calls of Method fail with Status.
type Fault struct {
	// Method is a Bot API method name, or "*" for any method.
	Method string `json:"method"`
	Status int    `json:"status"`
	// Description defaults to Telegram's wording for Status.
	Description string `json:"description,omitempty"`
	// RetryAfter goes into parameters.retry_after (429 defaults to 1).
	RetryAfter int `json:"retry_after,omitempty"`
	// Count is how many calls fail: 0 means 1, a negative count means
	// every call until the faults are cleared.
	Count int `json:"count,omitempty"`
}

// callRecorder keeps the calls log, the counters and the injected faults.
// It has its own lock so recording never waits for chat state.
type callRecorder struct {
	mu     sync.Mutex
	calls  []Call // ring of callLogLimit entries starting at head
	head   int
	stats  Stats
	faults []*Fault
}

func newCallRecorder() *callRecorder {
	r := &callRecorder{}
	r.reset()
	return r
}

func (r *callRecorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls, r.head, r.faults = nil, 0, nil
	r.stats = Stats{ByMethod: make(map[string]int64), StatusCounts: make(map[string]int64)}
}

func (r *callRecorder) record(c Call, sends bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.calls) < callLogLimit {
		r.calls = append(r.calls, c)
	} else {
		r.calls[r.head] = c
		r.head = (r.head + 1) % callLogLimit
	}
	r.stats.Calls++
	r.stats.ByMethod[c.Method]++
	r.stats.StatusCounts[strconv.Itoa(c.Status)]++
	if c.Status == 429 {
		r.stats.HTTP429++
	}
	if sends && c.Status == 200 {
		r.stats.Sends++
	}
}

func (r *callRecorder) list(method string) []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Call, 0, len(r.calls))
	for i := range r.calls {
		c := r.calls[(r.head+i)%len(r.calls)]
		if method == "" || c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

func (r *callRecorder) snapshot() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats
	s.ByMethod = make(map[string]int64, len(r.stats.ByMethod))
	for k, v := range r.stats.ByMethod {
		s.ByMethod[k] = v
	}
	s.StatusCounts = make(map[string]int64, len(r.stats.StatusCounts))
	for k, v := range r.stats.StatusCounts {
		s.StatusCounts[k] = v
	}
	return s
}

func (r *callRecorder) addFault(f Fault) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if f.Count == 0 {
		f.Count = 1
	}
	r.faults = append(r.faults, &f)
}

func (r *callRecorder) clearFaults() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.faults = nil
}

// takeFault consumes one use of the first fault matching method: faults
// naming the method win over "*", older faults over newer ones.
func (r *callRecorder) takeFault(method string) *apiError {
	r.mu.Lock()
	defer r.mu.Unlock()
	pick := -1
	for i, f := range r.faults {
		if f.Method == method {
			pick = i
			break
		}
		if f.Method == "*" && pick < 0 {
			pick = i
		}
	}
	if pick < 0 {
		return nil
	}
	f := r.faults[pick]
	if f.Count > 0 {
		f.Count--
		if f.Count == 0 {
			r.faults = append(r.faults[:pick], r.faults[pick+1:]...)
		}
	}
	return faultError(*f)
}

func faultError(f Fault) *apiError {
	e := &apiError{code: f.Status, description: f.Description, retryAfter: f.RetryAfter}
	if e.code == 429 && e.retryAfter <= 0 {
		e.retryAfter = 1
	}
	if e.description == "" {
		switch e.code {
		case 429:
			e.description = "Too Many Requests: retry after " + strconv.Itoa(e.retryAfter)
		case 400:
			e.description = "Bad Request"
		case 401:
			e.description = "Unauthorized"
		case 403:
			e.description = "Forbidden: bot was blocked by the user"
		case 404:
			e.description = "Not Found"
		case 409:
			e.description = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
		case 502:
			e.description = "Bad Gateway"
		default:
			e.description = "Internal Server Error"
		}
	}
	return e
}
