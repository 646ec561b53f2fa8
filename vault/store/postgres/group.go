package postgres

import (
	"context"
	"errors"
	"strconv"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/strongroom/strongroom/vault/store"
)

// Group commit: the batches of many callers run in one transaction, so the
// database does one commit (one WAL flush) and one round trip for the lot
// instead of one each. A batch with conditions gets a savepoint of its own:
// when its Insert or Expect does not hold, only its savepoint is rolled
// back and the members after it run again, so one caller's conflict never
// fails or undoes another's write. The order of the members within the
// group is a valid serial order (they were concurrent), so a member sees
// the writes of those before it exactly as if they had committed first.

const (
	// maxGroup bounds the members of one transaction, so a group stays a
	// few milliseconds of work and keeps below PostgreSQL's 64 cached
	// subtransactions per backend (each conditional member is one).
	maxGroup = 48
	// maxGroupOps sends a larger batch (a bulk delete, an import) on its
	// own: it would hold the group's locks for its whole run.
	maxGroupOps = 256
)

// errAlone tells a member to run on its own: its group failed for a reason
// that may have been another member's (a deadlock, a statement error).
var errAlone = errors.New("postgres: run alone")

type member struct {
	b    *batch
	sync bool
	cond bool // holds an Insert or Expect: needs a savepoint
	done chan error
}

// committer queues batches for a few workers, each running one group at a
// time on its own connection: while one group waits for its commit, the
// next gathers the callers that arrived meanwhile.
type committer struct {
	mu     sync.Mutex
	wake   *sync.Cond
	queue  []*member
	closed bool
	wg     sync.WaitGroup
}

func (c *committer) start(s *Store, workers int) {
	c.wake = sync.NewCond(&c.mu)
	for range workers {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			for g := c.next(); g != nil; g = c.next() {
				s.runGroup(g)
			}
		}()
	}
}

// next waits for queued members and takes up to maxGroup of them,
// unconditional ones first (a conflict reruns only the members after it).
func (c *committer) next() []*member {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.queue) == 0 && !c.closed {
		c.wake.Wait()
	}
	if len(c.queue) == 0 {
		return nil
	}
	n := min(len(c.queue), maxGroup)
	g := make([]*member, 0, n)
	for _, m := range c.queue[:n] {
		if !m.cond {
			g = append(g, m)
		}
	}
	for _, m := range c.queue[:n] {
		if m.cond {
			g = append(g, m)
		}
	}
	c.queue = append(c.queue[:0], c.queue[n:]...)
	return g
}

// submit queues b and waits for its group to commit.
func (c *committer) submit(b *batch, sync bool) error {
	m := &member{b: b, sync: sync, done: make(chan error, 1)}
	for _, o := range b.ops {
		m.cond = m.cond || o.kind == opInsert || o.kind == opExpect
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return b.commitAlone(sync)
	}
	c.queue = append(c.queue, m)
	c.wake.Signal()
	c.mu.Unlock()
	err := <-m.done
	if errors.Is(err, errAlone) {
		return b.commitAlone(sync)
	}
	return err
}

// stop lets the workers finish the queue and exit.
func (c *committer) stop() {
	c.mu.Lock()
	c.closed = true
	c.wake.Broadcast()
	c.mu.Unlock()
	c.wg.Wait()
}

// runGroup commits g as one transaction and answers each member: nil,
// ErrConflict (its savepoint rolled back), a store error for all when the
// database is unreachable, or errAlone to rerun it by itself.
func (s *Store) runGroup(g []*member) {
	ctx, cancel := s.ctx()
	defer cancel()
	results := make([]error, len(g))
	err := s.groupTx(ctx, g, results)
	for i, m := range g {
		switch {
		case err == nil:
			m.done <- results[i]
		case errors.Is(err, store.ErrUnavailable):
			m.done <- err
		default:
			m.done <- errAlone
		}
	}
}

