package vault

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/strongroom/strongroom/vault/store"
)

// BackupInfo describes a finished backup.
type BackupInfo struct {
	Dir      string        `json:"dir"`
	Bytes    int64         `json:"bytes"`
	Duration time.Duration `json:"duration_ns"`
}

// Backup writes a consistent copy of the store into dir (which must not
// exist or be empty) while the vault serves: every write acknowledged
// before the call is in it. It holds no key: a server started on it needs
// the same master key.
func (v *Vault) Backup(dir string) (BackupInfo, error) {
	cp, ok := v.Store().(store.Checkpointer)
	if !ok {
		return BackupInfo{}, errors.New("this storage backend has no online backup: use the database's own backup tools")
	}
	return backup(dir, cp.Checkpoint)
}

// BackupDataDir backs up the data directory of a stopped server. It needs
// no master key and never creates a store where there is none.
func BackupDataDir(dataDir, dir string) (BackupInfo, error) {
	src := storeDir(dataDir)
	if _, err := os.Stat(src); err != nil {
		return BackupInfo{}, fmt.Errorf("no store in data directory %s: %w", dataDir, err)
	}
	return backup(dir, func(dst string) error { return store.CheckpointPebble(src, dst) })
}

func backup(dir string, checkpoint func(string) error) (BackupInfo, error) {
	if dir == "" {
		return BackupInfo{}, errors.New("backup: an output directory is required")
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return BackupInfo{}, fmt.Errorf("backup: output directory %s is not empty", dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return BackupInfo{}, fmt.Errorf("backup: %w", err)
	}
	start := time.Now()
	if err := checkpoint(storeDir(dir)); err != nil {
		return BackupInfo{}, fmt.Errorf("backup: %w", err)
	}
	info := BackupInfo{Dir: dir, Duration: time.Since(start)}
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err == nil {
			info.Bytes += fi.Size()
		}
		return err
	})
	return info, err
}
