package kernel

import (
	"errors"

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
