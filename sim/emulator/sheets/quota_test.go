package sheets

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	sheetsapi "google.golang.org/api/sheets/v4"
)

// get issues a values.get as the user with the given Authorization header.
func get(t *testing.T, e *env, auth string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.ts.URL+"/v4/spreadsheets/"+bookID+"/values/A1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Error struct {
			Message string `json:"message"`
			Status  string `json:"status"`
		} `json:"error"`
	}
	data, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(data, &body)
	return resp.StatusCode, body.Error.Message
}

func TestQuotaPerUser(t *testing.T) {
	clock := newFakeClock()
	e := newEnv(t, Options{Now: clock.Now, Quota: &Quota{ReadsPerWindow: 5, Window: time.Second}})
	e.load(t, bookID, Spreadsheet{})

	for i := range 5 {
		if _, err := e.api.Spreadsheets.Values.Get(bookID, "A1").Do(); err != nil {
			t.Fatalf("read %d: %v", i+1, err)
		}
		clock.Advance(100 * time.Millisecond)
	}
	_, err := e.api.Spreadsheets.Values.BatchGet(bookID).Ranges("A1").Do()
	wantAPIError(t, err, 429, "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute per user' of service 'sheets.googleapis.com' for consumer 'project_number:000000000000'.")

	// Writes have their own, here unlimited, budget.
	if _, err := e.api.Spreadsheets.Values.Update(bookID, "A1", &sheetsapi.ValueRange{Values: [][]any{{"w"}}}).ValueInputOption("RAW").Do(); err != nil {
		t.Fatalf("write while reads are exhausted: %v", err)
	}
	// Another user has a budget of their own.
	if code, msg := get(t, e, "Bearer other-user"); code != 200 {
		t.Fatalf("other user: %d %s", code, msg)
	}
	// The window slides: the first read (t=0) leaves it at t=1s.
	clock.Advance(500 * time.Millisecond) // t = 1.0 s
	if _, err := e.api.Spreadsheets.Values.Get(bookID, "A1").Do(); err != nil {
		t.Fatalf("read after the window passed: %v", err)
	}
	_, err = e.api.Spreadsheets.Get(bookID).Do()
	wantAPIError(t, err, 429, "")

	st := e.srv.Stats()
	if st.Reads != 7 || st.Writes != 1 || st.HTTP429 != 2 || st.MaxReadsPerMin != 6 || st.WindowSeconds != 1 {
		t.Errorf("stats = %+v; want 7 reads (5+other user+1), 1 write, 2×429, max 6 in a window", st)
	}
	if st.ByMethod[MethodValuesGet] != 7 || st.ByMethod[MethodValuesBatchGet] != 1 || st.ByMethod[MethodGet] != 1 {
		t.Errorf("by_method = %v", st.ByMethod)
	}
}

func TestQuotaPerProject(t *testing.T) {
	clock := newFakeClock()
	e := newEnv(t, Options{Now: clock.Now, Quota: &Quota{ReadsPerWindow: 10, ProjectReadsPerWindow: 3, Window: time.Minute}})
	e.load(t, bookID, Spreadsheet{})
	for i, user := range []string{"Bearer a", "Bearer a", "Bearer b"} {
		if code, msg := get(t, e, user); code != 200 {
			t.Fatalf("request %d: %d %s", i, code, msg)
		}
	}
	code, msg := get(t, e, "Bearer c")
	if code != 429 || msg != "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute' of service 'sheets.googleapis.com' for consumer 'project_number:000000000000'." {
		t.Errorf("got %d %q", code, msg)
	}
}

func TestQuotaDefaultsAndUnlimited(t *testing.T) {
	srv, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := srv.Quota(); got != DefaultQuota() {
		t.Errorf("default quota = %+v", got)
	}
	clock := newFakeClock()
	e := newEnv(t, Options{Now: clock.Now, Quota: &Quota{}})
	e.load(t, bookID, Spreadsheet{})
	for i := range 200 {
		if code, msg := get(t, e, ""); code != 200 {
			t.Fatalf("request %d with unlimited quota: %d %s", i, code, msg)
		}
	}
	if st := e.srv.Stats(); st.MaxReadsPerMin != 200 {
		t.Errorf("max reads = %d, want 200", st.MaxReadsPerMin)
	}
}

func TestQuotaRealClock(t *testing.T) {
	// The same behaviour on the real clock, with a window long enough that
	// three local requests always fit in it.
	const window = 1500 * time.Millisecond
	e := newEnv(t, Options{Quota: &Quota{ReadsPerWindow: 2, Window: window}})
	e.load(t, bookID, Spreadsheet{})
	start := time.Now()
	for i := range 2 {
		if code, msg := get(t, e, ""); code != 200 {
			t.Fatalf("read %d: %d %s", i, code, msg)
		}
	}
	if code, _ := get(t, e, ""); code != 429 {
		t.Fatalf("third read in the window: %d, want 429", code)
	}
	time.Sleep(window - time.Since(start) + 50*time.Millisecond)
	if code, msg := get(t, e, ""); code != 200 {
		t.Fatalf("read after the window: %d %s", code, msg)
	}
}

