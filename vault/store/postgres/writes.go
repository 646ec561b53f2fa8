package postgres

import (
	"bytes"
	"slices"

	"github.com/jackc/pgx/v5"
)

// queueChanges queues ops' writes and, in the same transaction, the
// change-feed row naming what they changed (feed.go). It returns the
// number of statements queued.
func (s *Store) queueChanges(q *pgx.Batch, ops []op) int {
	return queueWrites(q, ops) + s.feed.Load().record(q, ops)
}

// queueWrites queues ops (Set, Delete, DeleteRange, SetOrdered; an Insert
// writes as a Set) as few statements: between two range deletes, which
// run in their place, the point writes are one multi-row upsert of the
// keys whose last write is a Set and one DELETE ... ANY of those whose
// last write is a Delete, and the ordered sets one insert. That is the
// order's outcome: the last write of a key decides it, the two statements
// touch distinct keys, and an ordered set's key is new (the database's
// clock is in it). So a group of batches, whose writes interleave (a
// token's record and indexes, then its audit entry, then the next
// token's), costs the server three statements, not two per batch (a
// group of creates had been as many statements as runs of one kind).
// The keys of each statement are sorted, so concurrent
// transactions lock rows in one order and seldom deadlock. It returns
// the number of statements queued.
func queueWrites(q *pgx.Batch, ops []op) int {
	n := 0
	for {
		i := slices.IndexFunc(ops, func(o op) bool { return o.kind == opDeleteRange })
		if i < 0 {
			return n + queuePoints(q, ops)
		}
		n += queuePoints(q, ops[:i])
		if o := ops[i]; o.value == nil {
			q.Queue(`DELETE FROM strongroom_kv WHERE k >= $1`, o.key)
		} else {
			q.Queue(`DELETE FROM strongroom_kv WHERE k >= $1 AND k < $2`, o.key, o.value)
		}
		n++
		ops = ops[i+1:]
	}
}

// queuePoints queues writes without a range delete among them.
func queuePoints(q *pgx.Batch, ops []op) int {
	var point, ordered []op
	for _, o := range ops {
		switch o.kind {
		case opSet, opInsert, opDelete:
			point = append(point, o)
		case opSetOrdered:
			ordered = append(ordered, o)
		} // an Expect writes nothing
	}
	var sets, dels []op
	for _, o := range lastByKey(point) {
		if o.kind == opDelete {
			dels = append(dels, o)
		} else {
			sets = append(sets, o)
		}
	}
	n := 0
	if len(sets) > 0 {
		queueSets(q, sets)
		n++
	}
	if len(dels) > 0 {
		queueDeletes(q, dels)
		n++
	}
	if len(ordered) > 0 {
		queueOrdered(q, ordered)
		n++
	}
	return n
}

// lastByKey keeps the last op of each key, sorted by key.
func lastByKey(ops []op) []op {
	last := make(map[string]int, len(ops))
	for i, o := range ops {
		last[string(o.key)] = i
	}
	out := make([]op, 0, len(last))
	for i, o := range ops {
		if last[string(o.key)] == i {
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b op) int { return bytes.Compare(a.key, b.key) })
	return out
}

// queueSets upserts ops, distinct keys in order.
func queueSets(q *pgx.Batch, ops []op) {
	if len(ops) == 1 {
		q.Queue(`INSERT INTO strongroom_kv (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = excluded.v`, ops[0].key, ops[0].value)
		return
	}
	ks, vs := make([][]byte, len(ops)), make([][]byte, len(ops))
	for i, o := range ops {
		ks[i], vs[i] = o.key, o.value
	}
	q.Queue(`INSERT INTO strongroom_kv (k, v) SELECT * FROM unnest($1::bytea[], $2::bytea[])
		ON CONFLICT (k) DO UPDATE SET v = excluded.v`, ks, vs)
}

// queueDeletes deletes ops, distinct keys in order.
func queueDeletes(q *pgx.Batch, ops []op) {
	if len(ops) == 1 {
		q.Queue(`DELETE FROM strongroom_kv WHERE k = $1`, ops[0].key)
		return
	}
	ks := make([][]byte, len(ops))
	for i, o := range ops {
		ks[i] = o.key
	}
	q.Queue(`DELETE FROM strongroom_kv WHERE k = ANY($1::bytea[])`, ks)
}

// orderedKey is the key of a SetOrdered row: prefix, the database clock
// when the row is written (clock_timestamp, microseconds, as nanoseconds in
// 16 hex digits like audit's node-clock keys), suffix.
const orderedKey = `p || convert_to(lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000000)::bigint * 1000), 16, '0'), 'UTF8') || s`

func queueOrdered(q *pgx.Batch, ops []op) {
	ps, ss, vs := make([][]byte, len(ops)), make([][]byte, len(ops)), make([][]byte, len(ops))
	for i, o := range ops {
		ps[i], ss[i], vs[i] = o.key, o.suffix, o.value
	}
	q.Queue(`INSERT INTO strongroom_kv (k, v) SELECT `+orderedKey+`, v
		FROM unnest($1::bytea[], $2::bytea[], $3::bytea[]) AS t(p, s, v)
		ON CONFLICT (k) DO UPDATE SET v = excluded.v`, ps, ss, vs)
}
