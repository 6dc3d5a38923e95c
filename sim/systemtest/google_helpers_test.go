package systemtest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"marketingbot/pkg/texts"
	"marketingbot/sim/testutil"
)

// googleLogBuffer collects a role's JSON log lines.
type googleLogBuffer struct{ testutil.SyncBuffer }

// hasError reports an ERROR line whose model and setting attributes are
// the given ones.
func (b *googleLogBuffer) hasError(model, setting string) bool {
	for _, line := range strings.Split(b.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil {
			continue
		}
		if m["level"] == "ERROR" && m["model"] == model && m["setting"] == setting {
			return true
		}
	}
	return false
}

// googleFallbackText is the reply a partner gets when the AI is out of reach.
func googleFallbackText(t *testing.T) string {
	t.Helper()
	tx, err := texts.Load("")
	if err != nil {
		t.Fatal(err)
	}
	return tx.AIFallback
}

// googleMetrics reads a role's /metrics.
func googleMetrics(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
