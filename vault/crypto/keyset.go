package crypto

import (
	"errors"
	"fmt"
)

// KeySet is one tenant's key versions. New envelopes are sealed under the
// current version and record it; an envelope of any older version still
// opens, so rotating a tenant key never makes a record unreadable.
//
// Keyed digests (fingerprints, search indexes) and short-lived seals use
// the root key, version 1: they must stay equal across rotations for
// deduplication and search to keep finding older records.
type KeySet struct {
	current uint32
	keys    map[uint32][]byte
}

// ErrUnknownKeyVersion is an envelope naming a key version the set lacks.
var ErrUnknownKeyVersion = errors.New("crypto: envelope sealed under an unknown key version")

// NewKeySet returns the set of keys (by version) sealing under current.
func NewKeySet(current uint32, keys map[uint32][]byte) (*KeySet, error) {
	if keys[1] == nil || keys[current] == nil {
		return nil, fmt.Errorf("crypto: key set lacks version 1 or its current version %d", current)
	}
	for v, k := range keys {
		if len(k) != KeySize {
			return nil, fmt.Errorf("crypto: key version %d has %d bytes", v, len(k))
		}
	}
	return &KeySet{current: current, keys: keys}, nil
}

// Current is the version new envelopes are sealed under.
func (s *KeySet) Current() uint32 { return s.current }

// Root is version 1, the key of digests and short-lived seals.
func (s *KeySet) Root() []byte { return s.keys[1] }

func (s *KeySet) key(env Envelope) ([]byte, error) {
	v := max(env.Version, 1)
	if k := s.keys[v]; k != nil {
		return k, nil
	}
	return nil, fmt.Errorf("%w %d", ErrUnknownKeyVersion, v)
}

// SealEnvelope encrypts plaintext under a fresh data key wrapped by the
// current version.
func (s *KeySet) SealEnvelope(plaintext, aad []byte) Envelope {
	env := SealEnvelope(s.keys[s.current], plaintext, aad)
	if s.current > 1 {
		env.Version = s.current
	}
	return env
}

// OpenEnvelope reverses SealEnvelope, whatever version sealed env.
func (s *KeySet) OpenEnvelope(env Envelope, aad []byte) ([]byte, error) {
	k, err := s.key(env)
	if err != nil {
		return nil, err
	}
	return OpenEnvelope(k, env, aad)
}

// OpenDataKey unwraps an envelope's data key, whatever version sealed it.
func (s *KeySet) OpenDataKey(env Envelope, aad []byte) (*DataKey, error) {
	k, err := s.key(env)
	if err != nil {
		return nil, err
	}
	return OpenDataKey(k, env, aad)
}

// Reseal re-encrypts env under a fresh data key wrapped by the current
// version, keeping its associated data; changed is false when env already
// is of the current version.
func (s *KeySet) Reseal(env Envelope, aad []byte) (_ Envelope, changed bool, err error) {
	if max(env.Version, 1) == s.current {
		return env, false, nil
	}
	plain, err := s.OpenEnvelope(env, aad)
	if err != nil {
		return env, false, err
	}
	defer clear(plain)
	return s.SealEnvelope(plain, aad), true, nil
}
