package runner

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/docker/buildx/util/urlutil"
	"github.com/moby/buildkit/frontend/dockerfile/dfgitutil"

	"github.com/docker-multiarch/docker-multiarch/driver/registry"
	"github.com/docker-multiarch/docker-multiarch/internal/redact"
)

// rebuildOptions turns the records of a reference into the build that rebuilds it: the recorded
// frontend request (mode=max records the build arguments, target and labels) and context, every
// platform, SOURCE_DATE_EPOCH and timestamps as --reproducible sets them, no cache, pushed by
// digest to repo without attestations. A record that cannot be rebuilt is an error naming its
// platform, before anything runs.
func rebuildOptions(o RebuildOptions, repo string, records []registry.BuildRecord) (Options, *RebuildResult, error) {
	res := &RebuildResult{Ref: o.Ref, Platforms: make([]Rebuilt, len(records))}
	bo := Options{Builder: o.Builder, Tags: []string{repo}, PushByDigest: true, NoCache: true, Provenance: "false",
		Progress: o.Progress, Timeout: o.Timeout, Target: o.Target, Reproducible: true}
	first := records[0]
	for _, rec := range records {
		req := rec.Provenance
		if req == nil {
			return bo, res, fmt.Errorf("%s (image %s) has no provenance attestation to rebuild it from (a push makes one unless --provenance=false)", rec.Platform, rec.Image)
		}
		if req.Frontend != "dockerfile.v0" {
			return bo, res, fmt.Errorf("%s was built by frontend %q: only Dockerfile builds (dockerfile.v0) are rebuilt", rec.Platform, req.Frontend)
		}
		if req.ConfigURI != first.Provenance.ConfigURI || !sameArgs(req.Args, first.Provenance.Args) {
			return bo, res, fmt.Errorf("%s was built from another context or with other arguments than %s: rebuild each with --platform", rec.Platform, first.Platform)
		}
		bo.Platforms = append(bo.Platforms, rec.Platform)
	}
	if err := rebuildContext(o, first, &bo, records); err != nil {
		return bo, res, err
	}
	epoch, note, err := rebuildEpoch(o.SourceDateEpoch, first)
	if err != nil {
		return bo, res, err
	}
	bo.SourceDateEpoch, res.Epoch = epoch, epoch
	if note != "" {
		res.Notes = append(res.Notes, note)
	}
	args := first.Provenance.Args
	if len(args) == 0 {
		res.Notes = append(res.Notes, "the provenance is mode=min: it records no build arguments or target (give them with --build-arg and --target; --provenance mode=max records them)")
	}
	bo.BuildArgs, bo.Labels = recordedArgs(args, "build-arg:"), recordedArgs(args, "label:")
	bo.BuildArgs = slices.DeleteFunc(bo.BuildArgs, func(kv string) bool { return strings.HasPrefix(kv, sourceDateEpochArg+"=") })
	bo.BuildArgs = append(bo.BuildArgs, o.BuildArgs...)
	if bo.Target == "" {
		bo.Target = args["target"]
	}
	return bo, res, nil
}

// rebuildContext sets where the rebuild reads its context and Dockerfile: --context, else the
// remote context the provenance recorded; the Dockerfile where the provenance says, or --file.
func rebuildContext(o RebuildOptions, first registry.BuildRecord, bo *Options, records []registry.BuildRecord) error {
	req := first.Provenance
	remote := req.ConfigURI != "" && urlutil.IsRemoteURL(req.ConfigURI)
	switch {
	case o.ContextPath != "":
		bo.ContextPath = o.ContextPath
	case remote:
		bo.ContextPath = pinCommit(req.ConfigURI, req.Commit)
	default:
		return errors.New("the image was built from a local folder: give it with --context DIR")
	}
	if o.File != "" {
		bo.File = o.File
		return nil
	}
	if !remote || o.ContextPath != "" {
		for _, rec := range records {
			path := rec.Provenance.ConfigPath
			if path == "" {
				path = "Dockerfile"
			}
			full := filepath.Join(bo.ContextPath, filepath.FromSlash(path))
			if st, err := os.Stat(full); err != nil || st.IsDir() {
				return fmt.Errorf("%s was built from a Dockerfile named %s, which is not in %s: give it with --file", rec.Platform, redact.URL(path), bo.ContextPath)
			}
			bo.FileFor = append(bo.FileFor, rec.Platform+"="+full)
		}
		return nil
	}
	bo.File = req.ConfigPath
	return nil
}

// pinCommit points a git context at the commit its provenance recorded (URL#COMMIT[:SUBDIR]), so a
// branch that moved since is not what is rebuilt; other URLs are kept as they are.
func pinCommit(uri, commit string) string {
	if len(commit) != 40 || strings.Trim(commit, "0123456789abcdef") != "" || strings.Contains(uri, "?") {
		return uri // a query form (?ref=&subdir=) is kept as BuildKit recorded it
	}
	if _, git, _ := dfgitutil.ParseGitRef(uri); !git {
		return uri
	}
	base, frag, _ := strings.Cut(uri, "#")
	_, subdir, hasSub := strings.Cut(frag, ":")
	if hasSub {
		return base + "#" + commit + ":" + subdir
	}
	return base + "#" + commit
}

// recordedArgs are the recorded frontend attributes with prefix, as KEY=VALUE, sorted.
func recordedArgs(args map[string]string, prefix string) []string {
	var out []string
	for k, v := range args {
		if key, ok := strings.CutPrefix(k, prefix); ok && key != "" {
			out = append(out, key+"="+v)
		}
	}
	sort.Strings(out)
	return out
}

// sameArgs: two platforms' recorded attributes are the same but for their platform.
func sameArgs(a, b map[string]string) bool {
	strip := func(m map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			if k != "platform" {
				out[k] = v
			}
		}
		return out
	}
	x, y := strip(a), strip(b)
	if len(x) != len(y) {
		return false
	}
	for k, v := range x {
		if y[k] != v {
			return false
		}
	}
	return true
}
