package analytics

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/go-pdf/fpdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"

	"marketingbot/pkg/domain"
)

// Page geometry in millimetres (A4 portrait).
const (
	pageW       = 210.0
	pageH       = 297.0
	marginX     = 15.0
	marginTop   = 12.0
	contentW    = pageW - 2*marginX
	footerTop   = pageH - 19.0 // body content ends above; the footer keeps 5 mm to the edge
	fontFamily  = "go"
	tableRowH   = 5.0
	chartHeight = 40.0
)

type rgb struct{ r, g, b int }

var (
	colorText    = rgb{33, 37, 41}
	colorMuted   = rgb{108, 117, 125}
	colorPrimary = rgb{23, 64, 120}
	colorAccent  = rgb{0, 112, 192}
	colorSoft    = rgb{214, 230, 245} // quartile box, header fills
	colorGrid    = rgb{222, 226, 230}
	colorPanel   = rgb{246, 248, 250}
	colorObject  = rgb{200, 40, 40}
	colorGood    = rgb{25, 135, 84}
	colorWarn    = rgb{205, 110, 0}
	colorHighRow = rgb{255, 246, 214}
)

// The Go fonts cover Cyrillic but not the rouble sign (U+20BD), so the PDF
// spells the currency out as Russian documents do.
var pdfText = strings.NewReplacer("₽.", "руб.", "₽", "руб.")

// RenderPDF renders the report as a one-page (more with a long competitor
// table) A4 PDF. The output depends only on the report: dates inside the file
// come from GeneratedAt (always set by Analyze), so the same report gives the
// same bytes.
func RenderPDF(r *Report) (out []byte, err error) {
	if r == nil {
		return nil, fmt.Errorf("analytics: render pdf: nil report")
	}
	// fpdf panics on some inputs instead of returning errors; a report must
	// fail as an error, not take the worker down.
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("analytics: render pdf %s: fpdf panic: %v", cleanText(r.Object.Code), p)
		}
	}()
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetCompression(true)
	pdf.SetCatalogSort(true)
	// fpdf writes the date without a zone, which readers take as UTC.
	pdf.SetCreationDate(r.GeneratedAt.UTC())
	pdf.SetModificationDate(r.GeneratedAt.UTC())
	pdf.AddUTF8FontFromBytes(fontFamily, "", goregular.TTF)
	pdf.AddUTF8FontFromBytes(fontFamily, "B", gobold.TTF)
	code := printable(cleanText(r.Object.Code))
	pdf.SetTitle("Аналитика 360 — "+code, true)
	pdf.SetSubject("Рыночный отчёт по объекту "+code, true)
	pdf.SetCreator("MarketingBot", true)
	pdf.SetProducer("MarketingBot analytics", true)
	pdf.SetMargins(marginX, marginTop, marginX)
	pdf.SetAutoPageBreak(false, 0)
	pdf.AliasNbPages("{nb}")

	d := &doc{pdf: pdf, r: r}
	pdf.SetFooterFunc(d.footer)
	pdf.AddPage()
	d.y = marginTop

	d.header()
	d.objectBlock()
	d.keyFigures()
	d.chart()
	d.competitorTable()
	d.positionScale()
	d.corridorBlock()

	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("analytics: render pdf %s: %w", code, err)
	}
	return buf.Bytes(), nil
}

// doc carries the cursor between sections; sections lay themselves out from
// d.y downwards and move it past their bottom.
type doc struct {
	pdf *fpdf.Fpdf
	r   *Report
	y   float64
}

func (d *doc) font(style string, size float64, c rgb) {
	d.pdf.SetFont(fontFamily, style, size)
	d.pdf.SetTextColor(c.r, c.g, c.b)
}

func (d *doc) fill(c rgb)            { d.pdf.SetFillColor(c.r, c.g, c.b) }
func (d *doc) draw(c rgb, w float64) { d.pdf.SetDrawColor(c.r, c.g, c.b); d.pdf.SetLineWidth(w) }

// text writes s in a box of width w at (x, y); align is "L", "C" or "R".
// Text that does not fit is shortened with an ellipsis.
func (d *doc) text(x, y, w, h float64, s, align string) {
	s = d.fit(printable(s), w)
	d.pdf.SetXY(x, y)
	d.pdf.CellFormat(w, h, s, "", 0, align+"M", false, 0, "")
}

