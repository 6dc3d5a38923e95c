package analytics

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"marketingbot/pkg/domain"
	"marketingbot/sim/listinggen"
)

// popplerTool finds a poppler-utils binary. CI installs poppler-utils and
// sets CI, so there a missing tool fails the run instead of skipping it.
func popplerTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not found; install poppler-utils", name)
		}
		t.Skipf("%s not found; install poppler-utils to run this test", name)
	}
	return path
}

// runPoppler writes pdf to a temporary file and returns the tool's output;
// args name the file as "{pdf}".
func runPoppler(t *testing.T, name string, pdf []byte, args ...string) string {
	t.Helper()
	tool := popplerTool(t, name)
	path := filepath.Join(t.TempDir(), "report.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	for i, a := range args {
		if a == "{pdf}" {
			args[i] = path
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, tool, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", name, err, out)
	}
	return string(out)
}

// pdfLines extracts the text in drawing order (pdftotext -raw, stable across
// poppler versions), one trimmed non-empty line each, no-break spaces as
// spaces.
func pdfLines(t *testing.T, pdf []byte) []string {
	t.Helper()
	text := runPoppler(t, "pdftotext", pdf, "-raw", "-enc", "UTF-8", "{pdf}", "-")
	var lines []string
	for _, l := range strings.Split(strings.ReplaceAll(text, "\u00a0", " "), "\n") {
		if l = strings.TrimSpace(strings.Trim(l, "\f")); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

func renderFixture(t *testing.T, code string, opts Options) []byte {
	t.Helper()
	pdf, err := RenderPDF(fixtureReport(t, code, opts))
	if err != nil {
		t.Fatalf("RenderPDF: %v", err)
	}
	return pdf
}

func TestRenderPDFText(t *testing.T) {
	pdf := renderFixture(t, "TST-001", DefaultOptions())
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("not a PDF: %q", pdf[:min(len(pdf), 16)])
	}
	text := strings.Join(pdfLines(t, pdf), "\n")
	for _, want := range []string{
		"Аналитика 360",
		"Объект TST-001",
		"Отчёт от 15.06.2025",
		"Квартира, 2-комн., 60 м², этаж 5",
		"Позиция среди конкурентов",
		"Медиана цены предложения за м² в сегменте по месяцам",
		"Ближайшие конкуренты",
		"Положение объекта среди конкурентов по цене за м²",
		"Рекомендуемый коридор цены: 10 800 000 руб. – 11 810 000 руб.",
		"Вывод: цена объекта выше рынка на 1,6 %",
		"Сформировано 15.06.2025 12:00 (UTC+03:00)",
		"Метод:",
		"1 TST-101 2 60 м² 4 11 400 000 руб. 190 000 руб./м² 1,00",
		"7 TST-103 3 75 м² 16 15 750 000 руб. 210 000 руб./м² 0,15",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("PDF text lacks %q", want)
		}
	}
	if strings.Contains(text, "₽") {
		t.Error("PDF text contains ₽, which the Go fonts cannot draw")
	}

	info := runPoppler(t, "pdfinfo", pdf, "{pdf}")
	for _, want := range []string{"Pages:           1", "(A4)", "Title:           Аналитика 360 — TST-001"} {
		if !strings.Contains(info, want) {
			t.Errorf("pdfinfo lacks %q:\n%s", want, info)
		}
	}
}

func TestRenderPDFGolden(t *testing.T) {
	tests := []struct{ code, golden string }{
		{"TST-001", "pdf_district.golden"},
		{"TST-002", "pdf_widened.golden"},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			lines := pdfLines(t, renderFixture(t, tt.code, DefaultOptions()))
			golden(t, tt.golden, []byte(strings.Join(lines, "\n")+"\n"))
		})
	}
}

