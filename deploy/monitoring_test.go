package deploy_test

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// family is a metric family the roles export: its labels, and whether it is a
// histogram (then _bucket/_sum/_count series and the le label exist).
type family struct {
	labels    []string
	histogram bool
}

// families is the contract between the code and the dashboards: every
// expression may use only these (plus Prometheus's own "up").
var families = map[string]family{
	"marketingbot_updates_received_total":                {labels: []string{"kind"}},
	"marketingbot_updates_enqueued_total":                {labels: []string{"kind"}},
	"marketingbot_updates_duplicate_total":               {},
	"marketingbot_updates_enqueue_errors_total":          {},
	"marketingbot_telegram_poll_errors_total":            {},
	"marketingbot_updates_pending_enqueue":               {},
	"marketingbot_tasks_processed_total":                 {labels: []string{"type", "outcome"}},
	"marketingbot_task_duration_seconds":                 {labels: []string{"type"}, histogram: true},
	"marketingbot_tasks_in_flight":                       {labels: []string{"type"}},
	"marketingbot_sheets_requests_total":                 {labels: []string{"method", "code"}},
	"marketingbot_sheets_request_duration_seconds":       {labels: []string{"method"}, histogram: true},
	"marketingbot_sheets_quota_wait_seconds":             {labels: []string{"kind"}, histogram: true},
	"marketingbot_sheets_retries_total":                  {},
	"marketingbot_sheets_breaker_state":                  {},
	"marketingbot_sheets_breaker_transitions_total":      {labels: []string{"to"}},
	"marketingbot_sheets_batch_operations":               {labels: []string{"kind"}, histogram: true},
	"marketingbot_sheets_operations_total":               {labels: []string{"kind", "outcome"}},
	"marketingbot_sheets_row_moved_total":                {labels: []string{"sheet"}},
	"marketingbot_telegram_calls_total":                  {labels: []string{"method", "result"}},
	"marketingbot_telegram_call_duration_seconds":        {labels: []string{"method"}, histogram: true},
	"marketingbot_telegram_limiter_wait_seconds":         {labels: []string{"priority"}, histogram: true},
	"marketingbot_gemini_calls_total":                    {labels: []string{"model", "result"}},
	"marketingbot_gemini_call_duration_seconds":          {labels: []string{"model"}, histogram: true},
	"marketingbot_poller_scans_total":                    {labels: []string{"scanner", "outcome"}},
	"marketingbot_poller_last_success_timestamp_seconds": {labels: []string{"scanner"}},
	"marketingbot_queue_size":                            {labels: []string{"queue", "state"}},
	"marketingbot_analytics_deliveries_total":            {labels: []string{"outcome"}},
	"marketingbot_promo_sends_total":                     {labels: []string{"outcome"}},
	"marketingbot_support_ratings_total":                 {labels: []string{"rating"}},
	"marketingbot_support_rating_questions_total":        {labels: []string{"outcome"}},
	"marketingbot_support_first_response_seconds":        {histogram: true},
	"marketingbot_support_resolution_seconds":            {histogram: true},
	"marketingbot_support_appeals":                       {labels: []string{"window"}},
	"marketingbot_support_without_human_ratio":           {labels: []string{"window"}},
	"marketingbot_support_escalations":                   {labels: []string{"window"}},
	"marketingbot_support_first_response_avg_seconds":    {labels: []string{"window"}},
	"marketingbot_support_resolved":                      {labels: []string{"window"}},
	"marketingbot_support_resolution_avg_seconds":        {labels: []string{"window"}},
	"marketingbot_support_ratings":                       {labels: []string{"window"}},
	"marketingbot_support_rating_avg":                    {labels: []string{"window"}},
	"marketingbot_support_low_ratings":                   {labels: []string{"window"}},
	"up":                                                 {},
}

// Labels Prometheus attaches to every scraped series.
var targetLabels = []string{"job", "instance"}

// promQL is what an expression selects: series names and label names used in
// matchers and in by/without/on/ignoring/group_* clauses.
type promQL struct {
	metrics []string
	labels  []string
}

