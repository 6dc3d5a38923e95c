package demo

import (
	"time"

	"marketingbot/pkg/domain"
)

// Partners returns the demo Auth sheet. Two code families ("P-" for private
// partners, "AGN-" for partner agencies) make audience filtering by prefix
// visible. Phones are left as hand-typed, not normalized, because that is what
// the sheet holds and what authorization has to cope with. Most partners are
// not authorized yet; one carries the Python bot's legacy status
// "avtorizovan" (which never wrote authorized_at), one the current
// "authorized".
func Partners() []domain.Partner {
	msk := time.FixedZone("MSK", 3*60*60)
	return []domain.Partner{
		{Code: "P-0001", Phone: "+7 (912) 345-67-89", FullName: "Иванова Мария Сергеевна"},
		{Code: "P-0002", Phone: "89123456780", FullName: "Петров Алексей Викторович"},
		{
			Code: "P-0003", Phone: "8 903 214-55-17", FullName: "Смирнова Екатерина Андреевна",
			Status: domain.PartnerStatusAuthorizedLegacy, TelegramID: 412345678,
		},
		{
			Code: "P-0004", Phone: "+79165550142", FullName: "Кузнецов Дмитрий Игоревич",
			Status: domain.PartnerStatusAuthorized, TelegramID: 587654321,
			AuthorizedAt: time.Date(2026, time.January, 15, 10, 30, 0, 0, msk),
		},
		{Code: "AGN-014", Phone: "8(921)555-12-34", FullName: "Соколова Ольга Павловна"},
		{Code: "AGN-015", Phone: "7 915 765 43 21", FullName: "Волков Игорь Николаевич"},
		{Code: "AGN-022", Phone: "926 123-45-67", FullName: "Фёдорова Анна Дмитриевна"},
	}
}
