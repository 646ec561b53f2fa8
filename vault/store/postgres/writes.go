package postgres

import (
	"bytes"
	"slices"

	"github.com/jackc/pgx/v5"
)

// queueWrites queues ops (Set, Delete, DeleteRange; an Insert writes as a
// Set) in order as few statements: each run of consecutive sets is one
// multi-row upsert and each run of deletes one DELETE ... ANY, so a batch
// (or a group of them) costs the server a few statements, not one per key.
// Within a run the keys are distinct (the last write of a key wins, as it
// would in order) and sorted, so concurrent transactions lock rows in one
// order and seldom deadlock. It returns the number of statements queued.
// queueChanges queues ops' writes and, in the same transaction, the
// change-feed row naming what they changed (feed.go). It returns the
// number of statements queued.
func (s *Store) queueChanges(q *pgx.Batch, ops []op) int {
	return queueWrites(q, ops) + s.feed.Load().record(q, ops)
}

func queueWrites(q *pgx.Batch, ops []op) int {
	n := 0
	for i := 0; i < len(ops); {
		j := i + 1
		kind := writeKind(ops[i].kind)
		for j < len(ops) && writeKind(ops[j].kind) == kind && kind != opDeleteRange {
			j++
		}
		switch kind {
		case opSet:
			queueSets(q, ops[i:j])
		case opDelete:
			queueDeletes(q, ops[i:j])
		case opSetOrdered:
			queueOrdered(q, ops[i:j])
		case opDeleteRange:
			if o := ops[i]; o.value == nil {
				q.Queue(`DELETE FROM strongroom_kv WHERE k >= $1`, o.key)
			} else {
				q.Queue(`DELETE FROM strongroom_kv WHERE k >= $1 AND k < $2`, o.key, o.value)
			}
		default: // an Expect writes nothing
			i = j
			continue
		}
		n++
		i = j
	}
	return n
}

func writeKind(k opKind) opKind {
	if k == opInsert {
		return opSet
	}
	return k
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

func queueSets(q *pgx.Batch, ops []op) {
	if len(ops) == 1 {
		q.Queue(`INSERT INTO strongroom_kv (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = excluded.v`, ops[0].key, ops[0].value)
		return
	}
	ops = lastByKey(ops)
	ks, vs := make([][]byte, len(ops)), make([][]byte, len(ops))
	for i, o := range ops {
		ks[i], vs[i] = o.key, o.value
	}
	q.Queue(`INSERT INTO strongroom_kv (k, v) SELECT * FROM unnest($1::bytea[], $2::bytea[])
		ON CONFLICT (k) DO UPDATE SET v = excluded.v`, ks, vs)
}

func queueDeletes(q *pgx.Batch, ops []op) {
	if len(ops) == 1 {
		q.Queue(`DELETE FROM strongroom_kv WHERE k = $1`, ops[0].key)
		return
	}
	ops = lastByKey(ops)
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
