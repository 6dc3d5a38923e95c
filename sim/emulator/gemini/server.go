package gemini

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a Server. The zero value accepts any API key (but
// still requires one), any model name and answers without added latency.
type Options struct {
	// APIKey is the only key accepted; empty accepts any non-empty key.
	APIKey string
	// Models is the allowlist of model names ("gemini-3-flash-preview" or
	// "models/gemini-3-flash-preview"): every other name is 404 NOT_FOUND,
	// as a retired model is on Google. Empty means DefaultModels. SetModels
	// changes it at run time.
	Models []string
	// Latency is added to every generate call; Jitter spreads it uniformly
	// over [Latency-Jitter, Latency+Jitter]. Both can be changed at run time
	// through the control API; Reset goes back to these values.
	Latency, Jitter time.Duration
	// Logger receives one debug record per API call and an info record per
	// control change; nil discards.
	Logger *slog.Logger
}

// Server is the Gemini API emulator, an http.Handler. Mount it at the root
// of a listener (httptest.NewServer(gemini.New(opts))) and point genai's
// HTTPOptions.BaseURL at it. It is safe for concurrent use; simulated
// latency is waited out per request, without holding any lock.
type Server struct {
	apiKey string
	models modelSet // the allowlist (models.go)
	// baseLatency and baseJitter come from Options; Reset restores them.
	baseLatency, baseJitter time.Duration
	logger                  *slog.Logger
	control                 *http.ServeMux
	done                    chan struct{}
	closing                 sync.Once
	inFlight                atomic.Int64

	mu    sync.Mutex
	state state
}

// New returns a Server configured by opts.
func New(opts Options) *Server {
	s := &Server{
		apiKey:      opts.APIKey,
		baseLatency: max(opts.Latency, 0),
		baseJitter:  max(opts.Jitter, 0),
		logger:      opts.Logger,
		done:        make(chan struct{}),
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	s.models.base = opts.Models
	if len(s.models.base) == 0 {
		s.models.base = DefaultModels
	}
	s.models.set(s.models.base)
	s.state = newState(s.baseLatency, s.baseJitter)
	s.control = s.controlMux()
	return s
}

// Close makes calls waiting on simulated latency, and all later API calls,
// fail with 503 UNAVAILABLE, so that an http.Server in front of the
// emulator shuts down without waiting out long simulated delays. The
// control API keeps working. Close is idempotent.
func (s *Server) Close() {
	s.closing.Do(func() { close(s.done) })
}

func (s *Server) closed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// ServeHTTP serves the Gemini API under /v1beta/ (also /v1/ and /v1alpha/)
// and the control API under /_emulator/.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setCORS(w, r)
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if strings.HasPrefix(r.URL.Path, controlPrefix) {
		s.control.ServeHTTP(w, r)
		return
	}
	s.serveAPI(w, r)
}

// setCORS allows browsers (the sandbox's web page) to call both APIs.
func setCORS(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS")
	if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
		h.Set("Access-Control-Allow-Headers", req)
	} else {
		h.Set("Access-Control-Allow-Headers", "Content-Type, x-goog-api-key, x-goog-api-client")
	}
	h.Set("Access-Control-Max-Age", "600")
}

// API method names, as used in the request log, stats and fault filters.
const (
	MethodGenerateContent       = "generateContent"
	MethodStreamGenerateContent = "streamGenerateContent"
	MethodEmbedContent          = "embedContent"
	MethodBatchEmbedContents    = "batchEmbedContents"
	MethodCountTokens           = "countTokens"
	MethodListModels            = "models.list"
	MethodGetModel              = "models.get"
	methodUnknown               = "unknown"
)

// statusClientClosed is logged for calls whose client went away (a
// cancelled context) before the answer was written; nothing is sent.
const statusClientClosed = 499

// maxBodyBytes bounds a request body: the real API's 100 MB of inline
// data (media.go), base64-encoded, and room for the rest.
const maxBodyBytes = MaxInlineBytes/3*4 + 8<<20

// call is one API request on its way through the emulator.
type call struct {
	start        time.Time
	method       string
	model        string
	body         []byte
	status       int
	responseText string
	errText      string
}

func (c *call) fail(w http.ResponseWriter, e *apiError) {
	c.status = e.Code
	c.errText = e.summary()
	writeAPIError(w, e)
}

// route is a parsed API path: /{version}/models[/{model}[:{action}]].
type route struct {
	version string
	model   string
	action  string
}

