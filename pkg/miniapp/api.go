package miniapp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/miniapp/web"
	"marketingbot/pkg/obs"
	"marketingbot/pkg/projection"
	"marketingbot/pkg/redisx"
	"marketingbot/pkg/reportlink"
	"marketingbot/pkg/tasks"
	"marketingbot/pkg/telegram/webapp"
	"marketingbot/pkg/texts"
)

const (
	// maxBody bounds a request body; an order is a few dozen bytes.
	maxBody = 4 << 10
	// pollIntervalMS is how often the page refreshes pending requests.
	pollIntervalMS = 3000
	// listLimit is how many requests GET /api/v1/analytics returns.
	listLimit = 30
	// callsPerMinute caps all authenticated calls of one user: the page
	// polls every 3 s, so only a runaway client comes near it.
	callsPerMinute = 300
	// linkTTL is the lifetime of report links handed to the page; it asks
	// again every few seconds while open.
	linkTTL = time.Hour
)

// Projection is the Redis read model the API serves from: authorized
// partners, request statuses, promotions and stored PDFs. An order is
// projected as NEW right away. *projection.Store implements it.
type Projection interface {
	Partner(ctx context.Context, telegramID int64) (projection.Partner, bool, error)
	PutRequest(ctx context.Context, r projection.Request) error
	Request(ctx context.Context, id string) (projection.Request, bool, error)
	UserRequests(ctx context.Context, telegramID int64, limit int) ([]projection.Request, error)
	Report(ctx context.Context, requestID string) ([]byte, bool, error)
	Promotions(ctx context.Context) ([]projection.Promotion, error)
}

// Enqueuer puts an order on the bus; *asynq.Client implements it.
type Enqueuer interface {
	EnqueueContext(ctx context.Context, t *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)
}

// Limiter takes one token of a GCRA limit shared by every bot;
// *redis_rate.Limiter implements it.
type Limiter interface {
	Allow(ctx context.Context, key string, limit redis_rate.Limit) (*redis_rate.Result, error)
}

// Deps are the adapters the API uses.
type Deps struct {
	Projection Projection
	Tasks      Enqueuer
	Limiter    Limiter
	Texts      *texts.Texts
	Log        *slog.Logger
	Registry   prometheus.Registerer
	Now        func() time.Time
}

// DefaultObjectCodePattern is the object code format used when
// Options.ObjectCodePattern does not compile (the configuration's default).
const DefaultObjectCodePattern = `^[A-Z]{2,4}-\d{3,8}$`

// Options are the API's settings, as plain values.
type Options struct {
	// ObjectCodePattern is the regular expression an (upper-cased) object
	// code must match.
	ObjectCodePattern string
	// RequestsPerHour caps one user's orders; 0 disables the limit.
	RequestsPerHour int
	// InitDataMaxAge is how old a Mini App launch (auth_date) may be.
	InitDataMaxAge time.Duration
	// BotToken validates initData (HMAC keyed by "WebAppData" and it).
	BotToken string
	// LinkSecret signs and verifies report links (reportlink.Secret of the
	// bot token).
	LinkSecret []byte
	// KeyPrefix prefixes the rate limiters' Redis keys.
	KeyPrefix string
	// BotUsername is shown by GET /api/v1/config ("" when unknown).
	BotUsername string
}

// API serves the Mini App and its JSON API.
type API struct {
	d       Deps
	o       Options
	tx      *texts.Texts
	log     *slog.Logger
	now     func() time.Time
	keys    redisx.Keys
	codeRe  *regexp.Regexp
	pattern string

	requests *prometheus.CounterVec
}

// New builds the API and registers its metrics on d.Registry.
func New(d Deps, o Options) *API {
	if d.Log == nil {
		d.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
	}
	a := &API{
		d: d, o: o, tx: d.Texts, log: d.Log, now: d.Now,
		keys: redisx.Keys{Prefix: o.KeyPrefix},
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: obs.Namespace, Subsystem: "miniapp", Name: "requests_total",
			Help: "Mini App HTTP requests by route and status code."}, []string{"route", "status"}),
	}
	a.pattern = o.ObjectCodePattern
	re, err := regexp.Compile(a.pattern)
	if err != nil {
		// The worker's config check rejects this; the bot must still serve.
		a.pattern = DefaultObjectCodePattern
		re = regexp.MustCompile(a.pattern)
		a.log.Error("analytics.object_code_pattern is invalid; using the default", "default", a.pattern, "err", err)
	}
	a.codeRe = re
	d.Registry.MustRegister(a.requests)
	return a
}

