package kernel

import (
	"encoding/json"
	"errors"

	"github.com/google/uuid"

	"github.com/strongroom/strongroom/vault/store"
)

// ClaimVersion makes b commit only if the version under key is still cur
// (nil: absent), and moves it on: of two writers that read one version
// (two nodes bootstrapping, two creates of one deduplicated value) exactly
// one commits, and the other re-reads and sees the winner's write.
func ClaimVersion(b store.Batch, key, cur []byte) {
	next := []byte(uuid.NewString())
	if cur == nil {
		b.Insert(key, next)
		return
	}
	b.Expect(key, cur)
	b.Set(key, next)
}

// ReadVersion reads the version under key; nil when there is none yet.
func ReadVersion(s store.Store, key []byte) ([]byte, error) {
	cur, err := s.Get(key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return cur, err
}

// ClaimNew makes b commit only if key was absent before it: a record under
// a client-supplied id that the batch writes (taken once, on any node).
func ClaimNew(b store.Batch, key []byte, record any) {
	data, err := json.Marshal(record)
	if err != nil {
		panic(err) // records are plain structs
	}
	b.Insert(key, data)
}
