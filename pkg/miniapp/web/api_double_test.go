package web_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/miniapp/web"
	"marketingbot/pkg/telegram/webapp"
)

// botToken signs the initData the tests put into the page; the double
// validates it exactly as the real API does.
const botToken = "123456:test-token-for-the-mini-app"

const (
	userAnna  = 1001 // partner; the plain-browser flow
	userBoris = 1002 // not a partner
	userVera  = 1003 // partner; the inside-Telegram flow
)

// apiRequest is the contract's Request.
type apiRequest struct {
	ID         string               `json:"id"`
	ObjectCode string               `json:"object_code"`
	Status     domain.RequestStatus `json:"status"`
	CreatedAt  time.Time            `json:"created_at"`
	UpdatedAt  time.Time            `json:"updated_at"`
	ResultText string               `json:"result_text,omitempty"`
	Error      string               `json:"error,omitempty"`
	ReportURL  string               `json:"report_url,omitempty"`
	Delivered  bool                 `json:"delivered"`
	userID     int64
}

type apiPromotion struct {
	ID       string    `json:"id"`
	Title    string    `json:"title"`
	Text     string    `json:"text"`
	ImageURL string    `json:"image_url,omitempty"`
	StartsAt time.Time `json:"starts_at"`
}

type partner struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

var objectCode = regexp.MustCompile(`^[A-Z]{2,4}-\d{3,8}$`)

// apiDouble is a small in-memory implementation of the Mini App API
// contract: it checks "Authorization: tma <initData>" with the real
// validator and answers with the contract's shapes, status codes and
// Russian messages. Tests drive request statuses with setStatus.
type apiDouble struct {
	mu         sync.Mutex
	partners   map[int64]partner
	requests   []*apiRequest // newest first
	promotions []apiPromotion
	calls      map[string]int // "GET /api/v1/analytics" -> count, authorized calls only
	rejected   int            // 401 answers
	strays     []string       // paths nobody should ask for
	meDelay    time.Duration  // makes /me slow, so the page paints its skeleton first
	outages    int            // the next this many promotion calls answer 503
}

func newAPIDouble() *apiDouble {
	return &apiDouble{
		partners: map[int64]partner{
			userAnna: {Code: "P-0001", Name: "Анна Иванова"},
			userVera: {Code: "P-0003", Name: "Вера Петрова"},
		},
		calls: map[string]int{},
	}
}

