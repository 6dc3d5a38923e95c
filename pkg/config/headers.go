package config

import (
	"reflect"
	"strings"
)

// SheetHeaders name the header of every column the system reads or writes,
// by sheet and field (sheets.headers.<sheet>.<field>). The spreadsheet is
// read and written by these headers, wherever their columns stand; the
// defaults are the original spreadsheet's names. Matching ignores case and
// surrounding spaces. pkg/store documents which fields are the system's
// (written) and which the team's (read only).
type SheetHeaders struct {
	Auth       AuthHeaders       `key:"auth"`
	Appeals    AppealsHeaders    `key:"appeals"`
	Queue      QueueHeaders      `key:"queue"`
	Listings   ListingsHeaders   `key:"listings"`
	Promotions PromotionsHeaders `key:"promotions"`
	Knowledge  KnowledgeHeaders  `key:"knowledge"`
	Stats      StatsHeaders      `key:"stats"`
	Templates  TemplatesHeaders  `key:"templates"`
	Holidays   HolidaysHeaders   `key:"holidays"`
}

type AuthHeaders struct {
	PartnerCode  string `key:"partner_code"`
	Phone        string `key:"phone"`
	FullName     string `key:"full_name"`
	Status       string `key:"status"`
	TelegramID   string `key:"telegram_id"`
	AuthorizedAt string `key:"authorized_at"`
	BotBlockedAt string `key:"bot_blocked_at"`
	// OperatorsTopicID is ours: the partner's topic in a forum operators' group.
	OperatorsTopicID string `key:"operators_topic_id"`
}

type AppealsHeaders struct {
	CreatedAt   string `key:"created_at"`
	UserName    string `key:"user_name"`
	PartnerCode string `key:"partner_code"`
	TelegramID  string `key:"telegram_id"`
	History     string `key:"history"`
	Status      string `key:"status"`
	UpdatedAt   string `key:"updated_at"`
	Operator    string `key:"operator"`
	// Ours (issue 18): the support lead's numbers and the partner's rating.
	EscalatedAt     string `key:"escalated_at"`
	FirstResponseAt string `key:"first_response_at"`
	ResolvedAt      string `key:"resolved_at"`
	Rating          string `key:"rating"`
	RatingComment   string `key:"rating_comment"`
}

type QueueHeaders struct {
	ID          string `key:"id"`
	CreatedAt   string `key:"created_at"`
	ObjectCode  string `key:"object_code"`
	TelegramID  string `key:"telegram_id"`
	Requester   string `key:"requester"`
	Status      string `key:"status"`
	UpdatedAt   string `key:"updated_at"`
	ReportURL   string `key:"report_url"`
	Error       string `key:"error"`
	DeliveredAt string `key:"delivered_at"`
	ResultText  string `key:"result_text"`
}

type ListingsHeaders struct {
	Code         string `key:"code"`
	Type         string `key:"type"`
	City         string `key:"city"`
	District     string `key:"district"`
	Address      string `key:"address"`
	Rooms        string `key:"rooms"`
	AreaM2       string `key:"area_m2"`
	Floor        string `key:"floor"`
	PriceRub     string `key:"price_rub"`
	ListedAt     string `key:"listed_at"`
	Status       string `key:"status"`
	ClosedAt     string `key:"closed_at"`
	SoldPriceRub string `key:"sold_price_rub"`
}

type PromotionsHeaders struct {
	ID         string `key:"id"`
	Title      string `key:"title"`
	Text       string `key:"text"`
	ImageURL   string `key:"image_url"`
	StartsAt   string `key:"starts_at"`
	Audience   string `key:"audience"`
	Status     string `key:"status"`
	Sent       string `key:"sent"`
	Failed     string `key:"failed"`
	Blocked    string `key:"blocked"`
	FinishedAt string `key:"finished_at"`
}

type KnowledgeHeaders struct {
	Topic    string `key:"topic"`
	Question string `key:"question"`
	Answer   string `key:"answer"`
}

// StatsHeaders are the Статистика sheet's: one row per day, all ours.
type StatsHeaders struct {
	Date          string `key:"date"`
	Appeals       string `key:"appeals"`
	WithoutHuman  string `key:"without_human"`
	Escalations   string `key:"escalations"`
	FirstResponse string `key:"first_response"`
	Resolved      string `key:"resolved"`
	Resolution    string `key:"resolution"`
	Ratings       string `key:"ratings"`
	RatingAvg     string `key:"rating_avg"`
	LowRatings    string `key:"low_ratings"`
	UpdatedAt     string `key:"updated_at"`
}

