// Package projection keeps read models in Redis that workers and the poller
// write and the bot reads: who is authorized (so the Mini App API never calls
// Sheets), the status of every Analytics 360 request, the current
// promotions, and the PDF reports themselves (served by any bot instance).
// The spreadsheet stays the source of truth; projections expire and are
// rebuilt by the poller's scans.
package projection

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/redisx"
)

// Store reads and writes the projections.
type Store struct {
	rdb  redis.UniversalClient
	keys redisx.Keys
}

// New builds a store; keys share the deployment's prefix.
func New(rdb redis.UniversalClient, prefix string) *Store {
	return &Store{rdb: rdb, keys: redisx.Keys{Prefix: prefix}}
}

// Partner is what the bot needs to know about an authorized user.
type Partner struct {
	TelegramID int64  `json:"telegram_id"`
	Code       string `json:"code"`
	Name       string `json:"name"`
	Phone      string `json:"phone"`
}

func (s *Store) partnerKey(id int64) string {
	return s.keys.Key("proj", "partner", strconv.FormatInt(id, 10))
}

// PutPartner records an authorized user for ttl.
func (s *Store) PutPartner(ctx context.Context, p Partner, ttl time.Duration) error {
	b, _ := json.Marshal(p)
	if err := s.rdb.Set(ctx, s.partnerKey(p.TelegramID), b, ttl).Err(); err != nil {
		return fmt.Errorf("projection: put partner: %w", err)
	}
	return nil
}

// Partner returns the user's record; ok is false when the user is not
// (or no longer) authorized.
func (s *Store) Partner(ctx context.Context, telegramID int64) (Partner, bool, error) {
	b, err := s.rdb.Get(ctx, s.partnerKey(telegramID)).Bytes()
	if errors.Is(err, redis.Nil) {
		return Partner{}, false, nil
	}
	if err != nil {
		return Partner{}, false, fmt.Errorf("projection: partner: %w", err)
	}
	var p Partner
	if err := json.Unmarshal(b, &p); err != nil {
		return Partner{}, false, fmt.Errorf("projection: partner: %w", err)
	}
	return p, true, nil
}

