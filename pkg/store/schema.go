package store

import (
	"fmt"
	"sort"
	"strings"
)

// The spreadsheet contract is its header row. Every sheet has a schema: the
// fields the system reads, each found by its header in row 1 (names are
// configurable, sheets.headers.<sheet>.<field>; the defaults below are the
// seed's names), and marked Ours when the system writes it. The team's
// fields are read only. Columns stand anywhere and in any order; columns
// that are no field of the schema are the team's own and never touched.
//
// Header matching: a header cell matches a field when both are equal after
// trimming spaces (including non-breaking ones), ignoring case ("telegram
// id" is "Telegram ID"). Two cells matching one field make it unusable
// until a person fixes the sheet: "appears twice" when they are spelt
// alike, "ambiguous" when they differ in case or spaces.

// SheetKey names a sheet of the spreadsheet as the configuration does
// (sheets.titles.<key>, sheets.headers.<key>.<field>).
type SheetKey string

const (
	SheetAuth       SheetKey = "auth"
	SheetAppeals    SheetKey = "appeals"
	SheetQueue      SheetKey = "queue"
	SheetListings   SheetKey = "listings"
	SheetPromotions SheetKey = "promotions"
	SheetKnowledge  SheetKey = "knowledge"
	// SheetStats is the support lead's sheet: one row per day (issue 18).
	SheetStats     SheetKey = "stats"
	SheetTemplates SheetKey = "templates" // the operators' canned answers
	SheetHolidays  SheetKey = "holidays"  // the operators' days off
)

// SheetKeys are the sheets in the order of the spreadsheet we create.
var SheetKeys = []SheetKey{SheetAuth, SheetAppeals, SheetQueue, SheetListings, SheetPromotions, SheetKnowledge, SheetStats, SheetTemplates, SheetHolidays}

// Field is a column of a sheet's schema.
type Field struct {
	Key    string // sheets.headers.<sheet>.<Key>
	Header string // the default header (the seed's name)
	Ours   bool   // the system writes it; the team's fields are read only
}

// Field keys used by the repositories.
const (
	fPartnerCode  = "partner_code"
	fPhone        = "phone"
	fFullName     = "full_name"
	fStatus       = "status"
	fTelegramID   = "telegram_id"
	fAuthorizedAt = "authorized_at"
	fBotBlockedAt = "bot_blocked_at"
	// fOperatorsTopicID is the partner's topic in the operators' forum group.
	fOperatorsTopicID = "operators_topic_id"

	fCreatedAt = "created_at"
	fUserName  = "user_name"
	fHistory   = "history"
	fUpdatedAt = "updated_at"
	fOperator  = "operator"

	fID          = "id"
	fObjectCode  = "object_code"
	fRequester   = "requester"
	fReportURL   = "report_url"
	fError       = "error"
	fDeliveredAt = "delivered_at"
	fResultText  = "result_text"

	fCode         = "code"
	fType         = "type"
	fCity         = "city"
	fDistrict     = "district"
	fAddress      = "address"
	fRooms        = "rooms"
	fAreaM2       = "area_m2"
	fFloor        = "floor"
	fPriceRub     = "price_rub"
	fListedAt     = "listed_at"
	fClosedAt     = "closed_at"
	fSoldPriceRub = "sold_price_rub"

	fTitle      = "title"
	fText       = "text"
	fImageURL   = "image_url"
	fStartsAt   = "starts_at"
	fAudience   = "audience"
	fSent       = "sent"
	fFailed     = "failed"
	fBlocked    = "blocked"
	fFinishedAt = "finished_at"

	fTopic    = "topic"
	fQuestion = "question"
	fAnswer   = "answer"

	// Appeals: the support numbers and the partner's rating (issue 18).
	fEscalatedAt     = "escalated_at"
	fFirstResponseAt = "first_response_at"
	fResolvedAt      = "resolved_at"
	fRating          = "rating"
	fRatingComment   = "rating_comment"

	// Статистика (fStatus, fUpdatedAt and the rest are shared names).
	fDate          = "date"
	fAppealsCount  = "appeals"
	fWithoutHuman  = "without_human"
	fEscalations   = "escalations"
	fFirstResponse = "first_response"
	fResolved      = "resolved"
	fResolution    = "resolution"
	fRatings       = "ratings"
	fRatingAvg     = "rating_avg"
	fLowRatings    = "low_ratings"
	fKey           = "key" // Шаблоны (fDate, fTitle, fText are shared names)
)

func ours(key, header string) Field { return Field{Key: key, Header: header, Ours: true} }
func team(key, header string) Field { return Field{Key: key, Header: header} }

