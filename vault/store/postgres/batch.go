package postgres

import (
	"bytes"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/strongroom/strongroom/vault/store"
)

type opKind uint8

const (
	opSet opKind = iota
	opDelete
	opDeleteRange // [key, end); end nil: to the end of the keyspace
	opInsert
	opExpect
	opSetOrdered // key: the prefix; value: the value; suffix: after the clock
)

type op struct {
	kind               opKind
	key, value, suffix []byte
	fresh              bool // SetFresh: the key is new, the feed skips it
}

// batch collects writes and runs them as one transaction at Commit.
type batch struct {
	s      *Store
	ops    []op
	writes int          // statements of the writes queued by the last queue
	fence  *store.Fence // lease.go: set on a fenced view's batches
}

// NewBatch starts an atomic write.
func (s *Store) NewBatch() store.Batch { return &batch{s: s} }

func (b *batch) add(k opKind, key, value []byte) {
	b.ops = append(b.ops, op{kind: k, key: bytes.Clone(key), value: bytes.Clone(value)})
}

func (b *batch) Set(key, value []byte) { b.add(opSet, key, nonNil(value)) }

// SetFresh is Set of a key no process can have read yet
// (store.FreshSetter): it writes no feed entry.
func (b *batch) SetFresh(key, value []byte) {
	b.add(opSet, key, nonNil(value))
	b.ops[len(b.ops)-1].fresh = true
}
func (b *batch) Delete(key []byte)        { b.add(opDelete, key, nil) }
func (b *batch) Insert(key, value []byte) { b.add(opInsert, key, nonNil(value)) }
func (b *batch) Expect(key, value []byte) { b.add(opExpect, key, nonNil(value)) }
func (b *batch) DeletePrefix(prefix []byte) {
	b.add(opDeleteRange, nonNil(prefix), store.PrefixEnd(prefix))
}

// SetOrdered writes value under prefix + the database's clock + suffix
// (store.OrderedSetter): node clocks never order the audit log.
func (b *batch) SetOrdered(prefix, suffix, value []byte) {
	b.ops = append(b.ops, op{kind: opSetOrdered, key: bytes.Clone(prefix), value: bytes.Clone(nonNil(value)), suffix: bytes.Clone(suffix)})
}

func (b *batch) Empty() bool { return len(b.ops) == 0 }
func (b *batch) Close()      { b.ops = nil }

// Commit runs the batch and returns once the server has flushed its commit
// record (synchronous_commit as configured on the server: on by default).
func (b *batch) Commit() error { return b.commit(true) }

// CommitBuffered commits with synchronous_commit off for this transaction
// only: the server acknowledges before its WAL flush (a crash of the
// database may lose it; a crash of this node cannot).
func (b *batch) CommitBuffered() error { return b.commit(false) }

func nonNil(v []byte) []byte {
	if v == nil {
		return []byte{}
	}
	return v
}

// maxAttempts bounds reruns of a transaction the server aborted to break a
// deadlock between batches locking the same rows in different orders.
const maxAttempts = 5

// commit hands the batch to the group committer (group.go); a batch too
// large to share a transaction runs on its own. One that recorded keys in
// the feed returns once the other nodes have applied it (confirm.go).
func (b *batch) commit(sync bool) error {
	if len(b.ops) == 0 {
		return nil
	}
	var err error
	if b.s.group == nil || len(b.ops) > maxGroupOps || b.fence != nil {
		err = b.commitAlone(sync)
	} else {
		err = b.s.group.submit(b, sync)
	}
	if err == nil && len(b.s.feed.Load().keys(b.ops)) > 0 {
		b.s.confirm.confirm()
	}
	return err
}

// commitAlone runs the batch as a transaction of its own, rerun when the
// server aborted it to break a deadlock.
func (b *batch) commitAlone(sync bool) error {
	ctx, cancel := b.s.ctx()
	defer cancel()
	var err error
	for attempt := 0; attempt < maxAttempts; attempt++ {
		err = pgx.BeginFunc(ctx, b.s.pool, func(tx pgx.Tx) error {
			var q pgx.Batch
			if !sync {
				q.Queue(`SET LOCAL synchronous_commit = off`)
			}
			b.queue(&q)
			res := tx.SendBatch(ctx, &q)
			var err error
			if !sync {
				_, err = res.Exec()
			}
			if err == nil {
				err = b.read(res)
			}
			return errors.Join(err, res.Close())
		})
		if !retryable(err) {
			break
		}
	}
	if errors.Is(err, store.ErrConflict) {
		return store.ErrConflict
	}
	if errors.Is(err, store.ErrFenced) {
		return store.ErrFenced
	}
	return classify(err)
}

// queue appends the batch's statements to q. Conditions come first and
// are judged on the store as it was before the batch (as Pebble judges
// them): each Insert claims its key with ON CONFLICT DO NOTHING (of racing
// claims the later waits for the earlier, then claims nothing), each Expect
// locks its row (FOR UPDATE) so the value compared is the value the commit
// replaces. Then the writes run in batch order.
func (b *batch) queue(q *pgx.Batch) {
	b.queueFence(q)
	for _, o := range b.ops {
		switch o.kind {
		case opInsert:
			q.Queue(`INSERT INTO strongroom_kv (k, v) VALUES ($1, $2) ON CONFLICT (k) DO NOTHING`, o.key, o.value)
		case opExpect:
			q.Queue(`SELECT v FROM strongroom_kv WHERE k = $1 FOR UPDATE`, o.key)
		}
	}
	b.writes = b.s.queueChanges(q, b.ops)
}

// read reads the results of the statements queue queued, all of them (a
// group reads on past it): store.ErrConflict when a condition did not
// hold, or the first error.
func (b *batch) read(res pgx.BatchResults) error {
	if err := b.checkFence(res); err != nil {
		return err
	}
	conflict := false
	for _, o := range b.ops {
		switch o.kind {
		case opInsert:
			tag, err := res.Exec()
			if err != nil {
				return err
			}
			conflict = conflict || tag.RowsAffected() != 1
		case opExpect:
			var cur []byte
			err := res.QueryRow().Scan(&cur)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			conflict = conflict || err != nil || !bytes.Equal(cur, o.value)
		}
	}
	for range b.writes {
		if _, err := res.Exec(); err != nil {
			return err
		}
	}
	if conflict {
		return store.ErrConflict
	}
	return nil
}

var (
	_ store.Batch         = (*batch)(nil)
	_ store.OrderedSetter = (*batch)(nil)
	_ store.FreshSetter   = (*batch)(nil)
)
