// Package history keeps a local record of every build, bake and merge this Docker config ran:
// what it wrote, when it started and ended, and how it ended. One JSON file per record under
// DOCKER_CONFIG/multiarch/history, written whole or not at all; the newest Keep are kept.
package history

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/docker-multiarch/docker-multiarch/internal/atomicfile"
	"github.com/docker-multiarch/docker-multiarch/internal/bounded"
)

// Keep is how many records a store keeps; older ones are removed as new ones are added.
const Keep = 200

// maxRecord caps what is read of one record file; a store reads at most readLimit*keep files (the
// newest by their time), so a folder filled with junk costs a bounded read.
const (
	maxRecord = 1 << 20
	readLimit = 2
	// skew is how far in the future a record's start may be (another machine's clock) before it
	// counts as the oldest: a record from a wrong clock never stays "newest".
	skew = time.Hour
	// staleTemp is the age of a temporary file (a write a killed process left) that is removed.
	staleTemp = time.Hour
)

// Outcomes of a record.
const (
	Succeeded   = "succeeded"
	Failed      = "failed"
	Interrupted = "interrupted"
)

// Store is the records of one Docker config.
type Store struct {
	dir   string
	keep  int
	reads atomic.Int64 // record files read (what the tests count)
}

// Open is the store of the Docker config in configDir ("": none; nothing is recorded or found).
func Open(configDir string) *Store {
	if configDir == "" {
		return &Store{}
	}
	return &Store{dir: filepath.Join(configDir, "multiarch", "history"), keep: Keep}
}

// NewID is a new record's ID: 16 random hex digits.
func NewID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Add writes a record, then removes the oldest beyond Keep.
func (s *Store) Add(r Record) error {
	if s.dir == "" {
		return nil
	}
	if !validID(r.ID) {
		return fmt.Errorf("history: invalid record ID %q", r.ID)
	}
	data, err := fitting(r)
	if err != nil {
		return fmt.Errorf("history: record %s: %w", r.ID, err)
	}
	if err := s.mkdir(); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(s.dir, r.ID+".json"), data, 0o600); err != nil {
		return fmt.Errorf("history: %w", err)
	}
	s.trim(r.ID)
	return nil
}

// mkdir makes the store's folders, refusing a folder that is a symlink (records are written in
// their place only).
func (s *Store) mkdir() error {
	if err := atomicfile.MkdirNoFollow(filepath.Dir(s.dir), s.dir); err != nil {
		return fmt.Errorf("history: %w", err)
	}
	return nil
}

// List is the records, newest first (a start in the future beyond skew counts as the oldest);
// a file that is not a record is skipped, and at most readLimit*keep files are read.
func (s *Store) List() ([]Record, error) {
	if !s.readable() {
		return nil, nil
	}
	var out []Record
	for _, id := range s.newestFiles() {
		if r, err := s.read(id); err == nil {
			out = append(out, r)
		}
	}
	horizon := time.Now().Add(skew)
	when := func(r Record) time.Time {
		if r.Start.After(horizon) {
			return time.Time{}
		}
		return r.Start
	}
	sort.SliceStable(out, func(i, j int) bool { return when(out[i]).After(when(out[j])) })
	return out, nil
}

// readable says whether the store has a folder to read: none yet, or one that is not a folder
// of ours (a symlink), has no records.
func (s *Store) readable() bool {
	if s.dir == "" {
		return false
	}
	fi, err := os.Lstat(s.dir)
	return err == nil && fi.IsDir()
}

// newestFiles are the IDs of the record files, newest file first (a file written beyond skew in
// the future counts as the oldest: a copied or touched file never stays newest), at most
// readLimit*keep.
func (s *Store) newestFiles() []string {
	horizon := time.Now().Add(skew)
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil
	}
	type file struct {
		id  string
		mod time.Time
	}
	var files []file
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || !validID(id) || !e.Type().IsRegular() {
			continue
		}
		if fi, err := e.Info(); err == nil {
			mod := fi.ModTime()
			if mod.After(horizon) {
				mod = time.Time{}
			}
			files = append(files, file{id, mod})
		}
	}
	sort.SliceStable(files, func(i, j int) bool { return files[i].mod.After(files[j].mod) })
	out := make([]string, 0, len(files))
	for i, f := range files {
		if s.keep > 0 && i >= readLimit*s.keep {
			break
		}
		out = append(out, f.id)
	}
	return out
}

func (s *Store) read(id string) (Record, error) {
	s.reads.Add(1)
	data, err := bounded.ReadRegular(filepath.Join(s.dir, id+".json"), maxRecord)
	if err != nil {
		return Record{}, err
	}
	var r Record
	if err := json.Unmarshal(data, &r); err != nil || r.ID != id {
		return Record{}, fmt.Errorf("history: %s is not a record", id)
	}
	return r, nil
}

// Key is the key of runs alike: the values sorted, once each.
func Key(values ...string) string {
	return strings.Join(slices.Compact(slices.Sorted(slices.Values(values))), " ")
}

// trim removes the oldest records beyond keep, by when each was written (never the one just
// written; a file is read first, and removed only when it is a record), and temporary files a
// killed write left. In a store at its size, one file is read. A file named as a record that is
// not one is never removed, and takes a place among the keep newest.
func (s *Store) trim(keepID string) {
	files := s.newestFiles()
	for _, id := range files[min(s.keep, len(files)):] {
		if _, err := s.read(id); err == nil && id != keepID {
			_ = os.Remove(filepath.Join(s.dir, id+".json"))
		}
	}
	entries, _ := os.ReadDir(s.dir)
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && strings.HasPrefix(e.Name(), ".") && fi.Mode().IsRegular() && time.Since(fi.ModTime()) > staleTemp {
			_ = os.Remove(filepath.Join(s.dir, e.Name()))
		}
	}
}

// validID: hex digits only, so an ID is always a plain file name.
func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}

// fitting is the record encoded within maxRecord, so that it reads back: when its steps make it
// larger, they are thinned (the cached ones first, then all but the failed ones, then all; the
// counts stay).
func fitting(r Record) ([]byte, error) {
	thin := []func(StepRecord) bool{
		func(s StepRecord) bool { return s.Cached },
		func(s StepRecord) bool { return s.Error == "" },
		func(StepRecord) bool { return true },
	}
	for i := 0; ; i++ {
		data, err := json.MarshalIndent(r, "", "  ")
		if err != nil || len(data) <= maxRecord || i == len(thin) {
			if err == nil && len(data) > maxRecord {
				err = fmt.Errorf("%d bytes even without its steps (at most %d)", len(data), maxRecord)
			}
			return data, err
		}
		r.Platforms = slices.Clone(r.Platforms)
		for p := range r.Platforms {
			r.Platforms[p].Vertices = slices.DeleteFunc(slices.Clone(r.Platforms[p].Vertices), thin[i])
		}
	}
}
