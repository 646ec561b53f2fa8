package store

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// Store files hold ciphertext, indexes and audit entries: readable by the
// vault's user only, whatever the umask.
const (
	fileMode = 0o600
	dirMode  = 0o700
)

// privateFS is Pebble's default filesystem with owner-only modes: Pebble
// creates files 0666 and directories 0755 (less the umask).
type privateFS struct{ vfs.FS }

func (p privateFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	return chmodded(p.FS.Create(name, c))(name)
}

func (p privateFS) OpenReadWrite(name string, c vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	return chmodded(p.FS.OpenReadWrite(name, c, opts...))(name)
}

func (p privateFS) ReuseForWrite(oldname, newname string, c vfs.DiskWriteCategory) (vfs.File, error) {
	return chmodded(p.FS.ReuseForWrite(oldname, newname, c))(newname)
}

func (p privateFS) MkdirAll(dir string, _ os.FileMode) error { return p.FS.MkdirAll(dir, dirMode) }

func (p privateFS) Lock(name string) (io.Closer, error) {
	c, err := p.FS.Lock(name)
	if err == nil {
		err = os.Chmod(name, fileMode)
		if err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, err
}

// chmodded narrows a file just created (or opened) to fileMode.
func chmodded(f vfs.File, err error) func(name string) (vfs.File, error) {
	return func(name string) (vfs.File, error) {
		if err != nil {
			return nil, err
		}
		if err := os.Chmod(name, fileMode); err != nil {
			f.Close()
			return nil, err
		}
		return f, nil
	}
}

// tightenModes narrows the modes of a store written before modes were
// enforced.
func tightenModes(dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		mode := os.FileMode(fileMode)
		if d.IsDir() {
			mode = dirMode
		}
		if info, err := d.Info(); err == nil && info.Mode().Perm() == mode {
			return nil
		}
		return os.Chmod(path, mode)
	})
}
