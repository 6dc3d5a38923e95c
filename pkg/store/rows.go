package store

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"marketingbot/pkg/domain"
)

// Row 1 of every sheet is its header row and data starts at row 2. Where
// a field stands comes from the header row (layout.go); the conversions
// below read and write fields, never column letters.
const firstDataRow = 2

// Record is a row's cells by field key (Schema), as written into a sheet;
// fixtures place it under a layout's headers.
type Record map[string]any

// DefaultRow places a record in the column order of DefaultHeaders.
func DefaultRow(k SheetKey, r Record) []any {
	fields := defaultSchema[k]
	row := make([]any, len(fields))
	for i, f := range fields {
		if v, ok := r[f.Key]; ok {
			row[i] = v
		} else {
			row[i] = ""
		}
	}
	return row
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

func (s *Spreadsheet) partnerFrom(r record, n int) domain.Partner {
	phone, ok := domain.NormalizePhone(r.str(fPhone))
	if !ok {
		phone = r.str(fPhone)
	}
	return domain.Partner{
		Row: n, Code: r.str(fPartnerCode), Phone: phone, FullName: r.str(fFullName), Status: r.str(fStatus),
		TelegramID: r.num(fTelegramID), AuthorizedAt: s.parseTime(r.str(fAuthorizedAt)), BotBlockedAt: s.parseTime(r.str(fBotBlockedAt)),
		OperatorsTopicID: int(r.num(fOperatorsTopicID)),
	}
}

// PartnerRecord renders a partner as an Auth record.
func PartnerRecord(p domain.Partner, loc *time.Location) Record {
	return Record{fPartnerCode: p.Code, fPhone: p.Phone, fFullName: p.FullName, fStatus: p.Status,
		fTelegramID: idString(p.TelegramID), fAuthorizedAt: domain.FormatSheetTime(p.AuthorizedAt, loc),
		fBotBlockedAt: domain.FormatSheetTime(p.BotBlockedAt, loc), fOperatorsTopicID: idString(int64(p.OperatorsTopicID))}
}

// PartnerRow renders a partner as an Auth row of the default layout.
func PartnerRow(p domain.Partner, loc *time.Location) []any {
	return DefaultRow(SheetAuth, PartnerRecord(p, loc))
}

// ---- Appeals ----

func (s *Spreadsheet) appealFrom(r record, n int) domain.Appeal {
	return domain.Appeal{
		Row: n, CreatedAt: s.parseTime(r.str(fCreatedAt)), UserName: r.str(fUserName), PartnerCode: r.str(fPartnerCode),
		TelegramID: r.num(fTelegramID), History: r.raw(fHistory), Status: domain.ParseAppealStatus(r.str(fStatus)),
		UpdatedAt: s.parseTime(r.str(fUpdatedAt)), Operator: r.str(fOperator),
		EscalatedAt: s.parseTime(r.str(fEscalatedAt)), FirstResponseAt: s.parseTime(r.str(fFirstResponseAt)),
		ResolvedAt: s.parseTime(r.str(fResolvedAt)), Rating: rating(r.num(fRating)), RatingComment: r.raw(fRatingComment),
	}
}

// rating is a rating cell as a rating: 1..5, anything else none (0).
func rating(n int64) int {
	if n < 1 || n > 5 {
		return 0
	}
	return int(n)
}

// ratingCell is a rating as written: the number, or nothing for none.
func ratingCell(n int) any {
	if n == 0 {
		return ""
	}
	return n
}

func (s *Spreadsheet) appealPuts(a domain.Appeal) []put {
	return []put{{fCreatedAt, s.fmtTime(a.CreatedAt)}, {fUserName, a.UserName}, {fPartnerCode, a.PartnerCode},
		{fTelegramID, idString(a.TelegramID)}, {fHistory, a.History}, {fStatus, string(a.Status)},
		{fUpdatedAt, s.fmtTime(a.UpdatedAt)}, {fOperator, a.Operator},
		{fEscalatedAt, s.fmtTime(a.EscalatedAt)}, {fFirstResponseAt, s.fmtTime(a.FirstResponseAt)}, {fResolvedAt, s.fmtTime(a.ResolvedAt)},
		{fRating, ratingCell(a.Rating)}, {fRatingComment, a.RatingComment}}
}

// ---- Queue ----

func (s *Spreadsheet) requestFrom(r record, n int) domain.AnalyticsRequest {
	return domain.AnalyticsRequest{
		Row: n, ID: r.str(fID), CreatedAt: s.parseTime(r.str(fCreatedAt)), ObjectCode: r.str(fObjectCode),
		TelegramID: r.num(fTelegramID), Requester: r.str(fRequester), Status: domain.ParseRequestStatus(r.str(fStatus)),
		UpdatedAt: s.parseTime(r.str(fUpdatedAt)), ReportURL: r.str(fReportURL), Error: r.str(fError),
		DeliveredAt: s.parseTime(r.str(fDeliveredAt)), ResultText: r.raw(fResultText),
	}
}

func (s *Spreadsheet) requestPuts(r domain.AnalyticsRequest) []put {
	return []put{{fID, r.ID}, {fCreatedAt, s.fmtTime(r.CreatedAt)}, {fObjectCode, r.ObjectCode},
		{fTelegramID, idString(r.TelegramID)}, {fRequester, r.Requester}, {fStatus, string(r.Status)},
		{fUpdatedAt, s.fmtTime(r.UpdatedAt)}, {fReportURL, r.ReportURL}, {fError, r.Error},
		{fDeliveredAt, s.fmtTime(r.DeliveredAt)}, {fResultText, r.ResultText}}
}

// ---- Listings ----

func (s *Spreadsheet) listingFrom(r record) domain.Listing {
	return domain.Listing{
		Code: r.str(fCode), Type: r.str(fType), City: r.str(fCity), District: r.str(fDistrict), Address: r.str(fAddress),
		Rooms: int(r.num(fRooms)), AreaM2: r.float(fAreaM2), Floor: int(r.num(fFloor)), PriceRub: r.num(fPriceRub),
		ListedAt: s.parseTime(r.str(fListedAt)), Status: domain.ListingStatus(strings.ToLower(r.str(fStatus))),
		ClosedAt: s.parseTime(r.str(fClosedAt)), SoldPriceRub: r.num(fSoldPriceRub),
	}
}

// ListingRecord renders a listing as a Listings record (numbers as numbers).
func ListingRecord(l domain.Listing, loc *time.Location) Record {
	var sold any = ""
	if l.SoldPriceRub > 0 {
		sold = l.SoldPriceRub
	}
	return Record{fCode: l.Code, fType: l.Type, fCity: l.City, fDistrict: l.District, fAddress: l.Address, fRooms: l.Rooms,
		fAreaM2: l.AreaM2, fFloor: l.Floor, fPriceRub: l.PriceRub, fListedAt: domain.FormatSheetTime(l.ListedAt, loc),
		fStatus: string(l.Status), fClosedAt: domain.FormatSheetTime(l.ClosedAt, loc), fSoldPriceRub: sold}
}

// ListingRow renders a listing as a Listings row of the default layout.
func ListingRow(l domain.Listing, loc *time.Location) []any {
	return DefaultRow(SheetListings, ListingRecord(l, loc))
}

// ---- Promotions ----

func (s *Spreadsheet) promotionFrom(r record, n int) domain.Promotion {
	return domain.Promotion{
		Row: n, ID: r.str(fID), Title: r.str(fTitle), Text: r.raw(fText), ImageURL: r.str(fImageURL),
		StartsAt: s.parseTime(r.str(fStartsAt)), Audience: r.str(fAudience), Status: domain.ParsePromotionStatus(r.str(fStatus)),
		Sent: int(r.num(fSent)), Failed: int(r.num(fFailed)), Blocked: int(r.num(fBlocked)), FinishedAt: s.parseTime(r.str(fFinishedAt)),
	}
}

// PromotionRecord renders a promotion as a Promotions record.
func PromotionRecord(p domain.Promotion, loc *time.Location) Record {
	return Record{fID: p.ID, fTitle: p.Title, fText: p.Text, fImageURL: p.ImageURL,
		fStartsAt: domain.FormatSheetTime(p.StartsAt, loc), fAudience: p.Audience, fStatus: string(p.Status),
		fSent: p.Sent, fFailed: p.Failed, fBlocked: p.Blocked, fFinishedAt: domain.FormatSheetTime(p.FinishedAt, loc)}
}

// PromotionRow renders a promotion as a Promotions row of the default layout.
func PromotionRow(p domain.Promotion, loc *time.Location) []any {
	return DefaultRow(SheetPromotions, PromotionRecord(p, loc))
}

// ---- Knowledge ----

// KnowledgeRecord renders a knowledge entry.
func KnowledgeRecord(k domain.KnowledgeEntry) Record {
	return Record{fTopic: k.Topic, fQuestion: k.Question, fAnswer: k.Answer}
}

// KnowledgeRow renders a knowledge entry in the default layout.
func KnowledgeRow(k domain.KnowledgeEntry) []any {
	return DefaultRow(SheetKnowledge, KnowledgeRecord(k))
}

// ---- cells and ranges ----

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
	if i >= 0 && i < len(row) {
		return strings.TrimSpace(cellString(row[i]))
	}
	return ""
}

// rawCell keeps the text exactly (history cells keep their indentation).
func rawCell(row []any, i int) string {
	if i >= 0 && i < len(row) {
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