// groupTx runs the group on one connection. The first pipeline opens the
// transaction and runs every member; a group without conditions commits in
// that same round trip. Otherwise the results decide: every condition held,
// commit; member k's did not, roll back to its savepoint and send the
// members after it again.
func (s *Store) groupTx(ctx context.Context, g []*member, results []error) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return classify(err)
	}
	defer conn.Release()
	sync, cond := false, false
	for _, m := range g {
		sync, cond = sync || m.sync, cond || m.cond
	}
	var q pgx.Batch
	q.Queue(`BEGIN`)
	if !sync {
		q.Queue(`SET LOCAL synchronous_commit = off`)
	}
	from := 0
	for {
		lead := q.Len() // BEGIN, SET LOCAL, ROLLBACK TO: one result each
		lead += s.queueMembers(&q, g, from)
		if !cond {
			q.Queue(`COMMIT`)
		}
		failed, err := readMembers(ctx, conn, &q, lead, g, from, results, !cond)
		if err != nil {
			abort(conn)
			return err
		}
		if !cond {
			return nil
		}
		if failed < 0 {
			return commitConn(ctx, conn)
		}
		q = pgx.Batch{}
		q.Queue(`ROLLBACK TO SAVEPOINT ` + savepoint(failed))
		from = failed + 1
	}
}

func savepoint(i int) string { return "m" + strconv.Itoa(i) }

// queueMembers queues the members from from on. The unconditional ones
// (first in a group) cannot fail alone, so their writes are queued as one:
// the whole group's token records, indexes and audit entries are a few
// multi-row statements. It returns how many statements those are.
func (s *Store) queueMembers(q *pgx.Batch, g []*member, from int) (merged int) {
	var ops []op
	for ; from < len(g) && !g[from].cond; from++ {
		ops = append(ops, g[from].b.ops...)
	}
	merged = s.queueChanges(q, ops)
	for i := from; i < len(g); i++ {
		q.Queue(`SAVEPOINT ` + savepoint(i))
		g[i].b.queue(q)
	}
	return merged
}

// readMembers sends q and reads it back: lead statements before the
// conditional members' (the unconditional members' merged writes among
// them), then each of those members' (and COMMIT when commits). It
// returns the index of the first member whose condition failed (-1 for
// none); results after it are read and dropped: those members run again.
func readMembers(ctx context.Context, conn *pgxpool.Conn, q *pgx.Batch, lead int, g []*member, from int, results []error, commits bool) (int, error) {
	res := conn.SendBatch(ctx, q)
	err := func() error {
		for range lead {
			if _, err := res.Exec(); err != nil {
				return err
			}
		}
		return nil
	}()
	failed := -1
	for i := from; i < len(g) && err == nil; i++ {
		if !g[i].cond { // read with the lead
			results[i] = nil
			continue
		}
		if _, err = res.Exec(); err != nil { // SAVEPOINT
			break
		}
		r := g[i].b.read(res)
		switch {
		case errors.Is(r, store.ErrConflict) && failed < 0:
			results[i], failed = r, i
		case errors.Is(r, store.ErrConflict):
		case r != nil:
			err = r
		case failed < 0:
			results[i] = nil
		}
	}
	if err == nil && commits {
		tag, cerr := res.Exec()
		if err = cerr; err == nil && tag.String() != "COMMIT" {
			err = errors.New("postgres: the group transaction did not commit")
		}
	}
	if cerr := res.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return -1, classify(err)
	}
	return failed, nil
}

// commitConn commits the open transaction on conn; COMMIT of a transaction
// the server aborted answers ROLLBACK, which is a failure.
func commitConn(ctx context.Context, conn *pgxpool.Conn) error {
	tag, err := conn.Exec(ctx, `COMMIT`)
	if err == nil && tag.String() != "COMMIT" {
		err = errors.New("postgres: the group transaction did not commit")
	}
	if err != nil {
		abort(conn)
	}
	return classify(err)
}

// abort ends whatever transaction is open on conn; a connection that
// cannot even do that is closed rather than returned to the pool.
func abort(conn *pgxpool.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	if _, err := conn.Exec(ctx, `ROLLBACK`); err != nil {
		_ = conn.Conn().Close(ctx)
	}
}
