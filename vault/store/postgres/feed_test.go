package postgres_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/strongroom/strongroom/test/pgtest"
	"github.com/strongroom/strongroom/vault/store"
	"github.com/strongroom/strongroom/vault/store/postgres"
)

// follower records what a node's feed delivered.
type follower struct {
	mu      sync.Mutex
	keys    map[string]bool // "k:" or "p:" + key
	flushes int
}

func follow(t *testing.T, s *postgres.Store, filter store.FeedFilter) *follower {
	f := &follower{keys: map[string]bool{}}
	s.Follow(filter, func(cs []store.Change, all bool) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if all {
			f.flushes++
		}
		for _, c := range cs {
			tag := "k:"
			if c.Prefix {
				tag = "p:"
			}
			f.keys[tag+string(c.Key)] = true
		}
	})
	return f
}

func (f *follower) has(k string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.keys[k]
}

func (f *follower) flushCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.flushes
}

func commit(t *testing.T, s store.Store, fill func(b store.Batch)) error {
	t.Helper()
	b := s.NewBatch()
	defer b.Close()
	fill(b)
	return b.Commit()
}

// settle syncs until a poll drops nothing: the start-up polls (which drop
// everything) are over, so what follows is delivered key by key.
func settle(t *testing.T, s *postgres.Store, f *follower) {
	t.Helper()
	for {
		n := f.flushCount()
		mustSync(t, s)
		if f.flushCount() == n {
			return
		}
	}
}

// followingPair opens two nodes on a new database, both following the
// feed, and returns them with what the second's feed delivers (settled).
func followingPair(t *testing.T) (dsn string, a, b *postgres.Store, got *follower) {
	t.Helper()
	dsn = pgtest.Shared(t).NewDatabase(t)
	a, b = open(t, dsn), open(t, dsn)
	follow(t, a, nil)
	got = follow(t, b, nil)
	settle(t, b, got)
	return dsn, a, b, got
}

