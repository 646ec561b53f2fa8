package vault

import (
	"fmt"
	"path/filepath"

	"github.com/strongroom/strongroom/vault/crypto"
	"github.com/strongroom/strongroom/vault/keywrap"
)

// The key ring (master key versions, tenant key records) is the kernel's
// (internal/kernel/keyring.go); this is where a Core's keys come from.

// localWrapper is the default: the master key from opts, or the key file
// (generated, 0600, only for an empty store).
func (c *Core) localWrapper(opts Options) (*keywrap.Local, error) {
	if opts.MasterKey != nil {
		return &keywrap.Local{Key: opts.MasterKey, PreviousKeyFiles: opts.PreviousMasterKeyFiles}, nil
	}
	path := opts.MasterKeyFile
	if path == "" {
		path = filepath.Join(opts.DataDir, "master.key")
	}
	if opts.Store != nil { // a shared store: never generate a key (cluster.go)
		k, err := sharedStoreMasterKey(opts)
		if err != nil {
			return nil, err
		}
		clear(k)
		return &keywrap.Local{KeyFile: path, PreviousKeyFiles: opts.PreviousMasterKeyFiles}, nil
	}
	if err := refuseNewKeyForData(path, storeDir(opts.DataDir)); err != nil {
		return nil, err
	}
	k, created, err := crypto.LoadOrCreateMasterKeyFile(path)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	clear(k)
	c.Events.MasterKeyGenerated, c.Events.MasterKeyPath = created, path
	return &keywrap.Local{KeyFile: path, PreviousKeyFiles: opts.PreviousMasterKeyFiles}, nil
}