// server serves the app at /app/ (through web.Handler, CSP included) and the
// API beside it, like the bot does.
func (d *apiDouble) server(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.Handle("/app/", http.StripPrefix("/app", web.Handler()))
	mux.HandleFunc("GET /api/v1/config", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{
			"object_code_pattern": objectCode.String(),
			"bot_username":        "marketing_test_bot",
			"poll_interval_ms":    200, // the real default is 3000; tests should not wait that long
		})
	})
	mux.HandleFunc("GET /api/v1/me", d.authed(func(w http.ResponseWriter, r *http.Request, u webapp.User, p partner) {
		d.mu.Lock()
		delay := d.meDelay
		d.mu.Unlock()
		time.Sleep(delay)
		writeJSON(w, http.StatusOK, map[string]any{"user": u, "partner": p})
	}))
	mux.HandleFunc("POST /api/v1/analytics", d.authed(d.createRequest))
	mux.HandleFunc("GET /api/v1/analytics", d.authed(func(w http.ResponseWriter, r *http.Request, u webapp.User, _ partner) {
		d.mu.Lock()
		defer d.mu.Unlock()
		list := []*apiRequest{}
		for _, req := range d.requests {
			if req.userID == u.ID {
				list = append(list, req)
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"requests": list})
	}))
	mux.HandleFunc("GET /api/v1/analytics/{id}", d.authed(func(w http.ResponseWriter, r *http.Request, u webapp.User, _ partner) {
		d.mu.Lock()
		defer d.mu.Unlock()
		for _, req := range d.requests {
			if req.ID == r.PathValue("id") && req.userID == u.ID {
				writeJSON(w, http.StatusOK, map[string]any{"request": req})
				return
			}
		}
		writeError(w, http.StatusNotFound, "not_found", "Запрос не найден.")
	}))
	mux.HandleFunc("GET /api/v1/promotions", d.authed(func(w http.ResponseWriter, r *http.Request, _ webapp.User, _ partner) {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.outages > 0 {
			d.outages--
			writeError(w, http.StatusServiceUnavailable, "unavailable", "Таблица акций недоступна, попробуйте через минуту.")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"promotions": d.promotions})
	}))
	// Report links work without the Authorization header: the token in the
	// URL is the credential, because a browser download cannot add headers.
	mux.HandleFunc("GET /api/v1/reports/{file}", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("t") != "tok-"+strings.TrimSuffix(r.PathValue("file"), ".pdf") {
			writeError(w, http.StatusNotFound, "not_found", "Отчёт не найден.")
			return
		}
		w.Header().Set("Content-Type", "application/pdf")
		io.WriteString(w, "%PDF-1.4\n% test report\n%%EOF\n")
	})
	mux.HandleFunc("GET /img/promo.svg", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/svg+xml")
		fmt.Fprint(w, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 9"><rect width="16" height="9" fill="#e8a317"/></svg>`)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		d.strays = append(d.strays, r.Method+" "+r.URL.Path)
		d.mu.Unlock()
		http.NotFound(w, r)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// authed checks the contract's Authorization header and partner status.
func (d *apiDouble) authed(next func(http.ResponseWriter, *http.Request, webapp.User, partner)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		initData, ok := strings.CutPrefix(r.Header.Get("Authorization"), "tma ")
		if !ok || initData == "" {
			d.reject(w, "unauthorized", "Не удалось подтвердить вход через Telegram. Откройте приложение из бота.")
			return
		}
		data, err := webapp.Validate(initData, botToken, 24*time.Hour, time.Now())
		switch {
		case errors.Is(err, webapp.ErrExpired):
			d.reject(w, "expired", "Сессия устарела. Закройте приложение и откройте его из бота заново.")
			return
		case err != nil:
			d.reject(w, "unauthorized", "Не удалось подтвердить вход через Telegram. Откройте приложение из бота.")
			return
		}
		p, ok := d.partners[data.User.ID]
		if !ok {
			writeError(w, http.StatusForbidden, "not_partner", "Аналитика доступна только авторизованным партнёрам.")
			return
		}
		d.mu.Lock()
		d.calls[r.Method+" "+r.URL.Path]++
		d.mu.Unlock()
		next(w, r, data.User, p)
	}
}

func (d *apiDouble) reject(w http.ResponseWriter, code, message string) {
	d.mu.Lock()
	d.rejected++
	d.mu.Unlock()
	writeError(w, http.StatusUnauthorized, code, message)
}

func (d *apiDouble) createRequest(w http.ResponseWriter, r *http.Request, u webapp.User, _ partner) {
	var body struct {
		ObjectCode string `json:"object_code"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || !objectCode.MatchString(body.ObjectCode) {
		writeError(w, http.StatusBadRequest, "bad_object_code", "Код объекта должен выглядеть как MSK-100001.")
		return
	}
	switch body.ObjectCode {
	case "LIM-429":
		w.Header().Set("Retry-After", "7")
		writeJSON(w, http.StatusTooManyRequests, map[string]any{
			"error": "rate_limited", "message": "Слишком много запросов подряд.", "retry_after": 7,
		})
		return
	case "ZZ-000":
		writeError(w, http.StatusBadRequest, "unknown_object", "Объект ZZ-000 не найден в базе.")
		return
	}
	now := time.Now().UTC()
	req := &apiRequest{ID: uuid.NewString(), ObjectCode: body.ObjectCode, Status: domain.RequestStatusNew,
		CreatedAt: now, UpdatedAt: now, userID: u.ID}
	d.mu.Lock()
	d.requests = append([]*apiRequest{req}, d.requests...)
	d.mu.Unlock()
	writeJSON(w, http.StatusAccepted, map[string]any{"request": req})
}

// addRequest stores a request as if made earlier.
func (d *apiDouble) addRequest(req apiRequest, userID int64) {
	req.userID = userID
	d.mu.Lock()
	defer d.mu.Unlock()
	d.requests = append(d.requests, &req)
	slices.SortStableFunc(d.requests, func(a, b *apiRequest) int { return b.CreatedAt.Compare(a.CreatedAt) })
}

// latest returns a copy of the user's newest request.
func (d *apiDouble) latest(userID int64) (apiRequest, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, req := range d.requests {
		if req.userID == userID {
			return *req, true
		}
	}
	return apiRequest{}, false
}

// setStatus moves a request on, as the processor and the deliverer do; a
// DONE request gets a report link.
func (d *apiDouble) setStatus(id string, status domain.RequestStatus, text string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, req := range d.requests {
		if req.ID != id {
			continue
		}
		req.Status, req.UpdatedAt = status, time.Now().UTC()
		switch status {
		case domain.RequestStatusDone:
			req.ResultText = text
			req.ReportURL = "/api/v1/reports/" + id + ".pdf?t=tok-" + id
			req.Delivered = true
		case domain.RequestStatusError:
			req.Error = text
		}
		return req.ReportURL
	}
	panic("setStatus: no request " + id)
}

func (d *apiDouble) failPromotions(times int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.outages = times
}

func (d *apiDouble) slowMe(delay time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.meDelay = delay
}

func (d *apiDouble) callCount(route string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.calls[route]
}

func (d *apiDouble) rejectedCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.rejected
}

func (d *apiDouble) strayRequests() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.strays)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]string{"error": code, "message": message})
}

// initData signs launch data for user the way Telegram does; authDate lets
// a test produce expired data and token a forged one.
func initData(t *testing.T, user webapp.User, authDate time.Time, token string) string {
	t.Helper()
	u, err := json.Marshal(user)
	if err != nil {
		t.Fatal(err)
	}
	return webapp.Sign(url.Values{
		"user":      {string(u)},
		"auth_date": {strconv.FormatInt(authDate.Unix(), 10)},
		"query_id":  {"AAH-test-query"},
	}, token)
}

// launchFragment is the URL hash Telegram opens a Mini App with.
func launchFragment(initData string, theme map[string]string) string {
	v := url.Values{"tgWebAppData": {initData}, "tgWebAppVersion": {"8.0"}, "tgWebAppPlatform": {"tdesktop"}}
	if theme != nil {
		b, _ := json.Marshal(theme)
		v.Set("tgWebAppThemeParams", string(b))
	}
	return "#" + v.Encode()
}
