package vault

import (
	"os"
	"path/filepath"
	"testing"
)

func TestReady(t *testing.T) {
	e := newEnv(t)
	if err := e.v.Ready(); err != nil {
		t.Fatalf("open vault: %v", err)
	}
	store := filepath.Join(e.dir, "store")
	// Replaced by another directory of the same name (a remounted volume).
	if err := os.Rename(store, store+".old"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(store, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := e.v.Ready(); err != ErrNotReady {
		t.Fatalf("store directory replaced: %v, want ErrNotReady", err)
	}
	os.Remove(store)
	if err := os.Rename(store+".old", store); err != nil {
		t.Fatal(err)
	}
	if err := e.v.Ready(); err != nil {
		t.Fatalf("store directory back: %v", err)
	}
	e.close()
	if err := e.v.Ready(); err != ErrNotReady {
		t.Fatalf("closed vault: %v, want ErrNotReady", err)
	}
}
