package postgres

import (
	"testing"

	"github.com/jackc/pgx/v5"
)

// The writes of a group's batches interleave (each create's record and
// indexes, then its audit entry): they still go out as one statement per
// kind, with the last write of each key deciding it.
func TestQueueWritesMergesInterleavedBatches(t *testing.T) {
	var ops []op
	for _, id := range []string{"a", "b", "c"} {
		ops = append(ops,
			op{kind: opSet, key: []byte("tok/" + id), value: []byte("v")},
			op{kind: opSet, key: []byte("ord/" + id), value: []byte(id)},
			op{kind: opSetOrdered, key: []byte("log/"), suffix: []byte(id), value: []byte("e")})
	}
	ops = append(ops,
		op{kind: opDelete, key: []byte("tok/a")},                     // deleted last: deleted
		op{kind: opDelete, key: []byte("old")},                       // deleted
		op{kind: opSet, key: []byte("old"), value: []byte("again")},  // then set: set
		op{kind: opExpect, key: []byte("tok/b"), value: []byte("v")}) // writes nothing
	var q pgx.Batch
	if n := queueWrites(&q, ops); n != 3 || q.Len() != 3 {
		t.Fatalf("queued %d statements (batch %d), want 3: one upsert, one delete, one ordered insert", n, q.Len())
	}
	sets := q.QueuedQueries[0].Arguments[0].([][]byte)
	want := []string{"old", "ord/a", "ord/b", "ord/c", "tok/b", "tok/c"}
	if len(sets) != len(want) {
		t.Fatalf("upserted %q, want %q", sets, want)
	}
	for i, k := range sets {
		if string(k) != want[i] {
			t.Fatalf("upserted %q, want %q (sorted, last write wins)", sets, want)
		}
	}
	if del, _ := q.QueuedQueries[1].Arguments[0].([]byte); string(del) != "tok/a" {
		t.Fatalf("deleted %v, want tok/a alone", q.QueuedQueries[1].Arguments)
	}
	if ords := q.QueuedQueries[2].Arguments[1].([][]byte); len(ords) != 3 {
		t.Fatalf("ordered sets %q, want the three audit entries", ords)
	}
}

// A range delete stays where it was: the writes before it and after it
// are separate statements around it.
func TestQueueWritesKeepsRangeDeletesInPlace(t *testing.T) {
	ops := []op{
		{kind: opSet, key: []byte("p/1"), value: []byte("v")},
		{kind: opDeleteRange, key: []byte("p/"), value: []byte("p0")},
		{kind: opSet, key: []byte("p/2"), value: []byte("v")},
	}
	var q pgx.Batch
	if n := queueWrites(&q, ops); n != 3 {
		t.Fatalf("queued %d statements, want 3 (set, range delete, set)", n)
	}
	if a := q.QueuedQueries[1].Arguments; len(a) != 2 || string(a[0].([]byte)) != "p/" {
		t.Fatalf("the range delete is not second: %v", q.QueuedQueries[1])
	}
}
