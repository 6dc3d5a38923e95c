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

// The authorization projection's bookkeeping, beside one record per user:
//   - partnerIDs: every projected user, scored with the scan mark current
//     when the record was last put or confirmed; a scan removes the users it
//     did not see whose score is older than its own mark;
//   - partnerRevoked: users whose access was taken away (RemovePartner),
//     scored with the mark current then; a scan that started before the
//     removal (its mark is not newer) must not bring the user back from the
//     sheet it read earlier;
//   - partnerMark: the counter of scans (MarkPartnerScan).
//
// So records put by workers (an authorization, an unblock) are diffed like
// the scans' own, and neither a scan nor a worker undoes the other's newer
// knowledge.
func (s *Store) partnerIDsKey() string     { return s.keys.Key("proj", "partner_ids") }
func (s *Store) partnerRevokedKey() string { return s.keys.Key("proj", "partner_revoked") }
func (s *Store) partnerMarkKey() string    { return s.keys.Key("proj", "partner_mark") }

// legacyPartnersKey is the plain set of projected ids an earlier version kept
// (filled by its scans only); SyncPartners folds it in once.
func (s *Store) legacyPartnersKey() string { return s.keys.Key("proj", "partners") }

// revokedKeep is how many scan marks a removal is remembered for: far longer
// than any scan takes.
const revokedKeep = 1000

var putPartnerScript = redis.NewScript(`
local mark = tonumber(redis.call('GET', KEYS[3]) or '0')
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], mark, ARGV[3])
redis.call('ZREM', KEYS[4], ARGV[3])
return 1`)

var removePartnerScript = redis.NewScript(`
local mark = tonumber(redis.call('GET', KEYS[3]) or '0')
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[4], mark, ARGV[1])
return 1`)

// syncPutScript refreshes a record a scan saw, unless the user's access
// was revoked after the scan began.
var syncPutScript = redis.NewScript(`
local revoked = redis.call('ZSCORE', KEYS[3], ARGV[3])
if revoked and tonumber(revoked) >= tonumber(ARGV[4]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local cur = redis.call('ZSCORE', KEYS[2], ARGV[3])
if (not cur) or tonumber(cur) < tonumber(ARGV[4]) then redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3]) end
return 1`)

// syncDropScript removes a user a scan did not see, unless the record was
// put after the scan began.
var syncDropScript = redis.NewScript(`
local cur = redis.call('ZSCORE', KEYS[2], ARGV[1])
if cur and tonumber(cur) >= tonumber(ARGV[2]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1`)

// PutPartner records an authorized user for ttl (an authorization or an
// unblock); it also lifts an earlier removal.
func (s *Store) PutPartner(ctx context.Context, p Partner, ttl time.Duration) error {
	b, _ := json.Marshal(p)
	err := putPartnerScript.Run(ctx, s.rdb, []string{s.partnerKey(p.TelegramID), s.partnerIDsKey(), s.partnerMarkKey(), s.partnerRevokedKey()},
		b, ttl.Milliseconds(), p.TelegramID).Err()
	if err != nil {
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

// MarkPartnerScan begins a scan of the Auth sheet: call it before reading
// the sheet and hand the mark to SyncPartners.
func (s *Store) MarkPartnerScan(ctx context.Context) (int64, error) {
	mark, err := s.rdb.Incr(ctx, s.partnerMarkKey()).Result()
	if err != nil {
		return 0, fmt.Errorf("projection: mark partner scan: %w", err)
	}
	return mark, nil
}

// SyncPartners makes the projected users those of ps, the authorized users
// of a scan that began at mark: their records are refreshed with ttl, and
// every other projected user — whoever put them, a scan or a worker — is
// removed at once (access revoked or rebound in the sheet), unless put after
// the scan began. A user removed after the scan began is not brought back.
func (s *Store) SyncPartners(ctx context.Context, mark int64, ps []Partner, ttl time.Duration) error {
	if err := s.foldLegacyPartners(ctx); err != nil {
		return err
	}
	ids, revoked := s.partnerIDsKey(), s.partnerRevokedKey()
	stale, err := s.rdb.ZRangeByScore(ctx, ids, &redis.ZRangeBy{Min: "-inf", Max: "(" + strconv.FormatInt(mark, 10)}).Result()
	if err != nil {
		return fmt.Errorf("projection: sync partners: %w", err)
	}
	// The scripts go by their digest in the pipeline; load them first (a
	// no-op when Redis has them).
	for _, sc := range []*redis.Script{syncPutScript, syncDropScript} {
		if err := sc.Load(ctx, s.rdb).Err(); err != nil {
			return fmt.Errorf("projection: sync partners: %w", err)
		}
	}
	keep := map[string]bool{}
	pipe := s.rdb.Pipeline()
	for _, p := range ps {
		id := strconv.FormatInt(p.TelegramID, 10)
		keep[id] = true
		b, _ := json.Marshal(p)
		syncPutScript.EvalSha(ctx, pipe, []string{s.partnerKey(p.TelegramID), ids, revoked}, b, ttl.Milliseconds(), id, mark)
	}
	for _, id := range stale {
		if !keep[id] {
			n, _ := strconv.ParseInt(id, 10, 64)
			syncDropScript.EvalSha(ctx, pipe, []string{s.partnerKey(n), ids}, id, mark)
		}
	}
	pipe.ZRemRangeByScore(ctx, revoked, "-inf", "("+strconv.FormatInt(mark-revokedKeep, 10))
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("projection: sync partners: %w", err)
	}
	return nil
}

// foldLegacyPartners moves the ids of the earlier plain set into partnerIDs
// (as the oldest entries), so users projected before an upgrade are diffed too.
func (s *Store) foldLegacyPartners(ctx context.Context) error {
	legacy, err := s.rdb.SMembers(ctx, s.legacyPartnersKey()).Result()
	if err != nil || len(legacy) == 0 {
		if err != nil {
			return fmt.Errorf("projection: sync partners: %w", err)
		}
		return nil
	}
	pipe := s.rdb.TxPipeline()
	for _, id := range legacy {
		pipe.ZAddNX(ctx, s.partnerIDsKey(), redis.Z{Score: 0, Member: id})
	}
	pipe.Del(ctx, s.legacyPartnersKey())
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("projection: sync partners: %w", err)
	}
	return nil
}

// RemovePartner takes a user's access away at once (rebound to another
// account, bot blocked); a scan that began earlier does not bring it back.
func (s *Store) RemovePartner(ctx context.Context, telegramID int64) error {
	err := removePartnerScript.Run(ctx, s.rdb, []string{s.partnerKey(telegramID), s.partnerIDsKey(), s.partnerMarkKey(), s.partnerRevokedKey()},
		telegramID).Err()
	if err != nil {
		return fmt.Errorf("projection: remove partner: %w", err)
	}
	return nil
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