// Mount registers the app under /app/ and the API under /api/v1/ on mux.
func (a *API) Mount(mux *http.ServeMux) {
	mux.Handle("GET /app/", a.instrument("app", http.StripPrefix("/app", appHeaders(web.Handler()))))
	mux.Handle("/api/v1/", a.instrument("unknown", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.fail(w, errNotFound)
	})))
	a.route(mux, "/api/v1/config", "config", map[string]http.HandlerFunc{http.MethodGet: a.getConfig})
	a.route(mux, "/api/v1/me", "me", map[string]http.HandlerFunc{http.MethodGet: a.authed(a.getMe)})
	a.route(mux, "/api/v1/analytics", "analytics", map[string]http.HandlerFunc{
		http.MethodGet: a.authed(a.listRequests), http.MethodPost: a.authed(a.createRequest)})
	a.route(mux, "/api/v1/analytics/{id}", "analytics_request", map[string]http.HandlerFunc{http.MethodGet: a.authed(a.getRequest)})
	a.route(mux, "/api/v1/reports/{file}", "report", map[string]http.HandlerFunc{http.MethodGet: a.getReport})
	a.route(mux, "/api/v1/promotions", "promotions", map[string]http.HandlerFunc{http.MethodGet: a.authed(a.getPromotions)})
}

// route dispatches by method itself so that a wrong method gets a JSON 405
// like every other API error, not the mux's plain-text one.
func (a *API) route(mux *http.ServeMux, pattern, name string, methods map[string]http.HandlerFunc) {
	allow := make([]string, 0, len(methods))
	for m := range methods {
		allow = append(allow, m)
	}
	slices.Sort(allow)
	mux.Handle(pattern, a.instrument(name, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h, ok := methods[r.Method]; ok {
			h(w, r)
			return
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		a.fail(w, &apiError{status: http.StatusMethodNotAllowed, code: "bad_request", msg: a.tx.MiniAppBadRequest})
	})))
}

// appHeaders adds what the frontend's own handler does not set. No
// X-Frame-Options: Telegram's web clients show Mini Apps in an iframe.
func appHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Referrer-Policy", "same-origin")
		h.ServeHTTP(w, r)
	})
}

// ---- errors ----

type apiError struct {
	status     int
	code       string
	msg        string
	retryAfter int // seconds, for 429
}

var errNotFound = &apiError{status: http.StatusNotFound, code: "not_found"}

func (a *API) message(e *apiError) string {
	if e.msg != "" {
		return e.msg
	}
	switch e.code {
	case "unauthorized":
		return a.tx.MiniAppUnauthorized
	case "expired":
		return a.tx.MiniAppExpired
	case "not_partner":
		return a.tx.MiniAppNotPartner
	case "invalid_object_code":
		return a.tx.MiniAppBadCode
	case "not_found":
		return a.tx.MiniAppNotFound
	case "unavailable":
		return a.tx.MiniAppUnavailable
	}
	return a.tx.MiniAppBadRequest
}

func (a *API) fail(w http.ResponseWriter, e *apiError) {
	body := map[string]any{"error": e.code, "message": a.message(e)}
	if e.status == http.StatusTooManyRequests {
		body["retry_after"] = e.retryAfter
		w.Header().Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `tma realm="marketingbot"`)
	}
	writeJSON(w, e.status, body)
}

