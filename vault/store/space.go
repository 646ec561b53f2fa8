package store

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// DefaultDiskReserve is the free space a Pebble store keeps for itself:
// room for a memtable flush and a compaction, so the store can always
// finish what it acknowledged and shrink again.
const DefaultDiskReserve = 128 << 20

// ErrDiskFull refuses a write that would eat into the disk reserve. It
// wraps ENOSPC, which is how every layer above recognises it (a 507).
var ErrDiskFull = fmt.Errorf("store: the disk of the data directory is full (free space is below the reserve): %w", syscall.ENOSPC)

// ErrReadOnlyFull refuses every write of a store opened read-only because
// its disk was full at start; it also wraps ENOSPC.
var ErrReadOnlyFull = fmt.Errorf("store: opened read-only because the disk of the data directory was full at start: free space and restart the server: %w", syscall.ENOSPC)

// PebbleOption tunes OpenPebble.
type PebbleOption func(*pebbleConfig)

type pebbleConfig struct{ reserve int64 }

// WithDiskReserve sets the free space (bytes) below which writes are
// refused with ErrDiskFull: 0 is DefaultDiskReserve, negative is none.
func WithDiskReserve(bytes int64) PebbleOption {
	return func(c *pebbleConfig) { c.reserve = bytes }
}

// spaceGuard refuses writes before they reach Pebble, which treats a
// failed log write as fatal: a write checked here fails cleanly instead of
// ending the process.
type spaceGuard struct {
	dir     string
	reserve int64        // <= 0: no check
	short   *atomic.Bool // writes are being refused (logged on each change)
	sample  *freeSample
}

// spaceSampleAge is how long one statfs of the data directory answers the
// checks of the writes that follow: a statfs per commit cost a CPU-capped
// node 4% of its time under 64 creating clients, for a figure that moves
// by a few kilobytes a write. The bytes of the writes accepted meanwhile
// are charged to the sample, so it errs towards full; a write is refused
// only on a fresh reading.
const spaceSampleAge = 5 * time.Millisecond

// freeSample is the free space read at a time, less what was accepted since.
type freeSample struct {
	mu   sync.Mutex
	at   time.Time
	free int64
	ok   bool
}

// read returns the free space: the sample's, or a new reading when the
// sample is older than spaceSampleAge or fresh asks for one.
func (s *freeSample) read(dir string, fresh bool) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if fresh || !s.ok || now.Sub(s.at) > spaceSampleAge {
		s.free, s.ok = freeBytes(dir)
		s.at = now
	}
	return s.free, s.ok
}

// charge counts an accepted write of n bytes against the sample.
func (s *freeSample) charge(n int64) {
	s.mu.Lock()
	s.free -= n
	s.mu.Unlock()
}

func newSpaceGuard(dir string, opts []PebbleOption) spaceGuard {
	var c pebbleConfig
	for _, o := range opts {
		o(&c)
	}
	switch {
	case c.reserve == 0:
		c.reserve = DefaultDiskReserve
	case c.reserve < 0:
		c.reserve = 0
	}
	return spaceGuard{dir: dir, reserve: c.reserve, short: new(atomic.Bool), sample: new(freeSample)}
}

// full reports whether the disk is below the reserve now (at open).
func (g spaceGuard) full() bool {
	free, ok := freeBytes(g.dir)
	return g.reserve > 0 && ok && free < g.reserve
}

// check refuses a write of need bytes that would leave less than the
// reserve free. Buffered writes (the audit entries of reads) may use half
// of it, so reads stay audited while synced writes are refused.
func (g spaceGuard) check(need int, buffered bool) error {
	if g.reserve <= 0 {
		return nil
	}
	floor := g.reserve
	if buffered {
		floor /= 2
	}
	free, ok := g.sample.read(g.dir, false)
	if ok && free-int64(need) < floor {
		free, ok = g.sample.read(g.dir, true) // refuse only on a fresh reading
	}
	if !ok {
		return nil // the file system does not tell: let Pebble try
	}
	if free-int64(need) < floor {
		g.note(true, free)
		return ErrDiskFull
	}
	g.sample.charge(int64(need))
	if !buffered {
		g.note(false, free)
	}
	return nil
}

// note tells the operator, once per change, that writes are refused or
// accepted again (on stderr, beside Pebble's own errors).
func (g spaceGuard) note(short bool, free int64) {
	if g.short.Swap(short) == short {
		return
	}
	if short {
		fmt.Fprintf(os.Stderr, "store: free space on the disk of %s is below the reserve (%d of %d bytes free): writes are refused (507) until space is freed\n", g.dir, free, g.reserve)
	} else {
		fmt.Fprintf(os.Stderr, "store: free space on the disk of %s is above the reserve again (%d bytes free): writes are accepted\n", g.dir, free)
	}
}
