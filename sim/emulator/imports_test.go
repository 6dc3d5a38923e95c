// Package emulator_test guards what the emulators may build on.
package emulator_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestEmulatorsImportNoProductionCode: an emulator stands in for Google or
// Telegram, so it must judge the client with its own reading of their
// documentation (A1 notation, initData signatures…), never with the client's
// code, or it would agree with every mistake the client makes. Their tests
// may import production code to cross-check the two; their code may not.
func TestEmulatorsImportNoProductionCode(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "marketingbot/sim/emulator/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		own := pkg == "marketingbot/sim/emulator" || strings.HasPrefix(pkg, "marketingbot/sim/emulator/")
		if strings.HasPrefix(pkg, "marketingbot/") && !own {
			t.Errorf("an emulator depends on %s: emulators may import only the standard library, third-party modules and each other", pkg)
		}
	}
}
