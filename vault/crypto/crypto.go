// Package crypto holds the vault's key hierarchy: a master key wraps one key
// per tenant, which wraps a fresh data key per record. Every seal is
// AES-256-GCM with the record's identity as associated data, so a ciphertext
// moved to another record or tenant fails to open.
package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/mr-tron/base58"
)

// KeySize is the size of every symmetric key in the hierarchy.
const KeySize = 32

// ErrDecrypt means a ciphertext did not authenticate: wrong key, wrong
// associated data or tampering. It never says which.
var ErrDecrypt = errors.New("crypto: message authentication failed")

// NewKey returns a fresh random key.
func NewKey() []byte {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return k
}

// Seal encrypts plaintext under key with aad bound to it. The output is
// nonce || ciphertext || tag.
func Seal(key, plaintext, aad []byte) []byte { return seal(mustGCM(key), plaintext, aad) }

func seal(aead cipher.AEAD, plaintext, aad []byte) []byte {
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic(err)
	}
	return aead.Seal(nonce, nonce, plaintext, aad)
}

// Open reverses Seal.
func Open(key, sealed, aad []byte) ([]byte, error) { return open(mustGCM(key), sealed, aad) }

func open(aead cipher.AEAD, sealed, aad []byte) ([]byte, error) {
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, ErrDecrypt
	}
	n := aead.NonceSize()
	out, err := aead.Open(nil, sealed[:n], sealed[n:], aad)
	if err != nil {
		return nil, ErrDecrypt
	}
	return out, nil
}

// aeads caches the AEADs of long-lived keys (master, tenant keys), which
// wrap a data key on every read and write; AES-GCM AEADs are safe for
// concurrent use. Per-record data keys are used once and not cached.
var aeads struct {
	sync.RWMutex
	m map[string]cipher.AEAD
}

const maxCachedAEADs = 4096

// kekGCM returns the cached AEAD of a key-encryption key.
func kekGCM(key []byte) cipher.AEAD {
	aeads.RLock()
	a, ok := aeads.m[string(key)]
	aeads.RUnlock()
	if ok {
		return a
	}
	a = mustGCM(key)
	aeads.Lock()
	if aeads.m == nil || len(aeads.m) >= maxCachedAEADs {
		aeads.m = map[string]cipher.AEAD{}
	}
	aeads.m[string(key)] = a
	aeads.Unlock()
	return a
}

func mustGCM(key []byte) cipher.AEAD {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(fmt.Sprintf("crypto: bad key length %d", len(key)))
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return aead
}

// Envelope is a record's ciphertext with its wrapped data key.
type Envelope struct {
	WrappedKey []byte `json:"k"`
	Ciphertext []byte `json:"c"`
	// Version is the tenant key version that wrapped the data key (0 is
	// version 1, what every envelope was before tenant keys rotated).
	Version uint32 `json:"v,omitempty"`
}

// SealEnvelope encrypts plaintext under a fresh data key wrapped by kek.
func SealEnvelope(kek, plaintext, aad []byte) Envelope {
	dek := NewKey()
	env := Envelope{WrappedKey: seal(kekGCM(kek), dek, aad), Ciphertext: Seal(dek, plaintext, aad)}
	clear(dek)
	return env
}

// DataKey is an unwrapped per-record data key, ready to open the record's
// ciphertext again without unwrapping (for records kept in memory).
type DataKey struct{ aead cipher.AEAD }

// OpenDataKey unwraps an envelope's data key.
func OpenDataKey(kek []byte, env Envelope, aad []byte) (*DataKey, error) {
	dek, err := open(kekGCM(kek), env.WrappedKey, aad)
	if err != nil {
		return nil, err
	}
	defer clear(dek)
	return &DataKey{aead: mustGCM(dek)}, nil
}

// Open decrypts the envelope's ciphertext with the unwrapped key.
func (k *DataKey) Open(env Envelope, aad []byte) ([]byte, error) {
	return open(k.aead, env.Ciphertext, aad)
}

// OpenEnvelope reverses SealEnvelope.
func OpenEnvelope(kek []byte, env Envelope, aad []byte) ([]byte, error) {
	dek, err := open(kekGCM(kek), env.WrappedKey, aad)
	if err != nil {
		return nil, err
	}
	defer clear(dek)
	return Open(dek, env.Ciphertext, aad)
}

// HashAPIKey is how API keys are stored: a SHA-256 digest. Keys carry 192
// bits of randomness, so a fast hash is safe and keeps auth lookups cheap.
func HashAPIKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// NewAPIKey returns a new API key in the `key_<base58>` shape Basis Theory uses.
func NewAPIKey() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return "key_" + base58.Encode(b)
}

// MAC is HMAC-SHA256, used for fingerprints and other keyed digests.
func MAC(key []byte, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// DeriveKey derives a purpose-bound sub-key (e.g. the tenant's fingerprint
// key) from a key, so one tenant key never serves two purposes.
func DeriveKey(key []byte, purpose string) []byte {
	return MAC(key, []byte("strongroom/"+purpose))
}

// LoadMasterKey reads a master key from text: 64 hex chars or base64 of 32
// bytes, surrounding whitespace ignored.
func ParseMasterKey(text string) ([]byte, error) {
	s := strings.TrimSpace(text)
	if k, err := hex.DecodeString(s); err == nil && len(k) == KeySize {
		return k, nil
	}
	if k, err := base64.StdEncoding.DecodeString(s); err == nil && len(k) == KeySize {
		return k, nil
	}
	return nil, errors.New("master key must be 32 bytes, hex or base64 encoded")
}

// LoadOrCreateMasterKeyFile reads the master key at path, creating it with a
// fresh key and 0600 permissions when it does not exist. created reports
// whether it was generated, so the caller can warn.
func LoadOrCreateMasterKeyFile(path string) (key []byte, created bool, err error) {
	b, err := os.ReadFile(path)
	if err == nil {
		k, perr := ParseMasterKey(string(b))
		if perr != nil {
			return nil, false, fmt.Errorf("master key file %s: %w", path, perr)
		}
		return k, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, fmt.Errorf("read master key file: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, err
	}
	k := NewKey()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("create master key file: %w", err)
	}
	_, werr := f.WriteString(hex.EncodeToString(k) + "\n")
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		return nil, false, fmt.Errorf("write master key file: %w", err)
	}
	return k, true, nil
}
