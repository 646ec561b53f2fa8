// Package keywrap holds the master keys that wrap tenant keys. A Wrapper
// is where an operator keeps them (a file or environment variable, an
// HSM); a Key is one of them, which seals and opens small secrets without
// ever handing out its bytes, so a key kept in an HSM never leaves it.
//
// Keys carry no version: the vault recognises each configured key by a
// known value sealed under it and records which version wraps each
// tenant key.
package keywrap

import (
	"errors"
	"fmt"
	"strings"
)

// Key is one master key.
type Key interface {
	// Seal encrypts a small secret (a tenant key) with aad bound to it.
	Seal(plaintext, aad []byte) ([]byte, error)
	// Open reverses Seal; a wrong key, aad or tampering fails.
	Open(sealed, aad []byte) ([]byte, error)
	// Name says where the key is (a file path, an HSM key label) for
	// messages; never the key itself.
	Name() string
}

// Wrapper is a configured source of master keys.
type Wrapper interface {
	// Keys are the configured keys: the current one first, then the
	// previous ones still needed during a rotation.
	Keys() ([]Key, error)
	// Load returns another key to rotate to, named the wrapper's way (a
	// key file path, an HSM key label).
	Load(ref string) (Key, error)
	// Close releases what Keys and Load opened (an HSM session).
	Close() error
}

// ErrNoKey means the wrapper has no key by that name.
var ErrNoKey = errors.New("keywrap: no such key")

// Identity names a configured wrapper without its secrets (no PIN, no key
// bytes), so a host can tell whether two configs ask for the same keys.
func Identity(w Wrapper) string {
	switch w := w.(type) {
	case nil:
		return ""
	case *Local:
		return "local\x00" + w.KeyFile + "\x00" + strings.Join(w.PreviousKeyFiles, "\x00")
	case *PKCS11:
		return "pkcs11\x00" + w.Module + "\x00" + w.TokenLabel + "\x00" + w.KeyLabel + "\x00" + strings.Join(w.PreviousKeyLabels, "\x00")
	default:
		return fmt.Sprintf("%T", w)
	}
}
