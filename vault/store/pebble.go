package store

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// cacheSize is the block cache: enough to keep the hot token records and
// their indexes in memory.
const cacheSize = 256 << 20

// walSyncInterval is the least time between two syncs of the WAL: the
// commits that arrive meanwhile share the next one. It bounds what a
// synced write waits extra; a lone write still syncs at once. 2ms rather
// than 1ms: at 0.35 CPU under 64 creating clients, 4-12% more creates
// per second in three of four alternating rounds (the fourth even) and a
// lower p50, as each fdatasync carries twice the commits.
const walSyncInterval = 2 * time.Millisecond

// Pebble is the embedded Store.
type Pebble struct {
	db       *pebble.DB
	space    spaceGuard // space.go
	readOnly bool
	// conds serialises the conditional commits (Insert, Expect) that touch
	// one key: check and commit happen under its stripe, so two racing
	// inserts of one key cannot both pass.
	conds [256]sync.Mutex
}

// OpenPebble opens (creating if needed) a Pebble database in dir. On a disk
// already below the reserve it opens the database read-only (no flush, no
// compaction needs space): reads are served and every write answers
// ErrReadOnlyFull until a restart with free space.
func OpenPebble(dir string, opts ...PebbleOption) (*Pebble, error) {
	return openPebble(dir, false, opts...)
}

func openPebble(dir string, mustExist bool, popts ...PebbleOption) (*Pebble, error) {
	cache := pebble.NewCache(cacheSize)
	defer cache.Unref()
	if err := tightenModes(dir); err != nil {
		return nil, fmt.Errorf("store %s: %w", dir, err)
	}
	opts := &pebble.Options{
		FS:     privateFS{vfs.Default},
		Logger: quietLogger{},
		Cache:  cache,
		// Larger memtables mean fewer, larger flushes under bursts of
		// token writes (the same size CockroachDB uses).
		MemTableSize:     64 << 20,
		ErrorIfNotExists: mustExist,
	}
	// Creates wait for the WAL sync, and each fdatasync costs the process
	// kernel CPU (a third of a CPU-capped node's time under 64 concurrent
	// creates): waiting walSyncInterval between syncs lets each one carry
	// many commits. Measured at 0.35 CPU: 2.5x the creates per second and a
	// p99 of tens of milliseconds instead of a second.
	opts.WALMinSyncInterval = func() time.Duration { return walSyncInterval }
	space := newSpaceGuard(dir, popts)
	if _, err := os.Stat(dir); err == nil && space.full() {
		opts.ReadOnly = true
	}
	// Bloom filters on every level (later levels inherit L0's) let a point
	// read skip the tables that cannot hold its key, so reading a token
	// stays one lookup however many tokens the store holds.
	opts.Levels[0].FilterPolicy = bloom.FilterPolicy(10)
	db, err := pebble.Open(dir, opts)
	if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK) {
		return nil, fmt.Errorf("the data directory %s is locked by another process (a running Strongroom server?): %w", dir, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open pebble store in %s: %w", dir, err)
	}
	return &Pebble{db: db, space: space, readOnly: opts.ReadOnly}, nil
}

// ReadOnly reports whether the store was opened read-only (a full disk).
func (p *Pebble) ReadOnly() bool { return p.readOnly }

func (p *Pebble) Get(key []byte) ([]byte, error) {
	v, closer, err := p.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	out := append([]byte(nil), v...)
	closer.Close()
	return out, nil
}

func (p *Pebble) iter(prefix []byte) (*pebble.Iterator, error) {
	return p.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: PrefixEnd(prefix)})
}

func (p *Pebble) Scan(prefix, start []byte, fn func(key, value []byte) bool) error {
	it, err := p.iter(prefix)
	if err != nil {
		return err
	}
	defer it.Close()
	var ok bool
	if start != nil {
		ok = it.SeekGE(start)
	} else {
		ok = it.First()
	}
	for ; ok; ok = it.Next() {
		if !fn(it.Key(), it.Value()) {
			break
		}
	}
	return it.Error()
}

func (p *Pebble) ScanReverse(prefix, start []byte, fn func(key, value []byte) bool) error {
	it, err := p.iter(prefix)
	if err != nil {
		return err
	}
	defer it.Close()
	var ok bool
	if start != nil {
		// SeekLT excludes start; step to include an exact match.
		ok = it.SeekLT(append(append([]byte(nil), start...), 0))
	} else {
		ok = it.Last()
	}
	for ; ok; ok = it.Prev() {
		if !fn(it.Key(), it.Value()) {
			break
		}
	}
	return it.Error()
}

func (p *Pebble) NewBatch() Batch { return &pebbleBatch{b: p.db.NewBatch(), p: p} }

func (p *Pebble) Close() error { return p.db.Close() }

