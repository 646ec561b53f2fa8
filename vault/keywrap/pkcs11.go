//go:build cgo

package keywrap

import (
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"

	"github.com/ThalesGroup/crypto11"
	"github.com/miekg/pkcs11"
)

// PKCS11 keeps master keys in an HSM: AES-256 keys created inside the
// token (sensitive, not extractable), used through the HSM's AES-GCM, so
// their bytes never exist outside it. Tenant keys are sealed and opened
// by the HSM; the vault caches the opened tenant keys, so the HSM is
// touched once per tenant, not per record.
type PKCS11 struct {
	Module     string // path of the PKCS#11 library (.so)
	TokenLabel string
	Pin        string
	// KeyLabel is the current key; PreviousKeyLabels are older keys
	// still needed while a rotation finishes.
	KeyLabel          string
	PreviousKeyLabels []string

	mu  sync.Mutex
	ctx *crypto11.Context
}

// gcmNonceSize is GCM's standard 96-bit IV; the nonce is chosen here and
// stored with the ciphertext.
const gcmNonceSize = 12

func (p *PKCS11) context() (*crypto11.Context, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ctx != nil {
		return p.ctx, nil
	}
	if p.Module == "" || p.TokenLabel == "" {
		return nil, errors.New("pkcs11: module and token_label are required")
	}
	ctx, err := crypto11.Configure(&crypto11.Config{Path: p.Module, TokenLabel: p.TokenLabel, Pin: p.Pin,
		GCMIVLength: gcmNonceSize})
	if err != nil {
		// crypto11's errors name the module and token, never the PIN.
		return nil, fmt.Errorf("pkcs11: open token %q with %s: %w", p.TokenLabel, p.Module, err)
	}
	p.ctx = ctx
	return ctx, nil
}

// Keys finds the configured keys in the token.
func (p *PKCS11) Keys() ([]Key, error) {
	if p.KeyLabel == "" {
		return nil, errors.New("pkcs11: key_label is required")
	}
	var keys []Key
	for _, label := range append([]string{p.KeyLabel}, p.PreviousKeyLabels...) {
		k, err := p.Load(label)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// Load finds the AES key labelled label.
func (p *PKCS11) Load(label string) (Key, error) {
	ctx, err := p.context()
	if err != nil {
		return nil, err
	}
	found, err := ctx.FindKeys(nil, []byte(label))
	if err != nil {
		return nil, fmt.Errorf("pkcs11: find key %q: %w", label, err)
	}
	if len(found) > 1 {
		return nil, fmt.Errorf("pkcs11: token %q has %d keys labelled %q; labels must name one key", p.TokenLabel, len(found), label)
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("%w: token %q has no key labelled %q; create it with `caddy vault hsm init --key-label %s`",
			ErrNoKey, p.TokenLabel, label, label)
	}
	aead, err := found[0].NewGCM()
	if err != nil {
		return nil, fmt.Errorf("pkcs11: key %q: %w", label, err)
	}
	return &hsmKey{label: label, aead: aead}, nil
}

// Init creates an AES-256 key labelled label in the token, unless one
// exists; created reports which.
func (p *PKCS11) Init(label string) (created bool, err error) {
	if _, err := p.Load(label); err == nil {
		return false, nil
	} else if !errors.Is(err, ErrNoKey) {
		return false, err
	}
	ctx, _ := p.context()
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return false, err
	}
	attrs, err := crypto11.NewAttributeSetWithIDAndLabel(id, []byte(label))
	if err != nil {
		return false, err
	}
	// Sensitive and not extractable are crypto11's defaults; said again
	// here because they are the point.
	if err := attrs.Set(pkcs11.CKA_SENSITIVE, true); err != nil {
		return false, err
	}
	if err := attrs.Set(pkcs11.CKA_EXTRACTABLE, false); err != nil {
		return false, err
	}
	if _, err := ctx.GenerateSecretKeyWithAttributes(attrs, 256, crypto11.CipherAES); err != nil {
		return false, fmt.Errorf("pkcs11: generate key %q: %w", label, err)
	}
	return true, nil
}

// Close logs out and releases the library.
func (p *PKCS11) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ctx == nil {
		return nil
	}
	err := p.ctx.Close()
	p.ctx = nil
	return err
}

// hsmKey is one AES key in the token, used through its AES-GCM.
type hsmKey struct {
	label string
	aead  cipher.AEAD
}

// Seal returns nonce || ciphertext || tag, sealed by the HSM.
func (k *hsmKey) Seal(plaintext, aad []byte) (out []byte, err error) {
	nonce := make([]byte, gcmNonceSize, gcmNonceSize+len(plaintext)+16)
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	defer func() { // crypto11's Seal panics when the token fails
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("pkcs11: seal with key %q: %v", k.label, r)
		}
	}()
	return k.aead.Seal(nonce, nonce, plaintext, aad), nil
}

// Open reverses Seal in the HSM.
func (k *hsmKey) Open(sealed, aad []byte) ([]byte, error) {
	if len(sealed) < gcmNonceSize+16 {
		return nil, errors.New("pkcs11: sealed value too short")
	}
	out, err := k.aead.Open(nil, sealed[:gcmNonceSize], sealed[gcmNonceSize:], aad)
	if err != nil {
		return nil, fmt.Errorf("pkcs11: open with key %q: %w", k.label, err)
	}
	return out, nil
}

// Name is the key's label.
func (k *hsmKey) Name() string { return "HSM key " + k.label }

var (
	_ Wrapper = (*PKCS11)(nil)
	_ Key     = (*hsmKey)(nil)
)
