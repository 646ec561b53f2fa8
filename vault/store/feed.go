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
	// FeedRecord records the key: the batch's Commit returns once every
	// other process has applied it, or has stopped serving its caches
	// (FreshnessBound).
	FeedRecord
)

// FreshnessBound is how long a process keeps serving its caches after the
// start of its last successful feed poll. A commit that recorded keys
// waits for every other process to apply them, but never longer than a
// process that cannot poll keeps serving what it has: so a write, once
// acknowledged, is read at once from every process.
const FreshnessBound = time.Second

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
	// process) has been delivered to apply; the caches may be served
	// within FreshnessBound of it.
	FreshAsOf() time.Time
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
