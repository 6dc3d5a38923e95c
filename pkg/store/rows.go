package store

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/sheets"
	"marketingbot/pkg/sheets/a1"
)

// Column layouts (the spreadsheet contract in docs/ARCHITECTURE.md). The
// letters are fixed: people and the Python original rely on them. Row 1 is a
// header row and data starts at row 2.
const (
	authWidth       = 7  // A partner code · B phone · C full name · D STATUS · E Telegram ID · F authorized_at · G bot_blocked_at
	appealsWidth    = 8  // A created_at · B user name · C partner code · D Telegram ID · E history · F status · G updated_at · H operator
	queueWidth      = 11 // A id · B created_at · C object_code · D telegram_id · E requester · F status · G updated_at · H report_url · I error · J delivered_at · K result_text
	listingsWidth   = 13 // A code … M sold_price_rub
	promotionsWidth = 11 // A id · B title · C text · D image_url · E starts_at · F audience · G status · H sent · I failed · J blocked · K finished_at
	knowledgeWidth  = 3  // A topic · B question · C answer
	firstDataRow    = 2
)

// Headers are the header rows written when a sheet is created (sandbox, tests).
var Headers = struct {
	Auth, Appeals, Queue, Listings, Promotions, Knowledge []any
}{
	Auth:       []any{"Код партнера", "Телефон", "ФИО", "STATUS", "Telegram ID", "authorized_at", "bot_blocked_at"},
	Appeals:    []any{"created_at", "Пользователь", "Код партнера", "Telegram ID", "текст_обращений", "Статус", "updated_at", "Оператор"},
	Queue:      []any{"id", "created_at", "object_code", "telegram_id", "requester", "status", "updated_at", "report_url", "error", "delivered_at", "result_text"},
	Listings:   []any{"code", "type", "city", "district", "address", "rooms", "area_m2", "floor", "price_rub", "listed_at", "status", "closed_at", "sold_price_rub"},
	Promotions: []any{"id", "title", "text", "image_url", "starts_at", "audience", "status", "sent", "failed", "blocked", "finished_at"},
	Knowledge:  []any{"Тема", "Вопрос / ключевые слова", "Ответ"},
}

func (s *Spreadsheet) fmtTime(t time.Time) string { return domain.FormatSheetTime(t, s.loc) }

func (s *Spreadsheet) parseTime(v string) time.Time {
	t, _ := domain.ParseSheetTime(v, s.loc)
	return t
}

func idString(id int64) string {
	if id == 0 {
		return ""
	}
	return strconv.FormatInt(id, 10)
}

// ---- Auth ----

func (s *Spreadsheet) partnerFromRow(row []any, n int) domain.Partner {
	phone, ok := domain.NormalizePhone(cell(row, 1))
	if !ok {
		phone = cell(row, 1)
	}
	return domain.Partner{
		Row: n, Code: cell(row, 0), Phone: phone, FullName: cell(row, 2), Status: cell(row, 3),
		TelegramID: cellInt(row, 4), AuthorizedAt: s.parseTime(cell(row, 5)), BotBlockedAt: s.parseTime(cell(row, 6)),
	}
}

// PartnerRow renders a partner as an Auth row.
func PartnerRow(p domain.Partner, loc *time.Location) []any {
	return []any{p.Code, p.Phone, p.FullName, p.Status, idString(p.TelegramID),
		domain.FormatSheetTime(p.AuthorizedAt, loc), domain.FormatSheetTime(p.BotBlockedAt, loc)}
}

// ---- Appeals ----

func (s *Spreadsheet) appealFromRow(row []any, n int) domain.Appeal {
	return domain.Appeal{
		Row: n, CreatedAt: s.parseTime(cell(row, 0)), UserName: cell(row, 1), PartnerCode: cell(row, 2),
		TelegramID: cellInt(row, 3), History: rawCell(row, 4), Status: domain.ParseAppealStatus(cell(row, 5)),
		UpdatedAt: s.parseTime(cell(row, 6)), Operator: cell(row, 7),
	}
}

func (s *Spreadsheet) appealRow(a domain.Appeal) []any {
	return []any{s.fmtTime(a.CreatedAt), a.UserName, a.PartnerCode, idString(a.TelegramID), a.History,
		string(a.Status), s.fmtTime(a.UpdatedAt), a.Operator}
}

// ---- Queue ----

func (s *Spreadsheet) requestFromRow(row []any, n int) domain.AnalyticsRequest {
	return domain.AnalyticsRequest{
		Row: n, ID: cell(row, 0), CreatedAt: s.parseTime(cell(row, 1)), ObjectCode: cell(row, 2),
		TelegramID: cellInt(row, 3), Requester: cell(row, 4), Status: domain.ParseRequestStatus(cell(row, 5)),
		UpdatedAt: s.parseTime(cell(row, 6)), ReportURL: cell(row, 7), Error: cell(row, 8),
		DeliveredAt: s.parseTime(cell(row, 9)), ResultText: rawCell(row, 10),
	}
}

