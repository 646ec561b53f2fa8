// Package storetest is the conformance suite every store.Store backend
// passes: ordering, prefix scans, atomic batches and conditional writes,
// including racing inserts from many goroutines.
package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
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

func scanPrefixAndStart(t *testing.T, s store.Store) {
	put(t, s, "a/1", "", "a/2", "", "a/3", "", "a0", "", "a", "", "b/1", "", "a/", "")
	if got, want := scanKeys(t, s, false, []byte("a/"), nil), []string{"a/", "a/1", "a/2", "a/3"}; !eq(got, want) {
		t.Fatalf("Scan a/ = %v, want %v", got, want)
	}
	if got, want := scanKeys(t, s, false, []byte("a/"), []byte("a/2")), []string{"a/2", "a/3"}; !eq(got, want) {
		t.Fatalf("Scan a/ from a/2 = %v, want %v (start inclusive)", got, want)
	}
	if got, want := scanKeys(t, s, false, []byte("a/"), []byte("a/15")), []string{"a/2", "a/3"}; !eq(got, want) {
		t.Fatalf("Scan from absent start = %v, want %v", got, want)
	}
	// A start below the prefix is clamped to it, a start past it gives nothing.
	if got, want := scanKeys(t, s, false, []byte("a/"), []byte("0")), []string{"a/", "a/1", "a/2", "a/3"}; !eq(got, want) {
		t.Fatalf("Scan from below prefix = %v", got)
	}
	if got := scanKeys(t, s, false, []byte("a/"), []byte("zz")); len(got) != 0 {
		t.Fatalf("Scan from past prefix = %v", got)
	}
	if got := scanKeys(t, s, false, []byte("c"), nil); len(got) != 0 {
		t.Fatalf("Scan empty prefix range = %v", got)
	}
	// nil prefix is everything.
	if got := scanKeys(t, s, false, nil, nil); len(got) != 7 {
		t.Fatalf("Scan all = %v", got)
	}
	// Stopping early.
	n := 0
	if err := s.Scan([]byte("a/"), nil, func(_, _ []byte) bool { n++; return n < 2 }); err != nil || n != 2 {
		t.Fatalf("early stop: n=%d err=%v", n, err)
	}
}

func scanValues(t *testing.T, s store.Store) {
	put(t, s, "p\x001", "one", "p\x002", "two")
	var got []string
	err := s.Scan(store.Prefix("p"), nil, func(k, v []byte) bool {
		got = append(got, string(k[2:])+"="+string(v))
		return true
	})
	if err != nil || !eq(got, []string{"1=one", "2=two"}) {
		t.Fatalf("values %v, %v", got, err)
	}
}

func scanReverse(t *testing.T, s store.Store) {
	put(t, s, "x", "", "t/1", "", "t/2", "", "t/3", "", "t/30", "", "u", "")
	if got, want := scanKeys(t, s, true, []byte("t/"), nil), []string{"t/30", "t/3", "t/2", "t/1"}; !eq(got, want) {
		t.Fatalf("ScanReverse = %v, want %v", got, want)
	}
	if got, want := scanKeys(t, s, true, []byte("t/"), []byte("t/3")), []string{"t/3", "t/2", "t/1"}; !eq(got, want) {
		t.Fatalf("ScanReverse from t/3 = %v, want %v (start inclusive)", got, want)
	}
	if got, want := scanKeys(t, s, true, []byte("t/"), []byte("t/25")), []string{"t/2", "t/1"}; !eq(got, want) {
		t.Fatalf("ScanReverse from absent t/25 = %v, want %v", got, want)
	}
	if got, want := scanKeys(t, s, true, []byte("t/"), []byte("t/1")), []string{"t/1"}; !eq(got, want) {
		t.Fatalf("ScanReverse from first = %v", got)
	}
	if got := scanKeys(t, s, true, []byte("t/"), []byte("t/0")); len(got) != 0 {
		t.Fatalf("ScanReverse from below = %v", got)
	}
	// A start past the prefix is clamped to its end.
	if got, want := scanKeys(t, s, true, []byte("t/"), []byte("zzz")), []string{"t/30", "t/3", "t/2", "t/1"}; !eq(got, want) {
		t.Fatalf("ScanReverse from past end = %v", got)
	}
	n := 0
	if err := s.ScanReverse([]byte("t/"), nil, func(_, _ []byte) bool { n++; return false }); err != nil || n != 1 {
		t.Fatalf("early stop: n=%d err=%v", n, err)
	}
}

