package postgres_test

import (
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/strongroom/strongroom/test/pgtest"
	"github.com/strongroom/strongroom/vault/store"
	"github.com/strongroom/strongroom/vault/store/postgres"
)

// Many callers at once on one committer share transactions: a caller whose
// Insert loses or whose Expect is stale gets ErrConflict and leaves nothing,
// while every other caller's batch (before or after it in the group) is
// written whole. Run with one committer so the callers do share groups.
func TestGroupCommitIsolatesConflicts(t *testing.T) {
	for _, committers := range []int{1, 3} {
		t.Run(fmt.Sprint("committers=", committers), func(t *testing.T) {
			s, err := postgres.Open(postgres.Config{DSN: pgtest.Shared(t).NewDatabase(t), Committers: committers})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			groupConflicts(t, s)
		})
	}
}

func groupConflicts(t *testing.T, s store.Store) {
	put := func(k, v string) {
		b := s.NewBatch()
		b.Set([]byte(k), []byte(v))
		if err := b.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	put("cas", "v0")
	const callers = 96
	var wg sync.WaitGroup
	errs := make([]error, callers)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := s.NewBatch()
			defer b.Close()
			own := fmt.Sprintf("own/%03d", i)
			switch i % 3 {
			case 0: // plain write: always lands
			case 1: // all race for one claim: exactly one wins
				b.Insert([]byte("claim"), []byte(own))
			case 2: // all expect v0: exactly one moves it on
				b.Expect([]byte("cas"), []byte("v0"))
				b.Set([]byte("cas"), []byte(own))
			}
			b.Set([]byte(own), []byte("x"))
			errs[i] = b.Commit()
		}()
	}
	wg.Wait()
	wins := map[int]int{}
	for i, err := range errs {
		own := fmt.Sprintf("own/%03d", i)
		_, gerr := s.Get([]byte(own))
		switch {
		case err == nil:
			wins[i%3]++
			if gerr != nil {
				t.Fatalf("caller %d committed but its write is missing: %v", i, gerr)
			}
		case errors.Is(err, store.ErrConflict):
			if !errors.Is(gerr, store.ErrNotFound) {
				t.Fatalf("caller %d conflicted but its write landed (%v)", i, gerr)
			}
		default:
			t.Fatalf("caller %d: %v", i, err)
		}
	}
	if wins[0] != callers/3 || wins[1] != 1 || wins[2] != 1 {
		t.Fatalf("winners by kind (plain, insert, expect) = %v, want %d, 1, 1", wins, callers/3)
	}
	claim, _ := s.Get([]byte("claim"))
	cas, _ := s.Get([]byte("cas"))
	for _, v := range [][]byte{claim, cas} {
		if _, err := s.Get(v); err != nil {
			t.Fatalf("the winning value %q names a caller whose write is missing", v)
		}
	}
}

// A batch that fails on a statement (here a key PostgreSQL refuses) fails
// alone: the callers grouped with it commit.
func TestGroupCommitStatementErrorFailsOneCaller(t *testing.T) {
	s, err := postgres.Open(postgres.Config{DSN: pgtest.Shared(t).NewDatabase(t), Committers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var wg sync.WaitGroup
	errs := make([]error, 32)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := s.NewBatch()
			defer b.Close()
			b.Set([]byte(fmt.Sprint("k", i)), []byte("v"))
			if i == 7 { // past btree's row size limit: the insert errors
				big := make([]byte, 8<<10) // random: it cannot be compressed under the limit
				rand.Read(big)
				b.Set(big, []byte("v"))
			}
			errs[i] = b.Commit()
		}()
	}
	wg.Wait()
	for i, err := range errs {
		_, gerr := s.Get([]byte(fmt.Sprint("k", i)))
		if i == 7 {
			if err == nil || !errors.Is(gerr, store.ErrNotFound) {
				t.Fatalf("the failing batch: commit %v, its other write %v: want an error and nothing written", err, gerr)
			}
			continue
		}
		if err != nil || gerr != nil {
			t.Fatalf("caller %d grouped with a failing batch: commit %v, read %v", i, err, gerr)
		}
	}
}
