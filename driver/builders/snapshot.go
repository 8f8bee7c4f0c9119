package builders

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/docker/buildx/util/confutil"
)

// The files of buildx's store (under confutil.Config.Dir()) that create writes:
//   - instances/NAME: the builder (store.Txn.Save);
//   - activity/NAME: its last activity (store.Txn.Save, through UpdateLastActivity);
//   - current, and defaults/HASH of the Docker endpoint: the current builder (store.Txn.SetCurrent,
//     which writes the first and removes the second unless it makes the builder the default).
//
// builder.New and Builder.LoadNodes by name, and booting a node, write none of them.

// builderFiles are the store files of a builder.
func builderFiles(name string) []string {
	return []string{filepath.Join("instances", name), filepath.Join("activity", name)}
}

// currentFiles are the store files that say which builder is current for a Docker endpoint.
func currentFiles(endpoint string) []string {
	return []string{"current", filepath.Join("defaults", endpointHash(endpoint))}
}

// endpointHash is buildx's name for an endpoint's default-builder file (store.toHash: the first
// 20 hex digits of its sha256 digest).
func endpointHash(endpoint string) string {
	sum := sha256.Sum256([]byte(endpoint))
	return hex.EncodeToString(sum[:])[:20]
}

// storeFile is one file of buildx's store as it was, or its absence.
type storeFile struct {
	rel    string // path under the buildx config dir
	exists bool
	data   []byte
	mode   fs.FileMode
}

func readStoreFile(cfg *confutil.Config, rel string) (storeFile, error) {
	f := storeFile{rel: rel}
	p := filepath.Join(cfg.Dir(), rel)
	st, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return f, fmt.Errorf("reading %s: %w", p, err)
	}
	if f.data, err = os.ReadFile(p); err != nil {
		return f, fmt.Errorf("reading %s: %w", p, err)
	}
	f.exists, f.mode = true, st.Mode().Perm()
	return f, nil
}

func (f storeFile) same(g storeFile) bool {
	return f.exists == g.exists && bytes.Equal(f.data, g.data)
}

// put writes the file back as it was, atomically, or removes it when it did not exist.
func (f storeFile) put(cfg *confutil.Config) error {
	if f.exists {
		return cfg.AtomicWriteFile(f.rel, f.data, f.mode)
	}
	if err := os.Remove(filepath.Join(cfg.Dir(), f.rel)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// fileSet holds store files that create writes together, to put them back byte for byte (buildx's
// own rollback, Txn.Save of a NodeGroup.Copy, loses pinned platforms and rewrites the activity;
// Txn.Remove deletes more than create wrote). Once
// marked, it is only put back while its first file is still as create left it: if another process
// wrote it since (the store lock is not held while BuildKit boots), its change is kept.
type fileSet struct {
	cfg    *confutil.Config
	what   string // what the files are, for errors: `builder "x"`
	before []storeFile
	wrote  *storeFile // the first file as create left it; nil until marked
}

// snapshotFiles reads the files (paths under the buildx config dir) as they are now.
func snapshotFiles(cfg *confutil.Config, what string, rels ...string) (*fileSet, error) {
	s := &fileSet{cfg: cfg, what: what}
	for _, rel := range rels {
		f, err := readStoreFile(cfg, rel)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		s.before = append(s.before, f)
	}
	return s, nil
}

// mark records the first file as create left it, before the store lock is let go. A nil set
// (nothing written) marks and restores as a no-op.
func (s *fileSet) mark() error {
	if s == nil {
		return nil
	}
	f, err := readStoreFile(s.cfg, s.before[0].rel)
	if err != nil {
		return fmt.Errorf("%s: %w", s.what, err)
	}
	s.wrote = &f
	return nil
}

// errChanged says that another process changed the files since create wrote them.
var errChanged = errors.New("changed by another process meanwhile; its change is kept")

// restore puts every file back as the snapshot found it. The store lock must be held.
func (s *fileSet) restore() error {
	if s == nil {
		return nil
	}
	if s.wrote != nil {
		now, err := readStoreFile(s.cfg, s.wrote.rel)
		if err != nil {
			return fmt.Errorf("%s: %w", s.what, err)
		}
		if !now.same(*s.wrote) {
			return fmt.Errorf("%s: %s %w", s.what, filepath.Join(s.cfg.Dir(), s.wrote.rel), errChanged)
		}
	}
	var errs []error
	for _, f := range s.before {
		if err := f.put(s.cfg); err != nil {
			errs = append(errs, fmt.Errorf("%s: putting back %s: %w", s.what, filepath.Join(s.cfg.Dir(), f.rel), err))
		}
	}
	return errors.Join(errs...)
}
