package keywrap

import (
	"errors"
	"fmt"
	"os"

	"github.com/strongroom/strongroom/vault/crypto"
)

// Local keeps master keys in memory, read from files or given as bytes
// (the STRONGROOM_MASTER_KEY environment variable). It is the default and
// what every data directory used before key wrappers were pluggable.
type Local struct {
	// Key, when set, is the current key; else KeyFile is read.
	Key     []byte
	KeyFile string
	// PreviousKeyFiles are older keys, needed while a rotation finishes.
	PreviousKeyFiles []string
}

// Keys reads the configured keys.
func (l *Local) Keys() ([]Key, error) {
	var keys []Key
	if l.Key != nil {
		k, err := NewLocalKey("the STRONGROOM_MASTER_KEY variable", l.Key)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	} else if l.KeyFile != "" {
		k, err := l.Load(l.KeyFile)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	for _, path := range l.PreviousKeyFiles {
		k, err := l.Load(path)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("keywrap: no master key configured")
	}
	return keys, nil
}

// Load reads the key file at path (hex or base64 of 32 bytes).
func (l *Local) Load(path string) (Key, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: master key file %s does not exist", ErrNoKey, path)
	}
	if err != nil {
		return nil, fmt.Errorf("read master key file: %w", err)
	}
	defer clear(b)
	k, err := crypto.ParseMasterKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("master key file %s: %w", path, err)
	}
	return NewLocalKey("file "+path, k)
}

// Close has nothing to release.
func (*Local) Close() error { return nil }

// LocalKey is a master key held in this process's memory.
type LocalKey struct {
	name string
	key  []byte
}

// NewLocalKey wraps 32 key bytes (kept, not copied).
func NewLocalKey(name string, key []byte) (*LocalKey, error) {
	if len(key) != crypto.KeySize {
		return nil, fmt.Errorf("master key must be %d bytes", crypto.KeySize)
	}
	return &LocalKey{name: name, key: key}, nil
}

// Seal is AES-256-GCM, the layout of every tenant key wrapped so far.
func (k *LocalKey) Seal(plaintext, aad []byte) ([]byte, error) {
	return crypto.Seal(k.key, plaintext, aad), nil
}

// Open reverses Seal.
func (k *LocalKey) Open(sealed, aad []byte) ([]byte, error) { return crypto.Open(k.key, sealed, aad) }

// Name says where the key came from.
func (k *LocalKey) Name() string { return k.name }

var (
	_ Wrapper = (*Local)(nil)
	_ Key     = (*LocalKey)(nil)
)
