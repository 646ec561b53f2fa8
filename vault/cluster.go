package vault

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/strongroom/strongroom/vault/crypto"
)

// ErrNoMasterKey is Open's refusal to serve a shared store (cluster mode)
// without a configured master key: every node must unwrap the same tenant
// keys, so a node never generates one.
var ErrNoMasterKey = errors.New("vault: cluster mode (a shared database) needs the master key every node shares: set STRONGROOM_MASTER_KEY or master_key_file; a node never generates one")

// sharedStoreMasterKey reads the configured master key file for a shared
// store; a missing file is ErrNoMasterKey, never a new key.
func sharedStoreMasterKey(opts Options) ([]byte, error) {
	path := opts.MasterKeyFile
	if path == "" {
		path = filepath.Join(opts.DataDir, "master.key")
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w (no key file at %s)", ErrNoMasterKey, path)
	}
	if err != nil {
		return nil, fmt.Errorf("vault: read master key file: %w", err)
	}
	k, err := crypto.ParseMasterKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("vault: master key file %s: %w", path, err)
	}
	return k, nil
}
