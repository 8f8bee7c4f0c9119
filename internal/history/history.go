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
	"time"

	"github.com/docker-multiarch/docker-multiarch/internal/atomicfile"
	"github.com/docker-multiarch/docker-multiarch/internal/bounded"
)

// Keep is how many records a store keeps; older ones are removed as new ones are added.
const Keep = 200

// maxRecord caps what is read of one record file.
const maxRecord = 1 << 20

// Outcomes of a record.
const (
	Succeeded   = "succeeded"
	Failed      = "failed"
	Interrupted = "interrupted"
)

// Record is one command's run.
type Record struct {
	ID      string    `json:"id"`
	Command string    `json:"command"` // build, bake or merge
	Builder string    `json:"builder,omitempty"`
	Repos   []string  `json:"repositories,omitempty"` // what it writes, sorted
	Tags    []string  `json:"tags,omitempty"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	Outcome string    `json:"outcome"`
	// Key says which runs are alike (their durations predict each other's): a build's
	// repositories, a bake's files and targets.
	Key string `json:"key,omitempty"`
}

// Duration is how long the run took.
func (r Record) Duration() time.Duration { return r.End.Sub(r.Start) }

// Store is the records of one Docker config.
type Store struct {
	dir  string
	keep int
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
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("history: record %s: %w", r.ID, err)
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("history: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(s.dir, r.ID+".json"), data, 0o600); err != nil {
		return fmt.Errorf("history: %w", err)
	}
	s.trim()
	return nil
}

// List is every record, newest first; a file that is not a record is skipped.
func (s *Store) List() ([]Record, error) {
	if s.dir == "" {
		return nil, nil
	}
	entries, err := os.ReadDir(s.dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	var out []Record
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || !validID(id) || !e.Type().IsRegular() {
			continue
		}
		if r, err := s.read(id); err == nil {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.After(out[j].Start) })
	return out, nil
}

func (s *Store) read(id string) (Record, error) {
	data, err := bounded.ReadFile(filepath.Join(s.dir, id+".json"), maxRecord)
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

// LastDuration is how long the newest successful run of command with key took.
func (s *Store) LastDuration(command, key string) (time.Duration, bool) {
	all, err := s.List()
	if err != nil {
		return 0, false
	}
	for _, r := range all {
		if r.Command == command && r.Outcome == Succeeded && r.Key == key && r.Duration() > 0 {
			return r.Duration(), true
		}
	}
	return 0, false
}

// trim removes the oldest records beyond keep.
func (s *Store) trim() {
	all, err := s.List()
	if err != nil || len(all) <= s.keep {
		return
	}
	for _, r := range all[s.keep:] {
		_ = os.Remove(filepath.Join(s.dir, r.ID+".json"))
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
