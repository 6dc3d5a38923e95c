package world

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	tgemu "marketingbot/sim/emulator/telegram"
)

// Helpers of the whole-system tests of streamed answers
// (sim/systemtest/stream_*_test.go). A world streams only when asked: the
// other tests count generateContent calls and expect no drafts.

// StreamSettings are the settings of a world whose worker streams answers
// (gemini.stream) with drafts every interval, plus more.
func StreamSettings(interval time.Duration, more map[string]string) map[string]string {
	s := map[string]string{
		"MARKETINGBOT_GEMINI_STREAM":         "true",
		"MARKETINGBOT_GEMINI_DRAFT_INTERVAL": interval.String(),
	}
	for k, v := range more {
		s[k] = v
	}
	return s
}

// DraftCalls are the sendMessageDraft calls to chatID Telegram accepted,
// oldest first.
func (e *Env) DraftCalls(chatID int64) []tgemu.Call {
	var out []tgemu.Call
	for _, c := range e.Telegram.Calls("sendMessageDraft") {
		if c.Status == http.StatusOK && fmt.Sprint(c.Params["chat_id"]) == strconv.FormatInt(chatID, 10) {
			out = append(out, c)
		}
	}
	return out
}

// LiveDraft is the draft chatID shows now (nil: none).
func (e *Env) LiveDraft(chatID int64) *tgemu.TranscriptDraft {
	e.T.Helper()
	tr, err := e.Telegram.Transcript(chatID, 0)
	if err != nil {
		e.T.Fatal(err)
	}
	return tr.Draft
}

// MethodStatuses counts the calls of a Bot API method by HTTP status.
func (e *Env) MethodStatuses(method string) map[int]int {
	out := map[int]int{}
	for _, c := range e.Telegram.Calls(method) {
		out[c.Status]++
	}
	return out
}

// RoleMetric sums the samples of a metric family on a role's /metrics whose
// labels include every one of labels (0 when there are none).
func (e *Env) RoleMetric(r *Role, name string, labels map[string]string) float64 {
	e.T.Helper()
	resp, err := http.Get("http://" + r.Addr() + "/metrics")
	if err != nil {
		e.T.Fatal(err)
	}
	defer resp.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		series, value, ok := strings.Cut(line, " ")
		if !ok || (series != name && !strings.HasPrefix(series, name+"{")) {
			continue
		}
		match := true
		for k, v := range labels {
			match = match && strings.Contains(series, k+`="`+v+`"`)
		}
		if f, err := strconv.ParseFloat(value, 64); err == nil && match {
			sum += f
		}
	}
	return sum
}
