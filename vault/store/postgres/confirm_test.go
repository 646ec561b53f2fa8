package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/strongroom/strongroom/test/pgtest"
	"github.com/strongroom/strongroom/vault/store"
)

// A batch that records keys returns from Commit only once every other
// node following the feed has applied it: the other node holds the change
// the moment the writer's Commit returns, with no Sync of its own.
func TestCommitReturnsOnceOthersApplied(t *testing.T) {
	dsn := pgtest.Shared(t).NewDatabase(t)
	a, b, c := open(t, dsn), open(t, dsn), open(t, dsn)
	follow(t, a, nil)
	gotB, gotC := follow(t, b, nil), follow(t, c, nil)
	settle(t, b, gotB)
	settle(t, c, gotC)
	for i, key := range []string{"tok\x00t\x00one", "tok\x00t\x00two", "app\x00t\x00x"} {
		if err := commit(t, a, func(x store.Batch) { x.Set([]byte(key), []byte{byte(i)}) }); err != nil {
			t.Fatal(err)
		}
		if !gotB.has("k:"+key) || !gotC.has("k:"+key) {
			t.Fatalf("%q: Commit returned before every node applied it (b %v, c %v)", key, gotB.has("k:"+key), gotC.has("k:"+key))
		}
	}
}

// A node whose polls cannot run does not hold the writers up for longer
// than it may serve its caches: the Commit returns, and by then that node
// is no longer fresh (it reads the store, not what it cached).
func TestCommitWaitsOutAStalledNode(t *testing.T) {
	dsn, a, b, got := followingPair(t)
	stallFeed(t, dsn)
	done := make(chan error, 1)
	go func() {
		done <- commit(t, a, func(x store.Batch) { x.Set([]byte("tok\x00t\x00stalled"), []byte("v")) })
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a commit waited on a stalled node past any bound")
	}
	if got.has("k:tok\x00t\x00stalled") {
		t.Fatal("the stalled node applied the change: the feed was not stalled")
	}
	if age := time.Since(b.FreshAsOf()); age <= store.FreshnessBound {
		t.Fatalf("the commit returned while the stalled node was still fresh (its last poll began %s ago)", age)
	}
}

// Nodes that are gone do not hold writers up: a closed node removes its
// row, and one not seen within the bound (killed) is not waited for. A
// node seen lately that never catches up is waited for until it cannot be
// serving its caches any more.
func TestCommitWaitsOnlyForLiveNodes(t *testing.T) {
	dsn, a, b, _ := followingPair(t)
	b.Close()
	c := connect(t, dsn)
	var rows int
	if err := c.QueryRow(context.Background(), `SELECT count(*) FROM strongroom_feed_nodes`).Scan(&rows); err != nil || rows != 1 {
		t.Fatalf("after one of two nodes closed: %d node rows (%v), want 1", rows, err)
	}
	timed := func(key string) time.Duration {
		start := time.Now()
		if err := commit(t, a, func(x store.Batch) { x.Set([]byte(key), []byte("v")) }); err != nil {
			t.Fatal(err)
		}
		return time.Since(start)
	}
	// A snapshot that covers nothing later than transaction 1.
	if _, err := c.Exec(context.Background(), `INSERT INTO strongroom_feed_nodes (node, snap, seen) VALUES ('killed', '1:1:', now() - interval '1 hour')`); err != nil {
		t.Fatal(err)
	}
	if d := timed("k1"); d >= store.FreshnessBound {
		t.Fatalf("a commit waited %s for a node last seen an hour ago", d)
	}
	if _, err := c.Exec(context.Background(), `UPDATE strongroom_feed_nodes SET seen = now() WHERE node = 'killed'`); err != nil {
		t.Fatal(err)
	}
	if d := timed("k2"); d < store.FreshnessBound {
		t.Fatalf("a commit returned after %s although a node seen just now had not applied it", d)
	}
}