// defaultSchema is the contract with its default headers, each sheet's
// fields in the column order of a spreadsheet we create.
var defaultSchema = map[SheetKey][]Field{
	SheetAuth: {
		team(fPartnerCode, "Код партнера"), team(fPhone, "Телефон"), team(fFullName, "ФИО"),
		ours(fStatus, "STATUS"), ours(fTelegramID, "Telegram ID"),
		ours(fAuthorizedAt, "authorized_at"), ours(fBotBlockedAt, "bot_blocked_at"),
		ours(fOperatorsTopicID, "operators_topic_id"),
	},
	SheetAppeals: {
		ours(fCreatedAt, "created_at"), ours(fUserName, "Пользователь"), ours(fPartnerCode, "Код партнера"),
		ours(fTelegramID, "Telegram ID"), ours(fHistory, "текст_обращений"), ours(fStatus, "Статус"),
		ours(fUpdatedAt, "updated_at"), ours(fOperator, "Оператор"),
		ours(fEscalatedAt, "escalated_at"), ours(fFirstResponseAt, "first_response_at"), ours(fResolvedAt, "resolved_at"),
		ours(fRating, "Оценка"), ours(fRatingComment, "Комментарий к оценке"),
	},
	SheetQueue: {
		ours(fID, "id"), ours(fCreatedAt, "created_at"), ours(fObjectCode, "object_code"), ours(fTelegramID, "telegram_id"),
		ours(fRequester, "requester"), ours(fStatus, "status"), ours(fUpdatedAt, "updated_at"), ours(fReportURL, "report_url"),
		ours(fError, "error"), ours(fDeliveredAt, "delivered_at"), ours(fResultText, "result_text"),
	},
	SheetListings: {
		team(fCode, "code"), team(fType, "type"), team(fCity, "city"), team(fDistrict, "district"), team(fAddress, "address"),
		team(fRooms, "rooms"), team(fAreaM2, "area_m2"), team(fFloor, "floor"), team(fPriceRub, "price_rub"),
		team(fListedAt, "listed_at"), team(fStatus, "status"), team(fClosedAt, "closed_at"), team(fSoldPriceRub, "sold_price_rub"),
	},
	SheetPromotions: {
		team(fID, "id"), team(fTitle, "title"), team(fText, "text"), team(fImageURL, "image_url"),
		team(fStartsAt, "starts_at"), team(fAudience, "audience"),
		ours(fStatus, "status"), ours(fSent, "sent"), ours(fFailed, "failed"), ours(fBlocked, "blocked"), ours(fFinishedAt, "finished_at"),
	},
	SheetKnowledge: {
		team(fTopic, "Тема"), team(fQuestion, "Вопрос / ключевые слова"), team(fAnswer, "Ответ"),
	},
	SheetStats: {
		ours(fDate, "Дата"), ours(fAppealsCount, "Обращений"), ours(fWithoutHuman, "Без оператора, %"), ours(fEscalations, "Эскалаций"),
		ours(fFirstResponse, "Первый ответ, мин"), ours(fResolved, "Решено"), ours(fResolution, "Время решения, мин"),
		ours(fRatings, "Оценок"), ours(fRatingAvg, "Средняя оценка"), ours(fLowRatings, "Оценок 1-2"), ours(fUpdatedAt, "updated_at"),
	},
	SheetTemplates: {team(fKey, "Ключ"), team(fTitle, "Название"), team(fText, "Текст")},
	SheetHolidays:  {team(fDate, "Дата"), team(fTitle, "Название")},
}

// Schema returns a sheet's fields with their default headers, in the column
// order of a spreadsheet we create.
func Schema(k SheetKey) []Field { return append([]Field(nil), defaultSchema[k]...) }

// DefaultHeaders is the header row of a sheet we create with the default
// headers.
func DefaultHeaders(k SheetKey) []any {
	var out []any
	for _, f := range defaultSchema[k] {
		out = append(out, f.Header)
	}
	return out
}

// Headers are header names by sheet and field key, as configured
// (sheets.headers); a missing or empty name means the default.
type Headers map[SheetKey]map[string]string

// normHeader is a header cell as matched: spaces trimmed.
func normHeader(s string) string { return strings.TrimSpace(s) }

// sameHeader reports whether a header cell matches a field's header.
func sameHeader(cellText, header string) bool {
	return strings.EqualFold(normHeader(cellText), normHeader(header))
}

// resolveSchema applies configured header names to the default schema. An
// unknown sheet or field, or two fields of a sheet whose headers match each
// other, is an error naming them.
func resolveSchema(h Headers) (map[SheetKey][]Field, error) {
	out := make(map[SheetKey][]Field, len(defaultSchema))
	for k, fields := range defaultSchema {
		out[k] = append([]Field(nil), fields...)
	}
	for _, k := range sortedKeys(h) {
		fields, ok := out[k]
		if !ok {
			return nil, fmt.Errorf("store: headers: unknown sheet %q", k)
		}
		for key, name := range h[k] {
			i := fieldIndex(fields, key)
			if i < 0 {
				return nil, fmt.Errorf("store: headers: sheet %s has no field %q", k, key)
			}
			if normHeader(name) != "" {
				fields[i].Header = normHeader(name)
			}
		}
	}
	for _, k := range SheetKeys {
		fields := out[k]
		for i := range fields {
			for j := i + 1; j < len(fields); j++ {
				if sameHeader(fields[i].Header, fields[j].Header) {
					return nil, fmt.Errorf("store: headers: %s fields %s and %s have the same header %q",
						k, fields[i].Key, fields[j].Key, fields[j].Header)
				}
			}
		}
	}
	return out, nil
}

func fieldIndex(fields []Field, key string) int {
	for i, f := range fields {
		if f.Key == key {
			return i
		}
	}
	return -1
}

func sortedKeys(h Headers) []SheetKey {
	keys := make([]SheetKey, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}
