package driver

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/distribution/reference"

	"github.com/docker-multiarch/docker-multiarch/internal/atomicfile"
	"github.com/docker-multiarch/docker-multiarch/internal/bounded"
	"github.com/docker-multiarch/docker-multiarch/internal/history"
	"github.com/docker-multiarch/docker-multiarch/internal/redact"
	"github.com/docker-multiarch/docker-multiarch/internal/report"
)

// HistoryRecord is one run of build, bake or merge, as the history keeps it.
type (
	HistoryRecord   = history.Record
	HistoryPlatform = history.PlatformRecord
	HistoryTag      = history.TagRecord
	HistoryStep     = history.StepRecord
)

// NormalizeTag is a tag as the history keeps it ("app" is docker.io/library/app:latest); a value
// that does not parse is returned as it is.
func NormalizeTag(s string) string {
	if t := tagsOf([]string{s}); len(t) == 1 {
		return t[0]
	}
	return s
}

// maxErrorText caps the error a record keeps.
const maxErrorText = 4 << 10

// run is one command's entry in the history, begun when the command starts.
type run struct {
	store *history.Store
	rec   history.Record
	masks []string // values the record must not keep (build arguments'), longest first
}

// historyStore is the history of the Docker config the CLI loaded.
func historyStore(configFile string) *history.Store {
	if configFile == "" {
		return history.Open("")
	}
	return history.Open(filepath.Dir(configFile))
}

// begin starts a record (written when the run ends).
func (m *Manager) begin(command, key string) *run {
	rec := history.Record{ID: history.NewID(), Command: command, Key: key, Start: time.Now(), Args: maskedArgs(os.Args)}
	return &run{store: m.history, rec: rec}
}

// end records how the command ended, with what fill adds (nil: nothing); a record that cannot be
// written is a warning.
func (r *run) end(builder string, tags []string, err error, fill func(*history.Record)) []string {
	r.rec.End, r.rec.Builder = time.Now(), builder
	r.rec.Tags, r.rec.Repos = tagsOf(tags), reposOf(tags)
	r.rec.Outcome = outcome(err)
	if err != nil {
		msg := err.Error()
		for _, v := range r.masks {
			msg = strings.ReplaceAll(msg, v, redact.Mask)
		}
		r.rec.Error = bounded.Cut(redact.Text(msg), maxErrorText)
	}
	if fill != nil {
		fill(&r.rec)
	}
	if werr := r.store.Add(r.rec); werr != nil {
		return []string{"this run is not in the history: " + werr.Error()}
	}
	return nil
}

// buildDetails adds what a build did to its record: each platform's node, BuildKit reference
// and digest, the index, where every tag went, what was signed.
func buildDetails(res *BuildResult, target string) func(*history.Record) {
	return func(r *history.Record) {
		if res.Index.Digest != "" {
			r.Index = res.Index.Digest.String()
		}
		for _, s := range res.Steps {
			p := history.PlatformRecord{Target: target, Platform: s.Platform, Node: s.Node, Emulated: s.Emulated,
				Ref: s.Ref, Digest: s.Digest, Seconds: s.Seconds, Cached: s.Cached, Steps: s.Steps, Reproduced: reproducedNote(s.Reproduced)}
			for _, v := range s.Vertices {
				p.Vertices = append(p.Vertices, history.StepRecord(v))
				if !v.Started.IsZero() && (p.Start.IsZero() || v.Started.Before(p.Start)) {
					p.Start = v.Started
				}
			}
			r.Platforms = append(r.Platforms, p)
		}
		for _, t := range res.Published {
			r.TagMoves = append(r.TagMoves, history.TagRecord{Tag: t.Tag, Before: string(t.Before), After: string(t.Now), Note: t.Note})
		}
		r.Signed += res.Signed.Manifests
	}
}

// reproducedNote is a platform's --verify-reproducible verdict as the history keeps it.
func reproducedNote(r *Reproduction) string {
	switch {
	case r == nil:
		return ""
	case r.Reproduced:
		return "reproduced on " + r.Node
	case r.Error != "":
		return "not checked on " + r.Node
	case r.Digest != "":
		return "differs on " + r.Node
	}
	return ""
}

// maskedArgs is the command line as the history keeps it: the plugin's own arguments, every URL's
// credentials masked and the values of the flags that carry secrets replaced.
func maskedArgs(args []string) []string {
	if len(args) < 2 {
		return nil
	}
	secretFlags := []string{"--build-arg", "--secret", "--set", "--var"}
	var out []string
	maskNext := false
	for _, a := range args[1:] {
		switch name, _, hasValue := strings.Cut(a, "="); {
		case maskNext:
			out, maskNext = append(out, maskValue(a)), false
		case slices.Contains(secretFlags, name) && hasValue:
			out = append(out, name+"="+maskValue(strings.TrimPrefix(a, name+"=")))
		case slices.Contains(secretFlags, a):
			out, maskNext = append(out, a), true
		default:
			out = append(out, redact.Text(a))
		}
	}
	return out
}

// argValues are the values of the build arguments whose names say they are secrets (BuildKit's
// rule, redact.SecretKey; 4 bytes or more), longest first: BuildKit's step names and errors show
// them expanded.
func argValues(args []string) []string {
	var out []string
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			v = os.Getenv(k) // a bare --build-arg KEY takes its value from the environment, as buildx
		}
		if len(v) >= 4 && redact.SecretKey(k) {
			out = append(out, v)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}

// maskValue keeps a KEY=VALUE value's key and masks the rest.
func maskValue(v string) string {
	if k, _, ok := strings.Cut(v, "="); ok {
		return k + "=" + redact.Mask
	}
	return redact.Mask
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

// History lists the records, newest first.
func (m *Manager) History() ([]HistoryRecord, error) { return m.history.List() }

// HistoryRecord is one record by ID.
func (m *Manager) HistoryRecord(id string) (HistoryRecord, error) { return m.history.Get(id) }

// RemoveHistory removes records by ID, all or none.
func (m *Manager) RemoveHistory(ids []string) error { return m.history.Remove(ids) }

// Report writes the HTML report of a recorded run to path (whole or not at all).
func (m *Manager) Report(id, path string) error {
	r, err := m.history.Get(id)
	if err != nil {
		return err
	}
	page, err := report.Render(r)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, page, 0o600) // as private as the history it comes from
}