var promKeywords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"bool": true, "and": true, "or": true, "unless": true, "offset": true, "inf": true, "nan": true, "atan2": true,
}

var promAggregations = map[string]bool{
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true,
	"count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true,
	"limitk": true, "limit_ratio": true,
}

// parsePromQL is a small PromQL scanner, enough to list what an expression
// refers to. It is not a full parser: it rejects what it does not expect.
func parsePromQL(expr string) (promQL, error) {
	sc := &promScanner{expr: expr}
	for sc.i < len(expr) {
		c := expr[sc.i]
		var err error
		switch {
		case c == '"' || c == '\'' || c == '`':
			sc.i, err = sc.skipString(sc.i)
		case c == '{':
			err = sc.matchers()
		case c == '[':
			end := strings.IndexByte(expr[sc.i:], ']')
			if end < 0 {
				return sc.q, fmt.Errorf("unclosed range at %d", sc.i)
			}
			sc.i += end + 1
		case c >= '0' && c <= '9' || c == '.':
			for sc.i < len(expr) && (isPromIdent(expr[sc.i]) || expr[sc.i] == '.') {
				sc.i++
			}
		case isPromIdentStart(c):
			err = sc.word()
		case strings.ContainsRune("()+-*/%^=!<>, \t\n\r", rune(c)):
			sc.i++
		default:
			return sc.q, fmt.Errorf("unexpected %q at %d in %q", c, sc.i, expr)
		}
		if err != nil {
			return sc.q, err
		}
	}
	return sc.q, nil
}