func parseRoute(path string) (route, bool) {
	version, rest, ok := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	if !ok || (version != "v1beta" && version != "v1" && version != "v1alpha") {
		return route{}, false
	}
	if rest == "models" {
		return route{version: version}, true
	}
	name, ok := strings.CutPrefix(rest, "models/")
	if !ok || name == "" {
		return route{}, false
	}
	rt := route{version: version, model: name}
	if i := strings.LastIndex(name, ":"); i >= 0 {
		rt.model, rt.action = name[:i], name[i+1:]
	}
	if rt.model == "" || strings.Contains(rt.model, "/") {
		return route{}, false
	}
	return rt, true
}

func (rt route) method() string {
	switch {
	case rt.model == "":
		return MethodListModels
	case rt.action == "":
		return MethodGetModel
	}
	switch rt.action {
	case MethodGenerateContent, MethodStreamGenerateContent, MethodEmbedContent, MethodBatchEmbedContents, MethodCountTokens:
		return rt.action
	}
	return methodUnknown
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	c := &call{start: time.Now(), status: http.StatusOK, method: methodUnknown}
	s.inFlight.Add(1)
	defer func() {
		s.inFlight.Add(-1)
		s.record(c)
	}()

	rt, ok := parseRoute(r.URL.Path)
	if ok {
		c.method, c.model = rt.method(), rt.model
	}
	wantVerb := http.MethodPost
	if c.method == MethodListModels || c.method == MethodGetModel {
		wantVerb = http.MethodGet
	}
	if !ok || c.method == methodUnknown || r.Method != wantVerb {
		c.fail(w, errNotFound("Method not found."))
		return
	}
	if e := s.authenticate(r); e != nil {
		c.fail(w, e)
		return
	}
	if s.closed() {
		c.fail(w, errUnavailable("The service is currently unavailable."))
		return
	}
	if r.Method == http.MethodPost {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				c.fail(w, errInvalidArgument(fmt.Sprintf("Request payload size exceeds the limit: %d bytes.", maxBodyBytes)))
				return
			}
			c.status, c.errText = statusClientClosed, "read body: "+err.Error()
			return
		}
		c.body = body
	}
	if e := s.checkModel(rt, c.method); e != nil {
		c.fail(w, e)
		return
	}

	switch c.method {
	case MethodListModels:
		s.listModels(w, r, c)
	case MethodGetModel:
		writeJSON(w, http.StatusOK, describeModel(c.model))
	case MethodGenerateContent:
		s.generate(w, r, c, false)
	case MethodStreamGenerateContent:
		s.generate(w, r, c, true)
	case MethodEmbedContent:
		s.embedContent(w, c)
	case MethodBatchEmbedContents:
		s.batchEmbedContents(w, c)
	case MethodCountTokens:
		s.countTokens(w, c)
	}
}

// authenticate checks the key the way the real API does: header
// x-goog-api-key (what genai sends) or query parameter key.
func (s *Server) authenticate(r *http.Request) *apiError {
	key := r.Header.Get("x-goog-api-key")
	if key == "" {
		key = r.URL.Query().Get("key")
	}
	switch {
	case key == "":
		return errMissingKey()
	case s.apiKey != "" && key != s.apiKey:
		return errInvalidKey()
	}
	return nil
}

// checkModel enforces the allowlist and that the model can do the method:
// embedding models ("…embedding…") only embed, the others only generate.
// countTokens works for both, as on the real API.
func (s *Server) checkModel(rt route, method string) *apiError {
	if method == MethodListModels {
		return nil
	}
	if !s.models.allows(rt.model) {
		if method == MethodGetModel {
			return errNotFound(fmt.Sprintf("models/%s is not found for API version %s.", rt.model, rt.version))
		}
		return errModelNotFound(rt.model, rt.version, method)
	}
	if method == MethodGetModel || method == MethodCountTokens {
		return nil
	}
	if !slices.Contains(supportedMethods(rt.model), method) {
		return errModelNotFound(rt.model, rt.version, method)
	}
	return nil
}

func isEmbeddingModel(model string) bool {
	return strings.Contains(model, "embedding")
}

func supportedMethods(model string) []string {
	if isEmbeddingModel(model) {
		return []string{MethodEmbedContent, MethodBatchEmbedContents, MethodCountTokens}
	}
	return []string{MethodGenerateContent, MethodCountTokens, MethodStreamGenerateContent}
}

