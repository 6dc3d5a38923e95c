package sandbox_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/api/option"
	sheetsapi "google.golang.org/api/sheets/v4"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/sheets/a1"
	"marketingbot/pkg/store"
	"marketingbot/sim/demo"
	sheetsemu "marketingbot/sim/emulator/sheets"
	"marketingbot/sim/fixtures"
	"marketingbot/sim/listinggen"
	"marketingbot/sim/sandbox"
)

// TestSandboxOnATeamsLayout loads an .xlsx export laid out like a team's
// own spreadsheet (columns shuffled, headers typed differently, the team's
// own columns and sheet, the sheets in another order) with --spreadsheet
// and plays the walk-through's steps through the control APIs (no
// browser): authorization, a chat turn, an escalation, an Analytics 360
// report and a promotion. Our values land under our headers; the team's
// columns keep their cells.
func TestSandboxOnATeamsLayout(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	layout := fixtures.Shuffled(7)
	xlsx, code := layoutExport(t, layout)
	sb, _ := startSandbox(t, sandbox.Options{DataDir: t.TempDir(), Addr: "127.0.0.1:0", Spreadsheet: xlsx})
	c := control{t: t, ep: sb.Endpoints}
	titles := sb.Endpoints.SheetTitles
	teamBefore := layoutTeamCells(c, layout, store.SheetAuth, titles.Auth)

	// Authorization: P-0002 shares the contact.
	c.post(sb.Endpoints.TelegramControl+"/users", map[string]any{"id": restartUID, "first_name": "Алексей", "phone": restartPhone, "language_code": "ru"}, nil)
	c.send(restartUID, "/start")
	c.post(sb.Endpoints.TelegramControl+"/contact", map[string]any{"user_id": restartUID}, nil)
	c.waitBot(restartUID, 0, "authorization", "Вы авторизованы как партнёр "+restartPartner)
	// A chat turn.
	asked := c.send(restartUID, restartQuestion)
	if answer := c.waitReply(restartUID, asked, "the AI answer"); !isAnswer(answer.Text) {
		t.Fatalf("the bot did not answer: %q", answer.Text)
	}
	// An escalation.
	esc := c.send(restartUID, "Позовите, пожалуйста, оператора")
	c.waitBot(restartUID, esc, "the escalation", "Передаю ваш вопрос оператору")
	// Analytics 360 through the Mini App's API.
	var init struct {
		InitData string `json:"init_data"`
	}
	c.get(sb.Endpoints.TelegramControl+"/initdata?user_id="+strconv.FormatInt(restartUID, 10), &init)
	var order struct {
		Request struct {
			ID string `json:"id"`
		} `json:"request"`
	}
	c.do(http.MethodPost, sb.Endpoints.BotHTTP+"/api/v1/analytics", map[string]string{"object_code": code},
		map[string]string{"Authorization": "tma " + init.InitData}, &order)
	c.waitDocument(restartUID, esc)
	// A promotion, scheduled by an operator in its status cell.
	layoutWriteCell(t, sb, titles.Promotions, layout.Col(store.SheetPromotions, "status"), 2, string(domain.PromotionScheduled))
	c.waitMessage(restartUID, "the promotion", func(m tmsg) bool { return m.FromBot && strings.Contains(m.Text, "Акция для команды") })

	// Our values under our headers.
	uid := strconv.FormatInt(restartUID, 10)
	auth := layoutRow(c, layout, store.SheetAuth, titles.Auth, "partner_code", restartPartner)
	if auth["telegram_id"] != uid || auth["status"] != "authorized" || auth["authorized_at"] == "" {
		t.Errorf("Auth row of %s: %v", restartPartner, auth)
	}
	c.waitRow(titles.Queue, layout.Col(store.SheetQueue, "id"), order.Request.ID, "the Queue row delivered", func(r []string) bool {
		return cell(r, layout.Col(store.SheetQueue, "status")) == "DONE" && cell(r, layout.Col(store.SheetQueue, "delivered_at")) != "" &&
			cell(r, layout.Col(store.SheetQueue, "object_code")) == code
	})
	c.waitRow(titles.Appeals, layout.Col(store.SheetAppeals, "telegram_id"), uid, "the appeal escalated", func(r []string) bool {
		return cell(r, layout.Col(store.SheetAppeals, "status")) == "В работе" && strings.Contains(cell(r, layout.Col(store.SheetAppeals, "history")), restartQuestion)
	})
	if after := layoutTeamCells(c, layout, store.SheetAuth, titles.Auth); strings.Join(after, "|") != strings.Join(teamBefore, "|") {
		t.Errorf("the team's Auth columns changed:\n%q\n→\n%q", teamBefore, after)
	}
}

// layoutExport writes the demo spreadsheet in layout l as an .xlsx export
// and returns its path and an object code worth ordering.
func layoutExport(t *testing.T, l fixtures.Layout) (string, string) {
	t.Helper()
	now := time.Now()
	listings := listinggen.Generate(listinggen.Config{Seed: 360, N: 500, Now: now})
	data := fixtures.Data{Partners: demo.Partners(), Listings: listings, Knowledge: demo.Knowledge(),
		Promotions: []domain.Promotion{{ID: "team-1", Title: "Команда", Text: "Акция для команды: двойные баллы", StartsAt: now.Add(-time.Hour),
			Audience: "all", Status: domain.PromotionDraft}}}
	emu, err := sheetsemu.New(sheetsemu.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	msk, _ := time.LoadLocation("Europe/Moscow")
	if err := emu.Load("export", fixtures.SpreadsheetIn("export", fixtures.DefaultTitles(), l, data, msk)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "export.xlsx")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := emu.WriteXLSX(context.Background(), "export", f); err != nil {
		t.Fatal(err)
	}
	return path, listinggen.Codes(listings, 1)[0]
}

// layoutRow is the first row of a sheet whose field equals value, by field.
func layoutRow(c control, l fixtures.Layout, k store.SheetKey, title, field, value string) map[string]string {
	c.t.Helper()
	row := c.row(title, l.Col(k, field), value)
	out := map[string]string{}
	for _, f := range store.Schema(k) {
		out[f.Key] = cell(row, l.Col(k, f.Key))
	}
	return out
}

// layoutTeamCells are the cells of the team's own columns of a sheet.
func layoutTeamCells(c control, l fixtures.Layout, k store.SheetKey, title string) []string {
	var out []string
	for r, row := range c.sheet(title) {
		for _, col := range l.TeamCols(k) {
			out = append(out, a1.ColumnName(col)+strconv.Itoa(r+1)+"="+cell(row, col))
		}
	}
	return out
}

// layoutWriteCell writes a cell through the Sheets API, as an operator's
// edit reaches the spreadsheet.
func layoutWriteCell(t *testing.T, sb *sandbox.Sandbox, title string, col, row int, value any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	svc, err := sheetsapi.NewService(ctx, option.WithEndpoint(sb.Endpoints.SheetsAPI+"/"), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	vr := &sheetsapi.ValueRange{Values: [][]any{{value}}}
	if _, err := svc.Spreadsheets.Values.Update(sb.Endpoints.SpreadsheetID, a1.Cell(title, col, row), vr).ValueInputOption("RAW").Context(ctx).Do(); err != nil {
		t.Fatal(err)
	}
}