func scanPrefixOfFFBytes(t *testing.T, s store.Store) {
	put(t, s, "\xfe", "", "\xff", "", "\xff\x00", "", "\xff\xff", "", "\xff\xff\x01", "")
	if got, want := scanKeys(t, s, false, []byte("\xff\xff"), nil), []string{"\xff\xff", "\xff\xff\x01"}; !eq(got, want) {
		t.Fatalf("Scan 0xffff = %q, want %q", got, want)
	}
	if got, want := scanKeys(t, s, true, []byte("\xff"), nil), []string{"\xff\xff\x01", "\xff\xff", "\xff\x00", "\xff"}; !eq(got, want) {
		t.Fatalf("ScanReverse 0xff = %q, want %q", got, want)
	}
	if got, want := scanKeys(t, s, false, []byte("\xfe"), nil), []string{"\xfe"}; !eq(got, want) {
		t.Fatalf("Scan 0xfe = %q", got)
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

// scanManyPages reads more keys than a backend fetches at once, forward
// and backward, and stops early in the middle.
func scanManyPages(t *testing.T, s store.Store) {
	const n = 2500
	b := s.NewBatch()
	for i := 0; i < n; i++ {
		b.Set(store.Key("m", fmt.Sprintf("%05d", i)), []byte{byte(i)})
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	b.Close()
	keys := scanKeys(t, s, false, store.Prefix("m"), nil)
	if len(keys) != n || keys[0] != "m\x0000000" || keys[n-1] != fmt.Sprintf("m\x00%05d", n-1) {
		t.Fatalf("forward scan: %d keys", len(keys))
	}
	rev := scanKeys(t, s, true, store.Prefix("m"), store.Key("m", "01999"))
	if len(rev) != 2000 || rev[0] != "m\x0001999" || rev[1999] != "m\x0000000" {
		t.Fatalf("reverse scan: %d keys, first %q", len(rev), rev[0])
	}
	seen := 0
	if err := s.Scan(store.Prefix("m"), store.Key("m", "01000"), func(k, v []byte) bool {
		seen++
		if want := fmt.Sprintf("m\x00%05d", 1000+seen-1); string(k) != want || v[0] != byte(1000+seen-1) {
			t.Errorf("scan got %q, want %q", k, want)
		}
		return seen < 1200
	}); err != nil || seen != 1200 {
		t.Fatalf("early stop after %d: %v", seen, err)
	}
}

func commitConflict(t *testing.T, b store.Batch) {
	t.Helper()
	if err := b.Commit(); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Commit = %v, want ErrConflict", err)
	}
	b.Close()
}

func insert(t *testing.T, s store.Store) {
	b := s.NewBatch()
	b.Insert([]byte("id"), []byte("first"))
	b.Set([]byte("side"), []byte("1"))
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	b.Close()
	// A second insert of the key fails and writes nothing of its batch.
	b = s.NewBatch()
	b.Set([]byte("other"), []byte("x"))
	b.Insert([]byte("id"), []byte("second"))
	b.Delete([]byte("side"))
	commitConflict(t, b)
	if v, _ := s.Get([]byte("id")); string(v) != "first" {
		t.Fatalf("id = %q after a failed insert", v)
	}
	if _, err := s.Get([]byte("other")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a failed batch wrote: %v", err)
	}
	if _, err := s.Get([]byte("side")); err != nil {
		t.Fatalf("a failed batch deleted: %v", err)
	}
	// Conditions judge the store before the batch: a batch may write a
	// key and claim it too, in either order.
	for _, setFirst := range []bool{true, false} {
		key := []byte(fmt.Sprintf("both%v", setFirst))
		for round := 0; round < 2; round++ {
			b = s.NewBatch()
			if setFirst {
				b.Set(key, []byte("set"))
			}
			b.Insert(key, []byte("claim"))
			if !setFirst {
				b.Set(key, []byte("set"))
			}
			err := b.Commit()
			b.Close()
			if round == 0 && err != nil {
				t.Fatalf("set+insert (set first %v) of a new key: %v", setFirst, err)
			}
			if round == 1 && !errors.Is(err, store.ErrConflict) {
				t.Fatalf("set+insert (set first %v) of an existing key: %v", setFirst, err)
			}
		}
		want := "claim"
		if !setFirst {
			want = "set"
		}
		if v, _ := s.Get(key); string(v) != want {
			t.Fatalf("set+insert (set first %v) left %q, want %q (the later write)", setFirst, v, want)
		}
	}
	// Once deleted, the key can be inserted again.
	b = s.NewBatch()
	b.Delete([]byte("id"))
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	b.Close()
	b = s.NewBatch()
	b.Insert([]byte("id"), []byte("third"))
	if err := b.CommitBuffered(); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if v, _ := s.Get([]byte("id")); string(v) != "third" {
		t.Fatalf("id = %q", v)
	}
}

func expect(t *testing.T, s store.Store) {
	put(t, s, "rec", "v1")
	b := s.NewBatch()
	b.Expect([]byte("rec"), []byte("v1"))
	b.Set([]byte("rec"), []byte("v2"))
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	b.Close()
	// A writer that read v1 before the change loses.
	b = s.NewBatch()
	b.Expect([]byte("rec"), []byte("v1"))
	b.Set([]byte("rec"), []byte("stale"))
	commitConflict(t, b)
	// So does one expecting a key that is gone.
	b = s.NewBatch()
	b.Expect([]byte("missing"), []byte("v1"))
	b.Set([]byte("x"), []byte("1"))
	commitConflict(t, b)
	if v, _ := s.Get([]byte("rec")); string(v) != "v2" {
		t.Fatalf("rec = %q", v)
	}
	if _, err := s.Get([]byte("x")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("failed batch wrote x: %v", err)
	}
}

// racingInserts: of many concurrent inserts of one key exactly one wins.
func racingInserts(t *testing.T, s store.Store) {
	const writers, rounds = 16, 5
	for r := 0; r < rounds; r++ {
		key := []byte(fmt.Sprintf("race%d", r))
		var wins, conflicts atomic.Int32
		var wg sync.WaitGroup
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				b := s.NewBatch()
				defer b.Close()
				b.Insert(key, []byte{byte(w)})
				b.Set(append(bytes.Clone(key), fmt.Sprintf("/w%d", w)...), []byte("side"))
				switch err := b.Commit(); {
				case err == nil:
					wins.Add(1)
				case errors.Is(err, store.ErrConflict):
					conflicts.Add(1)
				default:
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 || conflicts.Load() != writers-1 {
			t.Fatalf("round %d: %d wins, %d conflicts", r, wins.Load(), conflicts.Load())
		}
		if side := scanKeys(t, s, false, append(key, '/'), nil); len(side) != 1 {
			t.Fatalf("round %d: %d losing batches wrote", r, len(side)-1)
		}
	}
}

// racingExpects: read-modify-write increments with Expect lose no update.
func racingExpects(t *testing.T, s store.Store) {
	put(t, s, "counter", "0")
	const writers, each = 8, 10
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for done := 0; done < each; {
				cur, err := s.Get([]byte("counter"))
				if err != nil {
					t.Error(err)
					return
				}
				var n int
				fmt.Sscan(string(cur), &n)
				b := s.NewBatch()
				b.Expect([]byte("counter"), cur)
				b.Set([]byte("counter"), []byte(fmt.Sprint(n+1)))
				err = b.Commit()
				b.Close()
				if err == nil {
					done++
				} else if !errors.Is(err, store.ErrConflict) {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if v, _ := s.Get([]byte("counter")); string(v) != fmt.Sprint(writers*each) {
		t.Fatalf("counter = %s, want %d", v, writers*each)
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

// scanOneSnapshot moves items (one batch deletes an item's key and sets
// it under another) while a scan of several pages runs: once from inside
// the scan (the tail's item to just behind the scan, the head's to the
// tail: a scan reading pages from different moments misses the one and
// sees the other twice) and all along from another goroutine. The scan
// sees the store of one moment: every item exactly once. ScanReverse
// too, the moves mirrored.
func scanOneSnapshot(t *testing.T, s store.Store) {
	scanOneSnapshotIn(t, s, "s", false)
	scanOneSnapshotIn(t, s, "r", true)
}

func scanOneSnapshotIn(t *testing.T, s store.Store, coll string, reverse bool) {
	const n = 1500
	key := func(pos string) []byte { return store.Key(coll, pos) }
	b := s.NewBatch()
	for i := 0; i < n; i++ {
		b.Set(key(fmt.Sprintf("%05d", i)), []byte(fmt.Sprintf("item%d", i)))
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	b.Close()
	move := func(from, to string) error {
		v, err := s.Get(key(from))
		if errors.Is(err, store.ErrNotFound) {
			return nil // moved already
		}
		if err != nil {
			return err
		}
		b := s.NewBatch()
		defer b.Close()
		b.Expect(key(from), v)
		b.Delete(key(from))
		b.Set(key(to), v)
		if err := b.Commit(); err != nil && !errors.Is(err, store.ErrConflict) {
			return err
		}
		return nil
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // items of the middle hop to the far end and back
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			pos := fmt.Sprintf("%05d", 300+i%900)
			if err := move(pos, "z"+pos); err != nil {
				t.Error(err)
				return
			}
			if err := move("z"+pos, pos); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	seen := map[string]int{}
	moved := false
	scan, tail, behind, next, far := s.Scan, fmt.Sprintf("%05d", n-1), "00000x", "00001", "y"
	if reverse { // from the top down: the lowest item above the top, the second one below all
		scan, tail, behind, next, far = s.ScanReverse, "00000", "zzzz", fmt.Sprintf("%05d", n-2), "000000"
	}
	err := scan(store.Prefix(coll), nil, func(_, v []byte) bool {
		seen[string(v)]++
		if !moved {
			moved = true
			if err := move(tail, behind); err != nil {
				t.Error(err)
			}
			if err := move(next, far); err != nil {
				t.Error(err)
			}
		}
		return true
	})
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if c := seen[fmt.Sprintf("item%d", i)]; c != 1 {
			t.Fatalf("item%d seen %d times by one scan (%d items seen)", i, c, len(seen))
		}
	}
}
