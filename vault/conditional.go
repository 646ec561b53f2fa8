package vault

import (
	"errors"
	"github.com/strongroom/strongroom/vault/internal/kernel"

	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/store"
)

// Commit-if-unchanged for the read-modify-write of records: the per-node
// lock orders this node's writers, and the Expect added here catches
// another node's (an update racing a delete would otherwise bring the
// deleted record back; two deletes would both answer 204).

// unchangedAttempts bounds the reruns of a write that kept losing races.
const unchangedAttempts = 8

// retryUnchanged runs once again while its commit is refused because what
// it read changed meanwhile (store.ErrConflict); the rerun reads the
// winner's write (and answers 404 if that was a delete).
func retryUnchanged[T any](once func() (T, error)) (T, error) {
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

// retryUnchangedErr is retryUnchanged for a write that returns no value.
func retryUnchangedErr(once func() error) error {
	_, err := retryUnchanged(func() (struct{}, error) { return struct{}{}, once() })
	return err
}

// expectUnchanged makes b commit only if key still holds raw, the bytes
// read (kernel.ReadVersion) before the record was loaded and changed; nil raw (the
// record was absent then) adds nothing: its load has already failed.
func expectUnchanged(b store.Batch, key, raw []byte) {
	if raw != nil {
		b.Expect(key, raw)
	}
}

// writeRegistry stores the master key registry; the first one is
// insert-if-absent, so of two nodes starting on an empty database with
// different keys one writes it and the other is then checked against it
// (and refused) instead of overwriting it.
func (v *Vault) writeRegistry(reg *masterRegistry, fresh bool) error {
	if !fresh {
		return v.saveRegistry(reg)
	}
	b := v.store.NewBatch()
	kernel.ClaimNew(b, []byte(kernel.MasterRegistryKey), reg)
	return v.commit(b)
}
