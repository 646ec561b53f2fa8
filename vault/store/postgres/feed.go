package postgres

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/strongroom/strongroom/vault/store"
)

// The change feed. Every batch that writes a key the filter keeps inserts
// one strongroom_feed row in its own transaction: the keys (tagged 'k') and
// deleted prefixes ('p'), never values. Its xid column defaults to the
// writing transaction's id (xid8), so a node polls by transaction id: each
// poll reads, in one statement and so one snapshot, pg_current_snapshot()
// and every row whose transaction the previous poll's snapshot did not see
// (xid >= its xmin and not visible in it). A transaction still running at
// one poll, however slow, is read by the first poll after it commits: no
// watermark ever passes it. After applying a poll's changes a node
// publishes its snapshot (strongroom_feed_nodes), which the writers wait
// for (confirm.go). LISTEN/NOTIFY only wakes pollers early; a lost
// notification costs at most feedInterval.
const (
	feedChannel     = "strongroom_feed"
	feedInterval    = 200 * time.Millisecond // idle poll period
	feedPollTimeout = time.Second            // a poll that takes longer has failed
	feedMaxKeys     = 10_000                 // more changes than this in one poll: drop everything
	feedApplication = "strongroom feed"      // application_name of the feed's connections
	// feedMinGap spaces polls under load: the writers whose notifications
	// (or Sync callers who) arrive within it share one poll, at the cost of
	// at most this much latency each.
	feedMinGap = 500 * time.Microsecond
	// feedPollers is how many polls may run at once (one connection each).
	feedPollers = 2
)

// pollQuery returns the new snapshot, whether the rows after the previous
// snapshot's xmin may have been pruned, and the changed keys (one row with
// a NULL key when there are none).
const pollQuery = `SELECT s.snap::text, pg_snapshot_xmin($1::text::pg_snapshot) <= m.floor, c.k
FROM (SELECT pg_current_snapshot() AS snap) s
CROSS JOIN strongroom_feed_meta m
LEFT JOIN LATERAL (
	SELECT k FROM strongroom_feed f, unnest(f.keys) AS k
	WHERE f.xid >= pg_snapshot_xmin($1::text::pg_snapshot)
	  AND NOT pg_visible_in_snapshot(f.xid, $1::text::pg_snapshot)
	LIMIT $2::int) c ON true`

// feed is the store's side of store.Feed: the filter batches record with,
// and the poller delivering other nodes' changes.
type feed struct {
	s      *Store
	node   string // this node's row in strongroom_feed_nodes
	filter store.FeedFilter
	apply  func([]store.Change, bool)
	kick   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	started   uint64        // polls begun, numbered from 1
	snap      string        // the snapshot of the latest-begun successful poll
	snapPoll  uint64        // its number
	okMax     uint64        // the highest-numbered successful poll
	flush     bool          // a poll failed: the next one drops everything
	lastStart time.Time     // spacing of polls (feedMinGap)
	round     chan struct{} // closed when a poll succeeds
	freshAt   atomic.Int64  // unix ns: the start of the latest successful poll
}

// Follow starts the poller and the listener; batches record what filter
// keeps from now on.
func (s *Store) Follow(filter store.FeedFilter, apply func([]store.Change, bool)) {
	f := &feed{s: s, node: uuid.NewString(), filter: filter, apply: apply, kick: make(chan struct{}, 1), round: make(chan struct{})}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	s.feed.Store(f)
	f.wg.Add(1 + feedPollers)
	for range feedPollers {
		go f.poller()
	}
	go f.listener()
}

// FreshAsOf is the start of the last successful poll: every batch committed
// before it has been delivered.
func (s *Store) FreshAsOf() time.Time {
	f := s.feed.Load()
	if f == nil {
		return time.Time{}
	}
	return time.Unix(0, f.freshAt.Load())
}

// Sync asks for a poll that starts after the call and waits for it: a
// batch acknowledged (committed) before the call is in its snapshot.
// Callers arriving together share one poll. The vault's reads need no such
// wait (confirm.go); it lets a caller watch this node's polls, as the
// tests do.
func (s *Store) Sync(wait time.Duration) bool {
	f := s.feed.Load()
	if f == nil {
		return false
	}
	f.mu.Lock()
	target := f.started + 1
	f.mu.Unlock()
	select {
	case f.kick <- struct{}{}:
	default:
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		f.mu.Lock()
		ok, ch := f.okMax >= target, f.round
		f.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ch:
		case <-timer.C:
			return false
		}
	}
}

