package caddymodules

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/strongroom/strongroom/vault/crypto"
)

// validating reports whether this process only validates a config
// (`caddy validate`, `caddy adapt --validate`): Caddy provisions every
// module then, but starts nothing, and gives a module no other way to
// tell. The vault then opens nothing and writes nothing: no data
// directory, no master key, no tenant, no printed key.
func validating() bool {
	return len(os.Args) > 1 && (os.Args[1] == "validate" || os.Args[1] == "adapt")
}

// checkWithoutOpening checks what the vault would need at start without
// touching the disk beyond reading: a readable master key when one is
// named, and a data directory that is a directory when it exists.
func (a *App) checkWithoutOpening() error {
	if fi, err := os.Stat(a.DataDir); err == nil && !fi.IsDir() {
		return fmt.Errorf("vault: data_dir %s is not a directory", a.DataDir)
	}
	if s := os.Getenv(EnvMasterKey); s != "" {
		_, err := crypto.ParseMasterKey(s)
		return err
	}
	path := a.MasterKeyFile
	if path == "" {
		path = filepath.Join(a.DataDir, "master.key")
	}
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) && a.MasterKeyFile == "" {
		return nil // generated at first start
	}
	if err != nil {
		return fmt.Errorf("vault: master key: %w", err)
	}
	if _, err := crypto.ParseMasterKey(string(b)); err != nil {
		return fmt.Errorf("vault: master key %s: %w", path, err)
	}
	return nil
}