func TestStatsMaxima(t *testing.T) {
	clock := newFakeClock()
	e := newEnv(t, Options{Now: clock.Now, Quota: &Quota{Window: time.Second}})
	e.load(t, bookID, Spreadsheet{})
	burst := func(n int) {
		for range n {
			if code, msg := get(t, e, ""); code != 200 {
				t.Fatalf("%d %s", code, msg)
			}
		}
	}
	burst(3) // t=0
	clock.Advance(500 * time.Millisecond)
	burst(2) // t=0.5: 5 in the window
	clock.Advance(700 * time.Millisecond)
	burst(4) // t=1.2: the window (0.2, 1.2] holds 2+4 = 6
	clock.Advance(2 * time.Second)
	burst(1)
	st := e.srv.Stats()
	if st.Reads != 10 || st.MaxReadsPerMin != 6 || st.MaxWritesPerMin != 0 {
		t.Errorf("stats = %+v, want 10 reads, max 6", st)
	}
	e.srv.ResetStats()
	if st := e.srv.Stats(); st.Reads != 0 || st.MaxReadsPerMin != 0 || len(st.ByMethod) != 0 {
		t.Errorf("after reset: %+v", st)
	}
}

func TestFaults(t *testing.T) {
	clock := newFakeClock()
	e := newEnv(t, Options{Now: clock.Now})
	e.load(t, bookID, Spreadsheet{})
	batchGet := func() error {
		_, err := e.api.Spreadsheets.Values.BatchGet(bookID).Ranges("A1").Do()
		return err
	}

	t.Run("count", func(t *testing.T) {
		if err := e.srv.InjectFault(Fault{Status: 500, Count: 2, Methods: []string{MethodValuesBatchGet}}); err != nil {
			t.Fatal(err)
		}
		wantAPIError(t, batchGet(), 500, "Internal error encountered.")
		wantAPIError(t, batchGet(), 500, "Internal error encountered.")
		if err := batchGet(); err != nil {
			t.Fatalf("third request: %v", err)
		}
	})
	t.Run("duration", func(t *testing.T) {
		if err := e.srv.InjectFault(Fault{Status: 429, DurationMS: 1000}); err != nil {
			t.Fatal(err)
		}
		wantAPIError(t, batchGet(), 429, "Resource has been exhausted (e.g. check quota).")
		clock.Advance(999 * time.Millisecond)
		wantAPIError(t, batchGet(), 429, "")
		clock.Advance(time.Millisecond)
		if err := batchGet(); err != nil {
			t.Fatalf("after the fault expired: %v", err)
		}
	})
	t.Run("until cleared", func(t *testing.T) {
		if err := e.srv.InjectFault(Fault{Status: 503}); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Hour)
		wantAPIError(t, batchGet(), 503, "")
		if n := len(e.srv.Faults()); n != 1 {
			t.Errorf("%d active faults, want 1", n)
		}
		e.srv.ClearFaults()
		if err := batchGet(); err != nil {
			t.Fatalf("after clearing: %v", err)
		}
	})
	t.Run("latency only", func(t *testing.T) {
		if err := e.srv.InjectFault(Fault{LatencyMS: 30, Count: 1}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := batchGet(); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < 30*time.Millisecond {
			t.Errorf("request took %v, want at least the injected 30ms", d)
		}
		if n := len(e.srv.Faults()); n != 0 {
			t.Errorf("%d faults left after the only delayed request", n)
		}
	})
	t.Run("invalid", func(t *testing.T) {
		for _, f := range []Fault{{Status: 200}, {}, {Status: 500, Methods: []string{"values.fetch"}}, {Status: 500, Count: -1}} {
			if err := e.srv.InjectFault(f); err == nil {
				t.Errorf("fault %+v accepted", f)
			}
		}
	})
	st := e.srv.Stats()
	if st.HTTP5xxInjected != 3 || st.HTTP429 != 2 {
		t.Errorf("stats = %+v, want 3 injected 5xx and 2×429", st)
	}
	// Failed requests are not charged to the quota.
	if st.Reads != 4 {
		t.Errorf("reads = %d, want the 4 that succeeded", st.Reads)
	}
}

func TestConcurrentAppends(t *testing.T) {
	e := newEnv(t, Options{})
	e.load(t, bookID, Spreadsheet{Sheets: []Sheet{{Title: "Log", Rows: [][]any{{"worker", "seq"}}}}})
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				_, err := e.api.Spreadsheets.Values.Append(bookID, "Log!A:B",
					&sheetsapi.ValueRange{Values: [][]any{{fmt.Sprint(w), fmt.Sprint(i)}}}).ValueInputOption("RAW").Do()
				if err != nil {
					errs <- err
				}
				// A reader in parallel must see whole rows only.
				vr, err := e.api.Spreadsheets.Values.Get(bookID, "Log!A:B").Do()
				if err != nil {
					errs <- err
					continue
				}
				for _, r := range vr.Values {
					if len(r) != 2 {
						errs <- fmt.Errorf("torn row %v", r)
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	rows := e.rows(t, bookID, "Log")
	if len(rows) != 1+workers*each {
		t.Fatalf("%d rows, want %d", len(rows), 1+workers*each)
	}
	seen := map[string]bool{}
	for _, r := range rows[1:] {
		k := fmt.Sprint(r...)
		if seen[k] {
			t.Errorf("row %v written twice", r)
		}
		seen[k] = true
	}
}

// controlCall performs a control API request and decodes the JSON answer.
func controlCall(t *testing.T, e *env, method, path string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: decode %q: %v", method, path, data, err)
		}
	}
	return resp.StatusCode
}
