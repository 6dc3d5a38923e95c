package listinggen

// city is a market with its districts. Weights are relative shares of the
// generated listings; prices are asking prices per m² of a secondary-market
// flat today, roughly as Russian listing sites showed them in 2024–2025.
type city struct {
	Name      string
	Prefix    string // code prefix, 3 Latin letters
	Weight    float64
	Districts []district
}

type district struct {
	Name     string
	PerM2    float64 // typical asking price per m² of a flat, ₽
	Houses   bool    // private houses and townhouses are sold here
	Streets  []string
	Weight   float64
	MaxFloor int // typical tallest building
}

var cities = []city{
	{Name: "Москва", Prefix: "MSK", Weight: 0.34, Districts: []district{
		{Name: "Хамовники", PerM2: 720_000, Weight: 0.6, MaxFloor: 12, Streets: []string{"ул. Льва Толстого", "Комсомольский пр-т", "ул. Плющиха", "Фрунзенская наб.", "ул. Усачёва"}},
		{Name: "Арбат", PerM2: 780_000, Weight: 0.3, MaxFloor: 10, Streets: []string{"ул. Арбат", "Кривоарбатский пер.", "Староконюшенный пер.", "Денежный пер."}},
		{Name: "Пресненский", PerM2: 650_000, Weight: 0.7, MaxFloor: 25, Streets: []string{"Пресненская наб.", "ул. Красная Пресня", "Большая Грузинская ул.", "ул. Заморёнова"}},
		{Name: "Басманный", PerM2: 520_000, Weight: 0.7, MaxFloor: 14, Streets: []string{"ул. Покровка", "Бауманская ул.", "Старая Басманная ул.", "ул. Казакова"}},
		{Name: "Замоскворечье", PerM2: 560_000, Weight: 0.5, MaxFloor: 12, Streets: []string{"ул. Большая Ордынка", "Пятницкая ул.", "ул. Бахрушина"}},
		{Name: "Раменки", PerM2: 430_000, Weight: 1.0, MaxFloor: 25, Streets: []string{"Мичуринский пр-т", "ул. Раменки", "Ломоносовский пр-т", "Винницкая ул."}},
		{Name: "Кунцево", PerM2: 340_000, Weight: 1.0, MaxFloor: 22, Streets: []string{"ул. Ивана Франко", "Ярцевская ул.", "Рублёвское ш.", "Молодогвардейская ул."}},
		{Name: "Измайлово", PerM2: 290_000, Weight: 1.0, MaxFloor: 17, Streets: []string{"Измайловский б-р", "Первомайская ул.", "9-я Парковая ул.", "Измайловский пр-т"}},
		{Name: "Митино", PerM2: 270_000, Weight: 1.2, MaxFloor: 25, Houses: true, Streets: []string{"Пятницкое ш.", "Митинская ул.", "ул. Барышиха", "Новотушинский пр-д"}},
		{Name: "Марьино", PerM2: 255_000, Weight: 1.3, MaxFloor: 22, Streets: []string{"Братиславская ул.", "Люблинская ул.", "ул. Перерва", "Мячковский б-р"}},
		{Name: "Выхино-Жулебино", PerM2: 235_000, Weight: 1.2, MaxFloor: 17, Streets: []string{"Рязанский пр-т", "ул. Генерала Кузнецова", "Ферганская ул.", "ул. Привольная"}},
		{Name: "Южное Бутово", PerM2: 245_000, Weight: 1.3, MaxFloor: 25, Houses: true, Streets: []string{"ул. Адмирала Лазарева", "Изюмская ул.", "б-р Дмитрия Донского", "Чечёрский пр-д"}},
		{Name: "Бирюлёво Восточное", PerM2: 215_000, Weight: 0.9, MaxFloor: 17, Streets: []string{"Липецкая ул.", "Загорьевская ул.", "Бирюлёвская ул.", "Лебедянская ул."}},
	}},
	{Name: "Санкт-Петербург", Prefix: "SPB", Weight: 0.22, Districts: []district{
		{Name: "Центральный", PerM2: 290_000, Weight: 0.9, MaxFloor: 7, Streets: []string{"Невский пр-т", "ул. Марата", "Литейный пр-т", "ул. Жуковского"}},
		{Name: "Петроградский", PerM2: 320_000, Weight: 0.7, MaxFloor: 8, Streets: []string{"Каменноостровский пр-т", "Большой пр-т П.С.", "ул. Ленина", "Чкаловский пр-т"}},
		{Name: "Василеостровский", PerM2: 255_000, Weight: 0.8, MaxFloor: 16, Streets: []string{"Средний пр-т В.О.", "7-я линия В.О.", "Большой пр-т В.О.", "Наличная ул."}},
		{Name: "Адмиралтейский", PerM2: 265_000, Weight: 0.6, MaxFloor: 7, Streets: []string{"Садовая ул.", "Лермонтовский пр-т", "наб. реки Фонтанки", "Английский пр-т"}},
		{Name: "Московский", PerM2: 235_000, Weight: 1.0, MaxFloor: 18, Streets: []string{"Московский пр-т", "ул. Победы", "ул. Типанова", "Кузнецовская ул."}},
		{Name: "Приморский", PerM2: 210_000, Weight: 1.4, MaxFloor: 25, Houses: true, Streets: []string{"Комендантский пр-т", "Богатырский пр-т", "ул. Савушкина", "пр-т Испытателей"}},
		{Name: "Выборгский", PerM2: 200_000, Weight: 1.2, MaxFloor: 25, Houses: true, Streets: []string{"пр-т Энгельса", "пр-т Просвещения", "Выборгское ш.", "пр-т Культуры"}},
		{Name: "Калининский", PerM2: 195_000, Weight: 1.1, MaxFloor: 16, Streets: []string{"Гражданский пр-т", "пр-т Науки", "Кондратьевский пр-т", "Светлановский пр-т"}},
		{Name: "Невский", PerM2: 185_000, Weight: 1.2, MaxFloor: 25, Streets: []string{"пр-т Большевиков", "ул. Дыбенко", "Искровский пр-т", "Октябрьская наб."}},
		{Name: "Фрунзенский", PerM2: 180_000, Weight: 1.0, MaxFloor: 16, Streets: []string{"Будапештская ул.", "Бухарестская ул.", "ул. Белы Куна", "Дунайский пр-т"}},
		{Name: "Красносельский", PerM2: 175_000, Weight: 1.0, MaxFloor: 25, Houses: true, Streets: []string{"пр-т Ветеранов", "Ленинский пр-т", "ул. Маршала Захарова", "Петергофское ш."}},
	}},
	{Name: "Казань", Prefix: "KZN", Weight: 0.11, Districts: []district{
		{Name: "Вахитовский", PerM2: 265_000, Weight: 0.8, MaxFloor: 14, Streets: []string{"ул. Баумана", "ул. Пушкина", "ул. Карла Маркса", "ул. Островского"}},
		{Name: "Советский", PerM2: 195_000, Weight: 1.3, MaxFloor: 25, Houses: true, Streets: []string{"ул. Патриса Лумумбы", "ул. Академика Сахарова", "пр-т Победы", "Гвардейская ул."}},
		{Name: "Приволжский", PerM2: 185_000, Weight: 1.1, MaxFloor: 25, Houses: true, Streets: []string{"ул. Рихарда Зорге", "ул. Габдуллы Кариева", "ул. Закиева", "ул. Юлиуса Фучика"}},
		{Name: "Ново-Савиновский", PerM2: 205_000, Weight: 1.1, MaxFloor: 25, Streets: []string{"пр-т Ямашева", "Чистопольская ул.", "ул. Адоратского", "ул. Серова"}},
		{Name: "Московский", PerM2: 165_000, Weight: 0.7, MaxFloor: 16, Streets: []string{"ул. Декабристов", "ул. Гагарина", "ул. Восстания", "ул. Саид-Галеева"}},
		{Name: "Кировский", PerM2: 150_000, Weight: 0.5, MaxFloor: 12, Houses: true, Streets: []string{"Горьковское ш.", "ул. Клары Цеткин", "ул. Кулахметова", "ул. Батыршина"}},
		{Name: "Авиастроительный", PerM2: 150_000, Weight: 0.6, MaxFloor: 12, Houses: true, Streets: []string{"ул. Белинского", "Ленинградская ул.", "ул. Копылова", "ул. Симонова"}},
	}},
	{Name: "Екатеринбург", Prefix: "EKB", Weight: 0.11, Districts: []district{
		{Name: "Ленинский", PerM2: 175_000, Weight: 1.0, MaxFloor: 25, Streets: []string{"ул. 8 Марта", "ул. Белинского", "Московская ул.", "ул. Щорса"}},
		{Name: "Кировский", PerM2: 160_000, Weight: 1.0, MaxFloor: 25, Streets: []string{"ул. Малышева", "ул. Мира", "ул. Сыромолотова", "Первомайская ул."}},
		{Name: "Верх-Исетский", PerM2: 165_000, Weight: 1.0, MaxFloor: 25, Streets: []string{"ул. Токарей", "ул. Репина", "Заводская ул.", "ул. Крауля"}},
		{Name: "Октябрьский", PerM2: 150_000, Weight: 0.7, MaxFloor: 20, Houses: true, Streets: []string{"ул. Куйбышева", "ул. Луначарского", "Восточная ул.", "ул. Декабристов"}},
		{Name: "Железнодорожный", PerM2: 135_000, Weight: 0.7, MaxFloor: 16, Streets: []string{"ул. Челюскинцев", "ул. Свердлова", "Техническая ул.", "ул. Братьев Быковых"}},
		{Name: "Орджоникидзевский", PerM2: 120_000, Weight: 0.9, MaxFloor: 16, Houses: true, Streets: []string{"пр-т Космонавтов", "ул. Победы", "ул. Бакинских Комиссаров", "ул. Ильича"}},
		{Name: "Чкаловский", PerM2: 135_000, Weight: 0.9, MaxFloor: 20, Houses: true, Streets: []string{"ул. Шаумяна", "ул. Академика Шварца", "Самолётная ул.", "Авиационная ул."}},
		{Name: "Академический", PerM2: 150_000, Weight: 0.9, MaxFloor: 25, Streets: []string{"ул. Вильгельма де Геннина", "ул. Академика Сахарова", "ул. Краснолесья", "ул. Павла Шаманова"}},
	}},
	{Name: "Краснодар", Prefix: "KRD", Weight: 0.11, Districts: []district{
		{Name: "Центральный", PerM2: 150_000, Weight: 0.8, MaxFloor: 20, Streets: []string{"Красная ул.", "Северная ул.", "Рашпилевская ул.", "Октябрьская ул."}},
		{Name: "Западный", PerM2: 140_000, Weight: 0.8, MaxFloor: 24, Streets: []string{"ул. Кубанская Набережная", "ул. Гоголя", "ул. Коммунаров", "ул. Красноармейская"}},
		{Name: "Фестивальный", PerM2: 135_000, Weight: 0.9, MaxFloor: 16, Streets: []string{"ул. Тургенева", "Одесская ул.", "ул. Атарбекова", "ул. Яна Полуяна"}},
		{Name: "Юбилейный", PerM2: 130_000, Weight: 0.9, MaxFloor: 16, Streets: []string{"пр-т Чекистов", "ул. 70-летия Октября", "Рождественская наб.", "ул. Бульварное Кольцо"}},
		{Name: "Прикубанский", PerM2: 115_000, Weight: 1.5, MaxFloor: 24, Houses: true, Streets: []string{"ул. Красных Партизан", "Российская ул.", "ул. Восточно-Кругликовская", "Командорская ул."}},
		{Name: "Карасунский", PerM2: 110_000, Weight: 1.1, MaxFloor: 20, Houses: true, Streets: []string{"Ставропольская ул.", "ул. Селезнёва", "Уральская ул.", "ул. Тюляева"}},
	}},
	{Name: "Новосибирск", Prefix: "NSK", Weight: 0.11, Districts: []district{
		{Name: "Центральный", PerM2: 175_000, Weight: 0.8, MaxFloor: 25, Streets: []string{"Красный пр-т", "ул. Ленина", "Советская ул.", "ул. Фрунзе"}},
		{Name: "Железнодорожный", PerM2: 160_000, Weight: 0.6, MaxFloor: 25, Streets: []string{"ул. Челюскинцев", "Нарымская ул.", "ул. Дмитрия Шамшурина", "ул. Урицкого"}},
		{Name: "Заельцовский", PerM2: 150_000, Weight: 0.8, MaxFloor: 25, Houses: true, Streets: []string{"ул. Дуси Ковальчук", "ул. Жуковского", "Дачная ул.", "ул. Кропоткина"}},
		{Name: "Октябрьский", PerM2: 145_000, Weight: 1.0, MaxFloor: 25, Streets: []string{"ул. Кирова", "ул. Никитина", "Выборная ул.", "ул. Бориса Богаткова"}},
		{Name: "Советский", PerM2: 140_000, Weight: 0.7, MaxFloor: 16, Houses: true, Streets: []string{"Морской пр-т", "ул. Ильича", "ул. Героев Труда", "Шлюзовая ул."}},
		{Name: "Ленинский", PerM2: 120_000, Weight: 1.1, MaxFloor: 19, Streets: []string{"ул. Титова", "ул. Блюхера", "ул. Пархоменко", "ул. Троллейная"}},
		{Name: "Кировский", PerM2: 125_000, Weight: 0.9, MaxFloor: 19, Streets: []string{"ул. Петухова", "ул. Сибиряков-Гвардейцев", "ул. Зорге", "ул. Бетонная"}},
		{Name: "Калининский", PerM2: 118_000, Weight: 0.8, MaxFloor: 19, Houses: true, Streets: []string{"ул. Богдана Хмельницкого", "ул. Объединения", "ул. Кочубея", "ул. Тюленина"}},
		{Name: "Дзержинский", PerM2: 128_000, Weight: 0.7, MaxFloor: 19, Streets: []string{"пр-т Дзержинского", "ул. Авиастроителей", "ул. Есенина", "ул. Гоголя"}},
	}},
}

