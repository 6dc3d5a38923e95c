package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Errors of the Go control API; the HTTP control API answers 404 and 400.
var (
	ErrNotFound = errors.New("not found")
	ErrInvalid  = errors.New("invalid request")
)

// Server is the emulated Bot API plus its control API. Create it with New,
// serve it with any http.Server or httptest.Server, and Close it.
type Server struct {
	opts     Options
	bot      Sender
	limiter  *floodLimiter
	recorder *callRecorder
	control  *http.ServeMux
	client   *http.Client // webhook pushes

	ctx       context.Context // cancelled by Close
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once

	mu             sync.Mutex
	users          map[int64]*User
	chats          map[int64]*chatState
	orphanMsgIDs   map[int64]int64 // message ids of injected messages in unknown chats
	files          map[string]*storedFile
	filesByPath    map[string]*storedFile
	callbacks      map[string]*CallbackAnswer
	nextUpdateID   int64
	pending        []*queuedUpdate // in update_id order
	history        []*queuedUpdate // confirmed, for redelivery
	allowedUpdates []string
	updatesSignal  chan struct{} // closed when updates are queued or state resets
	chatsSignal    chan struct{} // closed when any transcript changes
	poll           *pollSlot     // the getUpdates call currently waiting
	webhook        webhookState
	webhookSignal  chan struct{} // closed when the webhook changes
	commands       map[string]CommandSet
	menuDefault    json.RawMessage
	menuByChat     map[int64]json.RawMessage
	seq            int64 // numbers callback query ids
	fileSeq        int64 // numbers stored files, oldest first
	gen            int64 // counts changes of the state Snapshot captures

	// Persistence (NewWithState). saveMu orders saves and guards savedGen
	// and filesDropped; it is taken before mu, never while holding it.
	autosavePath string
	dirty        chan struct{} // a token after each change, for the autosaver
	saveMu       sync.Mutex
	savedGen     int64 // gen of the last save to autosavePath
	filesDropped int   // files left out of the last save
}

// CommandSet is the command list setMyCommands installed for one scope
// and language.
type CommandSet struct {
	Scope        json.RawMessage `json:"scope"`
	LanguageCode string          `json:"language_code"`
	Commands     json.RawMessage `json:"commands"`
}

// pollSlot is the waiting getUpdates call. Closing conflict ends it with
// 409 and the description in reason.
type pollSlot struct {
	conflict chan struct{}
	reason   string
}

// endPollLocked ends the waiting getUpdates call, if any, with a 409.
func (s *Server) endPollLocked(reason string) {
	if s.poll != nil {
		s.poll.reason = reason
		close(s.poll.conflict)
		s.poll = nil
	}
}

// New returns a running emulator. It starts the webhook pusher, which
// Close stops. New panics if opts.StatePath is set: loading a state file
// can fail, so use NewWithState.
func New(opts Options) *Server {
	if opts.StatePath != "" {
		panic("telegram emulator: Options.StatePath needs NewWithState")
	}
	opts = opts.withDefaults()
	s := &Server{
		opts:     opts,
		bot:      Sender{ID: opts.BotID, IsBot: true, FirstName: opts.BotName, Username: opts.BotUsername},
		limiter:  newFloodLimiter(*opts.FloodLimits),
		recorder: newCallRecorder(),
		client:   &http.Client{Timeout: opts.WebhookTimeout},
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.updatesSignal = make(chan struct{})
	s.chatsSignal = make(chan struct{})
	s.webhookSignal = make(chan struct{})
	s.dirty = make(chan struct{}, 1)
	s.resetLocked()
	s.control = s.controlRoutes()
	s.wg.Add(1)
	go s.pushWebhooks()
	return s
}

// Close stops webhook delivery and ends waiting long polls with an empty
// result. With a StatePath it saves the state a last time; a failure is
// logged (call Flush first to get the error). The Server must not be used
// afterwards.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.cancel()
		s.wg.Wait()
		if err := s.Flush(); err != nil {
			s.opts.Logger.Error("telegram emulator: final save of state failed", "state_path", s.autosavePath, "error", err)
		}
	})
}

