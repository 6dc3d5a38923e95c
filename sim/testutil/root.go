package testutil

import (
	"errors"
	"os"
	"path/filepath"
)

// ModuleRoot walks up from the working directory (a package directory
// under go test, the repository under go run) to the directory holding
// go.mod. It does not use the source file's path (runtime.Caller): CI
// builds with -trimpath, which leaves only module-relative paths there.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
