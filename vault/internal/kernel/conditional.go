package kernel

import (
	"errors"

	"github.com/strongroom/strongroom/vault/audit"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/store"
)

// Commit-if-unchanged for the read-modify-write of records: the per-node
// lock orders this node's writers, and the Expect added here catches
// another node's (an update racing a delete would otherwise bring the
// deleted record back; two deletes would both answer 204).

// unchangedAttempts bounds the reruns of a write that kept losing races.
const unchangedAttempts = 8

// RetryUnchanged runs once again while its commit is refused because what
// it read changed meanwhile (store.ErrConflict); the rerun reads the
// winner's write (and answers 404 if that was a delete).
func RetryUnchanged[T any](once func() (T, error)) (T, error) {
	for attempt := 1; ; attempt++ {
		out, err := once()
		if !errors.Is(err, store.ErrConflict) {
			return out, err
		}
		if attempt == unchangedAttempts {
			var zero T
			return zero, problem.Conflict("The resource keeps changing concurrently; retry the request.")
		}
	}
}

// RetryUnchangedErr is RetryUnchanged for a write that returns no value.
func RetryUnchangedErr(once func() error) error {
	_, err := RetryUnchanged(func() (struct{}, error) { return struct{}{}, once() })
	return err
}

// ExpectUnchanged makes b commit only if key still holds raw, the bytes
// read (ReadVersion) before the record was loaded and changed; nil raw (the
// record was absent then) adds nothing: its load has already failed.
func ExpectUnchanged(b store.Batch, key, raw []byte) {
	if raw != nil {
		b.Expect(key, raw)
	}
}

// Rewrite is one read-modify-write of the record at key, the shape of
// every update and delete: under the entity lock named by lock (this
// node's writers, in turn), change loads the record, decides, and fills b
// with the writes and returns the answer and the audit entry; the commit
// carries the entry and holds only if key still holds the bytes read before
// change ran, else change runs again on the winner's write (RetryUnchanged).
// A store of its own never conflicts; a shared one makes this the
// conditional write that replaces the lock across nodes. A nil lock: the
// caller holds it (to do more under it once the commit is done).
func Rewrite[T any](v *View, key []byte, lock []string, change func(b store.Batch) (T, audit.Entry, error)) (T, error) {
	if lock != nil {
		defer v.Locks.Lock(lock...)()
	}
	return RetryUnchanged(func() (zero T, _ error) {
		raw, err := ReadVersion(v.Store(), key)
		if err != nil {
			return zero, err
		}
		b := v.Store().NewBatch()
		ExpectUnchanged(b, key, raw)
		out, e, err := change(b)
		if err != nil {
			b.Close()
			return zero, err
		}
		return out, v.Commit(b, e)
	})
}

// RewriteErr is Rewrite for a change that answers nothing (a delete).
func RewriteErr(v *View, key []byte, lock []string, change func(b store.Batch) (audit.Entry, error)) error {
	_, err := Rewrite(v, key, lock, func(b store.Batch) (struct{}, audit.Entry, error) {
		e, err := change(b)
		return struct{}{}, e, err
	})
	return err
}
