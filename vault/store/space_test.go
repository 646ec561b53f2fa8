package store

import (
	"errors"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// freeOf is the free space of dir's file system, or skips the test where
// the platform does not tell.
func freeOf(t *testing.T, dir string) int64 {
	t.Helper()
	free, ok := freeBytes(dir)
	if !ok {
		t.Skip("free space is not known on this platform")
	}
	return free
}

// Below the reserve, synced writes are refused with an ENOSPC error and
// leave nothing behind; the buffered audit of reads may use half of it.
func TestSpaceReserveRefusesWrites(t *testing.T) {
	dir := t.TempDir()
	p, err := OpenPebble(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	put(t, p, "before", "1")

	p.space.reserve = freeOf(t, dir) * 3 / 2 // now above what is free
	b := p.NewBatch()
	b.Set([]byte("refused"), []byte("x"))
	if err := b.Commit(); !errors.Is(err, ErrDiskFull) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("commit below the reserve: %v, want ErrDiskFull (ENOSPC)", err)
	}
	b.Close()
	if _, err := p.Get([]byte("refused")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a refused write is readable: %v", err)
	}
	if v, err := p.Get([]byte("before")); err != nil || string(v) != "1" {
		t.Fatalf("read below the reserve: %q, %v", v, err)
	}
	b = p.NewBatch()
	b.Set([]byte("audit"), []byte("x"))
	if err := b.CommitBuffered(); err != nil {
		t.Fatalf("buffered write within half the reserve: %v", err)
	}
	b.Close()

	p.space.reserve = -1 // (a negative reserve is normalised at open; here: no check)
	put(t, p, "after", "1")
}

// A store whose disk is below the reserve at open is opened read-only:
// its data reads back, every write is refused, and it closes cleanly.
func TestSpaceFullAtOpenIsReadOnly(t *testing.T) {
	dir := t.TempDir()
	p, err := OpenPebble(dir)
	if err != nil {
		t.Fatal(err)
	}
	put(t, p, "acknowledged", "yes")
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}

	p, err = OpenPebble(dir, WithDiskReserve(freeOf(t, dir)+1<<40))
	if err != nil {
		t.Fatal(err)
	}
	if !p.ReadOnly() {
		t.Fatal("opened read-write on a disk below the reserve")
	}
	if v, err := p.Get([]byte("acknowledged")); err != nil || string(v) != "yes" {
		t.Fatalf("read-only read: %q, %v", v, err)
	}
	for _, commit := range []func(Batch) error{Batch.Commit, Batch.CommitBuffered} {
		b := p.NewBatch()
		b.Set([]byte("k"), []byte("v"))
		if err := commit(b); !errors.Is(err, ErrReadOnlyFull) || !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("write to a read-only store: %v, want ErrReadOnlyFull", err)
		}
		b.Close()
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	// The offline backup of such a store says what to do instead.
	err = CheckpointPebble(dir, filepath.Join(t.TempDir(), "backup"), WithDiskReserve(freeOf(t, dir)+1<<40))
	if !errors.Is(err, ErrReadOnlyFull) || !strings.Contains(err.Error(), "cp -a") {
		t.Fatalf("offline backup of a store below the reserve: %v", err)
	}

	p, err = OpenPebble(dir, WithDiskReserve(-1))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.ReadOnly() {
		t.Fatal("no reserve, yet opened read-only")
	}
	put(t, p, "writable", "again")
}

// put commits key/value pairs in one batch.
func put(t *testing.T, s Store, kv ...string) {
	t.Helper()
	b := s.NewBatch()
	defer b.Close()
	for i := 0; i < len(kv); i += 2 {
		b.Set([]byte(kv[i]), []byte(kv[i+1]))
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
}