// Checkpoint writes a consistent copy of the database, as of the call, into
// dir (which must not exist) while writers go on: immutable tables are
// hard-linked when dir is on the same file system, the log is copied up to
// the last acknowledged write.
func (p *Pebble) Checkpoint(dir string) error {
	return p.db.Checkpoint(dir, pebble.WithFlushedWAL())
}

// CheckpointPebble checkpoints the existing, closed database in src into
// dst: the backup of a stopped server. It never creates a database.
func CheckpointPebble(src, dst string, opts ...PebbleOption) error {
	p, err := openPebble(src, true, opts...)
	if err != nil {
		return err
	}
	if p.readOnly { // Pebble checkpoints only a writable store
		return errors.Join(fmt.Errorf("store %s: its disk is below the free-space reserve, so it opens read-only and cannot be checkpointed: copy the stopped server's directory instead (cp -a), or free space: %w", src, ErrReadOnlyFull), p.Close())
	}
	return errors.Join(p.Checkpoint(dst), p.Close())
}

type pebbleBatch struct {
	b     *pebble.Batch
	p     *Pebble
	conds []condition
}

func (b *pebbleBatch) Set(key, value []byte) { _ = b.b.Set(key, value, nil) }

func (b *pebbleBatch) Insert(key, value []byte) {
	b.conds = append(b.conds, condition{key: bytes.Clone(key)})
	_ = b.b.Set(key, value, nil)
}

func (b *pebbleBatch) Expect(key, value []byte) {
	b.conds = append(b.conds, condition{key: bytes.Clone(key), value: bytes.Clone(value)})
}

// Close releases the batch. It is idempotent: Pebble pools batches, so a
// second Close would hand one batch to two writers.
func (b *pebbleBatch) Close() {
	if b.b != nil {
		_ = b.b.Close()
		b.b = nil
	}
}
func (b *pebbleBatch) Delete(key []byte) { _ = b.b.Delete(key, nil) }
func (b *pebbleBatch) DeletePrefix(prefix []byte) {
	end := PrefixEnd(prefix)
	if end == nil {
		// An all-0xff prefix has no upper bound key: delete it key by key.
		it, err := b.p.db.NewIter(&pebble.IterOptions{LowerBound: prefix})
		if err != nil {
			return
		}
		defer it.Close()
		for ok := it.First(); ok; ok = it.Next() {
			_ = b.b.Delete(append([]byte(nil), it.Key()...), nil)
		}
		return
	}
	_ = b.b.DeleteRange(prefix, end, nil)
}
func (b *pebbleBatch) Empty() bool           { return b.b.Empty() && len(b.conds) == 0 }
func (b *pebbleBatch) Commit() error         { return b.commit(pebble.Sync, false) }
func (b *pebbleBatch) CommitBuffered() error { return b.commit(pebble.NoSync, true) }

// commit refuses a write the disk has no room for before Pebble sees it,
// then checks the batch's conditions and commits under the stripes of
// their keys, taken in index order so two batches never deadlock.
func (b *pebbleBatch) commit(opts *pebble.WriteOptions, buffered bool) error {
	if b.p.readOnly {
		return ErrReadOnlyFull
	}
	if err := b.p.space.check(b.b.Len(), buffered); err != nil {
		return err
	}
	if len(b.conds) == 0 {
		return b.b.Commit(opts)
	}
	stripes := make([]int, 0, len(b.conds))
	for _, c := range b.conds {
		stripes = append(stripes, int(crc32.ChecksumIEEE(c.key)%uint32(len(b.p.conds))))
	}
	slices.Sort(stripes)
	stripes = slices.Compact(stripes)
	for _, i := range stripes {
		b.p.conds[i].Lock()
		defer b.p.conds[i].Unlock()
	}
	for _, c := range b.conds {
		cur, err := b.p.Get(c.key)
		switch {
		case errors.Is(err, ErrNotFound):
			if c.value != nil {
				return ErrConflict
			}
		case err != nil:
			return err
		case c.value == nil || !bytes.Equal(cur, c.value):
			return ErrConflict
		}
	}
	return b.b.Commit(opts)
}

// quietLogger keeps Pebble's informational chatter out of Caddy's logs while
// still surfacing errors on stderr.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any) {}
func (quietLogger) Errorf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "pebble: "+format+"\n", args...)
}

// Fatalf ends the process, as Pebble requires: after a fatal storage error
// (a failed WAL write or sync) the store's state can no longer be trusted,
// and acknowledged writes are already on disk for the restart.
func (quietLogger) Fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "pebble: fatal: "+format+"\n", args...)
	os.Exit(70)
}

var (
	_ Store        = (*Pebble)(nil)
	_ Checkpointer = (*Pebble)(nil)
	_ Batch        = (*pebbleBatch)(nil)
)