// Property types and how they price against a flat of the same district.
const (
	TypeFlat      = "квартира"
	TypeApartment = "апартаменты"
	TypeTownhouse = "таунхаус"
	TypeHouse     = "дом"
)

// roomsProfile gives, per rooms count of a flat, its share and area range.
// Areas follow typical Russian floor plans: studios 20–32 m², one-room
// 32–45 m², two-room 44–65 m², three-room 60–95 m², four-room 85–140 m².
var flatRooms = []struct {
	Rooms            int
	Weight           float64
	AreaMin, AreaMax float64
	PriceFactor      float64 // small flats cost more per m²
}{
	{0, 0.14, 20, 32, 1.12},
	{1, 0.31, 32, 45, 1.05},
	{2, 0.31, 44, 65, 1.00},
	{3, 0.18, 60, 95, 0.97},
	{4, 0.06, 85, 140, 0.95},
}

// AreaRange returns the area bounds the generator uses for a property type
// and rooms count, so that tests and demos can tell a plausible row.
func AreaRange(typ string, rooms int) (lo, hi float64) {
	switch typ {
	case TypeTownhouse:
		return 90, 180
	case TypeHouse:
		return 100, 260
	}
	for _, r := range flatRooms {
		if r.Rooms == rooms {
			return r.AreaMin, r.AreaMax
		}
	}
	return 0, 0
}
