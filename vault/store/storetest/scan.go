package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/strongroom/strongroom/vault/store"
)

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

// scanManyPages reads more keys than a backend fetches at once, forward
// and backward, and stops early in the middle.
func scanManyPages(t *testing.T, s store.Store) {
	const n = 2500
	putNumbered(t, s, "m", n, func(i int) []byte { return []byte{byte(i)} })
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
	putNumbered(t, s, coll, n, func(i int) []byte { return []byte(fmt.Sprintf("item%d", i)) })
	m := itemMover{s: s, coll: coll}
	stop := m.shuffle(t, 300, 900)
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
			if err := m.move(tail, behind); err != nil {
				t.Error(err)
			}
			if err := m.move(next, far); err != nil {
				t.Error(err)
			}
		}
		return true
	})
	stop()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if c := seen[fmt.Sprintf("item%d", i)]; c != 1 {
			t.Fatalf("item%d seen %d times by one scan (%d items seen)", i, c, len(seen))
		}
	}
}

// putNumbered writes n keys coll/00000, coll/00001, ... in one batch, so
// positions sort as numbers.
func putNumbered(t *testing.T, s store.Store, coll string, n int, value func(i int) []byte) {
	t.Helper()
	b := s.NewBatch()
	for i := 0; i < n; i++ {
		b.Set(store.Key(coll, fmt.Sprintf("%05d", i)), value(i))
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	b.Close()
}

// itemMover moves items between positions of one collection the way an
// update that changes an indexed key does: one batch deletes the old key
// and sets the new one.
type itemMover struct {
	s    store.Store
	coll string
}

// move moves the item at from to to. An item already gone, or moved by the
// other mover meanwhile (a conflict), is not an error: the test needs moves
// racing the scan, not every move to win.
func (m itemMover) move(from, to string) error {
	v, err := m.s.Get(store.Key(m.coll, from))
	if errors.Is(err, store.ErrNotFound) {
		return nil // moved already
	}
	if err != nil {
		return err
	}
	b := m.s.NewBatch()
	defer b.Close()
	b.Expect(store.Key(m.coll, from), v)
	b.Delete(store.Key(m.coll, from))
	b.Set(store.Key(m.coll, to), v)
	if err := b.Commit(); err != nil && !errors.Is(err, store.ErrConflict) {
		return err
	}
	return nil
}

// shuffle keeps moving the items at positions first to first+count-1 to
// the far end and back from another goroutine until stop is called; stop
// returns once the goroutine has ended.
func (m itemMover) shuffle(t *testing.T, first, count int) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			pos := fmt.Sprintf("%05d", first+i%count)
			if err := m.move(pos, "z"+pos); err != nil {
				t.Error(err)
				return
			}
			if err := m.move("z"+pos, pos); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}
