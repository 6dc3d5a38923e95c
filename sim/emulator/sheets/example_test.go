package sheets_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"google.golang.org/api/option"
	sheetsapi "google.golang.org/api/sheets/v4"

	"marketingbot/sim/emulator/sheets"
)

// The real Sheets client talks to the emulator as it would to Google.
func Example() {
	emu, err := sheets.New(sheets.Options{})
	if err != nil {
		panic(err)
	}
	defer emu.Close()
	err = emu.Load("book", sheets.Spreadsheet{Sheets: []sheets.Sheet{{
		Title: "Auth",
		Rows:  [][]any{{"code", "phone"}, {"P-1", "79990000001"}},
	}}})
	if err != nil {
		panic(err)
	}
	ts := httptest.NewServer(emu)
	defer ts.Close()

	ctx := context.Background()
	svc, err := sheetsapi.NewService(ctx, option.WithEndpoint(ts.URL), option.WithoutAuthentication())
	if err != nil {
		panic(err)
	}
	_, err = svc.Spreadsheets.Values.Append("book", "Auth!A:B",
		&sheetsapi.ValueRange{Values: [][]any{{"P-2", "79990000002"}}}).ValueInputOption("RAW").Context(ctx).Do()
	if err != nil {
		panic(err)
	}
	vr, err := svc.Spreadsheets.Values.Get("book", "Auth!A2:B").Context(ctx).Do()
	if err != nil {
		panic(err)
	}
	fmt.Println(vr.Range, vr.Values)
	st := emu.Stats()
	fmt.Println(st.Reads, st.Writes)
	// Output:
	// Auth!A2:B1000 [[P-1 79990000001] [P-2 79990000002]]
	// 1 1
}
