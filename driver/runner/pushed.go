package runner

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"github.com/distribution/reference"
	"github.com/docker-multiarch/docker-multiarch/contexts"
	"github.com/docker-multiarch/docker-multiarch/internal/bounded"
	"github.com/opencontainers/go-digest"
)

// PushedImage is a result a build pushed by digest (an image, or an index with its attestations):
// what `merge --from-metadata` publishes. It is recorded in --metadata-file under
// "multiarch.pushed" (see docs/ci/README.md).
type PushedImage struct {
	Repositories []string `json:"repositories"`
	Digest       string   `json:"digest"`
	Platforms    []string `json:"platforms"`
}

// pushedKey is the --metadata-file key of the results pushed by digest.
const pushedKey = "multiarch.pushed"

// pushedRecord is the value under pushedKey.
type pushedRecord struct {
	Version   int           `json:"version"`
	Platforms []string      `json:"platforms"` // the platforms the build was asked for
	Images    []PushedImage `json:"images"`
}

func recordPushed(st *runState) {
	p, res, descs := st.p, st.res, st.descs
	for i, d := range descs {
		res.Pushed = append(res.Pushed, PushedImage{Repositories: p.repos, Digest: d.Digest.String(), Platforms: []string{res.Steps[i].Platform}})
	}
}

// Split is what `merge --from-metadata` found in the metadata files of split builds.
type Split struct {
	Sources   []string // REPO@DIGEST of every pushed result, in file order
	Platforms []string // every platform, once
}

// ReadSplit reads the --metadata-file of split builds (files, or every *.json of a directory) and
// returns their pushed results. A platform pushed by two files, or asked for and not pushed, is
// named before anything is written.
func ReadSplit(paths []string) (Split, error) {
	files, err := metadataFiles(paths)
	if err != nil {
		return Split{}, err
	}
	var out Split
	from := map[string]string{} // platform -> file
	var errs []error
	for _, f := range files {
		rec, err := readPushed(f)
		if err != nil {
			return Split{}, err
		}
		pushed := map[string]bool{}
		for _, img := range rec.Images {
			if err := checkPushed(img); err != nil {
				return Split{}, fmt.Errorf("--from-metadata %s: %s: %w", f, pushedKey, err)
			}
			out.Sources = append(out.Sources, img.Repositories[0]+"@"+img.Digest)
			for _, p := range img.Platforms {
				pushed[p] = true
				if other, ok := from[p]; ok {
					errs = append(errs, fmt.Errorf("platform %s is in both %s and %s", p, other, f))
					continue
				}
				from[p] = f
				out.Platforms = append(out.Platforms, p)
			}
		}
		for _, p := range rec.Platforms {
			if !pushed[p] {
				errs = append(errs, fmt.Errorf("platform %s was asked of the build of %s but not pushed", p, f))
			}
		}
	}
	if len(errs) > 0 {
		return Split{}, fmt.Errorf("nothing written: %w", errors.Join(errs...))
	}
	return out, nil
}

// checkPushed checks what a metadata file (untrusted: written by another machine, or edited)
// says was pushed: repositories by name only, a digest, platforms, before anything is asked of a
// registry.
func checkPushed(img PushedImage) error {
	if len(img.Repositories) == 0 {
		return fmt.Errorf("image %q has no repository", img.Digest)
	}
	for _, r := range img.Repositories {
		named, err := reference.ParseNormalizedNamed(r)
		if err != nil || !reference.IsNameOnly(named) {
			return fmt.Errorf("image %q: repository %q is not a repository name", img.Digest, r)
		}
	}
	if _, err := digest.Parse(img.Digest); err != nil {
		return fmt.Errorf("image digest %q: %w", img.Digest, err)
	}
	for _, p := range img.Platforms {
		if _, err := contexts.ParsePlatform(p); err != nil {
			return fmt.Errorf("image %s: %w", img.Digest, err)
		}
	}
	return nil
}

// metadataFiles expands directories into their *.json files, sorted.
func metadataFiles(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("--from-metadata %s: %w", p, err)
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		matches, err := filepath.Glob(filepath.Join(p, "*.json"))
		if err != nil {
			return nil, err
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("--from-metadata %s: no *.json file in the directory", p)
		}
		sort.Strings(matches)
		out = append(out, matches...)
	}
	if len(out) == 0 {
		return nil, errors.New("--from-metadata needs at least one file or directory")
	}
	return slices.Compact(out), nil
}

// maxMetadataSize bounds a --metadata-file read back by merge --from-metadata (a few KiB each).
const maxMetadataSize = 4 << 20

func readPushed(path string) (pushedRecord, error) {
	dt, err := bounded.ReadFile(path, maxMetadataSize)
	if err != nil {
		return pushedRecord{}, fmt.Errorf("--from-metadata %s: %w", path, err)
	}
	var md map[string]json.RawMessage
	if err := json.Unmarshal(dt, &md); err != nil {
		return pushedRecord{}, fmt.Errorf("--from-metadata %s: %w", path, err)
	}
	raw, ok := md[pushedKey]
	if !ok {
		return pushedRecord{}, fmt.Errorf("--from-metadata %s: no %q: not the --metadata-file of a build that pushed (build --push-by-digest --metadata-file %s)",
			path, pushedKey, filepath.Base(path))
	}
	var rec pushedRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return pushedRecord{}, fmt.Errorf("--from-metadata %s: %s: %w", path, pushedKey, err)
	}
	if rec.Version != 1 {
		return pushedRecord{}, fmt.Errorf("--from-metadata %s: %s version %d, want 1", path, pushedKey, rec.Version)
	}
	return rec, nil
}
