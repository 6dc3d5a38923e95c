package domain

import (
	"strings"
	"time"
)

// Partner is a row of the Auth sheet: A partner code · B phone · C full name ·
// D STATUS · E Telegram ID · F authorized_at · G bot_blocked_at ·
// H operators_topic_id (columns found by header, pkg/store).
type Partner struct {
	Row          int // 1-based sheet row; 0 when unknown
	Code         string
	Phone        string // normalized, see NormalizePhone
	FullName     string
	Status       string // raw cell value; see Authorized
	TelegramID   int64
	AuthorizedAt time.Time
	BotBlockedAt time.Time
	// OperatorsTopicID is the partner's topic in the operators' forum
	// group (its message_thread_id); 0 when none was created.
	OperatorsTopicID int
}

// Partner statuses. The Python original wrote a transliteration; both spellings
// mean "authorized" and must keep working in an existing spreadsheet.
const (
	PartnerStatusAuthorized       = "authorized"
	PartnerStatusAuthorizedLegacy = "avtorizovan"
)

// IsAuthorizedStatus reports whether a (possibly hand-edited) STATUS cell means
// the partner is authorized.
func IsAuthorizedStatus(s string) bool {
	s = strings.ToLower(strings.TrimSpace(s))
	return s == PartnerStatusAuthorized || s == PartnerStatusAuthorizedLegacy
}

// Authorized reports whether the partner is authorized and bound to a Telegram account.
func (p Partner) Authorized() bool {
	return IsAuthorizedStatus(p.Status) && p.TelegramID != 0
}

// Blocked reports whether the partner has blocked the bot (Auth bot_blocked_at is set).
func (p Partner) Blocked() bool { return !p.BotBlockedAt.IsZero() }

// AppealStatus is the Appeals Статус column, spelled as in the original spreadsheet.
type AppealStatus string

const (
	AppealStatusNew        AppealStatus = "Новое"
	AppealStatusAIAnswered AppealStatus = "Ответ ИИ"
	AppealStatusEscalated  AppealStatus = "В работе"
	AppealStatusResolved   AppealStatus = "Решено"
)

// ParseAppealStatus maps a hand-edited cell to a status; unknown text is kept
// as is so that a typo in the sheet is never silently rewritten.
func ParseAppealStatus(s string) AppealStatus {
	t := strings.TrimSpace(s)
	for _, st := range []AppealStatus{AppealStatusNew, AppealStatusAIAnswered, AppealStatusEscalated, AppealStatusResolved} {
		if strings.EqualFold(t, string(st)) {
			return st
		}
	}
	if t == "" {
		return AppealStatusNew
	}
	return AppealStatus(t)
}

// Appeal is a row of the Appeals sheet (Обращения): A created_at · B user name ·
// C partner code · D Telegram ID · E history · F status · G updated_at · H operator.
type Appeal struct {
	Row         int
	CreatedAt   time.Time
	UserName    string
	PartnerCode string
	TelegramID  int64
	History     string
	Status      AppealStatus
	UpdatedAt   time.Time
	Operator    string
	// The support lead's numbers (issue 18), ours, at the end of the row:
	// when the appeal was first handed to a human, when an operator first
	// wrote after that, when it was resolved, and the partner's rating
	// (1..5, 0: none) with an optional comment.
	EscalatedAt     time.Time
	FirstResponseAt time.Time
	ResolvedAt      time.Time
	Rating          int
	RatingComment   string
}

// Closed reports whether the appeal is resolved: the user's next message opens a new row.
func (a Appeal) Closed() bool { return a.Status == AppealStatusResolved }

// AIEnabled reports whether the AI may answer in this appeal.
func (a Appeal) AIEnabled() bool { return a.Status != AppealStatusEscalated }

// RequestStatus is the Queue status column.
type RequestStatus string

const (
	RequestStatusNew        RequestStatus = "NEW"
	RequestStatusProcessing RequestStatus = "PROCESSING"
	RequestStatusDone       RequestStatus = "DONE"
	RequestStatusError      RequestStatus = "ERROR"
)

