package vault

import (
	"errors"
	"os"

	"github.com/strongroom/strongroom/vault/internal/kernel"
)

// ErrNotReady is Ready's answer when the vault cannot serve: closed, its
// store not answering, or its directory gone from under it.
var ErrNotReady = errors.New("vault: not ready")

// storeHome is the directory the store was opened in, as it was then. A
// volume unmounted or replaced under a running server leaves Pebble's open
// files working until the next flush; comparing identities notices at once.
type storeHome struct {
	path string
	info os.FileInfo
}

func openedHome(path string) storeHome {
	info, _ := os.Stat(path)
	return storeHome{path: path, info: info}
}

func (h storeHome) unchanged() bool {
	if h.path == "" {
		return true // a database server's store has no directory here
	}
	cur, err := os.Stat(h.path)
	return err == nil && h.info != nil && os.SameFile(h.info, cur)
}

// Ready reports whether the vault can serve requests: it is open, its
// store directory is the one it opened, and the store answers a read.
// The error says nothing more than ErrNotReady (it is shown to anyone).
func (v *Vault) Ready() error {
	if v.Closed() || !v.home.unchanged() {
		return ErrNotReady
	}
	if _, err := v.Store().Get([]byte(kernel.MasterRegistryKey)); err != nil {
		return ErrNotReady
	}
	return nil
}