func (s *Spreadsheet) requestRow(r domain.AnalyticsRequest) []any {
	return []any{r.ID, s.fmtTime(r.CreatedAt), r.ObjectCode, idString(r.TelegramID), r.Requester, string(r.Status),
		s.fmtTime(r.UpdatedAt), r.ReportURL, r.Error, s.fmtTime(r.DeliveredAt), r.ResultText}
}

// ---- Listings ----

func (s *Spreadsheet) listingFromRow(row []any) domain.Listing {
	return domain.Listing{
		Code: cell(row, 0), Type: cell(row, 1), City: cell(row, 2), District: cell(row, 3), Address: cell(row, 4),
		Rooms: int(cellInt(row, 5)), AreaM2: cellFloat(row, 6), Floor: int(cellInt(row, 7)), PriceRub: cellInt(row, 8),
		ListedAt: s.parseTime(cell(row, 9)), Status: domain.ListingStatus(strings.ToLower(cell(row, 10))),
		ClosedAt: s.parseTime(cell(row, 11)), SoldPriceRub: cellInt(row, 12),
	}
}

// ListingRow renders a listing as a Listings row (numbers as numbers).
func ListingRow(l domain.Listing, loc *time.Location) []any {
	var sold any = ""
	if l.SoldPriceRub > 0 {
		sold = l.SoldPriceRub
	}
	return []any{l.Code, l.Type, l.City, l.District, l.Address, l.Rooms, l.AreaM2, l.Floor, l.PriceRub,
		domain.FormatSheetTime(l.ListedAt, loc), string(l.Status), domain.FormatSheetTime(l.ClosedAt, loc), sold}
}

// ---- Promotions ----

func (s *Spreadsheet) promotionFromRow(row []any, n int) domain.Promotion {
	return domain.Promotion{
		Row: n, ID: cell(row, 0), Title: cell(row, 1), Text: rawCell(row, 2), ImageURL: cell(row, 3),
		StartsAt: s.parseTime(cell(row, 4)), Audience: cell(row, 5), Status: domain.ParsePromotionStatus(cell(row, 6)),
		Sent: int(cellInt(row, 7)), Failed: int(cellInt(row, 8)), Blocked: int(cellInt(row, 9)), FinishedAt: s.parseTime(cell(row, 10)),
	}
}

// PromotionRow renders a promotion as a Promotions row.
func PromotionRow(p domain.Promotion, loc *time.Location) []any {
	return []any{p.ID, p.Title, p.Text, p.ImageURL, domain.FormatSheetTime(p.StartsAt, loc), p.Audience, string(p.Status),
		p.Sent, p.Failed, p.Blocked, domain.FormatSheetTime(p.FinishedAt, loc)}
}

// ---- Knowledge ----

// KnowledgeRow renders a knowledge entry.
func KnowledgeRow(k domain.KnowledgeEntry) []any { return []any{k.Topic, k.Question, k.Answer} }

// ---- cells and ranges ----

// rowRange is 'Sheet'!A5:H5.
func rowRange(sheet string, width, row int) string { return a1.Row(sheet, 0, width-1, row) }

// dataRange is every data row of a sheet, columns A to width.
func dataRange(sheet string, width int) string {
	return a1.Range{Sheet: sheet, StartCol: 0, StartRow: firstDataRow, EndCol: width - 1, EndRow: a1.Unbounded}.String()
}

// cellString renders a cell read with UNFORMATTED_VALUE as text: integral
// numbers without a fraction (Telegram IDs typed by hand come back as numbers).
func cellString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		if x {
			return "TRUE"
		}
		return "FALSE"
	case json.Number:
		return x.String()
	default:
		return fmt.Sprint(x)
	}
}

func cell(row []any, i int) string {
	if i < len(row) {
		return strings.TrimSpace(cellString(row[i]))
	}
	return ""
}

// rawCell keeps the text exactly (history cells keep their indentation).
func rawCell(row []any, i int) string {
	if i < len(row) {
		return cellString(row[i])
	}
	return ""
}

func cellInt(row []any, i int) int64 {
	s := strings.ReplaceAll(strings.ReplaceAll(cell(row, i), " ", ""), "\u00a0", "")
	if s == "" {
		return 0
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n
	}
	if f, err := strconv.ParseFloat(strings.ReplaceAll(s, ",", "."), 64); err == nil {
		return int64(math.Round(f))
	}
	return 0
}

func cellFloat(row []any, i int) float64 {
	s := strings.ReplaceAll(strings.ReplaceAll(cell(row, i), " ", ""), "\u00a0", "")
	f, _ := strconv.ParseFloat(strings.ReplaceAll(s, ",", "."), 64)
	return f
}

func emptyRow(row []any) bool {
	for _, v := range row {
		if strings.TrimSpace(cellString(v)) != "" {
			return false
		}
	}
	return true
}

func firstRow(rows [][]any) []any {
	if len(rows) == 0 {
		return nil
	}
	return rows[0]
}

// valueRange is one row of cells written at rng.
func valueRange(rng string, cells ...any) sheets.Values {
	return sheets.Values{Range: rng, Rows: [][]any{cells}}
}
