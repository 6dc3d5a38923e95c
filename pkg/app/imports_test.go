package app_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The role binaries must never link simulation code (emulators, sandbox,
// demo data, fixtures, load tools — everything under sim/) or test-only
// libraries: production behaviour may not depend on anything that exists
// only to run the system offline.
func TestRoleBinariesImportNoSimulationCode(t *testing.T) {
	forbidden := []string{"marketingbot/sim/", "github.com/alicebob/miniredis", "github.com/chromedp/"}
	out, err := exec.Command("go", "list", "-deps", "marketingbot/cmd/bot", "marketingbot/cmd/worker", "marketingbot/cmd/poller").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if strings.HasPrefix(pkg, f) {
				t.Errorf("a role binary depends on %s (forbidden prefix %s): production code must not import simulation or test code", pkg, f)
			}
		}
	}
}