func TestRenderPDFDeterministic(t *testing.T) {
	r := fixtureReport(t, "TST-001", DefaultOptions())
	want, err := RenderPDF(r)
	if err != nil {
		t.Fatal(err)
	}
	// Concurrent renders also prove the renderer shares no state.
	var wg sync.WaitGroup
	got := make([][]byte, 4)
	for i := range got {
		wg.Go(func() {
			b, err := RenderPDF(r)
			if err != nil {
				t.Error(err)
			}
			got[i] = b
		})
	}
	wg.Wait()
	for i, b := range got {
		if !bytes.Equal(b, want) {
			t.Errorf("render %d differs from the first (%d vs %d bytes)", i, len(b), len(want))
		}
	}
	if !bytes.Contains(want, []byte("/CreationDate (D:20250615090000)")) {
		t.Error("creation date is not taken from GeneratedAt (09:00 UTC)")
	}
	if len(want) > 80_000 {
		t.Errorf("PDF is %d bytes, want a few tens of KB", len(want))
	}
	other := fixtureReport(t, "TST-002", DefaultOptions())
	if b, _ := RenderPDF(other); bytes.Equal(b, want) {
		t.Error("different reports gave the same bytes")
	}
}

func TestRenderPDFLongTable(t *testing.T) {
	now := time.Date(2025, 6, 15, 12, 0, 0, 0, testLocation(t))
	listings := listinggen.Generate(listinggen.Config{Seed: 5, N: 20_000, Now: now})
	opts := DefaultOptions()
	opts.MaxCompetitors = 60
	e := NewEngine(listings, opts)
	var r *Report
	for _, code := range listinggen.Codes(listings, 30) {
		rep, err := e.Analyze(code, now)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Competitors) >= 60 {
			r = rep
			break
		}
	}
	if r == nil {
		t.Fatal("no generated object has 60 competitors")
	}
	pdf, err := RenderPDF(r)
	if err != nil {
		t.Fatal(err)
	}
	lines := pdfLines(t, pdf)
	text := strings.Join(lines, "\n")
	if !strings.Contains(text, "стр. 2 из 2") && !strings.Contains(text, "стр. 2 из 3") {
		t.Errorf("a 60-row table did not flow onto a second page:\n%s", text)
	}
	// The table header is repeated on the continuation page.
	if n := strings.Count(text, "№ Код Комн. Площадь Этаж Цена Цена за м² Сходство"); n != 2 {
		t.Errorf("table header appears %d times, want 2", n)
	}
	for _, c := range r.TopCompetitors() {
		if !strings.Contains(text, strings.TrimSpace(c.Listing.Code)) {
			t.Errorf("competitor %s missing from the PDF", c.Listing.Code)
		}
	}
}

func TestRenderPDFWithoutCompetitors(t *testing.T) {
	now := time.Date(2025, 6, 15, 12, 0, 0, 0, testLocation(t))
	l := []domain.Listing{{Code: "KZN-000777", Type: "дом", City: "Казань", District: "Кировский",
		// A hand-edited cell: a line break, an emoji (beyond the BMP, where fpdf
		// panics) and a CJK character the Go fonts lack.
		Address: "🏠 ул. Клары Цеткин,\nд. 5 北", Rooms: 4, AreaM2: 151.5, Floor: 2, PriceRub: 15_990_000,
		ListedAt: now.AddDate(0, 0, -20), Status: domain.ListingActive}}
	r, err := NewEngine(l, DefaultOptions()).Analyze("KZN-000777", now)
	if err != nil {
		t.Fatal(err)
	}
	pdf, err := RenderPDF(r)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(pdfLines(t, pdf), "\n")
	for _, want := range []string{"KZN-000777", "Казань, Кировский, ? ул. Клары Цеткин, д. 5 ?", "Нет объявлений сегмента за период", "Активных конкурентов в сегменте нет.",
		"Вывод: недостаточно данных для оценки цены"} {
		if !strings.Contains(text, want) {
			t.Errorf("PDF text lacks %q:\n%s", want, text)
		}
	}
}

func TestRenderPDFNil(t *testing.T) {
	if _, err := RenderPDF(nil); err == nil {
		t.Error("RenderPDF(nil) succeeded")
	}
}
