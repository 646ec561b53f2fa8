package store

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Every file of the store is 0600 and every directory 0700, whatever the
// umask, also for a store written before (its files are narrowed at open).
func TestStoreFileModes(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "store")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	legacy := filepath.Join(dir, "000001.log.old")
	if err := os.WriteFile(legacy, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := OpenPebble(dir)
	if err != nil {
		t.Fatal(err)
	}
	b := p.NewBatch()
	b.Set([]byte("k"), []byte("v"))
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if err := p.db.Flush(); err != nil {
		t.Fatal(err)
	}
	checkModes(t, dir) // while open: WAL, LOCK, MANIFEST, tables
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	checkModes(t, dir)
}

func checkModes(t *testing.T, dir string) {
	t.Helper()
	n := 0
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		info, _ := d.Info()
		want := os.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if info.Mode().Perm() != want {
			t.Errorf("%s: mode %o, want %o", path, info.Mode().Perm(), want)
		}
		n++
		return nil
	})
	if n < 4 {
		t.Fatalf("only %d entries under %s", n, dir)
	}
}