// trimModel accepts a model name with or without the "models/" prefix.
func trimModel(m string) string {
	return strings.TrimPrefix(strings.TrimSpace(m), "models/")
}

func describeModel(name string) modelInfo {
	info := modelInfo{
		Name:                       "models/" + name,
		BaseModelID:                name,
		Version:                    "001",
		DisplayName:                name + " (emulated)",
		Description:                "Offline emulation of " + name + " for tests and the sandbox.",
		InputTokenLimit:            1048576,
		OutputTokenLimit:           65536,
		SupportedGenerationMethods: supportedMethods(name),
	}
	if isEmbeddingModel(name) {
		info.InputTokenLimit, info.OutputTokenLimit = 2048, 1
	}
	return info
}

func (s *Server) listModels(w http.ResponseWriter, r *http.Request, c *call) {
	names := s.models.list()
	q := r.URL.Query()
	offset, _ := strconv.Atoi(q.Get("pageToken"))
	size, _ := strconv.Atoi(q.Get("pageSize"))
	if size <= 0 {
		size = 50
	}
	offset = min(max(offset, 0), len(names))
	end := min(offset+size, len(names))
	resp := struct {
		Models        []modelInfo `json:"models"`
		NextPageToken string      `json:"nextPageToken,omitempty"`
	}{Models: []modelInfo{}}
	for _, n := range names[offset:end] {
		resp.Models = append(resp.Models, describeModel(n))
	}
	if end < len(names) {
		resp.NextPageToken = strconv.Itoa(end)
	}
	c.responseText = fmt.Sprintf("%d models", len(resp.Models))
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) generate(w http.ResponseWriter, r *http.Request, c *call, stream bool) {
	var req GenerateRequest
	if err := json.Unmarshal(c.body, &req); err != nil {
		c.fail(w, errInvalidArgument("Invalid JSON payload received. "+err.Error()))
		return
	}
	if e := validateGenerate(req); e != nil {
		c.fail(w, e)
		return
	}
	if e := validateMedia(req); e != nil { // media.go
		c.fail(w, e)
		return
	}
	if e := s.takeFault(c.method, c.model); e != nil {
		c.fail(w, e)
		return
	}
	latency := s.pickLatency()
	sse := stream && r.URL.Query().Get("alt") == "sse"
	if sse {
		latency = 0 // spread over the chunks (stream.go)
	}
	if err := s.wait(r.Context(), latency); err != nil {
		if errors.Is(err, errServerClosed) {
			c.fail(w, errUnavailable("The service is currently unavailable."))
			return
		}
		c.status, c.errText = statusClientClosed, "client gone: "+err.Error()
		return
	}

	answer, structured := s.answer(req) // media.go: what the media holds, structured output
	text, finish := shapeAnswer(req.GenerationConfig, answer, structured)
	sh := s.takeOutcome(c.model).shape(text, finish)
	text = sh.text
	c.responseText = text
	n := 1
	if req.GenerationConfig != nil && req.GenerationConfig.CandidateCount > 1 {
		n = req.GenerationConfig.CandidateCount
	}
	promptTokens := estimateTokens(req.SystemText())
	for _, ct := range req.Contents {
		promptTokens += estimateTokens(ct.Text())
	}
	responseID := rand.Text()
	build := func(text, finish string) generateResponse {
		resp := generateResponse{ModelVersion: c.model, ResponseID: responseID, PromptFeedback: feedbackFor(sh)}
		if sh.blockReason != "" {
			return resp // a blocked prompt gets no candidates
		}
		for i := range n {
			resp.Candidates = append(resp.Candidates, candidateFor(shaped{text: text, finish: finish, noContent: sh.noContent}, i))
		}
		return resp
	}

	if !stream {
		resp := build(text, sh.finish)
		resp.UsageMetadata = usage(promptTokens, n*estimateTokens(text))
		writeJSON(w, http.StatusOK, resp)
		return
	}

	chunks := splitChunks(text)
	responses := make([]generateResponse, len(chunks))
	var sent strings.Builder
	for i, chunk := range chunks {
		sent.WriteString(chunk)
		chunkFinish := ""
		if i == len(chunks)-1 {
			chunkFinish = sh.finish
		}
		responses[i] = build(chunk, chunkFinish)
		responses[i].UsageMetadata = usage(promptTokens, n*estimateTokens(sent.String()))
		if i < len(chunks)-1 {
			// Google counts the candidates' tokens in the last chunk only.
			responses[i].UsageMetadata = usage(promptTokens, 0)
		}
	}
	if !sse {
		// Without alt=sse the real API streams one JSON array of chunks.
		writeJSON(w, http.StatusOK, responses)
		return
	}
	s.streamSSE(w, r, c, responses) // stream.go
}

