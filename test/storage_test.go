package test

import (
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strongroom/strongroom/test/harness"
)

// TestMissingMasterKeyBesideData: a data directory whose master.key was
// lost is refused at start with a clear error, and no new key file is
// generated (it could never open the data).
func TestMissingMasterKeyBesideData(t *testing.T) {
	t.Parallel()
	s := start(t)
	s.JSON(t, "GET", "/tenants/self", s.ManagementKey, nil, http.StatusOK)
	s.Stop(t)
	keyFile := filepath.Join(s.DataDir, "master.key")
	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}
	code, log := harness.StartFailure(t, harness.Options{DataDir: s.DataDir, ManagementKey: s.ManagementKey})
	if code == 0 || !strings.Contains(log, "master key file") || !strings.Contains(log, "missing") {
		t.Errorf("exit %d; the log does not name the missing key:\n%s", code, log)
	}
	if strings.Contains(log, "does not match") {
		t.Errorf("misleading error:\n%s", log)
	}
	if _, err := os.Stat(keyFile); !os.IsNotExist(err) {
		t.Errorf("a new master.key was generated beside existing data (stat: %v)", err)
	}
}

// TestDataDirModes: everything the vault writes under its data directory
// is readable by its user only (files 0600, directories 0700).
func TestDataDirModes(t *testing.T) {
	t.Parallel()
	s := start(t)
	key := tokenApp(t, s, "token:general:create")
	for i := 0; i < 5; i++ {
		s.JSON(t, "POST", "/tokens", key, map[string]any{"type": "token", "data": "mode"}, http.StatusCreated)
	}
	check := func(when string) {
		n := 0
		filepath.WalkDir(s.DataDir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				t.Fatal(err)
			}
			info, _ := d.Info()
			want := os.FileMode(0o600)
			if d.IsDir() {
				want = 0o700
			}
			if info.Mode().Perm() != want {
				t.Errorf("%s: %s has mode %o, want %o", when, path, info.Mode().Perm(), want)
			}
			n++
			return nil
		})
		if n < 6 {
			t.Fatalf("%s: only %d entries under %s", when, n, s.DataDir)
		}
	}
	check("running")
	s.Stop(t)
	check("stopped")
}
