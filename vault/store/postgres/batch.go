package postgres

import (
	"bytes"
	"context"
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
)

type op struct {
	kind       opKind
	key, value []byte
}

// batch collects writes and runs them as one transaction at Commit.
type batch struct {
	s     *Store
	ops   []op
	fence *store.Fence // lease.go: set on a fenced view's batches
}

// NewBatch starts an atomic write.
func (s *Store) NewBatch() store.Batch { return &batch{s: s} }

func (b *batch) add(k opKind, key, value []byte) {
	b.ops = append(b.ops, op{kind: k, key: bytes.Clone(key), value: bytes.Clone(value)})
}

func (b *batch) Set(key, value []byte)    { b.add(opSet, key, nonNil(value)) }
func (b *batch) Delete(key []byte)        { b.add(opDelete, key, nil) }
func (b *batch) Insert(key, value []byte) { b.add(opInsert, key, nonNil(value)) }
func (b *batch) Expect(key, value []byte) { b.add(opExpect, key, nonNil(value)) }
func (b *batch) DeletePrefix(prefix []byte) {
	b.add(opDeleteRange, nonNil(prefix), store.PrefixEnd(prefix))
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

func (b *batch) commit(sync bool) error {
	if len(b.ops) == 0 {
		return nil
	}
	ctx, cancel := b.s.ctx()
	defer cancel()
	var err error
	for attempt := 0; attempt < maxAttempts; attempt++ {
		err = pgx.BeginFunc(ctx, b.s.pool, func(tx pgx.Tx) error { return b.run(ctx, tx, sync) })
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

// run sends the whole batch in one round trip. Conditions come first and
// are judged on the store as it was before the batch (as Pebble judges
// them): each Insert claims its key with ON CONFLICT DO NOTHING (of racing
// claims the later waits for the earlier, then claims nothing), each Expect
// locks its row (FOR UPDATE) so the value compared is the value the commit
// replaces. Then the writes run in batch order.
func (b *batch) run(ctx context.Context, tx pgx.Tx, sync bool) error {
	var q pgx.Batch
	b.queueFence(&q)
	if !sync {
		q.Queue(`SET LOCAL synchronous_commit = off`)
	}
	for _, o := range b.ops {
		switch o.kind {
		case opInsert:
			q.Queue(`INSERT INTO strongroom_kv (k, v) VALUES ($1, $2) ON CONFLICT (k) DO NOTHING`, o.key, o.value)
		case opExpect:
			q.Queue(`SELECT v FROM strongroom_kv WHERE k = $1 FOR UPDATE`, o.key)
		}
	}
	for _, o := range b.ops {
		switch o.kind {
		case opSet, opInsert:
			q.Queue(`INSERT INTO strongroom_kv (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = excluded.v`, o.key, o.value)
		case opDelete:
			q.Queue(`DELETE FROM strongroom_kv WHERE k = $1`, o.key)
		case opDeleteRange:
			if o.value == nil {
				q.Queue(`DELETE FROM strongroom_kv WHERE k >= $1`, o.key)
			} else {
				q.Queue(`DELETE FROM strongroom_kv WHERE k >= $1 AND k < $2`, o.key, o.value)
			}
		}
	}
	b.s.feed.Load().record(&q, b.ops) // feed.go
	res := tx.SendBatch(ctx, &q)
	err := b.check(res, sync)
	return errors.Join(err, res.Close())
}

// check reads the conditions' results and fails on the first that does
// not hold (the transaction then rolls back); res.Close reads the rest.
func (b *batch) check(res pgx.BatchResults, sync bool) error {
	if err := b.checkFence(res); err != nil {
		return err
	}
	if !sync {
		if _, err := res.Exec(); err != nil {
			return err
		}
	}
	for _, o := range b.ops {
		switch o.kind {
		case opInsert:
			tag, err := res.Exec()
			if err != nil {
				return err
			}
			if tag.RowsAffected() != 1 {
				return store.ErrConflict
			}
		case opExpect:
			var cur []byte
			err := res.QueryRow().Scan(&cur)
			if errors.Is(err, pgx.ErrNoRows) || (err == nil && !bytes.Equal(cur, o.value)) {
				return store.ErrConflict
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

var _ store.Batch = (*batch)(nil)
