package storetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/strongroom/strongroom/vault/store"
)

func getAndNotFound(t *testing.T, s store.Store) {
	if _, err := s.Get([]byte("missing")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get missing: %v", err)
	}
	put(t, s, "k", "v1")
	v, err := s.Get([]byte("k"))
	if err != nil || string(v) != "v1" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	// The value is a copy the caller owns.
	v[0] = 'X'
	v2, _ := s.Get([]byte("k"))
	if string(v2) != "v1" {
		t.Fatalf("Get returned an alias of the store's buffer: %q", v2)
	}
	// An empty value is present, not missing.
	put(t, s, "empty", "")
	if v, err := s.Get([]byte("empty")); err != nil || len(v) != 0 {
		t.Fatalf("empty value: %q, %v", v, err)
	}
	// Overwrite and delete.
	put(t, s, "k", "v2")
	if v, _ := s.Get([]byte("k")); string(v) != "v2" {
		t.Fatalf("overwrite: %q", v)
	}
	b := s.NewBatch()
	b.Delete([]byte("k"))
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if _, err := s.Get([]byte("k")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}

func deletePrefix(t *testing.T, s store.Store) {
	put(t, s, "t\x00a\x001", "", "t\x00a\x002", "", "t\x00ab\x001", "", "t\x00b\x001", "", "t\x00a", "")
	b := s.NewBatch()
	b.DeletePrefix(store.Prefix("t", "a"))
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if got, want := scanKeys(t, s, false, []byte("t"), nil), []string{"t\x00a", "t\x00ab\x001", "t\x00b\x001"}; !eq(got, want) {
		t.Fatalf("after DeletePrefix: %q, want %q", got, want)
	}
	// DeletePrefix of an all-0xff prefix deletes to the end of the keyspace.
	put(t, s, "\xff\xff", "", "\xff\xff\x05", "", "\xfe", "")
	b = s.NewBatch()
	b.DeletePrefix([]byte("\xff\xff"))
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if got := scanKeys(t, s, false, []byte("\xff"), nil); len(got) != 0 {
		t.Fatalf("0xff keys left: %q", got)
	}
	if _, err := s.Get([]byte("\xfe")); err != nil {
		t.Fatalf("0xfe deleted: %v", err)
	}
}

func batchAtomicity(t *testing.T, s store.Store) {
	put(t, s, "keep", "1", "gone", "1")
	b := s.NewBatch()
	if !b.Empty() {
		t.Fatal("new batch not empty")
	}
	b.Set([]byte("new1"), []byte("x"))
	b.Set([]byte("new2"), []byte("y"))
	b.Delete([]byte("gone"))
	if b.Empty() {
		t.Fatal("batch with writes reports empty")
	}
	// Nothing is visible before Commit.
	if _, err := s.Get([]byte("new1")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("uncommitted write visible: %v", err)
	}
	if _, err := s.Get([]byte("gone")); err != nil {
		t.Fatalf("uncommitted delete visible: %v", err)
	}
	// A closed, uncommitted batch is discarded.
	b.Close()
	b.Close() // idempotent
	if _, err := s.Get([]byte("new1")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("discarded batch applied: %v", err)
	}
	// A committed batch applies all of its writes.
	b = s.NewBatch()
	for i := 0; i < 100; i++ {
		b.Set([]byte(fmt.Sprintf("n%03d", i)), []byte("v"))
	}
	b.Delete([]byte("gone"))
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if got := scanKeys(t, s, false, []byte("n"), nil); len(got) != 100 {
		t.Fatalf("committed %d of 100 writes", len(got))
	}
	if _, err := s.Get([]byte("gone")); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("committed delete not applied")
	}
}

func commitBuffered(t *testing.T, s store.Store) {
	b := s.NewBatch()
	b.Set([]byte("audit"), []byte("entry"))
	if err := b.CommitBuffered(); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if v, err := s.Get([]byte("audit")); err != nil || string(v) != "entry" {
		t.Fatalf("buffered write: %q, %v", v, err)
	}
}