func isPromIdentStart(c byte) bool {
	return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isPromIdent(c byte) bool { return isPromIdentStart(c) || c >= '0' && c <= '9' }

// promScanner is parsePromQL's position in expr and what it found so far.
type promScanner struct {
	expr string
	i    int
	q    promQL
}

func (sc *promScanner) skipSpace(i int) int {
	for i < len(sc.expr) && strings.ContainsRune(" \t\n\r", rune(sc.expr[i])) {
		i++
	}
	return i
}

// skipString returns the end of the string literal whose opening quote is
// at i.
func (sc *promScanner) skipString(i int) (int, error) {
	quote := sc.expr[i]
	for j := i + 1; j < len(sc.expr); j++ {
		if sc.expr[j] == '\\' && quote != '`' {
			j++
			continue
		}
		if sc.expr[j] == quote {
			return j + 1, nil
		}
	}
	return 0, fmt.Errorf("unterminated string at %d", i)
}

// labelList reads "(a, b)" starting at i and returns the names and the end.
func (sc *promScanner) labelList(i int) ([]string, int, error) {
	expr := sc.expr
	i = sc.skipSpace(i)
	if i >= len(expr) || expr[i] != '(' {
		return nil, 0, fmt.Errorf("expected ( at %d", i)
	}
	end := strings.IndexByte(expr[i:], ')')
	if end < 0 {
		return nil, 0, fmt.Errorf("unclosed label list at %d", i)
	}
	var names []string
	for _, n := range strings.Split(expr[i+1:i+end], ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	return names, i + end + 1, nil
}

// matchers reads "{name op "value", ...}" at sc.i.
func (sc *promScanner) matchers() error {
	expr := sc.expr
	i := sc.i + 1
	for {
		i = sc.skipSpace(i)
		if i < len(expr) && expr[i] == '}' {
			sc.i = i + 1
			return nil
		}
		start := i
		for i < len(expr) && isPromIdent(expr[i]) {
			i++
		}
		if start == i {
			return fmt.Errorf("expected a label name at %d in %q", start, expr)
		}
		sc.q.labels = append(sc.q.labels, expr[start:i])
		i = sc.skipSpace(i)
		op := ""
		for _, o := range []string{"=~", "!~", "!=", "="} {
			if strings.HasPrefix(expr[i:], o) {
				op = o
				break
			}
		}
		if op == "" {
			return fmt.Errorf("expected a matcher operator at %d in %q", i, expr)
		}
		i = sc.skipSpace(i + len(op))
		if i >= len(expr) || !strings.ContainsRune("\"'`", rune(expr[i])) {
			return fmt.Errorf("expected a quoted value at %d in %q", i, expr)
		}
		j, err := sc.skipString(i)
		if err != nil {
			return err
		}
		i = sc.skipSpace(j)
		if i < len(expr) && expr[i] == ',' {
			i++
		}
	}
}

// word reads an identifier at sc.i: a grouping clause, a keyword, an
// aggregation or function, or else a metric name.
func (sc *promScanner) word() error {
	expr := sc.expr
	start := sc.i
	for sc.i < len(expr) && isPromIdent(expr[sc.i]) {
		sc.i++
	}
	word := expr[start:sc.i]
	next := sc.skipSpace(sc.i)
	switch {
	case word == "by" || word == "without" || word == "on" || word == "ignoring" ||
		word == "group_left" || word == "group_right":
		if word == "group_left" || word == "group_right" {
			if next >= len(expr) || expr[next] != '(' {
				return nil // group_left without labels
			}
		}
		names, end, err := sc.labelList(sc.i)
		if err != nil {
			return err
		}
		sc.q.labels = append(sc.q.labels, names...)
		sc.i = end
	case promKeywords[strings.ToLower(word)]:
	case promAggregations[word]:
		// sum by (x) (...): the grouping clause may come first.
	case next < len(expr) && expr[next] == '(':
		// A function or aggregation.
	default:
		sc.q.metrics = append(sc.q.metrics, word)
	}
	return nil
}

// familyOf maps a series name to its family (a histogram's _bucket, _sum and
// _count series belong to the histogram).
func familyOf(series string) (string, bool) {
	if f, ok := families[series]; ok && !f.histogram {
		return series, true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(series, suffix)
		if f, known := families[base]; ok && known && f.histogram {
			return base, true
		}
	}
	return "", false
}

// checkExpr fails when expr refers to a series or a label outside the
// families above, and returns the families it uses.
func checkExpr(t *testing.T, where, expr string) []string {
	t.Helper()
	q, err := parsePromQL(expr)
	if err != nil {
		t.Errorf("%s: %v", where, err)
		return nil
	}
	if len(q.metrics) == 0 {
		t.Errorf("%s: %q selects no series", where, expr)
	}
	var used []string
	allowed := slices.Clone(targetLabels)
	for _, m := range q.metrics {
		fam, ok := familyOf(m)
		if !ok {
			t.Errorf("%s: %s is not one of the exported families (histogram series need _bucket/_sum/_count)", where, m)
			continue
		}
		used = append(used, fam)
		allowed = append(allowed, families[fam].labels...)
		if strings.HasSuffix(m, "_bucket") {
			allowed = append(allowed, "le")
		}
	}
	for _, l := range q.labels {
		if !slices.Contains(allowed, l) {
			t.Errorf("%s: label %q is not a label of %v", where, l, q.metrics)
		}
	}
	return used
}

func TestParsePromQL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		expr    string
		metrics []string
		labels  []string
		bad     bool
	}{
		{expr: `up{job="marketingbot-bot"} == 0`, metrics: []string{"up"}, labels: []string{"job"}},
		{expr: `histogram_quantile(0.95, sum by (type, le) (rate(m_bucket{a=~"x|y", b!="}"}[$__rate_interval])))`,
			metrics: []string{"m_bucket"}, labels: []string{"type", "le", "a", "b"}},
		{expr: `time() - max by (scanner) (g) > 3 * 60`, metrics: []string{"g"}, labels: []string{"scanner"}},
		{expr: `sum(a) / ignoring(x) group_left sum(b) and on (y) c offset 5m`, metrics: []string{"a", "b", "c"}, labels: []string{"x", "y"}},
		{expr: `sum(rate(x{code="429"}[5m])) * 60 > 1`, metrics: []string{"x"}, labels: []string{"code"}},
		{expr: `x{a="unterminated}`, bad: true},
		{expr: `x{a}`, bad: true},
		{expr: `x # comment`, bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			q, err := parsePromQL(tt.expr)
			if tt.bad {
				if err == nil {
					t.Errorf("accepted: %+v", q)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(q.metrics, tt.metrics) || !slices.Equal(q.labels, tt.labels) {
				t.Errorf("got metrics %q labels %q, want %q %q", q.metrics, q.labels, tt.metrics, tt.labels)
			}
		})
	}
}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func TestAlertRules(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFile
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&rf); err != nil {
		t.Fatalf("alerts.yml: %v", err)
	}
	names := map[string]bool{}
	used := map[string]bool{}
	for _, g := range rf.Groups {
		if g.Name == "" || len(g.Rules) == 0 {
			t.Errorf("group %q is empty or unnamed", g.Name)
		}
		for _, r := range g.Rules {
			where := g.Name + "/" + r.Alert
			if r.Alert == "" || names[r.Alert] {
				t.Errorf("%s: alert name missing or repeated", where)
			}
			names[r.Alert] = true
			if sev := r.Labels["severity"]; sev != "warning" && sev != "critical" {
				t.Errorf("%s: severity %q", where, sev)
			}
			if r.Annotations["summary"] == "" {
				t.Errorf("%s: no summary", where)
			}
			if r.For != "" {
				if _, err := time.ParseDuration(r.For); err != nil {
					t.Errorf("%s: for %q: %v", where, r.For, err)
				}
			}
			for _, fam := range checkExpr(t, where, r.Expr) {
				used[fam] = true
			}
		}
	}
	// What the operations brief asks to be alerted on.
	for _, fam := range []string{
		"marketingbot_queue_size", "marketingbot_sheets_breaker_state", "marketingbot_sheets_requests_total",
		"marketingbot_analytics_deliveries_total", "marketingbot_promo_sends_total",
		"marketingbot_poller_last_success_timestamp_seconds", "up", "marketingbot_updates_enqueue_errors_total",
	} {
		if !used[fam] {
			t.Errorf("no alert uses %s", fam)
		}
	}
}

