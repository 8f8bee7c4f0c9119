package history

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
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
	Key  string   `json:"key,omitempty"`
	Args []string `json:"args,omitempty"` // the command line, secret values masked
	// BuildKey says which builds are the same build (a hash of the context, Dockerfiles, target
	// and builder): the nodes of the last one hold its cache.
	BuildKey  string           `json:"buildKey,omitempty"`
	Index     string           `json:"index,omitempty"`
	Platforms []PlatformRecord `json:"platforms,omitempty"`
	TagMoves  []TagRecord      `json:"tagMoves,omitempty"`
	Signed    int              `json:"signed,omitempty"` // manifests signed before the tags moved
	Error     string           `json:"error,omitempty"`
}

// PlatformRecord is one platform's build: where it ran, its BuildKit history reference on that
// node (BUILDER/NODE/REF), what it made.
type PlatformRecord struct {
	Target   string       `json:"target,omitempty"` // a bake's target
	Platform string       `json:"platform"`
	Node     string       `json:"node,omitempty"`
	Emulated bool         `json:"emulated,omitempty"`
	Ref      string       `json:"ref,omitempty"`
	Digest   string       `json:"digest,omitempty"`
	Seconds  float64      `json:"seconds,omitempty"`
	Start    time.Time    `json:"start,omitzero"`
	Cached   int          `json:"cachedSteps,omitempty"`
	Steps    int          `json:"steps,omitempty"`
	Vertices []StepRecord `json:"vertices,omitempty"` // BuildKit's steps, as the build saw them
	// Reproduced is how --verify-reproducible's second build compared ("reproduced on NODE",
	// "differs on NODE", "not checked on NODE"); "" without the check.
	Reproduced string `json:"reproduced,omitempty"`
}

// StepRecord is one of BuildKit's steps of a platform's build.
type StepRecord struct {
	Name      string    `json:"name"`
	Started   time.Time `json:"started,omitzero"`
	Completed time.Time `json:"completed,omitzero"`
	Cached    bool      `json:"cached,omitempty"`
	Error     string    `json:"error,omitempty"`
}

// TagRecord is where a tag pointed before the run and after it.
type TagRecord struct {
	Tag    string `json:"tag"`
	Before string `json:"before,omitempty"` // "": it did not exist
	After  string `json:"after,omitempty"`  // "": it does not exist
	Note   string `json:"note,omitempty"`
}

// Get is one record by ID.
func (s *Store) Get(id string) (Record, error) {
	if !validID(id) || s.dir == "" {
		return Record{}, fmt.Errorf("no build %q in the history", id)
	}
	r, err := s.read(id)
	if err != nil {
		return Record{}, fmt.Errorf("no build %q in the history", id)
	}
	return r, nil
}

// Remove deletes records by ID; every ID must name one (none is removed otherwise).
func (s *Store) Remove(ids []string) error {
	for _, id := range ids {
		if _, err := s.Get(id); err != nil {
			return err
		}
	}
	for _, id := range ids {
		if err := os.Remove(filepath.Join(s.dir, id+".json")); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("history: %w", err)
		}
	}
	return nil
}

// Duration is how long the run took.
func (r Record) Duration() time.Duration { return r.End.Sub(r.Start) }
