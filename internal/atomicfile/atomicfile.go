// Package atomicfile writes files whole or not at all: a reader never sees half a file.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteFile writes data to path through a temporary file beside it and a rename, with mode perm.
// On failure the temporary file is removed and path is left as it was.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), perm)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// MkdirNoFollow makes each folder of dirs in turn (parents first, mode 0700) where it is missing,
// refusing one that exists and is not a folder: a symlink is not followed, so nothing is written
// outside the place it belongs.
func MkdirNoFollow(dirs ...string) error {
	for _, d := range dirs {
		fi, err := os.Lstat(d)
		switch {
		case os.IsNotExist(err):
			err = os.Mkdir(d, 0o700)
			if os.IsExist(err) { // made by another process meanwhile: what is it?
				fi, err = os.Lstat(d)
				if err == nil && !fi.IsDir() {
					return fmt.Errorf("%s is not a folder (a symlink is not followed)", d)
				}
			}
			if err != nil {
				return err
			}
		case err != nil:
			return err
		case !fi.IsDir():
			return fmt.Errorf("%s is not a folder (a symlink is not followed)", d)
		}
	}
	return nil
}