// stallFeed locks the feed's table from another session, so no poll
// completes, until the returned function (or the test's end) lifts it.
func stallFeed(t *testing.T, dsn string) (lift func()) {
	t.Helper()
	ctx := context.Background()
	lock, err := connect(t, dsn).Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lock.Rollback(ctx) })
	if _, err := lock.Exec(ctx, `LOCK TABLE strongroom_feed_meta IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	return func() {
		if err := lock.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

func mustSync(t *testing.T, s *postgres.Store) {
	t.Helper()
	if !s.Sync(5 * time.Second) {
		t.Fatal("Sync could not confirm freshness")
	}
}

// A batch committed on one node is delivered to another before that
// node's Sync returns: its keys and deleted prefixes, filtered by the
// writer, and none of what the writer's filter skips.
func TestFeedDeliversBeforeSync(t *testing.T) {
	dsn := pgtest.Shared(t).NewDatabase(t)
	a, b := open(t, dsn), open(t, dsn)
	follow(t, a, func(key []byte, created bool) store.FeedClass {
		if string(key) == "skipped" || created {
			return store.FeedSkip
		}
		return store.FeedRecord
	})
	got := follow(t, b, nil)
	settle(t, b, got)
	if err := commit(t, a, func(x store.Batch) {
		x.Set([]byte("tok\x00t\x00one"), []byte("secret value"))
		x.Set([]byte("skipped"), []byte("v"))
		x.Insert([]byte("claimed"), []byte("v"))
		x.Set([]byte("set and claimed"), []byte("v")) // claimed below: new too
		x.Insert([]byte("set and claimed"), []byte("v"))
		store.SetFresh(x, []byte("fresh"), []byte("v"))
		x.DeletePrefix([]byte("app\x00t\x00"))
	}); err != nil {
		t.Fatal(err)
	}
	mustSync(t, b)
	for _, k := range []string{"k:tok\x00t\x00one", "p:app\x00t\x00"} {
		if !got.has(k) {
			t.Fatalf("%q was not delivered before Sync returned: %v", k, got.keys)
		}
	}
	for _, k := range []string{"k:skipped", "k:claimed", "k:set and claimed", "k:fresh"} {
		if got.has(k) {
			t.Fatalf("%q was delivered although the writer's filter skips it", k)
		}
	}
	// The feed names keys only.
	c := connect(t, dsn)
	var n int
	if err := c.QueryRow(context.Background(), `SELECT count(*) FROM strongroom_feed, unnest(keys) k WHERE position('secret value'::bytea in k) > 0`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("feed rows holding a value: %d (%v)", n, err)
	}
}

// A transaction still running when a later one commits and is polled is
// not skipped: the first poll after it commits delivers it.
func TestFeedSlowTransactionNotSkipped(t *testing.T) {
	dsn, a, b, got := followingPair(t)
	ctx := context.Background()
	slow, err := connect(t, dsn).Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := slow.Exec(ctx, `INSERT INTO strongroom_feed (keys) VALUES (ARRAY['kslow'::bytea])`); err != nil {
		t.Fatal(err)
	}
	if err := commit(t, a, func(x store.Batch) { x.Set([]byte("fast"), []byte("1")) }); err != nil {
		t.Fatal(err)
	}
	mustSync(t, b)
	mustSync(t, b) // several polls pass the slow transaction's id
	if !got.has("k:fast") || got.has("k:slow") {
		t.Fatalf("before the slow commit: %v", got.keys)
	}
	if err := slow.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	mustSync(t, b)
	if !got.has("k:slow") {
		t.Fatal("the slow transaction's change was skipped")
	}
}

// While the feed cannot be polled (its table locked by another session),
// Sync refuses to confirm and FreshAsOf stops; once it can, the node drops
// everything (what it missed is unknown) and is fresh again.
func TestFeedStalled(t *testing.T) {
	dsn := pgtest.Shared(t).NewDatabase(t)
	b := open(t, dsn)
	got := follow(t, b, nil)
	mustSync(t, b)
	flushes := got.flushCount()
	lift := stallFeed(t, dsn)
	stalled := time.Now()
	if b.Sync(300 * time.Millisecond) {
		t.Fatal("Sync confirmed freshness with the feed locked")
	}
	time.Sleep(1500 * time.Millisecond)
	if fa := b.FreshAsOf(); fa.After(stalled) {
		t.Fatalf("fresh as of %s, after the stall began at %s", fa, stalled)
	}
	lift()
	mustSync(t, b)
	if got.flushCount() <= flushes {
		t.Fatal("a node back from a stall kept its caches")
	}
	if time.Since(b.FreshAsOf()) > 5*time.Second {
		t.Fatal("not fresh after the stall")
	}
}

// A fenced write commits within its tenure only: not once the lease has
// expired (the holder paused past its ttl), not after another holder took
// it, not with an earlier epoch of the same holder; and pruning is fenced
// the same way.
func TestFencedWrites(t *testing.T) {
	dsn := pgtest.Shared(t).NewDatabase(t)
	s := open(t, dsn)
	lease := func(holder string, ttl time.Duration) store.Fence {
		f, ok, err := s.Lease("sweep", holder, ttl)
		if err != nil || !ok {
			t.Fatalf("lease for %s: %v %v", holder, ok, err)
		}
		return f
	}
	write := func(f store.Fence, v string) error {
		return commit(t, s.Fenced(f), func(b store.Batch) { b.Set([]byte("job"), []byte(v)) })
	}
	a1 := lease("a", 400*time.Millisecond)
	if err := write(a1, "a1"); err != nil {
		t.Fatal(err)
	}
	if again := lease("a", 400*time.Millisecond); again != a1 {
		t.Fatalf("a renewal changed the fence: %v then %v", a1, again)
	}
	time.Sleep(600 * time.Millisecond) // a pauses past its lease
	if err := write(a1, "late"); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("an expired holder's write: %v, want ErrFenced", err)
	}
	if err := s.Prune(a1, 0); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("an expired holder's prune: %v, want ErrFenced", err)
	}
	a2 := lease("a", 300*time.Millisecond)
	if a2.Epoch == a1.Epoch {
		t.Fatal("a lease taken again after it expired kept its epoch")
	}
	if err := write(a1, "stale epoch"); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("a write of an earlier tenure: %v, want ErrFenced", err)
	}
	time.Sleep(500 * time.Millisecond)
	b1 := lease("b", time.Minute)
	if err := write(a2, "taken over"); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("a write after another holder took the lease: %v, want ErrFenced", err)
	}
	if err := write(b1, "b1"); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Get([]byte("job")); err != nil || string(v) != "b1" {
		t.Fatalf("job = %q (%v): a refused write landed", v, err)
	}
	if err := s.Prune(b1, 0); err != nil {
		t.Fatal(err)
	}
}

// Pruning deletes old rows and raises the floor past them.
func TestFeedPrune(t *testing.T) {
	dsn := pgtest.Shared(t).NewDatabase(t)
	s := open(t, dsn)
	follow(t, s, nil)
	if err := commit(t, s, func(b store.Batch) { b.Set([]byte("x"), []byte("1")) }); err != nil {
		t.Fatal(err)
	}
	f, _, err := s.Lease("sweep", "me", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Prune(f, time.Hour); err != nil {
		t.Fatal(err)
	}
	c := connect(t, dsn)
	var rows int
	var aboveFloor bool
	count := func() {
		if err := c.QueryRow(context.Background(), `SELECT count(*), coalesce(bool_and(xid > (SELECT floor FROM strongroom_feed_meta)), true) FROM strongroom_feed`).Scan(&rows, &aboveFloor); err != nil {
			t.Fatal(err)
		}
	}
	if count(); rows != 1 || !aboveFloor {
		t.Fatalf("a young row was pruned or is below the floor: %d rows", rows)
	}
	if err := s.Prune(f, 0); err != nil {
		t.Fatal(err)
	}
	var floorPast bool
	if err := c.QueryRow(context.Background(), `SELECT floor > '0' FROM strongroom_feed_meta`).Scan(&floorPast); err != nil {
		t.Fatal(err)
	}
	if count(); rows != 0 || !floorPast {
		t.Fatalf("after pruning everything: %d rows, floor raised %v", rows, floorPast)
	}
}

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}
