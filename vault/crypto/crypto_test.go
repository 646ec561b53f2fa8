package crypto

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mr-tron/base58"
)

func TestSealOpenRoundTrip(t *testing.T) {
	key := NewKey()
	for _, pt := range [][]byte{nil, {}, []byte("x"), []byte("4242424242424242"), bytes.Repeat([]byte{0xAB}, 1<<16)} {
		aad := []byte("token\x00tenant\x00id")
		sealed := Seal(key, pt, aad)
		if len(sealed) != 12+len(pt)+16 {
			t.Fatalf("sealed length %d for plaintext of %d bytes", len(sealed), len(pt))
		}
		if len(pt) > 4 && bytes.Contains(sealed, pt) {
			t.Fatal("ciphertext contains the plaintext")
		}
		got, err := Open(key, sealed, aad)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if !bytes.Equal(got, pt) {
			t.Fatalf("round trip: got %q want %q", got, pt)
		}
	}
}

func TestSealIsRandomized(t *testing.T) {
	key := NewKey()
	a, b := Seal(key, []byte("same"), nil), Seal(key, []byte("same"), nil)
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same plaintext are identical (nonce reuse)")
	}
}

func TestOpenFailures(t *testing.T) {
	key := NewKey()
	aad := []byte("aad-1")
	pt := []byte("sensitive value")
	sealed := Seal(key, pt, aad)

	cases := map[string]struct {
		key, sealed, aad []byte
	}{
		"wrong key":       {NewKey(), sealed, aad},
		"wrong aad":       {key, sealed, []byte("aad-2")},
		"nil aad":         {key, sealed, nil},
		"empty input":     {key, nil, aad},
		"nonce only":      {key, sealed[:12], aad},
		"truncated by 1":  {key, sealed[:len(sealed)-1], aad},
		"below overhead":  {key, sealed[:12+15], aad},
		"appended byte":   {key, append(append([]byte(nil), sealed...), 0), aad},
		"truncated front": {key, sealed[1:], aad},
	}
	for i := range sealed {
		tampered := append([]byte(nil), sealed...)
		tampered[i] ^= 0x01
		cases["tampered byte "+string(rune('0'+i%10))+"@"+hex.EncodeToString([]byte{byte(i)})] = struct{ key, sealed, aad []byte }{key, tampered, aad}
	}
	for name, c := range cases {
		got, err := Open(c.key, c.sealed, c.aad)
		if !errors.Is(err, ErrDecrypt) {
			t.Errorf("%s: err = %v, want ErrDecrypt", name, err)
		}
		if got != nil {
			t.Errorf("%s: returned plaintext %q alongside the error", name, got)
		}
	}
}

func TestBadKeyLengthPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Seal with a 5-byte key did not panic")
		}
	}()
	Seal([]byte("short"), []byte("x"), nil)
}

func TestEnvelopeRoundTripAndAADBinding(t *testing.T) {
	kek := NewKey()
	aad := []byte("token\x00tenant-a\x00tok-1")
	pt := []byte(`{"number":"4242424242424242"}`)
	env := SealEnvelope(kek, pt, aad)
	if bytes.Contains(env.Ciphertext, pt) || bytes.Contains(env.WrappedKey, pt) {
		t.Fatal("envelope holds the plaintext")
	}
	got, err := OpenEnvelope(kek, env, aad)
	if err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("OpenEnvelope = %q, %v", got, err)
	}
	// The envelope is bound to its record: another tenant or id fails.
	for _, other := range [][]byte{[]byte("token\x00tenant-b\x00tok-1"), []byte("token\x00tenant-a\x00tok-2"), nil} {
		if _, err := OpenEnvelope(kek, env, other); !errors.Is(err, ErrDecrypt) {
			t.Errorf("OpenEnvelope with aad %q: err = %v, want ErrDecrypt", other, err)
		}
	}
	if _, err := OpenEnvelope(NewKey(), env, aad); !errors.Is(err, ErrDecrypt) {
		t.Errorf("OpenEnvelope with another kek: err = %v", err)
	}
	// Swapping the data key of two envelopes fails.
	env2 := SealEnvelope(kek, pt, aad)
	mixed := Envelope{WrappedKey: env2.WrappedKey, Ciphertext: env.Ciphertext}
	if _, err := OpenEnvelope(kek, mixed, aad); !errors.Is(err, ErrDecrypt) {
		t.Errorf("mixed envelope: err = %v", err)
	}
	// Tampering either half fails.
	t1 := Envelope{WrappedKey: append([]byte(nil), env.WrappedKey...), Ciphertext: env.Ciphertext}
	t1.WrappedKey[20] ^= 1
	t2 := Envelope{WrappedKey: env.WrappedKey, Ciphertext: append([]byte(nil), env.Ciphertext...)}
	t2.Ciphertext[len(t2.Ciphertext)-1] ^= 1
	for _, e := range []Envelope{t1, t2, {}} {
		if _, err := OpenEnvelope(kek, e, aad); !errors.Is(err, ErrDecrypt) {
			t.Errorf("tampered envelope: err = %v", err)
		}
	}
	// Fresh data key per envelope.
	if bytes.Equal(env.WrappedKey, env2.WrappedKey) {
		t.Error("two envelopes share a wrapped key")
	}
}

