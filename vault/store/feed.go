package store

import (
	"errors"
	"time"
)

// Change is one invalidation a committed batch recorded in the feed: the
// key it wrote or deleted, or (Prefix) every key under a prefix it
// deleted. It names keys only, never values.
type Change struct {
	Key    []byte
	Prefix bool
}

// FeedClass is what a batch records in the feed for one key it writes.
type FeedClass uint8

const (
	// FeedSkip records nothing: no cache depends on the key.
	FeedSkip FeedClass = iota
	// FeedRecord records the key; other processes apply it on their next
	// poll (or before Sync returns).
	FeedRecord
	// FeedWake records the key and wakes the other processes' pollers at
	// once (a revocation); never the hot write path, where a wake-up would
	// serialise commits.
	FeedWake
)

// FeedFilter classifies a key a batch writes; created reports that the
// key was absent before the batch (claimed with Insert in it, or set with
// SetFresh), so no process can have it cached under a point lookup.
type FeedFilter func(key []byte, created bool) FeedClass

// Feed is implemented by shared stores: what other processes committed,
// delivered to this one so it can invalidate its caches. A store of one
// process has no feed (its own commits invalidate directly); see
// FeedOf.
type Feed interface {
	// Follow starts delivering: apply is called with the changes of the
	// batches committed since the last call (all: deliveries may have
	// been missed, drop everything). filter decides what every batch
	// committed through this store records. Called once, before writes.
	Follow(filter FeedFilter, apply func(changes []Change, all bool))
	// FreshAsOf is a time before which every batch committed (by any
	// process) has been delivered to apply.
	FreshAsOf() time.Time
	// Sync waits at most wait for every batch acknowledged before the call
	// to be delivered; false when that could not be confirmed in time.
	Sync(wait time.Duration) bool
	// Prune drops feed entries older than age, fenced by f: the lease
	// holder's job.
	Prune(f Fence, age time.Duration) error
}

// FeedOf returns s's feed, nil for a store no other process writes.
func FeedOf(s Store) Feed {
	f, _ := s.(Feed)
	return f
}

// ErrFenced is returned by the Commit of a fenced batch (Leaser.Fenced)
// whose lease has expired or passed to another holder: nothing was
// written.
var ErrFenced = errors.New("store: the lease fencing this write is no longer held")

// Fence identifies one tenure of a lease: Epoch changes whenever another
// holder takes the lease, never on a renewal.
type Fence struct {
	Lease, Holder string
	Epoch         int64
}
