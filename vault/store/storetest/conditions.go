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
