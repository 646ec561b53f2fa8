// Package storetest is the conformance suite every store.Store backend
// passes: ordering, prefix scans, atomic batches and conditional writes,
// including racing inserts from many goroutines.
package storetest

import (
	"errors"
	"testing"

	"github.com/strongroom/strongroom/vault/store"
)

// Run runs the suite; open returns a new, empty store for each subtest and
// arranges its closing.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	for _, c := range []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"GetAndNotFound", getAndNotFound},
		{"ScanPrefixAndStart", scanPrefixAndStart},
		{"ScanValues", scanValues},
		{"ScanReverse", scanReverse},
		{"ScanPrefixOfFFBytes", scanPrefixOfFFBytes},
		{"ScanManyPages", scanManyPages},
		{"ScanOneSnapshot", scanOneSnapshot},
		{"DeletePrefix", deletePrefix},
		{"BatchAtomicity", batchAtomicity},
		{"Insert", insert},
		{"Expect", expect},
		{"RacingInserts", racingInserts},
		{"RacingExpects", racingExpects},
		{"CommitBuffered", commitBuffered},
	} {
		t.Run(c.name, func(t *testing.T) { c.fn(t, open(t)) })
	}
}

func put(t *testing.T, s store.Store, kv ...string) {
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

func scanKeys(t *testing.T, s store.Store, reverse bool, prefix, start []byte) []string {
	t.Helper()
	var out []string
	fn := func(k, _ []byte) bool { out = append(out, string(k)); return true }
	var err error
	if reverse {
		err = s.ScanReverse(prefix, start, fn)
	} else {
		err = s.Scan(prefix, start, fn)
	}
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func eq(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func commitConflict(t *testing.T, b store.Batch) {
	t.Helper()
	if err := b.Commit(); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Commit = %v, want ErrConflict", err)
	}
	b.Close()
}