// stop ends polling and removes this node's row: writers stop waiting for
// it at once rather than after FreshnessBound.
func (f *feed) stop() {
	f.cancel()
	f.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), feedPollTimeout)
	defer cancel()
	_, _ = f.s.pool.Exec(ctx, `DELETE FROM strongroom_feed_nodes WHERE node = $1`, f.node)
}

// record queues the feed row of a batch of ops in q; it returns the
// statements queued (0 or 1).
func (f *feed) record(q *pgx.Batch, ops []op) int {
	keys := f.keys(ops)
	if len(keys) == 0 {
		return 0
	}
	q.Queue(`INSERT INTO strongroom_feed (keys) VALUES ($1)`, keys)
	return 1
}

// keys are what a batch of ops records, each tagged 'k' (a key) or 'p' (a
// deleted prefix). Without a filter (a tool that did not Follow) every key
// is recorded.
func (f *feed) keys(ops []op) [][]byte {
	var keys [][]byte
	claimed := insertedKeys(ops)
	for _, o := range ops {
		tag := byte('k')
		switch o.kind {
		case opExpect:
			continue
		case opDeleteRange:
			tag = 'p'
		}
		class := store.FeedRecord
		if f != nil && f.filter != nil {
			class = f.filter(o.key, o.kind == opInsert || o.fresh || claimed[string(o.key)])
		}
		if class == store.FeedSkip {
			continue
		}
		keys = append(keys, append([]byte{tag}, o.key...))
	}
	return keys
}

// insertedKeys are the keys ops claim with Insert: if the batch commits
// they were absent before it, so its other writes of them are creations
// too (a record Set and claimed in one batch). nil when there are none.
func insertedKeys(ops []op) map[string]bool {
	var m map[string]bool
	for _, o := range ops {
		if o.kind == opInsert {
			if m == nil {
				m = map[string]bool{}
			}
			m[string(o.key)] = true
		}
	}
	return m
}

func (f *feed) connConfig() *pgx.ConnConfig {
	c := f.s.pool.Config().ConnConfig.Copy()
	c.RuntimeParams["application_name"] = feedApplication
	return c
}

// poller polls when asked (Sync, a notification) or every feedInterval,
// on a connection of its own so a busy pool never delays it. Several
// pollers overlap: a notification arriving while one poll runs starts the
// next at once on another connection instead of waiting for the first to
// end.
// Each poll reads from the snapshot of the latest successful one, so it
// covers every commit up to its own snapshot whatever the others do.
func (f *feed) poller() {
	defer f.wg.Done()
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			conn.Close(context.Background())
		}
	}()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-f.ctx.Done():
			return
		case <-f.kick:
		case <-timer.C:
		}
		n, base, all, t0 := f.begin()
		var next string
		var err error
		conn, next, err = f.poll(conn, base, all)
		f.end(n, next, t0, err)
		if err != nil && conn != nil {
			conn.Close(context.Background())
			conn = nil
		}
		timer.Reset(feedInterval)
	}
}

// begin numbers a poll, spaced feedMinGap after the previous one. It
// waits for the gap without holding mu: the other poller's end and Sync go
// on meanwhile, so a caller arriving during the wait is served by this
// poll rather than the one after it.
func (f *feed) begin() (n uint64, base string, all bool, t0 time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for {
		gap := feedMinGap - time.Since(f.lastStart)
		if gap <= 0 {
			break
		}
		f.mu.Unlock()
		time.Sleep(gap)
		f.mu.Lock()
	}
	f.started++
	f.lastStart = time.Now()
	return f.started, f.snap, f.flush || f.snap == "", f.lastStart
}

// end records a poll's outcome; the newest-begun success gives the base
// of the next polls.
func (f *feed) end(n uint64, next string, t0 time.Time, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		f.flush = true
		return
	}
	f.flush = false
	if n > f.snapPoll {
		f.snap, f.snapPoll = next, n
		f.freshAt.Store(t0.UnixNano())
	}
	f.okMax = max(f.okMax, n)
	close(f.round)
	f.round = make(chan struct{})
}

