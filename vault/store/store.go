// Package store is the ordered key-value seam under the vault: get, prefix
// scan and one atomic batch per write, with conditions a write may carry so
// uniqueness holds across processes. Pebble is the embedded backend;
// vault/store/postgres serves several nodes from one database.
package store

import (
	"errors"
	"time"
)

// ErrNotFound is returned by Get when the key is absent.
var ErrNotFound = errors.New("store: not found")

// ErrConflict is returned by Commit when a condition of the batch (Insert,
// Expect) did not hold: nothing of the batch was written.
var ErrConflict = errors.New("store: conflict")

// ErrUnavailable is wrapped by the errors of a store that cannot be reached
// (a database down or unreachable within its timeout): the request may
// succeed later, and the API answers 503.
var ErrUnavailable = errors.New("store: unavailable")

// Unavailable wraps err as a temporary failure to reach the store; errors.Is
// finds ErrUnavailable in it and the original cause stays in the chain.
func Unavailable(err error) error { return unavailableError{err} }

type unavailableError struct{ err error }

func (e unavailableError) Error() string { return "store unavailable: " + e.err.Error() }
func (e unavailableError) Unwrap() []error {
	return []error{ErrUnavailable, e.err}
}

// Unavailable marks the error for layers that may not import store (the
// problem package maps it to 503).
func (unavailableError) Unavailable() bool { return true }

// Shared is implemented by stores that several processes write at once
// (PostgreSQL): the vault then bounds how long its caches may be stale and
// never generates a master key.
type Shared interface {
	Shared() bool
}

// Leaser is implemented by shared stores: a lease on the database's clock
// lets one node at a time run a background job, and fences the job's
// writes so a holder that lost the lease mid-job cannot write.
type Leaser interface {
	// Lease takes or renews the lease name for holder until ttl from now
	// (by the store's clock) and reports whether holder has it, with the
	// fence of its tenure.
	Lease(name, holder string, ttl time.Duration) (Fence, bool, error)
	// Fenced is a view of the store whose batches commit only while f's
	// tenure lasts (same holder, same epoch, unexpired on the store's
	// clock), checked inside the batch's transaction; otherwise Commit
	// returns ErrFenced and writes nothing.
	Fenced(f Fence) Store
}

// IsShared reports whether s is written by other processes too.
func IsShared(s Store) bool {
	sh, ok := s.(Shared)
	return ok && sh.Shared()
}

// Store is the narrow interface the vault needs from its storage.
type Store interface {
	// Get returns a copy of the value stored under key, or ErrNotFound.
	Get(key []byte) ([]byte, error)
	// Scan calls fn for each key with the given prefix in key order, starting
	// at start (inclusive; nil means the beginning of the prefix). Returning
	// false from fn stops the scan. key and value are only valid during fn.
	Scan(prefix, start []byte, fn func(key, value []byte) bool) error
	// ScanReverse is Scan in descending key order; start (inclusive) is the
	// upper bound, nil meaning the end of the prefix.
	ScanReverse(prefix, start []byte, fn func(key, value []byte) bool) error
	// NewBatch starts an atomic write.
	NewBatch() Batch
	// Close flushes and releases the store.
	Close() error
}

// Checkpointer is a Store that can copy itself consistently while it serves
// (an online backup). A shared database backend has its own backup tools.
type Checkpointer interface {
	// Checkpoint writes every write acknowledged before the call into dir,
	// which must not exist yet.
	Checkpoint(dir string) error
}

// Batch is an atomic group of writes. Commit makes it durable (fsync) before
// returning, so an acknowledged write survives a crash.
type Batch interface {
	// Set copies key and value: the caller may reuse them on return.
	Set(key, value []byte)
	Delete(key []byte)
	// DeletePrefix removes every key starting with prefix.
	DeletePrefix(prefix []byte)
	// Insert is Set on the condition that key is absent when the batch
	// commits; otherwise Commit returns ErrConflict and writes nothing.
	// It is how a unique id, alias or claim is taken. Conditions are judged
	// on the store as it was before the batch, so a batch may Set a key and
	// Insert it too (the write at its place, the claim on the old state).
	Insert(key, value []byte)
	// Expect makes the commit conditional on key holding exactly value
	// (commit-if-unchanged after a read); otherwise Commit returns
	// ErrConflict. value must be non-nil: an absent key is claimed with
	// Insert.
	Expect(key, value []byte)
	Commit() error
	// CommitBuffered writes the batch to the log without waiting for the
	// disk to sync it: it survives a process crash (the OS holds it) but not
	// a power loss. Only for records no client waits on, such as the audit
	// entries of reads; the next synced commit makes it durable too.
	CommitBuffered() error
	// Empty reports whether the batch holds no operation.
	Empty() bool
	Close()
}

// PrefixEnd returns the smallest key greater than every key with prefix p.
func PrefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil // p is all 0xff: no upper bound
}

// Key joins parts with the 0x00 separator used throughout the keyspace.
// Parts must not contain 0x00 themselves (ids and names are validated text).
func Key(parts ...string) []byte {
	n := len(parts)
	for _, p := range parts {
		n += len(p)
	}
	b := make([]byte, 0, n)
	for i, p := range parts {
		if i > 0 {
			b = append(b, 0)
		}
		b = append(b, p...)
	}
	return b
}

// Prefix is Key followed by a trailing separator, for scanning children.
func Prefix(parts ...string) []byte {
	return append(Key(parts...), 0)
}

// condition is one Insert (value nil: the key must be absent) or Expect
// (the key must hold value) of a batch.
type condition struct {
	key, value []byte
}

// OrderedSetter is implemented by the batches of a shared store, whose
// writers' clocks differ: SetOrdered stores value under prefix + the
// store's clock at the write (16 hex digits of Unix nanoseconds, the
// precision the store has) + suffix, so entries of every node sort in one
// order, the database's. The audit log is written through it.
type OrderedSetter interface {
	SetOrdered(prefix, suffix, value []byte)
}
