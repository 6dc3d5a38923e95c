package app

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/api/googleapi"

	"marketingbot/pkg/ai"
	"marketingbot/pkg/config"
	"marketingbot/pkg/sheets"
)

func TestRunProbesCollectsEveryProblem(t *testing.T) {
	ran := map[string]bool{}
	p := func(area, needs string, problems ...string) probe {
		return probe{area: area, needs: needs, run: func(context.Context) []string { ran[area] = true; return problems }}
	}
	err := runProbes(context.Background(), []probe{
		p("redis", ""),
		p("sheets", "redis", "sheets: spreadsheet x has no sheet \"Auth\"", `header "Статус" missing in "Обращения"`),
		p("telegram", ""),
		p("gemini", "", `model "gemini-1.5-pro" (gemini.analysis_model) does not exist: retired or misspelled`),
	})
	var ce *CheckError
	if !errors.As(err, &ce) {
		t.Fatalf("got %v", err)
	}
	want := `sheets: spreadsheet x has no sheet "Auth"; sheets: header "Статус" missing in "Обращения"; ` +
		`gemini: model "gemini-1.5-pro" (gemini.analysis_model) does not exist: retired or misspelled`
	if err.Error() != want {
		t.Fatalf("verdict\n%s\nwant\n%s", err, want)
	}
	if len(ran) != 4 {
		t.Fatalf("probes run: %v", ran)
	}
	if err := runProbes(context.Background(), []probe{p("redis", ""), p("telegram", "")}); err != nil {
		t.Fatalf("no problems: %v", err)
	}
}

func TestRunProbesSkipsWhatCannotWork(t *testing.T) {
	sheetsRan := false
	err := runProbes(context.Background(), []probe{
		{area: "redis", run: func(context.Context) []string { return []string{"dial tcp 127.0.0.1:6379: connection refused"} }},
		{area: "sheets", needs: "redis", run: func(context.Context) []string { sheetsRan = true; return nil }},
	})
	if sheetsRan || err == nil || err.Error() != "redis: dial tcp 127.0.0.1:6379: connection refused; sheets: not checked (needs redis)" {
		t.Fatalf("sheets ran %v, verdict %v", sheetsRan, err)
	}
}

func TestOneLine(t *testing.T) {
	if got := oneLine("auth: cannot fetch token: 400\nResponse: {\n  \"error\": \"invalid_grant\"\n}"); got != `auth: cannot fetch token: 400 Response: { "error": "invalid_grant" }` {
		t.Fatalf("%q", got)
	}
}

func TestUsedModels(t *testing.T) {
	g := config.Gemini{ChatModel: "a", AnalysisModel: "b"}
	if got := usedModels(g); !reflect.DeepEqual(got, []ai.ModelSetting{{Model: "a", Setting: "gemini.chat_model"}}) {
		t.Fatalf("polishing off: %v", got)
	}
	g.PolishAnalytics = true
	if got := usedModels(g); len(got) != 2 || got[1] != (ai.ModelSetting{Model: "b", Setting: "gemini.analysis_model"}) {
		t.Fatalf("polishing on: %v", got)
	}
	g.AnalysisModel = "a"
	if got := usedModels(g); len(got) != 1 || got[0].Setting != "gemini.chat_model, gemini.analysis_model" {
		t.Fatalf("one model for both: %v", got)
	}
	if got := modelSettings(g); got["a"] != "gemini.chat_model, gemini.analysis_model" {
		t.Fatalf("modelSettings: %v", got)
	}
}

func TestSheetsProblemHints(t *testing.T) {
	wrap := func(code int, msg string) error {
		return fmt.Errorf("sheets: spreadsheet s1: %w", &googleapi.Error{Code: code, Message: msg})
	}
	cases := []struct {
		err  error
		want string
	}{
		{wrap(403, "The caller does not have permission"), "share spreadsheet s1 with bot@p.iam.gserviceaccount.com as an editor"},
		{wrap(404, "Requested entity was not found."), `no spreadsheet "s1": check sheets.spreadsheet_id`},
		{&sheets.AuthError{File: "/etc/key.json", Err: errors.New("x")}, "/etc/key.json"},
		{errors.New("sheets: spreadsheet s1 has no sheet \"Auth\""), "has no sheet"},
	}
	for _, c := range cases {
		if got := sheetsProblem(c.err, "bot@p.iam.gserviceaccount.com", "s1"); got == nil || !strings.Contains(got.Error(), c.want) {
			t.Errorf("%v → %v, want %q", c.err, got, c.want)
		}
	}
	if got := sheetsProblem(nil, "a", "s1"); got != nil {
		t.Errorf("nil → %v", got)
	}
}
