package vault

import (
	"maps"
	"slices"
)

// lockEach takes the locks of several entities (each named by its parts)
// together, in stripe order and each stripe once, so two callers naming
// the same entities never deadlock; the returned func releases them.
func (v *Vault) lockEach(entities ...[]string) func() {
	held := map[int]bool{}
	for _, parts := range entities {
		held[v.lockIndex(parts...)] = true
	}
	order := slices.Sorted(maps.Keys(held))
	for _, i := range order {
		v.locks[i].Lock()
	}
	return func() {
		for _, i := range order {
			v.locks[i].Unlock()
		}
	}
}