// poll reads the changes since snap and applies them; the first poll, or
// one after a failure, drops everything instead (what happened in between
// is unknown). It returns the connection and the new snapshot.
func (f *feed) poll(conn *pgx.Conn, snap string, all bool) (*pgx.Conn, string, error) {
	ctx, cancel := context.WithTimeout(f.ctx, feedPollTimeout)
	defer cancel()
	if conn == nil {
		c, err := pgx.ConnectConfig(ctx, f.connConfig())
		if err != nil {
			return nil, snap, err
		}
		conn = c
	}
	if snap == "" || all {
		var next string
		// From the floor's table, so a stall blocks this poll as any other.
		if err := conn.QueryRow(ctx, `SELECT pg_current_snapshot()::text FROM strongroom_feed_meta`).Scan(&next); err != nil {
			return conn, snap, err
		}
		f.apply(nil, true)
		return conn, next, f.publish(ctx, conn, next)
	}
	rows, err := conn.Query(ctx, pollQuery, snap, feedMaxKeys+1)
	if err != nil {
		return conn, snap, err
	}
	var next string
	var pruned bool
	var changes []store.Change
	for rows.Next() {
		var k []byte
		if err := rows.Scan(&next, &pruned, &k); err != nil {
			rows.Close()
			return conn, snap, err
		}
		if len(k) > 0 {
			changes = append(changes, store.Change{Key: k[1:], Prefix: k[0] == 'p'})
		}
	}
	if err := rows.Err(); err != nil {
		return conn, snap, err
	}
	if next == "" {
		return conn, snap, errors.New("postgres: the feed poll returned no snapshot")
	}
	if pruned || len(changes) > feedMaxKeys {
		f.apply(nil, true)
	} else if len(changes) > 0 {
		f.apply(changes, false)
	}
	return conn, next, f.publish(ctx, conn, next)
}

// publish tells the writers (confirm.go) that this node has applied every
// change committed before snap, durably: a publication lost in a crash of
// the database would date the node's last poll too early. Of two pollers
// publishing out of order the older snapshot is dropped.
func (f *feed) publish(ctx context.Context, conn *pgx.Conn, snap string) error {
	_, err := conn.Exec(ctx, `INSERT INTO strongroom_feed_nodes AS n (node, snap, seen) VALUES ($1, $2, now())
		ON CONFLICT (node) DO UPDATE SET snap = excluded.snap, seen = excluded.seen
		WHERE pg_snapshot_xmax(n.snap::pg_snapshot) <= pg_snapshot_xmax(excluded.snap::pg_snapshot)`, f.node, snap)
	return err
}

// listener wakes the poller on each notification; it reconnects after a
// failure (notifications sent meanwhile are lost, and polling covers them).
func (f *feed) listener() {
	defer f.wg.Done()
	for {
		conn, err := pgx.ConnectConfig(f.ctx, f.connConfig())
		if err == nil {
			_, err = conn.Exec(f.ctx, `LISTEN `+feedChannel)
		}
		for err == nil {
			if _, err = conn.WaitForNotification(f.ctx); err == nil {
				select {
				case f.kick <- struct{}{}:
				default:
				}
			}
		}
		if conn != nil {
			conn.Close(context.Background())
		}
		select {
		case <-f.ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// Prune deletes feed rows older than age and raises the floor below which
// rows may be gone, in one transaction fenced by f. A node whose last
// snapshot is below the floor drops its caches instead of trusting the
// rows it can no longer read.
func (s *Store) Prune(f store.Fence, age time.Duration) error {
	ctx, cancel := s.ctx()
	defer cancel()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := checkFence(ctx, tx, f); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `WITH d AS (DELETE FROM strongroom_feed WHERE at < now() - $1 * interval '1 millisecond' RETURNING xid)
			UPDATE strongroom_feed_meta SET floor = greatest(floor, x.top)
			FROM (SELECT xid AS top FROM d ORDER BY xid DESC LIMIT 1) x`, age.Milliseconds())
		return err
	})
	if errors.Is(err, store.ErrFenced) {
		return err
	}
	return classify(err)
}

var _ store.Feed = (*Store)(nil)