type dashboard struct {
	Title      string `json:"title"`
	UID        string `json:"uid"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query string `json:"query"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		ID         int    `json:"id"`
		Type       string `json:"type"`
		Title      string `json:"title"`
		Datasource *struct {
			Type string `json:"type"`
			UID  string `json:"uid"`
		} `json:"datasource"`
		GridPos struct{ H, W, X, Y int } `json:"gridPos"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

func TestGrafanaDashboard(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("grafana/marketingbot.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("marketingbot.json: %v", err)
	}
	if d.Title == "" || d.UID == "" {
		t.Errorf("title %q uid %q", d.Title, d.UID)
	}
	var dsVar string
	for _, v := range d.Templating.List {
		if v.Type == "datasource" && v.Query == "prometheus" {
			dsVar = v.Name
		}
	}
	if dsVar == "" {
		t.Fatal("no Prometheus datasource variable")
	}
	used := map[string]bool{}
	ids := map[int]bool{}
	type cell struct{ x, y int }
	occupied := map[cell]string{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d repeated", p.ID)
		}
		ids[p.ID] = true
		g := p.GridPos
		if g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
			t.Errorf("panel %q: gridPos %+v outside the 24-column grid", p.Title, g)
		}
	place:
		for x := g.X; x < g.X+g.W; x++ {
			for y := g.Y; y < g.Y+g.H; y++ {
				if other, taken := occupied[cell{x, y}]; taken {
					t.Errorf("panel %q overlaps %q", p.Title, other)
					break place
				}
				occupied[cell{x, y}] = p.Title
			}
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${"+dsVar+"}" {
			t.Errorf("panel %q does not use the $%s variable: %+v", p.Title, dsVar, p.Datasource)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no queries", p.Title)
		}
		for i, tg := range p.Targets {
			for _, fam := range checkExpr(t, fmt.Sprintf("panel %q query %d", p.Title, i), tg.Expr) {
				used[fam] = true
			}
		}
	}
	for fam := range families {
		if fam != "up" && !used[fam] {
			t.Errorf("no panel shows %s", fam)
		}
	}
}
