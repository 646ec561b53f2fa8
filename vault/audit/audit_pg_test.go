package audit

import (
	"testing"
	"time"

	"github.com/strongroom/strongroom/test/pgtest"
	"github.com/strongroom/strongroom/vault/store/postgres"
)

// On a shared store the database's clock orders the log: an entry written
// later lists as newer even when the node that wrote the earlier one had a
// clock 30 s ahead, so every node shows one order, the commits'.
func TestSharedStoreOrdersByDatabaseClock(t *testing.T) {
	s, err := postgres.Open(postgres.Config{DSN: pgtest.Shared(t).NewDatabase(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now().UTC()
	appendAll(t, s, entry("t1", "token", "first, from a fast clock", "create", now.Add(30*time.Second)))
	appendAll(t, s, entry("t1", "token", "second", "create", now))
	appendAll(t, s, entry("t1", "token", "third, from a slow clock", "create", now.Add(-30*time.Second)))
	pg, err := List(s, "t1", Filter{}, nil, 0, 10)
	got, total := pg.Entries, pg.Total
	if err != nil || total != 3 || !sameIDs(got, "third, from a slow clock", "second", "first, from a fast clock") {
		t.Fatalf("newest first: %v (total %d, err %v); want the order of the writes", ids(got), total, err)
	}
	// Filters still judge created_at, within the skew the keys allow.
	pg, _ = List(s, "t1", Filter{Start: now, End: now.Add(time.Second)}, nil, 0, 10)
	got = pg.Entries
	if !sameIDs(got, "second") {
		t.Fatalf("Filter{Start: now, End: now+1s} = %v, want [second]", ids(got))
	}
}
