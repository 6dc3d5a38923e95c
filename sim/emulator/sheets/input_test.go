package sheets

import (
	"testing"

	sheetsapi "google.golang.org/api/sheets/v4"
)

func TestFormulaInjection(t *testing.T) {
	const payload = `=IMPORTXML("http://x","//a")`
	tests := []struct {
		mode          string
		wantFormula   bool
		wantFormatted any
	}{
		{"RAW", false, payload},
		{"USER_ENTERED", true, FormulaPlaceholder},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			e := newEnv(t, Options{})
			e.load(t, bookID, Spreadsheet{})
			_, err := e.api.Spreadsheets.Values.Update(bookID, "Sheet1!A1", &sheetsapi.ValueRange{Values: [][]any{{payload}}}).
				ValueInputOption(tt.mode).Do()
			if err != nil {
				t.Fatal(err)
			}
			snap, err := e.srv.Snapshot(bookID)
			if err != nil {
				t.Fatal(err)
			}
			gotFormula, recorded := snap.Sheets[0].Formulas["A1"]
			if recorded != tt.wantFormula {
				t.Fatalf("formula recorded = %v (%q), want %v", recorded, gotFormula, tt.wantFormula)
			}
			if recorded && gotFormula != payload {
				t.Errorf("formula = %q", gotFormula)
			}
			formatted, err := e.api.Spreadsheets.Values.Get(bookID, "A1").Do()
			if err != nil {
				t.Fatal(err)
			}
			deepEqual(t, "formatted", formatted.Values, [][]any{row(tt.wantFormatted)})
			// FORMULA rendering shows the text either way; only the
			// snapshot tells a formula from text that looks like one.
			formula, err := e.api.Spreadsheets.Values.Get(bookID, "A1").ValueRenderOption("FORMULA").Do()
			if err != nil {
				t.Fatal(err)
			}
			deepEqual(t, "formula", formula.Values, [][]any{row(payload)})
		})
	}
}

func TestUserEnteredParsing(t *testing.T) {
	tests := []struct {
		in          any
		formatted   any
		unformatted any
	}{
		{"42", "42", 42.0},
		{" 7 ", "7", 7.0},
		{"-3.5e2", "-350", -350.0},
		{".5", "0.5", 0.5},
		{"'42", "42", "42"},
		{"'=1+1", "=1+1", "=1+1"},
		{"TRUE", "TRUE", true},
		{"false", "FALSE", false},
		{"2025-01-02", "2025-01-02", 45659.0},
		{"2025-01-02 12:00:00", "2025-01-02 12:00:00", 45659.5},
		{"1,5", "1,5", "1,5"},
		{"0x1F", "0x1F", "0x1F"},
		{"Inf", "Inf", "Inf"},
		{"привет", "привет", "привет"},
		{12345678901.0, "12345678901", 12345678901.0},
		{0.1 + 0.2, "0.3", 0.1 + 0.2},
		{true, "TRUE", true},
	}
	e := newEnv(t, Options{})
	e.load(t, bookID, Spreadsheet{})
	for _, tt := range tests {
		t.Run(fmtValue(tt.in), func(t *testing.T) {
			_, err := e.api.Spreadsheets.Values.Update(bookID, "A1", &sheetsapi.ValueRange{Values: [][]any{{tt.in}}}).
				ValueInputOption("USER_ENTERED").Do()
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.api.Spreadsheets.Values.Get(bookID, "A1").Do()
			if err != nil {
				t.Fatal(err)
			}
			deepEqual(t, "formatted", got.Values, [][]any{row(tt.formatted)})
			got, err = e.api.Spreadsheets.Values.Get(bookID, "A1").ValueRenderOption("UNFORMATTED_VALUE").Do()
			if err != nil {
				t.Fatal(err)
			}
			deepEqual(t, "unformatted", got.Values, [][]any{row(tt.unformatted)})
		})
	}

	t.Run("RAW keeps strings as text", func(t *testing.T) {
		_, err := e.api.Spreadsheets.Values.Update(bookID, "A1", &sheetsapi.ValueRange{Values: [][]any{{"42", 42, "TRUE", "'x"}}}).
			ValueInputOption("RAW").Do()
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.api.Spreadsheets.Values.Get(bookID, "A1:D1").ValueRenderOption("UNFORMATTED_VALUE").Do()
		if err != nil {
			t.Fatal(err)
		}
		deepEqual(t, "values", got.Values, [][]any{row("42", 42.0, "TRUE", "'x")})
	})
	t.Run("empty string clears", func(t *testing.T) {
		_, err := e.api.Spreadsheets.Values.Update(bookID, "A1", &sheetsapi.ValueRange{Values: [][]any{{""}}}).
			ValueInputOption("USER_ENTERED").Do()
		if err != nil {
			t.Fatal(err)
		}
		if got := e.rows(t, bookID, "Sheet1"); len(got) != 1 || got[0][0] != "" {
			t.Errorf("rows = %v, want A1 empty", got)
		}
	})
}

func fmtValue(v any) string {
	switch v := v.(type) {
	case string:
		return "text " + v
	case float64:
		return "number " + formatNumber(v)
	case bool:
		if v {
			return "bool true"
		}
		return "bool false"
	}
	return "?"
}

func TestFormatNumber(t *testing.T) {
	tests := []struct {
		n    float64
		want string
	}{
		{0, "0"}, {1, "1"}, {-1.25, "-1.25"}, {1e14, "100000000000000"},
		{1e15, "1E+15"}, {1.5e21, "1.5E+21"}, {1e-10, "1E-10"}, {0.1 + 0.2, "0.3"},
		{123456789.123, "123456789.123"},
	}
	for _, tt := range tests {
		if got := formatNumber(tt.n); got != tt.want {
			t.Errorf("formatNumber(%v) = %q, want %q", tt.n, got, tt.want)
		}
	}
}