func usage(prompt, candidates int) usageMetadata {
	return usageMetadata{PromptTokenCount: prompt, CandidatesTokenCount: candidates, TotalTokenCount: prompt + candidates}
}

// validateGenerate rejects what the real API rejects and a client is likely
// to get wrong; messages follow the API's "* Field: problem" style.
func validateGenerate(req GenerateRequest) *apiError {
	if len(req.Contents) == 0 {
		return errInvalidArgument("* GenerateContentRequest.contents: contents is not specified\n")
	}
	for i, c := range req.Contents {
		switch c.Role {
		case "", roleUser, roleModel, "function":
		default:
			return errInvalidArgument("Please use a valid role: user, model.")
		}
		if len(c.Parts) == 0 {
			return errInvalidArgument(fmt.Sprintf("* GenerateContentRequest.contents[%d].parts: contents.parts must not be empty.\n", i))
		}
	}
	if req.SystemInstruction != nil && len(req.SystemInstruction.Parts) == 0 {
		return errInvalidArgument("* GenerateContentRequest.system_instruction.parts: contents.parts must not be empty.\n")
	}
	cfg := req.GenerationConfig
	if cfg == nil {
		return nil
	}
	switch {
	case cfg.Temperature != nil && (*cfg.Temperature < 0 || *cfg.Temperature > 2):
		return errInvalidArgument("* GenerateContentRequest.generation_config.temperature: must be in the range [0.0, 2.0].\n")
	case cfg.TopP != nil && (*cfg.TopP < 0 || *cfg.TopP > 1):
		return errInvalidArgument("* GenerateContentRequest.generation_config.top_p: must be in the range [0.0, 1.0].\n")
	case cfg.CandidateCount < 0 || cfg.CandidateCount > 8:
		return errInvalidArgument("* GenerateContentRequest.generation_config.candidate_count: must be in the range [1, 8].\n")
	case cfg.MaxOutputTokens < 0:
		return errInvalidArgument("* GenerateContentRequest.generation_config.max_output_tokens: must be positive.\n")
	case len(cfg.StopSequences) > 5:
		return errInvalidArgument("* GenerateContentRequest.generation_config.stop_sequences: at most 5 stop sequences are allowed.\n")
	}
	return nil
}

// shapeAnswer applies the generation config the way a model would: JSON
// mode wraps the answer as a JSON string, a stop sequence cuts it (finish
// STOP), and maxOutputTokens truncates it at a word boundary (finish
// MAX_TOKENS).
func shapeAnswer(cfg *GenerationConfig, answer string, structured bool) (string, string) {
	text, finish := answer, "STOP"
	if cfg == nil {
		return text, finish
	}
	if strings.HasPrefix(cfg.ResponseMIMEType, "application/json") && !structured {
		b, _ := json.Marshal(text)
		text = string(b)
	}
	for _, stop := range cfg.StopSequences {
		if i := strings.Index(text, stop); stop != "" && i >= 0 {
			text = text[:i]
		}
	}
	if cfg.MaxOutputTokens > 0 && estimateTokens(text) > cfg.MaxOutputTokens {
		r := []rune(text)[:cfg.MaxOutputTokens*4]
		cut := string(r)
		if i := strings.LastIndexAny(cut, " \n"); i > 0 {
			cut = cut[:i]
		}
		text, finish = cut, "MAX_TOKENS"
	}
	return text, finish
}

// splitChunks cuts text into pieces of about chunkRunes at whitespace (at
// most maxChunks), the way a streamed answer arrives: joined, they give
// text back exactly.
func splitChunks(text string) []string {
	r := []rune(text)
	n := min(maxChunks, max(1, len(r)/chunkRunes))
	if n == 1 {
		return []string{text}
	}
	var chunks []string
	start := 0
	for k := 1; k < n; k++ {
		cut := k * len(r) / n
		for cut < len(r) && r[cut-1] != ' ' && r[cut-1] != '\n' {
			cut++
		}
		if cut <= start || cut >= len(r) {
			continue
		}
		chunks = append(chunks, string(r[start:cut]))
		start = cut
	}
	return append(chunks, string(r[start:]))
}

