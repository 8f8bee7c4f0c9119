package bounded

import (
	"fmt"
	"os"
)

// ReadRegular reads a regular file of at most limit bytes, refusing anything else before reading
// it: a symlink is not followed, and a FIFO (which would block the read), a device or a folder is
// refused. The file is opened without following a symlink and without blocking (where the system
// has those), and checked again once open, so a file swapped in between is refused too.
func ReadRegular(path string, limit int64) ([]byte, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, notRegular(path, fi.Mode())
	}
	f, err := os.OpenFile(path, os.O_RDONLY|openNoFollow, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	opened, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !opened.Mode().IsRegular() {
		return nil, notRegular(path, opened.Mode())
	}
	if !os.SameFile(fi, opened) { // swapped between the look and the open (a symlink followed, where nothing refuses one)
		return nil, fmt.Errorf("%s changed while it was opened: not read", path)
	}
	return Read(f, limit, path)
}

func notRegular(path string, m os.FileMode) error {
	what := "not a regular file"
	switch {
	case m&os.ModeSymlink != 0:
		what = "a symlink (not followed)"
	case m&os.ModeNamedPipe != 0:
		what = "a FIFO"
	case m.IsDir():
		what = "a folder"
	case m&os.ModeDevice != 0:
		what = "a device"
	}
	return fmt.Errorf("%s is %s, not a regular file", path, what)
}