// Token returns the bot token the emulator accepts.
func (s *Server) Token() string { return s.opts.Token }

// resetLocked empties all state except the update_id counter.
func (s *Server) resetLocked() {
	s.users = make(map[int64]*User)
	s.chats = make(map[int64]*chatState)
	s.orphanMsgIDs = make(map[int64]int64)
	s.files = make(map[string]*storedFile)
	s.filesByPath = make(map[string]*storedFile)
	s.callbacks = make(map[string]*CallbackAnswer)
	s.pending, s.history, s.allowedUpdates = nil, nil, nil
	s.webhook = webhookState{}
	s.commands = make(map[string]CommandSet)
	s.menuDefault = nil
	s.menuByChat = make(map[int64]json.RawMessage)
}

// ServeHTTP routes /bot<token>/<method>, /file/bot<token>/<path> and /_emulator/….
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Content-Type, Authorization")
	h.Set("Access-Control-Max-Age", "600")
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	switch path := r.URL.Path; {
	case strings.HasPrefix(path, "/bot"):
		s.serveBotAPI(w, r)
	case strings.HasPrefix(path, "/file/bot"):
		s.serveTelegramFile(w, r)
	default:
		s.control.ServeHTTP(w, r)
	}
}

// serveBotAPI handles /bot<token>/<method>.
func (s *Server) serveBotAPI(w http.ResponseWriter, r *http.Request) {
	token, method, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/bot"), "/")
	if !ok || token != s.opts.Token {
		writeAPIResult(w, nil, &apiError{code: http.StatusUnauthorized, description: "Unauthorized"})
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		writeAPIResult(w, nil, &apiError{code: http.StatusMethodNotAllowed, description: "Method Not Allowed"})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxRequestBytes)
	p, err := parseParams(r)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeAPIResult(w, nil, &apiError{code: http.StatusRequestEntityTooLarge, description: "Request Entity Too Large"})
			return
		}
		writeAPIResult(w, nil, badRequest("can't parse request: "+err.Error()))
		return
	}
	result, aerr := s.invoke(r.Context(), method, p)
	writeAPIResult(w, result, aerr)
}

// invoke runs one Bot API call: faults first, then the method, then the
// calls log. Both HTTP requests and webhook replies come through here.
func (s *Server) invoke(ctx context.Context, name string, p *params) (any, *apiError) {
	spec, ok := botMethods[strings.ToLower(name)]
	if !ok {
		return nil, &apiError{code: http.StatusNotFound, description: "Not Found"}
	}
	started := time.Now()
	aerr := s.recorder.takeFault(spec.name)
	var result any
	if aerr == nil {
		result, aerr = spec.fn(s, ctx, p)
	}
	call := Call{Method: spec.name, Params: p.logged(), Time: started, Status: http.StatusOK}
	if aerr != nil {
		call.Status, call.Description = aerr.code, aerr.description
	}
	s.recorder.record(call, spec.sends)
	return result, aerr
}

// apiError is a Bot API failure, rendered as Telegram's error envelope.
type apiError struct {
	code        int
	description string
	retryAfter  int
}

func badRequest(description string) *apiError {
	return &apiError{code: http.StatusBadRequest, description: "Bad Request: " + description}
}

func writeAPIResult(w http.ResponseWriter, result any, aerr *apiError) {
	type parameters struct {
		RetryAfter int `json:"retry_after,omitempty"`
	}
	type envelope struct {
		OK          bool        `json:"ok"`
		Result      any         `json:"result,omitempty"`
		ErrorCode   int         `json:"error_code,omitempty"`
		Description string      `json:"description,omitempty"`
		Parameters  *parameters `json:"parameters,omitempty"`
	}
	env := envelope{OK: true, Result: result}
	status := http.StatusOK
	if aerr != nil {
		status = aerr.code
		env = envelope{ErrorCode: aerr.code, Description: aerr.description}
		if aerr.retryAfter > 0 {
			env.Parameters = &parameters{RetryAfter: aerr.retryAfter}
		}
	}
	writeJSON(w, status, env)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
