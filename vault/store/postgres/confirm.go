package postgres

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/strongroom/strongroom/vault/store"
)

// Confirmed writes. A batch that recorded keys in the feed (keys another
// node may cache) is acknowledged only once every other node has applied
// it. After each poll a node publishes the snapshot whose changes it has
// applied (feed.go); the writer waits until the snapshot of every node
// seen lately covers one taken after its commit. A node that cannot poll
// stops serving its caches store.FreshnessBound after its last successful
// poll began, so no writer waits longer than that: by then each node has
// applied the write or stopped serving what it cached. A node's reads are
// therefore current without a round trip to the database each.
const (
	// confirmMargin covers the time from a poll's start to its publication
	// (the database's clock stamps the latter) and the drift of clocks.
	confirmMargin = 100 * time.Millisecond
	// confirmGap spaces the checks while writers wait.
	confirmGap = 500 * time.Microsecond
	// confirmRetry spaces the checks after one failed.
	confirmRetry = 20 * time.Millisecond
)

// nodesQuery returns a snapshot taken now and the published snapshots of
// the other nodes seen within the bound.
const nodesQuery = `SELECT pg_current_snapshot()::text, coalesce(array_agg(snap), '{}')
FROM strongroom_feed_nodes WHERE node <> $1 AND seen > now() - $2 * interval '1 millisecond'`

// confirmer checks for the waiting writers, one query for them all.
type confirmer struct {
	s       *Store
	mu      sync.Mutex
	waiting []*waiter
	stopped bool // a commit finishing after Close waits for nothing
	wake    chan struct{}
	cancel  context.CancelFunc
	done    chan struct{}
}

type waiter struct {
	target   *snapshot // the first check's snapshot after the commit
	deadline time.Time
	done     chan struct{}
}

func (c *confirmer) start(s *Store) {
	var ctx context.Context
	ctx, c.cancel = context.WithCancel(context.Background())
	c.s, c.wake, c.done = s, make(chan struct{}, 1), make(chan struct{})
	go c.run(ctx)
}

// stop releases every writer still waiting and ends the checks.
func (c *confirmer) stop() {
	c.cancel()
	<-c.done
}

// confirm waits until every other node has applied what the caller just
// committed, or until none can still be serving what it replaced.
func (c *confirmer) confirm() {
	w := &waiter{deadline: time.Now().Add(store.FreshnessBound + confirmMargin), done: make(chan struct{})}
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return
	}
	c.waiting = append(c.waiting, w)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	<-w.done
}

func (c *confirmer) run(ctx context.Context) {
	defer close(c.done)
	defer func() {
		c.mu.Lock()
		c.stopped = true
		c.mu.Unlock()
		c.release(func(*waiter) bool { return true })
	}()
	for {
		c.mu.Lock()
		idle := len(c.waiting) == 0
		c.mu.Unlock()
		pause := confirmGap
		if idle {
			select {
			case <-ctx.Done():
				return
			case <-c.wake:
				continue
			}
		}
		if !c.check(ctx) {
			pause = confirmRetry
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
	}
}

// check reads the nodes' snapshots once and releases the writers they
// cover (or whose deadline passed). The writers that registered before it
// get its snapshot as their target, and the nodes' pollers are woken for
// them; the notification is delivered when the query's implicit
// transaction commits, so their polls cover the target.
func (c *confirmer) check(ctx context.Context) bool {
	c.mu.Lock()
	n := len(c.waiting)
	wakeNodes := false
	for _, w := range c.waiting {
		wakeNodes = wakeNodes || w.target == nil
	}
	c.mu.Unlock()
	now, nodes, err := c.s.nodeSnapshots(ctx, wakeNodes)
	c.mu.Lock()
	if err == nil {
		for _, w := range c.waiting[:n] {
			if w.target == nil {
				w.target = now
			}
		}
	}
	c.mu.Unlock()
	c.release(func(w *waiter) bool {
		if time.Now().After(w.deadline) {
			return true
		}
		if err != nil || w.target == nil {
			return false
		}
		for _, s := range nodes {
			if !s.covers(w.target) {
				return false
			}
		}
		return true
	})
	return err == nil
}

// release ends the wait of the writers done says are done.
func (c *confirmer) release(done func(*waiter) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	keep := c.waiting[:0]
	for _, w := range c.waiting {
		if done(w) {
			close(w.done)
		} else {
			keep = append(keep, w)
		}
	}
	clear(c.waiting[len(keep):])
	c.waiting = keep
}

// nodeSnapshots runs nodesQuery, notifying the feed's channel with it when
// wake is set. A published snapshot that does not parse counts as covering
// nothing.
func (s *Store) nodeSnapshots(ctx context.Context, wake bool) (*snapshot, []*snapshot, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	self := ""
	if f := s.feed.Load(); f != nil {
		self = f.node
	}
	var now string
	var published []string
	var err error
	bound := (store.FreshnessBound + confirmMargin).Milliseconds()
	if wake { // one round trip, one implicit transaction
		var q pgx.Batch
		q.Queue(`SELECT pg_notify($1, '')`, feedChannel)
		q.Queue(nodesQuery, self, bound).QueryRow(func(r pgx.Row) error { return r.Scan(&now, &published) })
		err = s.pool.SendBatch(ctx, &q).Close()
	} else {
		err = s.pool.QueryRow(ctx, nodesQuery, self, bound).Scan(&now, &published)
	}
	if err != nil {
		return nil, nil, classify(err)
	}
	target, ok := parseSnapshot(now)
	if !ok {
		return nil, nil, store.ErrUnavailable
	}
	nodes := make([]*snapshot, len(published))
	for i, p := range published {
		nodes[i], _ = parseSnapshot(p) // nil: covers nothing
	}
	return target, nodes, nil
}

// snapshot is a pg_snapshot: transactions below xmin are complete, those
// from xmax on had not begun, and xip are those in progress in between.
type snapshot struct {
	xmin, xmax uint64
	xip        map[uint64]bool
}

// parseSnapshot parses pg_snapshot's text form, "xmin:xmax:xip,...".
func parseSnapshot(s string) (*snapshot, bool) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return nil, false
	}
	var sn snapshot
	var err error
	if sn.xmin, err = strconv.ParseUint(parts[0], 10, 64); err != nil {
		return nil, false
	}
	if sn.xmax, err = strconv.ParseUint(parts[1], 10, 64); err != nil || sn.xmax < sn.xmin {
		return nil, false
	}
	if parts[2] != "" {
		sn.xip = map[uint64]bool{}
		for _, x := range strings.Split(parts[2], ",") {
			id, err := strconv.ParseUint(x, 10, 64)
			if err != nil || id < sn.xmin || id >= sn.xmax {
				return nil, false
			}
			sn.xip[id] = true
		}
	}
	return &sn, true
}

// covers reports whether every transaction complete in t is complete in
// s: s has seen all t saw. nil covers nothing.
func (s *snapshot) covers(t *snapshot) bool {
	if s == nil {
		return false
	}
	if s.xmax < t.xmax {
		// Those from s.xmax to t.xmax had not begun for s: each must be
		// in progress for t too.
		if t.xmax-s.xmax > uint64(len(t.xip)) {
			return false
		}
		for x := s.xmax; x < t.xmax; x++ {
			if !t.xip[x] {
				return false
			}
		}
	}
	for x := range s.xip {
		if x < t.xmax && (x < t.xmin || !t.xip[x]) {
			return false
		}
	}
	return true
}