// printable prepares text for the Go fonts: the rouble sign is spelled out,
// control characters of hand-edited cells become spaces and characters the
// fonts lack (emoji, CJK, …) become "?" — fpdf would draw them as empty boxes
// or, beyond the Basic Multilingual Plane, panic.
func printable(s string) string {
	s = pdfText.Replace(s)
	covered := fontCoverage()
	return strings.Map(func(r rune) rune {
		switch {
		case unicode.IsControl(r):
			return ' '
		case r > 0xFFFF || !covered[r]:
			return '?'
		default:
			return r
		}
	}, s)
}

// fontCoverage lists the runes both embedded fonts can draw.
var fontCoverage = sync.OnceValue(func() []bool {
	covered := make([]bool, 0x10000)
	regular, errR := sfnt.Parse(goregular.TTF)
	bold, errB := sfnt.Parse(gobold.TTF)
	if errR != nil || errB != nil {
		return covered // unreachable with the vendored fonts; prints "?" rather than failing
	}
	var buf sfnt.Buffer
	for r := range rune(len(covered)) {
		gr, err1 := regular.GlyphIndex(&buf, r)
		gb, err2 := bold.GlyphIndex(&buf, r)
		covered[r] = err1 == nil && err2 == nil && gr != 0 && gb != 0
	}
	return covered
})

func (d *doc) fit(s string, w float64) string {
	if w <= 0 || d.pdf.GetStringWidth(s) <= w-0.5 {
		return s
	}
	rs := []rune(s)
	for len(rs) > 1 {
		rs = rs[:len(rs)-1]
		if t := strings.TrimRight(string(rs), " ,") + "…"; d.pdf.GetStringWidth(t) <= w-0.5 {
			return t
		}
	}
	return string(rs)
}

func (d *doc) width(s string) float64 { return d.pdf.GetStringWidth(pdfText.Replace(s)) }

// ensure starts a new page when h millimetres do not fit above the footer.
func (d *doc) ensure(h float64) {
	if d.y+h > footerTop {
		d.newPage()
	}
}

func (d *doc) newPage() {
	d.pdf.AddPage()
	d.y = marginTop
}

func (d *doc) sectionTitle(s string) {
	d.font("B", 10.5, colorPrimary)
	d.text(marginX, d.y, contentW, 5.5, s, "L")
	d.y += 6.5
}

func (d *doc) header() {
	r := d.r
	d.font("B", 20, colorPrimary)
	d.text(marginX, d.y, 100, 10, "Аналитика 360", "L")
	d.font("B", 12, colorText)
	d.text(marginX+90, d.y, contentW-90, 5.5, "Объект "+cleanText(r.Object.Code), "R")
	d.font("", 9, colorMuted)
	d.text(marginX+90, d.y+5.5, contentW-90, 4.5, "Отчёт от "+FormatDate(r.GeneratedAt), "R")
	d.y += 11
	d.draw(colorAccent, 0.6)
	d.pdf.Line(marginX, d.y, marginX+contentW, d.y)
	d.y += 3
}

func (d *doc) objectBlock() {
	r, o := d.r, d.r.Object
	parts := []string{capitalize(cleanText(o.Type)), formatRooms(o.Rooms), FormatArea(o.AreaM2)}
	if o.Floor > 0 {
		parts = append(parts, "этаж "+strconv.Itoa(o.Floor))
	}
	d.font("B", 12, colorText)
	d.text(marginX, d.y, contentW, 5.5, strings.Join(nonEmpty(parts), ", "), "L")
	d.y += 5.5
	d.font("", 9.5, colorText)
	d.text(marginX, d.y, contentW, 4.6, strings.Join(nonEmpty([]string{o.City, o.District, o.Address}), ", "), "L")
	d.y += 4.6
	line := fmt.Sprintf("Цена предложения: %s · %s", FormatRub(o.PriceRub), FormatRubPerM2(r.PricePerM2))
	if !o.ListedAt.IsZero() {
		line += " · выставлен " + FormatDate(o.ListedAt.In(r.GeneratedAt.Location()))
	}
	line += " · " + statusText(o.Status)
	d.text(marginX, d.y, contentW, 4.6, line, "L")
	d.y += 4.6

	d.font("", 8.5, colorMuted)
	n := len(r.Competitors)
	seg := fmt.Sprintf("Сегмент: %s, %s, %s, %s — %d %s из %d %s",
		strings.ToLower(r.Segment.Type), r.segmentArea(),
		formatRoomsRange(r.Segment.RoomsMin, r.Segment.RoomsMax), formatAreaRange(r.Segment.AreaMin, r.Segment.AreaMax),
		n, Plural(n, "активный конкурент", "активных конкурента", "активных конкурентов"),
		r.Segment.Listings, Plural(r.Segment.Listings, "объявления", "объявлений", "объявлений"))
	d.text(marginX, d.y, contentW, 4.2, seg, "L")
	d.y += 4.2
	if r.Widened {
		d.font("", 8.5, colorWarn)
		d.text(marginX, d.y, contentW, 4.2, "Сегмент расширен до всего города: "+r.widenedReason()+".", "L")
		d.y += 4.2
	}
	d.y += 2.5
}