func TestHashAPIKey(t *testing.T) {
	a := HashAPIKey("key_abc")
	if a != HashAPIKey("key_abc") {
		t.Fatal("hash not stable")
	}
	if len(a) != 64 {
		t.Fatalf("hash %q is not 64 hex chars", a)
	}
	if _, err := hex.DecodeString(a); err != nil {
		t.Fatalf("hash is not hex: %v", err)
	}
	seen := map[string]string{}
	for _, k := range []string{"", "key_abc", "key_abd", "key_ABC", "key_abc ", "x"} {
		h := HashAPIKey(k)
		if prev, dup := seen[h]; dup {
			t.Fatalf("HashAPIKey(%q) == HashAPIKey(%q)", k, prev)
		}
		seen[h] = k
		if strings.Contains(h, k) && k != "" {
			t.Fatalf("hash contains the key")
		}
	}
}

func TestNewAPIKeyShape(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		k := NewAPIKey()
		rest, ok := strings.CutPrefix(k, "key_")
		if !ok {
			t.Fatalf("key %q lacks the key_ prefix", k)
		}
		if strings.ContainsAny(rest, "0OIl+/=_-") {
			t.Fatalf("key %q has characters outside the base58 alphabet", k)
		}
		b, err := base58.Decode(rest)
		if err != nil {
			t.Fatalf("key %q is not base58: %v", k, err)
		}
		if len(b) > 24 || len(rest) < 20 {
			t.Fatalf("key %q decodes to %d bytes", k, len(b))
		}
		if seen[k] {
			t.Fatalf("duplicate key %q", k)
		}
		seen[k] = true
	}
}

func TestMACAndDeriveKey(t *testing.T) {
	k := NewKey()
	if !bytes.Equal(MAC(k, []byte("ab"), []byte("c")), MAC(k, []byte("abc"))) {
		t.Fatal("MAC parts are not concatenated")
	}
	if bytes.Equal(MAC(k, []byte("a")), MAC(NewKey(), []byte("a"))) {
		t.Fatal("MAC ignores the key")
	}
	f, s := DeriveKey(k, "fingerprint"), DeriveKey(k, "search-index")
	if len(f) != KeySize || bytes.Equal(f, s) || bytes.Equal(f, k) {
		t.Fatal("derived keys are not distinct 32-byte keys")
	}
	if !bytes.Equal(f, DeriveKey(k, "fingerprint")) {
		t.Fatal("DeriveKey not deterministic")
	}
}

func TestParseMasterKey(t *testing.T) {
	k := NewKey()
	for name, text := range map[string]string{
		"hex":             hex.EncodeToString(k),
		"hex upper":       strings.ToUpper(hex.EncodeToString(k)),
		"hex whitespace":  "  \n" + hex.EncodeToString(k) + "\n\t",
		"base64":          base64.StdEncoding.EncodeToString(k),
		"base64 trailing": base64.StdEncoding.EncodeToString(k) + "\n",
	} {
		got, err := ParseMasterKey(text)
		if err != nil || !bytes.Equal(got, k) {
			t.Errorf("%s: ParseMasterKey = %x, %v", name, got, err)
		}
	}
	for name, text := range map[string]string{
		"empty":        "",
		"spaces":       "   ",
		"short hex":    hex.EncodeToString(k[:31]),
		"long hex":     hex.EncodeToString(append(k, 1)),
		"bad hex":      strings.Repeat("zz", 32),
		"short base64": base64.StdEncoding.EncodeToString(k[:16]),
		"raw bytes":    string(k),
		"url base64":   strings.Repeat("-_", 22),
	} {
		if got, err := ParseMasterKey(text); err == nil {
			t.Errorf("%s: ParseMasterKey(%q) = %x, want an error", name, text, got)
		}
	}
}

func TestLoadOrCreateMasterKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "nested", "deeper", "master.key")
	k1, created, err := LoadOrCreateMasterKeyFile(path)
	if err != nil || !created || len(k1) != KeySize {
		t.Fatalf("create: key %d bytes, created=%v, err=%v", len(k1), created, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("master key file mode %v, want 0600", st.Mode().Perm())
	}
	k2, created, err := LoadOrCreateMasterKeyFile(path)
	if err != nil || created || !bytes.Equal(k1, k2) {
		t.Fatalf("reload: created=%v err=%v same=%v", created, err, bytes.Equal(k1, k2))
	}
	// A file written by an operator in base64 is accepted too.
	p2 := filepath.Join(dir, "b64.key")
	if err := os.WriteFile(p2, []byte(base64.StdEncoding.EncodeToString(k1)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if k3, created, err := LoadOrCreateMasterKeyFile(p2); err != nil || created || !bytes.Equal(k3, k1) {
		t.Fatalf("base64 file: created=%v err=%v", created, err)
	}
	// A corrupt file is an error, never silently replaced.
	p3 := filepath.Join(dir, "bad.key")
	if err := os.WriteFile(p3, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateMasterKeyFile(p3); err == nil {
		t.Fatal("corrupt key file accepted")
	}
	if b, _ := os.ReadFile(p3); string(b) != "not a key" {
		t.Fatal("corrupt key file was overwritten")
	}
}
