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
// together, in stripe order and each stripe once, so two callers naming
// the same entities never deadlock; the returned func releases them.
func (l *Locks) Each(entities ...[]string) func() {
	held := map[int]bool{}
	for _, parts := range entities {
		held[l.Index(parts...)] = true
	}
	order := slices.Sorted(maps.Keys(held))
	for _, i := range order {
		l[i].Lock()
	}
	return func() {
		for _, i := range order {
			l[i].Unlock()
		}
	}
}