func (a *API) unavailable(w http.ResponseWriter, what string, err error) {
	a.log.Warn("mini app API unavailable", "what", what, "err", err)
	a.fail(w, &apiError{status: http.StatusServiceUnavailable, code: "unavailable"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"internal"}`)
	}
	apiHeaders(w.Header())
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func apiHeaders(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	// An API answer is data, never a page: nothing in it may run or be framed.
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
}

// ---- authentication ----

type caller struct {
	user    webapp.User
	partner projection.Partner
}

type authedHandler func(w http.ResponseWriter, r *http.Request, c caller)

// authed checks initData, the per-user call limit and the partner
// projection before h runs.
func (a *API) authed(h authedHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		scheme, initData, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
		initData = strings.TrimSpace(initData)
		if !strings.EqualFold(scheme, "tma") || initData == "" {
			a.fail(w, &apiError{status: http.StatusUnauthorized, code: "unauthorized"})
			return
		}
		data, err := webapp.Validate(initData, a.o.BotToken, a.o.InitDataMaxAge, a.now())
		if errors.Is(err, webapp.ErrExpired) {
			a.fail(w, &apiError{status: http.StatusUnauthorized, code: "expired"})
			return
		}
		if err != nil {
			a.log.Debug("mini app call refused", "reason", err.Error())
			a.fail(w, &apiError{status: http.StatusUnauthorized, code: "unauthorized"})
			return
		}
		uid := data.User.ID
		if apiErr := a.limit(r.Context(), "calls", uid, redis_rate.PerMinute(callsPerMinute)); apiErr != nil {
			a.fail(w, apiErr)
			return
		}
		p, ok, err := a.d.Projection.Partner(r.Context(), uid)
		if err != nil {
			a.unavailable(w, "partner", err)
			return
		}
		if !ok {
			a.fail(w, &apiError{status: http.StatusForbidden, code: "not_partner"})
			return
		}
		h(w, r, caller{user: data.User, partner: p})
	}
}

// limit takes one token of a per-user GCRA limit; nil means allowed.
func (a *API) limit(ctx context.Context, name string, uid int64, l redis_rate.Limit) *apiError {
	res, err := a.d.Limiter.Allow(ctx, a.keys.Key("miniapp", name, strconv.FormatInt(uid, 10)), l)
	if err != nil {
		a.log.Warn("mini app rate limiter unavailable", "limit", name, "err", err)
		return &apiError{status: http.StatusServiceUnavailable, code: "unavailable"}
	}
	if res.Allowed > 0 {
		return nil
	}
	secs := max(1, int(math.Ceil(res.RetryAfter.Seconds())))
	return &apiError{status: http.StatusTooManyRequests, code: "rate_limited", retryAfter: secs,
		msg: a.tx.Render(a.tx.MiniAppRateLimited, map[string]any{"Minutes": (secs + 59) / 60})}
}

// ---- endpoints ----

func (a *API) getConfig(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"object_code_pattern": a.pattern, "bot_username": a.o.BotUsername, "poll_interval_ms": pollIntervalMS,
	})
}

func (a *API) getMe(w http.ResponseWriter, r *http.Request, c caller) {
	writeJSON(w, http.StatusOK, map[string]any{
		"user":    map[string]any{"id": c.user.ID, "first_name": c.user.FirstName, "username": c.user.Username},
		"partner": map[string]any{"code": c.partner.Code, "name": c.partner.Name},
	})
}

func (a *API) createRequest(w http.ResponseWriter, r *http.Request, c caller) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		a.fail(w, &apiError{status: http.StatusUnsupportedMediaType, code: "bad_request"})
		return
	}
	var in struct {
		ObjectCode *string `json:"object_code"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	if err := dec.Decode(&in); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			a.fail(w, &apiError{status: http.StatusRequestEntityTooLarge, code: "bad_request"})
			return
		}
		a.fail(w, &apiError{status: http.StatusBadRequest, code: "bad_request"})
		return
	}
	if _, err := dec.Token(); err != io.EOF {
		a.fail(w, &apiError{status: http.StatusBadRequest, code: "bad_request"}) // trailing data
		return
	}
	code, ok := a.normalizeCode(in.ObjectCode)
	if !ok {
		a.fail(w, &apiError{status: http.StatusBadRequest, code: "invalid_object_code"})
		return
	}
	uid := c.user.ID
	if n := a.o.RequestsPerHour; n > 0 {
		if apiErr := a.limit(r.Context(), "analytics", uid, redis_rate.PerHour(n)); apiErr != nil {
			a.fail(w, apiErr)
			return
		}
	}

	now := a.now()
	req := projection.Request{ID: uuid.NewString(), TelegramID: uid, ObjectCode: code,
		Status: string(domain.RequestStatusNew), CreatedAt: now, UpdatedAt: now}
	task, err := tasks.NewAnalyticsRequestTask(tasks.AnalyticsRequestPayload{
		RequestID: req.ID, ObjectCode: code, TelegramID: uid, Requester: c.partner.Code, CreatedAt: now})
	if err != nil {
		a.unavailable(w, "task", err)
		return
	}
	// Enqueue first, then the projection: a failed enqueue leaves nothing
	// behind, and a failed projection write is repaired by the worker,
	// which mirrors the row as soon as it appends it.
	if _, err := a.d.Tasks.EnqueueContext(r.Context(), task); err != nil {
		a.unavailable(w, "enqueue", err)
		return
	}
	if err := a.d.Projection.PutRequest(r.Context(), req); err != nil {
		a.log.Warn("analytics request enqueued but not projected yet", "request_id", req.ID, "err", err)
	}
	a.log.Info("analytics requested", "request_id", req.ID, "telegram_id", uid, "object_code", code, "partner", c.partner.Code)
	writeJSON(w, http.StatusAccepted, map[string]any{"request": a.view(req)})
}

