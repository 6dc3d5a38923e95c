package demo

import (
	"time"

	"marketingbot/pkg/domain"
)

// Promotion returns a promotion scheduled to start a minute after now, so a
// freshly started sandbox shows a broadcast going out without anyone editing
// the sheet. The start is whole seconds because the sheet stores no finer
// time, and the id is derived from it, so every sandbox run gets a new
// promotion instead of one that looks already sent.
//
// The text uses only Telegram's HTML subset (<b>, <i>) and contains no bare
// '<', '>' or '&', so it is valid with parse_mode HTML.
func Promotion(now time.Time) domain.Promotion {
	starts := now.Truncate(time.Second).Add(time.Minute)
	return domain.Promotion{
		ID:       "DEMO-" + starts.UTC().Format("20060102-150405"),
		Title:    "+5 п.п. к доле по новостройкам",
		StartsAt: starts,
		Audience: "all",
		Status:   domain.PromotionScheduled,
		Text: "🏢 <b>Повышенное вознаграждение за новостройки</b>\n\n" +
			"До конца месяца ваша доля по сделкам в новостройках на <b>5 процентных пунктов</b> выше обычной по уровню. " +
			"Например, на уровне «Профи» — 45% от комиссии агентства вместо 40%.\n\n" +
			"Условия:\n" +
			"• клиент зафиксирован в личном кабинете до конца месяца;\n" +
			"• бронь оформлена в течение 30 дней после фиксации.\n\n" +
			"<i>Подробности — у вашего куратора, а вопросы можно задать прямо в этом чате.</i>",
	}
}