// ParseRequestStatus normalizes a Queue status cell (case and spaces).
func ParseRequestStatus(s string) RequestStatus {
	return RequestStatus(strings.ToUpper(strings.TrimSpace(s)))
}

// Final reports whether processing has ended (successfully or not).
func (s RequestStatus) Final() bool { return s == RequestStatusDone || s == RequestStatusError }

// AnalyticsRequest is a row of the Queue sheet (Очередь): A id · B created_at ·
// C object_code · D telegram_id · E requester · F status · G updated_at ·
// H report_url · I error · J delivered_at · K result_text.
type AnalyticsRequest struct {
	Row         int
	ID          string
	CreatedAt   time.Time
	ObjectCode  string
	TelegramID  int64
	Requester   string
	Status      RequestStatus
	UpdatedAt   time.Time
	ReportURL   string
	Error       string
	DeliveredAt time.Time
	ResultText  string
}

// ListingStatus is the Listings status column.
type ListingStatus string

const (
	ListingActive    ListingStatus = "active"
	ListingSold      ListingStatus = "sold"
	ListingWithdrawn ListingStatus = "withdrawn"
)

// Listing is a row of the Listings sheet (Объекты), the input of the analytics
// engine: code · type · city · district · address · rooms · area_m2 · floor ·
// price_rub · listed_at · status · closed_at · sold_price_rub (found by
// header, pkg/store).
type Listing struct {
	Code         string
	Type         string // e.g. "квартира", "апартаменты", "дом"
	City         string
	District     string
	Address      string
	Rooms        int // 0 = studio
	AreaM2       float64
	Floor        int
	PriceRub     int64 // asking price
	ListedAt     time.Time
	Status       ListingStatus
	ClosedAt     time.Time // sold or withdrawn
	SoldPriceRub int64
}

// PricePerM2 is the asking price per square metre (0 when the area is unknown).
func (l Listing) PricePerM2() float64 {
	if l.AreaM2 <= 0 {
		return 0
	}
	return float64(l.PriceRub) / l.AreaM2
}

// PromotionStatus is the Promotions status column.
type PromotionStatus string

const (
	PromotionDraft     PromotionStatus = "Черновик"
	PromotionScheduled PromotionStatus = "Запланировано"
	PromotionSending   PromotionStatus = "Отправляется"
	PromotionSent      PromotionStatus = "Отправлено"
	PromotionFailed    PromotionStatus = "Ошибка"
)

// ParsePromotionStatus normalizes a hand-edited status cell.
func ParsePromotionStatus(s string) PromotionStatus {
	t := strings.TrimSpace(s)
	for _, st := range []PromotionStatus{PromotionDraft, PromotionScheduled, PromotionSending, PromotionSent, PromotionFailed} {
		if strings.EqualFold(t, string(st)) {
			return st
		}
	}
	return PromotionStatus(t)
}

// Promotion is a row of the Promotions sheet (Акции): A id · B title · C text ·
// D image_url · E starts_at · F audience · G status · H sent · I failed ·
// J blocked · K finished_at.
type Promotion struct {
	Row        int
	ID         string
	Title      string
	Text       string
	ImageURL   string
	StartsAt   time.Time
	Audience   string // "all" or a partner-code prefix
	Status     PromotionStatus
	Sent       int
	Failed     int
	Blocked    int
	FinishedAt time.Time
}

// Matches reports whether a partner belongs to the promotion's audience.
func (p Promotion) Matches(partnerCode string) bool {
	a := strings.TrimSpace(p.Audience)
	if a == "" || strings.EqualFold(a, "all") || a == "все" {
		return true
	}
	return strings.HasPrefix(strings.ToUpper(strings.TrimSpace(partnerCode)), strings.ToUpper(a))
}

// KnowledgeEntry is a row of the Knowledge sheet (База знаний): A topic ·
// B question / keywords · C answer.
type KnowledgeEntry struct {
	Topic    string
	Question string
	Answer   string
}