// normalizeCode trims and upper-cases the code and checks it against the
// configured pattern. Cyrillic look-alikes stay Cyrillic and fail.
func (a *API) normalizeCode(raw *string) (string, bool) {
	if raw == nil {
		return "", false
	}
	code := strings.ToUpper(strings.TrimSpace(*raw))
	if code == "" || len(code) > 64 || !a.codeRe.MatchString(code) {
		return "", false
	}
	return code, true
}

func (a *API) listRequests(w http.ResponseWriter, r *http.Request, c caller) {
	reqs, err := a.d.Projection.UserRequests(r.Context(), c.user.ID, listLimit)
	if err != nil {
		a.unavailable(w, "requests", err)
		return
	}
	out := make([]requestView, 0, len(reqs))
	for _, req := range reqs {
		out = append(out, a.view(req))
	}
	writeJSON(w, http.StatusOK, map[string]any{"requests": out})
}

func (a *API) getRequest(w http.ResponseWriter, r *http.Request, c caller) {
	id := r.PathValue("id")
	if id == "" || len(id) > 64 {
		a.fail(w, errNotFound)
		return
	}
	req, ok, err := a.d.Projection.Request(r.Context(), id)
	if err != nil {
		a.unavailable(w, "request", err)
		return
	}
	if !ok || req.TelegramID != c.user.ID {
		a.fail(w, errNotFound) // someone else's request does not exist for this caller
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"request": a.view(req)})
}

func (a *API) getReport(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutSuffix(r.PathValue("file"), ".pdf")
	if !ok || id == "" || len(id) > 64 {
		a.fail(w, errNotFound)
		return
	}
	// The link is the authorization: check it before touching Redis.
	if !reportlink.Verify(a.o.LinkSecret, id, r.URL.Query().Get("t"), a.now()) {
		a.fail(w, &apiError{status: http.StatusUnauthorized, code: "unauthorized"})
		return
	}
	pdf, ok, err := a.d.Projection.Report(r.Context(), id)
	if err != nil {
		a.unavailable(w, "report", err)
		return
	}
	if !ok {
		a.fail(w, errNotFound)
		return
	}
	code := ""
	if req, ok, err := a.d.Projection.Request(r.Context(), id); err == nil && ok {
		code = req.ObjectCode
	}
	name := reportlink.FileName(code)
	h := w.Header()
	// No API CSP here: a sandboxing policy keeps browsers' PDF viewers from
	// showing the file.
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Type", "application/pdf")
	h.Set("Content-Disposition", contentDisposition(name))
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(pdf))
}

// contentDisposition names the download for every browser: an ASCII
// fallback and the real (Cyrillic) name per RFC 6266 / RFC 5987.
func contentDisposition(name string) string {
	ascii := strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return -1
		}
		return r
	}, strings.Replace(name, "Аналитика360", "Analytics360", 1))
	return fmt.Sprintf(`attachment; filename="%s"; filename*=UTF-8''%s`, ascii, url.PathEscape(name))
}

func (a *API) getPromotions(w http.ResponseWriter, r *http.Request, c caller) {
	all, err := a.d.Projection.Promotions(r.Context())
	if err != nil {
		a.unavailable(w, "promotions", err)
		return
	}
	out := make([]projection.Promotion, 0, len(all))
	for _, p := range all {
		if (domain.Promotion{Audience: p.Audience}).Matches(c.partner.Code) {
			out = append(out, p)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"promotions": out})
}

// ---- views ----

// requestView is the contract's Request object: every field always present.
type requestView struct {
	ID         string    `json:"id"`
	ObjectCode string    `json:"object_code"`
	Status     string    `json:"status"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	ResultText string    `json:"result_text"`
	Error      string    `json:"error"`
	ReportURL  string    `json:"report_url"`
	Delivered  bool      `json:"delivered"`
}

func (a *API) view(r projection.Request) requestView {
	v := requestView{ID: r.ID, ObjectCode: r.ObjectCode, Status: r.Status, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		ResultText: r.ResultText, Error: r.Error, Delivered: !r.DeliveredAt.IsZero()}
	switch {
	case r.HasReport:
		v.ReportURL = reportlink.Path(a.o.LinkSecret, r.ID, a.now().Add(linkTTL))
	case r.ReportURL != "":
		if u, err := url.Parse(r.ReportURL); err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" {
			v.ReportURL = r.ReportURL
		}
	}
	return v
}

// ---- metrics ----

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (a *API) instrument(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		a.requests.WithLabelValues(route, strconv.Itoa(rec.status)).Inc()
	})
}