// SyncPartners makes the set of authorized users exactly ps: records are
// refreshed with ttl and users no longer in ps (access revoked in the sheet)
// are removed at once.
func (s *Store) SyncPartners(ctx context.Context, ps []Partner, ttl time.Duration) error {
	setKey := s.keys.Key("proj", "partners")
	current, err := s.rdb.SMembers(ctx, setKey).Result()
	if err != nil {
		return fmt.Errorf("projection: sync partners: %w", err)
	}
	keep := map[string]bool{}
	pipe := s.rdb.Pipeline()
	for _, p := range ps {
		id := strconv.FormatInt(p.TelegramID, 10)
		keep[id] = true
		b, _ := json.Marshal(p)
		pipe.Set(ctx, s.partnerKey(p.TelegramID), b, ttl)
		pipe.SAdd(ctx, setKey, id)
	}
	for _, id := range current {
		if !keep[id] {
			n, _ := strconv.ParseInt(id, 10, 64)
			pipe.Del(ctx, s.partnerKey(n))
			pipe.SRem(ctx, setKey, id)
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("projection: sync partners: %w", err)
	}
	return nil
}

// RemovePartner drops a user (access revoked, bot blocked).
func (s *Store) RemovePartner(ctx context.Context, telegramID int64) error {
	pipe := s.rdb.Pipeline()
	pipe.Del(ctx, s.partnerKey(telegramID))
	pipe.SRem(ctx, s.keys.Key("proj", "partners"), strconv.FormatInt(telegramID, 10))
	_, err := pipe.Exec(ctx)
	return err
}

// Request is an Analytics 360 request as the Mini App shows it.
type Request struct {
	ID          string    `json:"id"`
	TelegramID  int64     `json:"telegram_id"`
	ObjectCode  string    `json:"object_code"`
	Status      string    `json:"status"` // NEW, PROCESSING, DONE, ERROR
	Error       string    `json:"error,omitempty"`
	ResultText  string    `json:"result_text,omitempty"`
	ReportURL   string    `json:"report_url,omitempty"` // external link (Apps Script) if any
	HasReport   bool      `json:"has_report"`           // a PDF is stored here
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	DeliveredAt time.Time `json:"delivered_at,omitempty"`
}

// RequestTTL bounds how long request statuses are kept.
const RequestTTL = 30 * 24 * time.Hour

func (s *Store) requestKey(id string) string { return s.keys.Key("proj", "request", id) }
func (s *Store) userRequestsKey(id int64) string {
	return s.keys.Key("proj", "user_requests", strconv.FormatInt(id, 10))
}

// PutRequest records a request's state. A record never goes back in time:
// an older update (UpdatedAt before the stored one) is ignored, so the
// poller's scan and a worker's write can race safely.
func (s *Store) PutRequest(ctx context.Context, r Request) error {
	if old, ok, err := s.Request(ctx, r.ID); err == nil && ok && old.UpdatedAt.After(r.UpdatedAt) {
		return nil
	}
	b, _ := json.Marshal(r)
	pipe := s.rdb.Pipeline()
	pipe.Set(ctx, s.requestKey(r.ID), b, RequestTTL)
	uk := s.userRequestsKey(r.TelegramID)
	pipe.ZAdd(ctx, uk, redis.Z{Score: float64(r.CreatedAt.UnixMilli()), Member: r.ID})
	pipe.Expire(ctx, uk, RequestTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("projection: put request: %w", err)
	}
	return nil
}

// Request returns one request.
func (s *Store) Request(ctx context.Context, id string) (Request, bool, error) {
	b, err := s.rdb.Get(ctx, s.requestKey(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return Request{}, false, nil
	}
	if err != nil {
		return Request{}, false, fmt.Errorf("projection: request: %w", err)
	}
	var r Request
	if err := json.Unmarshal(b, &r); err != nil {
		return Request{}, false, fmt.Errorf("projection: request: %w", err)
	}
	return r, true, nil
}

// UserRequests returns a user's newest requests, newest first.
func (s *Store) UserRequests(ctx context.Context, telegramID int64, limit int) ([]Request, error) {
	ids, err := s.rdb.ZRevRange(ctx, s.userRequestsKey(telegramID), 0, int64(limit-1)).Result()
	if err != nil {
		return nil, fmt.Errorf("projection: user requests: %w", err)
	}
	var out []Request
	for _, id := range ids {
		r, ok, err := s.Request(ctx, id)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// Promotion is a promotion as the Mini App lists it.
type Promotion struct {
	ID       string    `json:"id"`
	Title    string    `json:"title"`
	Text     string    `json:"text"` // Telegram-safe HTML
	ImageURL string    `json:"image_url,omitempty"`
	StartsAt time.Time `json:"starts_at"`
	Audience string    `json:"audience"`
}

// PutPromotions replaces the list of current promotions.
func (s *Store) PutPromotions(ctx context.Context, ps []Promotion, ttl time.Duration) error {
	b, _ := json.Marshal(ps)
	if err := s.rdb.Set(ctx, s.keys.Key("proj", "promotions"), b, ttl).Err(); err != nil {
		return fmt.Errorf("projection: put promotions: %w", err)
	}
	return nil
}

// Promotions returns the current promotions (empty when unknown).
func (s *Store) Promotions(ctx context.Context) ([]Promotion, error) {
	b, err := s.rdb.Get(ctx, s.keys.Key("proj", "promotions")).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("projection: promotions: %w", err)
	}
	var ps []Promotion
	if err := json.Unmarshal(b, &ps); err != nil {
		return nil, fmt.Errorf("projection: promotions: %w", err)
	}
	return ps, nil
}

// PutReport stores a PDF report for ttl, where every bot instance can serve it.
func (s *Store) PutReport(ctx context.Context, requestID string, pdf []byte, ttl time.Duration) error {
	if err := s.rdb.Set(ctx, s.keys.Key("proj", "report", requestID), pdf, ttl).Err(); err != nil {
		return fmt.Errorf("projection: put report: %w", err)
	}
	return nil
}

// Report returns a stored PDF.
func (s *Store) Report(ctx context.Context, requestID string) ([]byte, bool, error) {
	b, err := s.rdb.Get(ctx, s.keys.Key("proj", "report", requestID)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("projection: report: %w", err)
	}
	return b, true, nil
}
