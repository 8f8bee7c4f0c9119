package driver

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"time"

	"github.com/distribution/reference"

	"github.com/docker-multiarch/docker-multiarch/internal/history"
)

// run is one command's entry in the history, begun when the command starts.
type run struct {
	store *history.Store
	rec   history.Record
}

// historyStore is the history of the Docker config the CLI loaded.
func historyStore(configFile string) *history.Store {
	if configFile == "" {
		return history.Open("")
	}
	return history.Open(filepath.Dir(configFile))
}

// begin starts a record; expected is how long the last successful run alike took (0: none).
func (m *Manager) begin(command, key string) (r *run, expected time.Duration) {
	expected, _ = m.history.LastDuration(command, key)
	return &run{store: m.history, rec: history.Record{ID: history.NewID(), Command: command, Key: key, Start: time.Now()}}, expected
}

// end records how the command ended; a record that cannot be written is a warning.
func (r *run) end(builder string, tags []string, err error) []string {
	r.rec.End, r.rec.Builder = time.Now(), builder
	r.rec.Tags, r.rec.Repos = tagsOf(tags), reposOf(tags)
	r.rec.Outcome = outcome(err)
	if werr := r.store.Add(r.rec); werr != nil {
		return []string{"this run is not in the history: " + werr.Error()}
	}
	return nil
}

func outcome(err error) string {
	switch {
	case err == nil:
		return history.Succeeded
	case errors.Is(err, context.Canceled):
		return history.Interrupted
	default:
		return history.Failed
	}
}

// tagsOf are the tags that parse, normalized, sorted, once each: never a value as typed.
func tagsOf(tags []string) []string {
	var out []string
	for _, t := range tags {
		if named, err := reference.ParseNormalizedNamed(t); err == nil {
			out = append(out, reference.TagNameOnly(named).String())
		}
	}
	return slices.Compact(slices.Sorted(slices.Values(out)))
}

// reposOf are the repositories of tags, sorted, once each.
func reposOf(tags []string) []string {
	var out []string
	for _, t := range tags {
		if named, err := reference.ParseNormalizedNamed(t); err == nil {
			out = append(out, named.Name())
		}
	}
	return slices.Compact(slices.Sorted(slices.Values(out)))
}
