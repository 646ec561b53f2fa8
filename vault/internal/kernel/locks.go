package kernel

import (
	"hash/fnv"
	"maps"
	"slices"
	"sync"
)

// Locks serialise read-modify-write sequences on one entity (named by its
// parts), striped: writes to different entities proceed in parallel and
// their syncs are grouped by the store's commit pipeline. On a shared store
// they order this node's writers only; the conditional claims (claims.go)
// decide between nodes.
type Locks [64]sync.Mutex

// Lock takes the lock of one entity; the returned func releases it.
func (l *Locks) Lock(parts ...string) func() {
	m := &l[l.Index(parts...)]
	m.Lock()
	return m.Unlock
}

// Index is the stripe of an entity, for a caller taking a set of them.
func (l *Locks) Index(parts ...string) int {
	h := fnv.New32a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return int(h.Sum32() % uint32(len(l)))
}

// Each takes the locks of several entities (each named by its parts)
// together (LockSet); the returned func releases them.
func (l *Locks) Each(entities ...[]string) func() {
	s := l.Set()
	for _, parts := range entities {
		s.Add(parts...)
	}
	s.Lock()
	return s.Unlock
}

// Set starts an empty set of this node's entity locks.
func (l *Locks) Set() *LockSet { return &LockSet{locks: l, held: map[int]bool{}} }

// LockSet is a set of entity locks held together: taken in stripe order
// and each stripe once, so two callers naming the same entities never
// deadlock.
type LockSet struct {
	locks *Locks
	held  map[int]bool
	order []int
}

// Add names one more entity; call it before Lock.
func (s *LockSet) Add(parts ...string) { s.held[s.locks.Index(parts...)] = true }

// Lock takes every lock of the set.
func (s *LockSet) Lock() {
	s.order = slices.Sorted(maps.Keys(s.held))
	for _, i := range s.order {
		s.locks[i].Lock()
	}
}

// Holds reports whether the lock of the entity named by parts is held.
func (s *LockSet) Holds(parts ...string) bool { return s.held[s.locks.Index(parts...)] }

// Unlock releases what Lock took.
func (s *LockSet) Unlock() {
	for _, i := range s.order {
		s.locks[i].Unlock()
	}
}
