package keywrap

import (
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strongroom/strongroom/vault/crypto"
)

func TestLocalKeys(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cur, prev := crypto.NewKey(), crypto.NewKey()
	l := &Local{KeyFile: write("cur.key", hex.EncodeToString(cur)+"\n"), PreviousKeyFiles: []string{write("prev.key", hex.EncodeToString(prev))}}
	keys, err := l.Keys()
	if err != nil || len(keys) != 2 {
		t.Fatalf("Keys: %d %v", len(keys), err)
	}
	sealed, err := keys[0].Seal([]byte("tenant key"), []byte("aad"))
	if err != nil {
		t.Fatal(err)
	}
	// The layout every tenant key had before wrappers: crypto.Seal.
	if got, err := crypto.Open(cur, sealed, []byte("aad")); err != nil || string(got) != "tenant key" {
		t.Fatalf("local seal is not crypto.Seal: %q %v", got, err)
	}
	if _, err := keys[1].Open(sealed, []byte("aad")); err == nil {
		t.Error("the previous key opened the current key's seal")
	}
	if _, err := keys[0].Open(sealed, []byte("other")); err == nil {
		t.Error("a seal opened with other associated data")
	}
	if !strings.Contains(keys[0].Name(), "cur.key") || strings.Contains(keys[0].Name(), hex.EncodeToString(cur)) {
		t.Errorf("name %q", keys[0].Name())
	}
	if _, err := l.Load(filepath.Join(dir, "missing.key")); !errors.Is(err, ErrNoKey) {
		t.Errorf("missing file: %v, want ErrNoKey", err)
	}
	secret := strings.Repeat("zz", 32)
	if _, err := l.Load(write("bad.key", secret)); err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("malformed file: %v (must fail without echoing the file)", err)
	}
	if _, err := (&Local{}).Keys(); err == nil {
		t.Error("no key configured: no error")
	}
}
