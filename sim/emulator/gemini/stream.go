package gemini

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// streamGenerateContent?alt=sse, as Google sends it: 200, Content-Type
// text/event-stream, one "data: <GenerateContentResponse>\r\n\r\n" event
// per chunk. Every chunk has the candidate's next piece of text, the
// modelVersion and the responseId; usageMetadata carries the prompt's
// tokens, and the candidates' tokens and the finishReason come with the
// last chunk. The latency of the call is spread over the stream: the first
// chunk after firstChunkShare of it, the rest evenly between the chunks, so
// a streamed answer ends when the unary one would.
//
// A mid-stream fault (Fault.AfterChunks) sends that many chunks and then an
// error event, data: {"error":{"code","message","status"}} — what genai
// returns as a genai.APIError from the iterator — or, with Fault.Drop,
// cuts the connection (the client reads an unexpected EOF).

const (
	// chunkRunes is the size of a chunk; maxChunks bounds their number.
	chunkRunes = 60
	maxChunks  = 40
	// firstChunkShare of a call's latency passes before its first chunk.
	firstChunkShare = 0.3
)

// streamSSE writes the chunks of a generate call as server-sent events.
func (s *Server) streamSSE(w http.ResponseWriter, r *http.Request, c *call, responses []generateResponse) {
	fault := s.takeStreamFault(c.model)
	latency := s.pickLatency()
	first := time.Duration(float64(latency) * firstChunkShare)
	gap := time.Duration(0)
	if len(responses) > 1 {
		gap = (latency - first) / time.Duration(len(responses)-1)
	}
	if err := s.wait(r.Context(), first); err != nil {
		if errors.Is(err, errServerClosed) {
			c.fail(w, errUnavailable("The service is currently unavailable."))
			return
		}
		c.status, c.errText = statusClientClosed, "client gone: "+err.Error()
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	var sent strings.Builder
	for i, resp := range responses {
		if i > 0 {
			if err := s.wait(r.Context(), gap); err != nil {
				s.endStream(w, c, err, sent.String())
				return
			}
		}
		if fault != nil && i == min(fault.AfterChunks, len(responses)-1) {
			s.breakStream(w, c, fault, i, sent.String())
			return
		}
		data, err := json.Marshal(resp)
		if err != nil {
			c.status, c.errText = http.StatusInternalServerError, "encode chunk: "+err.Error()
			return
		}
		if _, err := fmt.Fprintf(w, "data: %s\r\n\r\n", data); err != nil {
			c.status, c.errText = statusClientClosed, "write chunk: "+err.Error()
			return
		}
		if err := rc.Flush(); err != nil {
			c.status, c.errText = statusClientClosed, "flush chunk: "+err.Error()
			return
		}
		for _, cand := range resp.Candidates[:min(1, len(resp.Candidates))] {
			sent.WriteString(cand.Content.Text())
		}
	}
}

// endStream ends a stream whose wait between chunks was cut short: the
// client went away (nothing more to say) or the server is closing (an
// error event, as Google ends a stream it cannot finish).
func (s *Server) endStream(w http.ResponseWriter, c *call, err error, sent string) {
	c.responseText = sent
	if !errors.Is(err, errServerClosed) {
		c.status, c.errText = statusClientClosed, "client gone mid-stream: "+err.Error()
		return
	}
	e := errUnavailable("The service is currently unavailable.")
	c.status, c.errText = e.Code, "mid-stream: "+e.summary()
	writeErrorEvent(w, e)
}

// breakStream fails a stream after n chunks as fault says.
func (s *Server) breakStream(w http.ResponseWriter, c *call, fault *ActiveFault, n int, sent string) {
	c.responseText = sent
	if fault.Drop {
		c.errText = fmt.Sprintf("connection dropped after %d chunks (injected)", n)
		s.logger.Debug("gemini emulator drops a stream", "model", c.model, "chunks", n)
		panic(http.ErrAbortHandler) // net/http closes the connection; the deferred record runs
	}
	e := errInjected(fault.Status, time.Duration(fault.RetryDelayS*float64(time.Second)), c.model)
	c.status, c.errText = e.Code, fmt.Sprintf("mid-stream after %d chunks: %s", n, e.summary())
	writeErrorEvent(w, e)
}

// writeErrorEvent writes the event that ends a stream. It is not flushed
// here: the client stops reading at this event, so it must not see it before
// the call is in the request log, which the handler's deferred record writes
// just before net/http flushes the rest of the response.
func writeErrorEvent(w http.ResponseWriter, e *apiError) {
	data, _ := json.Marshal(struct {
		Error *apiError `json:"error"`
	}{e})
	_, _ = fmt.Fprintf(w, "data: %s\r\n\r\n", data)
}

// takeStreamFault returns the mid-stream fault rule that claims a stream
// on model, if any.
func (s *Server) takeStreamFault(model string) *ActiveFault {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.state
	st.faults = slices.DeleteFunc(st.faults, func(f *faultRule) bool { return f.over(now) })
	for _, f := range st.faults {
		if f.AfterChunks == 0 || !f.matches(MethodStreamGenerateContent, model, now) {
			continue
		}
		if f.limited {
			f.Remaining--
		}
		got := f.ActiveFault
		return &got
	}
	return nil
}