func capitalize(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError {
		return s
	}
	return string(unicode.ToUpper(r)) + s[size:]
}

func statusText(s domain.ListingStatus) string {
	switch s {
	case domain.ListingActive:
		return "в продаже"
	case domain.ListingSold:
		return "продан"
	case domain.ListingWithdrawn:
		return "снят с продажи"
	default:
		return "статус: " + string(s)
	}
}

func nonEmpty(ss []string) []string {
	out := ss[:0:0]
	for _, s := range ss {
		if s = cleanText(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

type tile struct{ label, value, note string }

func (d *doc) keyFigures() {
	r := d.r
	n := len(r.Competitors)
	na := "нет данных"
	tiles := []tile{
		{"Цена за м²", FormatRubPerM2(r.PricePerM2), "цена предложения / площадь"},
		{"Позиция среди конкурентов", na, "нет активных конкурентов"},
		{"Медиана сегмента", na, "цена за м², активные объявления"},
		{fmt.Sprintf("Тренд за %d %s", r.TrendMonths, Plural(r.TrendMonths, "месяц", "месяца", "месяцев")), na, "мало месяцев с объявлениями"},
		{"Срок экспозиции", na, "нет сделок за 12 месяцев"},
		{"Скидка при продаже", na, "нет сделок за 12 месяцев"},
	}
	if n > 0 {
		tiles[1].value = FormatPercent(r.PercentileRank, 0)
		tiles[1].note = "конкурентов дешевле за м²"
		tiles[2].value = FormatRubPerM2(r.SegmentMedianPerM2)
		tiles[2].note = fmt.Sprintf("%d %s", n, Plural(n, "активный конкурент", "активных конкурента", "активных конкурентов"))
	}
	if r.HasTrend {
		tiles[3].value = FormatPercentChange(r.TrendPercent, 1)
		tiles[3].note = "медиана за м² по дате выставления"
	}
	if k := r.Deals.Count; k > 0 {
		days := int(math.Round(r.Deals.MedianDaysOnMarket))
		tiles[4].value = fmt.Sprintf("%d %s", days, Plural(days, "день", "дня", "дней"))
		tiles[4].note = fmt.Sprintf("медиана по %d %s за 12 мес.", k, Plural(k, "сделке", "сделкам", "сделкам"))
		tiles[5].value = FormatPercent(r.Deals.MedianDiscountPercent, 1)
		tiles[5].note = "медиана, от цены предложения"
	}

	const cols, gap, h = 3, 2.5, 13.5
	w := (contentW - gap*(cols-1)) / cols
	d.ensure(2*h + gap)
	for i, t := range tiles {
		x := marginX + float64(i%cols)*(w+gap)
		y := d.y + float64(i/cols)*(h+gap)
		d.fill(colorPanel)
		d.pdf.RoundedRect(x, y, w, h, 1.5, "1234", "F")
		d.fill(colorAccent)
		d.pdf.Rect(x, y+2, 0.9, h-4, "F")
		d.font("", 7.3, colorMuted)
		d.text(x+3, y+0.8, w-4, 3.6, t.label, "L")
		valueColor := colorText
		if t.value == na {
			valueColor = colorMuted
		}
		d.font("B", 12.5, valueColor)
		d.text(x+3, y+4.3, w-4, 5.4, t.value, "L")
		d.font("", 6.6, colorMuted)
		d.text(x+3, y+9.6, w-4, 3.4, t.note, "L")
	}
	d.y += 2*h + gap + 4
}

// chart draws the monthly segment median as a line broken at empty months,
// with the object's price per m² as a dashed horizontal line.
func (d *doc) chart() {
	r := d.r
	const axisW, axisGap = 17.0, 8.0
	d.ensure(6.5 + 1 + chartHeight + axisGap + 8)
	d.sectionTitle("Медиана цены предложения за м² в сегменте по месяцам")

	left, top := marginX+axisW, d.y+1
	w, h := contentW-axisW, chartHeight
	lo, hi := r.PricePerM2, r.PricePerM2
	points := 0
	for _, p := range r.Monthly {
		if !p.Gap() {
			lo, hi = math.Min(lo, p.MedianPerM2), math.Max(hi, p.MedianPerM2)
			points++
		}
	}
	// A little headroom keeps the extreme points off the frame.
	pad := (hi - lo) * 0.04
	ticks := niceTicks(lo-pad, hi+pad, 5)
	yMin, yMax := ticks[0], ticks[len(ticks)-1]
	yOf := func(v float64) float64 { return top + h - (v-yMin)/(yMax-yMin)*h }

	d.draw(colorGrid, 0.2)
	d.font("", 7, colorMuted)
	for _, t := range ticks {
		y := yOf(t)
		d.pdf.Line(left, y, left+w, y)
		d.text(marginX, y-2, axisW-2, 4, formatThousands(t), "R")
	}
	d.draw(colorMuted, 0.3)
	d.pdf.Line(left, top+h, left+w, top+h)
	d.pdf.Line(left, top, left, top+h)

	n := len(r.Monthly)
	step := w / float64(max(n, 1))
	xOf := func(i int) float64 { return left + (float64(i)+0.5)*step }
	every := int(math.Ceil(11 / step)) // keep month labels at least 11 mm apart
	labelW := step * float64(every)
	for i, p := range r.Monthly {
		x := xOf(i)
		d.pdf.Line(x, top+h, x, top+h+1)
		if (n-1-i)%every == 0 { // the current month is always labelled
			d.font("", 6.8, colorMuted)
			d.text(x-labelW/2, top+h+1.2, labelW, 3.5, formatMonthShort(p.Month), "C")
			if !p.Gap() {
				d.text(x-labelW/2, top+h+4.4, labelW, 3, fmt.Sprintf("%d об.", p.Count), "C")
			}
		}
	}

	// Object line first, so the market line is drawn over it.
	d.draw(colorObject, 0.4)
	d.pdf.SetDashPattern([]float64{1.6, 1.0}, 0)
	d.pdf.Line(left, yOf(r.PricePerM2), left+w, yOf(r.PricePerM2))
	d.pdf.SetDashPattern(nil, 0)

	d.draw(colorAccent, 0.7)
	d.fill(colorAccent)
	for i := 1; i < n; i++ {
		a, b := r.Monthly[i-1], r.Monthly[i]
		if !a.Gap() && !b.Gap() {
			d.pdf.Line(xOf(i-1), yOf(a.MedianPerM2), xOf(i), yOf(b.MedianPerM2))
		}
	}
	for i, p := range r.Monthly {
		if !p.Gap() {
			d.pdf.Circle(xOf(i), yOf(p.MedianPerM2), 0.9, "F")
		}
	}
	if points == 0 {
		d.font("", 9, colorMuted)
		d.text(left, top+h/2-6, w, 5, "Нет объявлений сегмента за период", "C")
	}

	// Legend.
	ly := top + h + axisGap
	d.draw(colorAccent, 0.7)
	d.pdf.Line(left, ly+2, left+7, ly+2)
	d.fill(colorAccent)
	d.pdf.Circle(left+3.5, ly+2, 0.9, "F")
	d.font("", 7.5, colorText)
	legend := "медиана сегмента (разрыв линии — месяц без объявлений; «об.» — число объявлений)"
	d.text(left+8.5, ly, d.width(legend)+1, 4, legend, "L")
	x := left + 8.5 + d.width(legend) + 6
	d.draw(colorObject, 0.4)
	d.pdf.SetDashPattern([]float64{1.6, 1.0}, 0)
	d.pdf.Line(x, ly+2, x+7, ly+2)
	d.pdf.SetDashPattern(nil, 0)
	d.text(x+8.5, ly, 70, 4, "объект: "+FormatRubPerM2(r.PricePerM2), "L")
	d.y = ly + 4 + 4
}

// niceTicks returns about n round tick values covering [lo, hi].
func niceTicks(lo, hi float64, n int) []float64 {
	if hi <= lo {
		pad := math.Max(math.Abs(lo)*0.05, 1)
		lo, hi = lo-pad, hi+pad
	}
	raw := (hi - lo) / float64(max(n-1, 1))
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	start := math.Floor(lo/step) * step
	end := math.Ceil(hi/step) * step
	var ticks []float64
	for v := start; v <= end+step/2; v += step {
		ticks = append(ticks, math.Round(v/step)*step)
	}
	if len(ticks) < 2 {
		ticks = append(ticks, start+step)
	}
	return ticks
}

type column struct {
	title string
	w     float64
	align string
	value func(i int, c Competitor) string
}

func (d *doc) competitorTable() {
	r := d.r
	top := r.TopCompetitors()
	title := "Ближайшие конкуренты"
	if len(r.Competitors) > len(top) {
		title += fmt.Sprintf(" — %d из %d, по сходству", len(top), len(r.Competitors))
	} else if len(top) > 0 {
		title += " — по сходству"
	}
	cols := []column{
		{"№", 8, "C", func(i int, _ Competitor) string { return strconv.Itoa(i + 1) }},
		{"Код", 26, "L", func(_ int, c Competitor) string { return normalizeCode(c.Listing.Code) }},
		{"Комн.", 17, "C", func(_ int, c Competitor) string { return roomsCell(c.Listing.Rooms) }},
		{"Площадь", 21, "R", func(_ int, c Competitor) string { return FormatArea(c.Listing.AreaM2) }},
		{"Этаж", 13, "C", func(_ int, c Competitor) string { return floorCell(c.Listing.Floor) }},
		{"Цена", 35, "R", func(_ int, c Competitor) string { return FormatRub(c.Listing.PriceRub) }},
		{"Цена за м²", 32, "R", func(_ int, c Competitor) string { return FormatRubPerM2(c.PricePerM2) }},
		{"Сходство", 28, "R", func(_ int, c Competitor) string { return FormatNumber(c.Similarity, 2) }},
	}
	if r.Widened {
		// Competitors come from several districts: show where, at the cost of
		// narrower columns.
		district := column{"Район", 28, "L", func(_ int, c Competitor) string { return cleanText(c.Listing.District) }}
		cols = []column{cols[0], cols[1], district, cols[2], cols[3], cols[4], cols[5], cols[6], cols[7]}
		for i, w := range []float64{8, 24, 28, 12, 18, 10, 32, 30, 18} {
			cols[i].w = w
		}
	}

	d.ensure(6.5 + tableRowH*3)
	d.sectionTitle(title)
	if len(top) == 0 {
		d.font("", 9, colorMuted)
		d.text(marginX, d.y, contentW, 5, "Активных конкурентов в сегменте нет.", "L")
		d.y += 9
		return
	}
	header := func() {
		d.fill(colorSoft)
		d.pdf.Rect(marginX, d.y, contentW, tableRowH+0.6, "F")
		d.font("B", 7.8, colorPrimary)
		x := marginX
		for _, c := range cols {
			d.text(x+1, d.y, c.w-2, tableRowH+0.6, c.title, c.align)
			x += c.w
		}
		d.y += tableRowH + 0.6
	}
	row := func(cells []string, bg *rgb, style string, fg rgb) {
		if bg != nil {
			d.fill(*bg)
			d.pdf.Rect(marginX, d.y, contentW, tableRowH, "F")
		}
		d.font(style, 8, fg)
		x := marginX
		for i, c := range cols {
			d.text(x+1, d.y, c.w-2, tableRowH, cells[i], c.align)
			x += c.w
		}
		d.draw(colorGrid, 0.15)
		d.pdf.Line(marginX, d.y+tableRowH, marginX+contentW, d.y+tableRowH)
		d.y += tableRowH
	}
	header()

	// The object itself heads the table so that a partner compares line by line.
	objCells := make([]string, len(cols))
	objAsCompetitor := Competitor{Listing: r.Object, PricePerM2: r.PricePerM2}
	for i, c := range cols {
		objCells[i] = c.value(0, objAsCompetitor)
	}
	objCells[0], objCells[len(cols)-1] = "", "объект"
	hl := colorHighRow
	row(objCells, &hl, "B", colorText)

	for i, c := range top {
		if d.y+tableRowH > footerTop {
			d.newPage()
			header()
		}
		cells := make([]string, len(cols))
		for j, col := range cols {
			cells[j] = col.value(i, c)
		}
		var bg *rgb
		if i%2 == 1 {
			p := colorPanel
			bg = &p
		}
		row(cells, bg, "", colorText)
	}
	d.y += 4
}

func roomsCell(rooms int) string {
	if rooms <= 0 {
		return "студия"
	}
	return strconv.Itoa(rooms)
}

func floorCell(floor int) string {
	if floor <= 0 {
		return "—"
	}
	return strconv.Itoa(floor)
}

// positionScale places the object on a min..max scale of the competitors'
// price per m² with the interquartile range and the median.
func (d *doc) positionScale() {
	r := d.r
	if len(r.Competitors) == 0 {
		d.ensure(6.5 + 9)
		d.sectionTitle("Положение объекта среди конкурентов по цене за м²")
		d.font("", 9, colorMuted)
		d.text(marginX, d.y, contentW, 5, "Сравнивать не с чем: активных конкурентов нет.", "L")
		d.y += 9
		return
	}
	s := r.Spread
	lo, hi := math.Min(s.Min, r.PricePerM2), math.Max(s.Max, r.PricePerM2)
	pad := (hi - lo) * 0.06
	if pad == 0 {
		pad = hi * 0.05
	}
	lo, hi = lo-pad, hi+pad
	left, w := marginX+4, contentW-8
	xOf := func(v float64) float64 { return left + (v-lo)/(hi-lo)*w }

	// Lay the labels out first: marks at the same price share one label, and
	// a label that would overlap its left neighbour drops to a second row.
	type mark struct {
		name, value string
		x, lx, lw   float64
		level       int
	}
	var marks []mark
	d.font("", 6.8, colorMuted)
	for _, m := range []struct {
		name string
		v    float64
	}{{"мин.", s.Min}, {"25-й перц.", s.P25}, {"медиана", s.Median}, {"75-й перц.", s.P75}, {"макс.", s.Max}} {
		if k := len(marks) - 1; k >= 0 && math.Abs(xOf(m.v)-marks[k].x) < 0.3 {
			marks[k].name += " = " + m.name
			continue
		}
		marks = append(marks, mark{name: m.name, value: formatThousands(m.v), x: xOf(m.v)})
	}
	rows := 1
	lastRight := [2]float64{-1e9, -1e9}
	for i := range marks {
		m := &marks[i]
		m.lw = math.Max(d.width(m.name), d.width(m.value)) + 2
		m.lx = math.Min(math.Max(m.x-m.lw/2, marginX), marginX+contentW-m.lw)
		if m.lx < lastRight[0] {
			m.level = 1
			rows = 2
		}
		lastRight[m.level] = max(lastRight[m.level], m.lx+m.lw)
	}

	const rowH = 6.8
	d.ensure(6.5 + 11 + 1.5 + float64(rows)*rowH + 2)
	d.sectionTitle("Положение объекта среди конкурентов по цене за м²")

	// Object marker and label above the bar.
	barY := d.y + 9
	ox := xOf(r.PricePerM2)
	d.font("B", 8, colorObject)
	label := "объект " + FormatRubPerM2(r.PricePerM2)
	lw := d.width(label) + 2
	lx := math.Min(math.Max(ox-lw/2, marginX), marginX+contentW-lw)
	d.text(lx, d.y, lw, 4.2, label, "C")
	d.fill(colorObject)
	d.pdf.Polygon([]fpdf.PointType{{X: ox - 1.6, Y: barY - 4.2}, {X: ox + 1.6, Y: barY - 4.2}, {X: ox, Y: barY - 0.8}}, "F")

	// Range, interquartile box and median.
	d.fill(colorGrid)
	d.pdf.Rect(xOf(s.Min), barY, math.Max(xOf(s.Max)-xOf(s.Min), 0.4), 4, "F")
	d.fill(colorSoft)
	d.draw(colorAccent, 0.3)
	d.pdf.Rect(xOf(s.P25), barY-1, math.Max(xOf(s.P75)-xOf(s.P25), 0.4), 6, "FD")
	d.draw(colorPrimary, 0.7)
	d.pdf.Line(xOf(s.Median), barY-1.5, xOf(s.Median), barY+5.5)
	d.draw(colorObject, 0.5)
	d.pdf.Line(ox, barY-0.5, ox, barY+4.5)

	for _, m := range marks {
		y := barY + 6.5 + float64(m.level)*rowH
		d.draw(colorGrid, 0.2)
		d.pdf.Line(m.x, barY+5, m.x, y)
		d.font("", 6.8, colorMuted)
		d.text(m.lx, y, m.lw, 3.1, m.name, "C")
		d.font("B", 7, colorText)
		d.text(m.lx, y+2.9, m.lw, 3.3, m.value, "C")
	}
	d.y = barY + 6.5 + float64(rows)*rowH + 2
}

func (d *doc) corridorBlock() {
	r := d.r
	const h = 15.5
	d.ensure(h)
	d.fill(colorPanel)
	d.pdf.RoundedRect(marginX, d.y, contentW, h, 1.5, "1234", "F")
	verdictColor := colorMuted
	switch r.Position {
	case PositionWithin:
		verdictColor = colorGood
	case PositionAbove, PositionBelow:
		verdictColor = colorWarn
	}
	d.fill(verdictColor)
	d.pdf.Rect(marginX, d.y+2, 1.2, h-4, "F")

	d.font("B", 10, colorText)
	if c := r.Corridor; c.Valid {
		d.text(marginX+4, d.y+1.5, contentW-6, 5.5,
			fmt.Sprintf("Рекомендуемый коридор цены: %s – %s", FormatRub(c.LowRub), FormatRub(c.HighRub)), "L")
		d.font("", 7.5, colorMuted)
		note := fmt.Sprintf("%s – %s: 25–75-й перцентили цен конкурентов за м²", FormatNumber(c.LowPerM2, 0), FormatRubPerM2(c.HighPerM2))
		if c.DiscountPercent != 0 {
			note += " за вычетом медианной скидки " + FormatPercent(c.DiscountPercent, 1)
		}
		d.text(marginX+4, d.y+6.5, contentW-6, 3.8, note, "L")
	} else {
		d.text(marginX+4, d.y+1.5, contentW-6, 5.5, "Рекомендуемый коридор цены: недостаточно данных", "L")
	}
	d.font("B", 10, verdictColor)
	v := "Вывод: цена объекта " + r.Verdict
	if r.Position == PositionUnknown {
		v = "Вывод: недостаточно данных для оценки цены"
	}
	d.text(marginX+4, d.y+10.5, contentW-6, 4.5, v, "L")
	d.y += h + 2
}

func (d *doc) footer() {
	r := d.r
	y := footerTop + 1.5
	d.draw(colorGrid, 0.3)
	d.pdf.Line(marginX, y, marginX+contentW, y)
	d.font("", 6.6, colorMuted)
	gen := "Сформировано " + r.GeneratedAt.Format("02.01.2006 15:04") + " (UTC" + r.GeneratedAt.Format("-07:00") + ") · MarketingBot, Аналитика 360"
	d.text(marginX, y+0.6, contentW-30, 3.4, gen, "L")
	d.text(marginX+contentW-30, y+0.6, 30, 3.4, fmt.Sprintf("стр. %d из {nb}", d.pdf.PageNo()), "R")
	d.font("", 6.3, colorMuted)
	d.pdf.SetXY(marginX, y+4.2)
	d.pdf.MultiCell(contentW, 2.8, printable(methodNote(r)), "", "L", false)
}

// methodNote explains the figures in one short paragraph; the package
// documentation has the precise definitions.
func methodNote(r *Report) string {
	area := "±" + FormatPercent(math.Round((r.Segment.AreaMax/r.Object.AreaM2-1)*100), 0)
	return fmt.Sprintf("Метод: конкуренты — активные объявления того же типа и района (если их меньше %d — всего города), "+
		"±%d комн., площадь %s от объекта; сходство учитывает площадь, комнаты и этаж. Цена за м² — цена предложения / площадь; "+
		"позиция — доля конкурентов дешевле за м². Тренд — медианы цены за м² объявлений сегмента по месяцу выставления. "+
		"Коридор — 25–75-й перцентили цен конкурентов за м² за вычетом медианной скидки сделок за 12 месяцев, "+
		"умноженные на площадь объекта и округлённые до 10 000 ₽.",
		r.MinCompetitors, r.Segment.RoomsMax-r.Object.Rooms, area)
}