// TemplatesHeaders: the operators' canned answers (/t key in a topic).
type TemplatesHeaders struct {
	Key   string `key:"key"`
	Title string `key:"title"`
	Text  string `key:"text"`
}

// HolidaysHeaders: the days the operators do not work, besides
// hours.holidays.
type HolidaysHeaders struct {
	Date  string `key:"date"`
	Title string `key:"title"`
}

// DefaultSheetHeaders are the original spreadsheet's headers.
func DefaultSheetHeaders() SheetHeaders {
	return SheetHeaders{
		Auth: AuthHeaders{PartnerCode: "Код партнера", Phone: "Телефон", FullName: "ФИО", Status: "STATUS",
			TelegramID: "Telegram ID", AuthorizedAt: "authorized_at", BotBlockedAt: "bot_blocked_at",
			OperatorsTopicID: "operators_topic_id"},
		Appeals: AppealsHeaders{CreatedAt: "created_at", UserName: "Пользователь", PartnerCode: "Код партнера",
			TelegramID: "Telegram ID", History: "текст_обращений", Status: "Статус", UpdatedAt: "updated_at", Operator: "Оператор",
			EscalatedAt: "escalated_at", FirstResponseAt: "first_response_at", ResolvedAt: "resolved_at", Rating: "Оценка",
			RatingComment: "Комментарий к оценке"},
		Queue: QueueHeaders{ID: "id", CreatedAt: "created_at", ObjectCode: "object_code", TelegramID: "telegram_id",
			Requester: "requester", Status: "status", UpdatedAt: "updated_at", ReportURL: "report_url", Error: "error",
			DeliveredAt: "delivered_at", ResultText: "result_text"},
		Listings: ListingsHeaders{Code: "code", Type: "type", City: "city", District: "district", Address: "address",
			Rooms: "rooms", AreaM2: "area_m2", Floor: "floor", PriceRub: "price_rub", ListedAt: "listed_at", Status: "status",
			ClosedAt: "closed_at", SoldPriceRub: "sold_price_rub"},
		Promotions: PromotionsHeaders{ID: "id", Title: "title", Text: "text", ImageURL: "image_url", StartsAt: "starts_at",
			Audience: "audience", Status: "status", Sent: "sent", Failed: "failed", Blocked: "blocked", FinishedAt: "finished_at"},
		Knowledge: KnowledgeHeaders{Topic: "Тема", Question: "Вопрос / ключевые слова", Answer: "Ответ"},
		Stats: StatsHeaders{Date: "Дата", Appeals: "Обращений", WithoutHuman: "Без оператора, %", Escalations: "Эскалаций",
			FirstResponse: "Первый ответ, мин", Resolved: "Решено", Resolution: "Время решения, мин", Ratings: "Оценок",
			RatingAvg: "Средняя оценка", LowRatings: "Оценок 1-2", UpdatedAt: "updated_at"},
		Templates: TemplatesHeaders{Key: "Ключ", Title: "Название", Text: "Текст"},
		Holidays:  HolidaysHeaders{Date: "Дата", Title: "Название"},
	}
}

// Map is h as sheet key → field key → header (the keys of the
// configuration, as pkg/store names sheets and fields).
func (h SheetHeaders) Map() map[string]map[string]string {
	out := map[string]map[string]string{}
	v := reflect.ValueOf(h)
	for i := 0; i < v.NumField(); i++ {
		sheet := v.Type().Field(i).Tag.Get("key")
		fields := map[string]string{}
		sv := v.Field(i)
		for j := 0; j < sv.NumField(); j++ {
			fields[sv.Type().Field(j).Tag.Get("key")] = sv.Field(j).String()
		}
		out[sheet] = fields
	}
	return out
}

// validateHeaders: every header is set, and no two fields of a sheet have
// headers that would match the same column.
func (c *Config) validateHeaders() error {
	v := reflect.ValueOf(c.Sheets.Headers)
	for i := 0; i < v.NumField(); i++ {
		sheet := v.Type().Field(i).Tag.Get("key")
		sv := v.Field(i)
		seen := map[string]string{}
		for j := 0; j < sv.NumField(); j++ {
			key := "sheets.headers." + sheet + "." + sv.Type().Field(j).Tag.Get("key")
			h := strings.ToLower(strings.TrimSpace(sv.Field(j).String()))
			if h == "" {
				return &Error{Key: key, Msg: "is required: the header of that column in row 1"}
			}
			if other, dup := seen[h]; dup {
				return &Error{Key: key, Msg: "is the same header as " + other + ": every column needs its own header"}
			}
			seen[h] = key
		}
	}
	return nil
}
