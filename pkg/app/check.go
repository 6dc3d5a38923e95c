package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"google.golang.org/api/googleapi"

	"marketingbot/pkg/ai"
	"marketingbot/pkg/config"
	"marketingbot/pkg/sheets"
)

// A probe is one dependency check of --check (and of the deploy smoke
// test): it returns what it found wrong, one short phrase each, or nil. A
// role's Check runs all of its probes and reports every problem, so that
// one run of --check lists everything an operator has to fix:
//
//	FAIL worker: gemini: model "gemini-1.5-pro" (gemini.analysis_model) does not exist: retired or misspelled; sheets: …
//
// A new check (the spreadsheet's headers, say) is one more probe in the
// role's list: a func(ctx) []string whose phrases name what is wrong.
type probe struct {
	area  string                             // "redis", "sheets", "telegram", "gemini"; prefixes each problem
	needs string                             // skipped (and said so) when this area had problems
	run   func(ctx context.Context) []string // the problems found
}

// CheckError is a failed Check: every problem found, each "area: phrase".
type CheckError struct {
	Problems []string
}

func (e *CheckError) Error() string { return strings.Join(e.Problems, "; ") }

// runProbes runs the probes in order and returns a *CheckError with all the
// problems, or nil.
func runProbes(ctx context.Context, probes []probe) error {
	var problems []string
	failed := map[string]bool{}
	for _, p := range probes {
		if p.needs != "" && failed[p.needs] {
			problems = append(problems, fmt.Sprintf("%s: not checked (needs %s)", p.area, p.needs))
			failed[p.area] = true
			continue
		}
		for _, msg := range p.run(ctx) {
			// Errors often start with their package's name; say the area once.
			msg = strings.TrimPrefix(msg, p.area+": ")
			problems = append(problems, p.area+": "+msg)
			failed[p.area] = true
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return &CheckError{Problems: problems}
}

// problemsOf turns an error into the problems of a probe.
func problemsOf(err error) []string {
	if err == nil {
		return nil
	}
	return []string{err.Error()}
}

func redisProbe(ping func(ctx context.Context) error) probe {
	return probe{area: "redis", run: func(ctx context.Context) []string { return problemsOf(ping(ctx)) }}
}

// sheetsProbe opens the spreadsheet (every sheet present).
func sheetsProbe(d *deps) probe {
	return probe{area: "sheets", needs: "redis", run: func(ctx context.Context) []string {
		return problemsOf(sheetsProblem(d.sheets.Check(ctx), d.client.ServiceAccount(), d.client.SpreadsheetID()))
	}}
}

// sheetsProblem says what an operator does about the usual first-deployment
// failures: a refused service-account key (naming the credentials file), a
// spreadsheet not shared with the service account, a wrong spreadsheet id.
func sheetsProblem(err error, account, spreadsheetID string) error {
	var ae *sheets.AuthError
	if errors.As(err, &ae) {
		return ae
	}
	var gerr *googleapi.Error
	switch {
	case !errors.As(err, &gerr):
	case gerr.Code == http.StatusForbidden && account != "":
		return fmt.Errorf("%w (share spreadsheet %s with %s as an editor)", err, spreadsheetID, account)
	case gerr.Code == http.StatusNotFound:
		return fmt.Errorf("%w (no spreadsheet %q: check sheets.spreadsheet_id)", err, spreadsheetID)
	}
	return err
}

func telegramProbe(getMe func(ctx context.Context) error) probe {
	return probe{area: "telegram", run: func(ctx context.Context) []string {
		if err := getMe(ctx); err != nil {
			return []string{fmt.Sprintf("getMe: %v", err)}
		}
		return nil
	}}
}

// geminiProbe asks Gemini for every model the role uses (models.get): the
// API key is checked on the way.
func geminiProbe(client *ai.Client, g config.Gemini) probe {
	return probe{area: "gemini", run: func(ctx context.Context) []string {
		return client.CheckModels(ctx, usedModels(g))
	}}
}

// usedModels are the models the worker calls, each with its setting: the
// chat model, and the analysis model when it polishes summaries.
func usedModels(g config.Gemini) []ai.ModelSetting {
	models := []ai.ModelSetting{{Model: g.ChatModel, Setting: "gemini.chat_model"}}
	if g.PolishAnalytics && g.AnalysisModel != "" {
		if g.AnalysisModel == g.ChatModel {
			models[0].Setting += ", gemini.analysis_model"
		} else {
			models = append(models, ai.ModelSetting{Model: g.AnalysisModel, Setting: "gemini.analysis_model"})
		}
	}
	return models
}

// modelSettings name the setting(s) of each configured model for the AI
// client's messages (a model may be named by both).
func modelSettings(g config.Gemini) map[string]string {
	m := map[string]string{}
	for _, kv := range [][2]string{{g.ChatModel, "gemini.chat_model"}, {g.AnalysisModel, "gemini.analysis_model"}} {
		if kv[0] == "" {
			continue
		}
		if m[kv[0]] != "" {
			m[kv[0]] += ", "
		}
		m[kv[0]] += kv[1]
	}
	return m
}

// oneLine keeps a verdict on one line whatever the errors inside it carry.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