func (s *Server) embedContent(w http.ResponseWriter, c *call) {
	var req embedRequest
	if err := json.Unmarshal(c.body, &req); err != nil {
		c.fail(w, errInvalidArgument("Invalid JSON payload received. "+err.Error()))
		return
	}
	if e := validateEmbed("EmbedContentRequest", req, c.model); e != nil {
		c.fail(w, e)
		return
	}
	if e := s.takeFault(c.method, c.model); e != nil {
		c.fail(w, e)
		return
	}
	c.responseText = "1 embedding"
	writeJSON(w, http.StatusOK, struct {
		Embedding embedding `json:"embedding"`
	}{embedding{Values: Embed(req.Content.Text(), req.OutputDimensionality)}})
}

// maxBatchEmbed is the real API's limit of requests in one batch.
const maxBatchEmbed = 100

func (s *Server) batchEmbedContents(w http.ResponseWriter, c *call) {
	var req batchEmbedRequest
	if err := json.Unmarshal(c.body, &req); err != nil {
		c.fail(w, errInvalidArgument("Invalid JSON payload received. "+err.Error()))
		return
	}
	switch {
	case len(req.Requests) == 0:
		c.fail(w, errInvalidArgument("* BatchEmbedContentsRequest.requests: at least one request is required.\n"))
		return
	case len(req.Requests) > maxBatchEmbed:
		c.fail(w, errInvalidArgument(fmt.Sprintf("* BatchEmbedContentsRequest.requests: at most %d requests can be in one batch.\n", maxBatchEmbed)))
		return
	}
	for i, r := range req.Requests {
		if e := validateEmbed(fmt.Sprintf("BatchEmbedContentsRequest.requests[%d]", i), r, c.model); e != nil {
			c.fail(w, e)
			return
		}
	}
	if e := s.takeFault(c.method, c.model); e != nil {
		c.fail(w, e)
		return
	}
	resp := struct {
		Embeddings []embedding `json:"embeddings"`
	}{}
	for _, r := range req.Requests {
		resp.Embeddings = append(resp.Embeddings, embedding{Values: Embed(r.Content.Text(), r.OutputDimensionality)})
	}
	c.responseText = fmt.Sprintf("%d embeddings", len(resp.Embeddings))
	writeJSON(w, http.StatusOK, resp)
}

func validateEmbed(field string, r embedRequest, model string) *apiError {
	switch {
	case r.Model != "" && trimModel(r.Model) != model:
		return errInvalidArgument(fmt.Sprintf("* %s.model: model must be the same as in the URL (models/%s).\n", field, model))
	case r.Content == nil || len(r.Content.Parts) == 0:
		return errInvalidArgument(fmt.Sprintf("* %s.content.parts: contents.parts must not be empty.\n", field))
	case r.OutputDimensionality < 0 || r.OutputDimensionality > MaxEmbeddingDimensions:
		return errInvalidArgument(fmt.Sprintf("* %s.output_dimensionality: must be in the range [1, %d].\n", field, MaxEmbeddingDimensions))
	}
	return nil
}

func (s *Server) countTokens(w http.ResponseWriter, c *call) {
	var req countTokensRequest
	if err := json.Unmarshal(c.body, &req); err != nil {
		c.fail(w, errInvalidArgument("Invalid JSON payload received. "+err.Error()))
		return
	}
	contents := req.Contents
	total := 0
	if g := req.GenerateContentRequest; g != nil {
		contents = append(contents, g.Contents...)
		total += estimateTokens(g.SystemText())
	}
	if len(contents) == 0 {
		c.fail(w, errInvalidArgument("* CountTokensRequest.contents: contents is not specified\n"))
		return
	}
	if e := s.takeFault(c.method, c.model); e != nil {
		c.fail(w, e)
		return
	}
	for _, ct := range contents {
		total += estimateTokens(ct.Text())
	}
	c.responseText = strconv.Itoa(total) + " tokens"
	writeJSON(w, http.StatusOK, struct {
		TotalTokens int `json:"totalTokens"`
	}{total})
}

var errServerClosed = errors.New("gemini emulator: closed")

// wait sleeps d of simulated latency, ending early when the client goes
// away or the server closes.
func (s *Server) wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return errServerClosed
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
