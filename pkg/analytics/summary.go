package analytics

import (
	"fmt"
	"math"
	"strings"
)

// Summary renders the report as Russian plain text, one figure per line, the
// way a partner reads it in Telegram. It contains no markup: the caller
// escapes it for the chosen parse mode.
func (r *Report) Summary() string {
	var b strings.Builder
	line := func(format string, args ...any) {
		fmt.Fprintf(&b, format, args...)
		b.WriteByte('\n')
	}
	o := r.Object
	n := len(r.Competitors)

	line("Аналитика 360 · %s · %s", cleanText(o.Code), FormatDate(r.GeneratedAt))
	line("Объект: %s", objectDescription(r))
	line("Цена: %s (%s)", FormatRub(o.PriceRub), FormatRubPerM2(r.PricePerM2))

	line("Сегмент: %s, %s, %s, %s — %d %s", strings.ToLower(r.Segment.Type), r.segmentArea(),
		formatRoomsRange(r.Segment.RoomsMin, r.Segment.RoomsMax),
		formatAreaRange(r.Segment.AreaMin, r.Segment.AreaMax),
		n, Plural(n, "активный конкурент", "активных конкурента", "активных конкурентов"))
	if r.Widened {
		line("Сегмент расширен до всего города: %s", r.widenedReason())
	}

	if n > 0 {
		line("Позиция: по цене за м² дороже, чем %s конкурентов", FormatPercent(r.PercentileRank, 0))
		line("Медиана сегмента: %s", FormatRubPerM2(r.SegmentMedianPerM2))
	} else {
		line("Активных конкурентов не найдено — позицию и коридор цены оценить нельзя.")
	}

	if r.HasTrend {
		line("Тренд за %d %s: %s (медиана цены за м² по дате выставления)",
			r.TrendMonths, Plural(r.TrendMonths, "месяц", "месяца", "месяцев"), FormatPercentChange(r.TrendPercent, 1))
	} else {
		line("Тренд за %d %s: недостаточно данных",
			r.TrendMonths, Plural(r.TrendMonths, "месяц", "месяца", "месяцев"))
	}

	if d := r.Deals; d.Count > 0 {
		days := int(math.Round(d.MedianDaysOnMarket))
		line("Срок экспозиции: %d %s (медиана по %d %s за 12 месяцев)",
			days, Plural(days, "день", "дня", "дней"), d.Count, Plural(d.Count, "сделке", "сделкам", "сделкам"))
		line("Скидка при продаже: %s от цены предложения (медиана)", FormatPercent(d.MedianDiscountPercent, 1))
	} else {
		line("Срок экспозиции и скидка: закрытых сделок за 12 месяцев нет")
	}

	if c := r.Corridor; c.Valid {
		line("Рекомендуемый коридор цены: %s – %s", FormatRub(c.LowRub), FormatRub(c.HighRub))
	}
	if r.Position == PositionUnknown {
		line("Вывод: недостаточно данных для оценки цены")
	} else {
		line("Вывод: цена объекта %s", r.Verdict)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// segmentArea names where competitors were taken: "район Вахитовский",
// "весь город Казань".
func (r *Report) segmentArea() string {
	switch {
	case r.Widened:
		return "весь город " + r.Segment.City
	case r.Segment.District == "":
		return "район не указан"
	default:
		return "район " + r.Segment.District
	}
}

// widenedReason: "в районе Советский меньше 3 активных конкурентов".
func (r *Report) widenedReason() string {
	where := "в районе объекта"
	if d := cleanText(r.Object.District); d != "" {
		where = "в районе " + d
	}
	return fmt.Sprintf("%s меньше %d %s", where, r.MinCompetitors,
		Plural(r.MinCompetitors, "активного конкурента", "активных конкурентов", "активных конкурентов"))
}

// objectDescription: "квартира, 2-комн., 60 м², этаж 5, Казань, Вахитовский, ул. Баумана, д. 10".
func objectDescription(r *Report) string {
	o := r.Object
	parts := []string{strings.ToLower(cleanText(o.Type)), formatRooms(o.Rooms), FormatArea(o.AreaM2)}
	if o.Floor > 0 {
		parts = append(parts, fmt.Sprintf("этаж %d", o.Floor))
	}
	for _, s := range []string{o.City, o.District, o.Address} {
		if s = cleanText(s); s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ", ")
}
