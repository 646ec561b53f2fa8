package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strongroom/strongroom/test/harness"
)

// runValidate runs `strongroom validate` on the repo Caddyfile with dataDir.
func runValidate(t *testing.T, dataDir string) (string, error) {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command(harness.Binary(t), "validate", "--config", filepath.Join(harness.RepoRoot(), "Caddyfile"))
	cmd.Dir = home
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, "config"),
		"XDG_DATA_HOME="+filepath.Join(home, "data"), "STRONGROOM_DATA_DIR="+dataDir, "STRONGROOM_MANAGEMENT_KEY=",
		"STRONGROOM_PORT=0", "STRONGROOM_ADMIN=localhost:0")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestValidateWritesNothing: `validate` on a new config creates no data
// directory, master key, tenant or key, and on a running server's data it
// succeeds instead of tripping over the store's lock; a second server on
// locked data says so.
func TestValidateWritesNothing(t *testing.T) {
	t.Parallel()
	fresh := filepath.Join(t.TempDir(), "data")
	out, err := runValidate(t, fresh)
	if err != nil || !strings.Contains(out, "Valid configuration") {
		t.Fatalf("validate on a new config: %v\n%s", err, out)
	}
	if _, err := os.Stat(fresh); !os.IsNotExist(err) || strings.Contains(out, "key_") || strings.Contains(out, "Management API key") {
		t.Errorf("validate wrote the data directory (%v) or printed a key:\n%s", err, out)
	}

	s := harness.Start(t, harness.Options{})
	if out, err := runValidate(t, s.DataDir); err != nil || !strings.Contains(out, "Valid configuration") {
		t.Errorf("validate on a running server's data: %v\n%s", err, out)
	}
	code, log := harness.StartFailure(t, harness.Options{DataDir: s.DataDir})
	if code == 0 || !strings.Contains(log, "is locked by another process") {
		t.Errorf("a second server on locked data: exit %d, log:\n%s", code, tailStr(log, 3000))
	}
}
