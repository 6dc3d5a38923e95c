package analytics_test

import (
	"fmt"
	"time"

	"marketingbot/pkg/analytics"
	"marketingbot/pkg/domain"
)

func ExampleEngine_Analyze() {
	msk := analytics.DefaultOptions().Location
	now := time.Date(2025, 6, 15, 12, 0, 0, 0, msk)
	flat := func(code string, area float64, price int64, listed time.Time) domain.Listing {
		return domain.Listing{Code: code, Type: "квартира", City: "Казань", District: "Вахитовский",
			Rooms: 2, AreaM2: area, Floor: 5, PriceRub: price, ListedAt: listed, Status: domain.ListingActive}
	}
	listings := []domain.Listing{
		flat("KZN-100001", 60, 12_000_000, now.AddDate(0, 0, -10)),
		flat("KZN-100002", 58, 10_440_000, now.AddDate(0, -3, 0)),
		flat("KZN-100003", 62, 12_400_000, now.AddDate(0, -2, 0)),
		flat("KZN-100004", 55, 11_550_000, now.AddDate(0, -1, 0)),
	}
	e := analytics.NewEngine(listings, analytics.DefaultOptions())
	r, err := e.Analyze("kzn-100001", now)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("competitors:", len(r.Competitors))
	fmt.Printf("rank: %.1f\n", r.PercentileRank)
	fmt.Println("corridor:", r.Corridor.LowRub, "…", r.Corridor.HighRub)
	fmt.Println("verdict:", r.Verdict == "в коридоре")
	// Output:
	// competitors: 3
	// rank: 50.0
	// corridor: 11400000 … 12300000
	// verdict: true
}

func ExampleFormatRub() {
	// Thousands and the currency sign are separated by no-break spaces.
	fmt.Printf("%q\n", analytics.FormatRub(12_345_678))
	fmt.Printf("%q\n", analytics.FormatRubPerM2(245_300))
	// Output:
	// "12\u00a0345\u00a0678\u00a0₽"
	// "245\u00a0300\u00a0₽/м²"
}

func ExamplePlural() {
	for _, n := range []int{1, 3, 7, 21} {
		fmt.Println(n, analytics.Plural(n, "конкурент", "конкурента", "конкурентов"))
	}
	// Output:
	// 1 конкурент
	// 3 конкурента
	// 7 конкурентов
	// 21 конкурент
}

func ExampleFormatPercentChange() {
	fmt.Printf("%q\n", analytics.FormatPercentChange(4.2, 1))
	fmt.Printf("%q\n", analytics.FormatArea(54.3))
	// Output:
	// "+4,2\u00a0%"
	// "54,3\u00a0м²"
}
