package runner

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/docker/buildx/util/urlutil"
	"github.com/moby/buildkit/frontend/dockerfile/dfgitutil"

	"github.com/docker-multiarch/docker-multiarch/driver/pathutil"
	"github.com/docker-multiarch/docker-multiarch/driver/registry"
	"github.com/docker-multiarch/docker-multiarch/internal/bounded"
)

// Bounds on what a provenance may ask a rebuild to replay (anyone who can push to the repository
// can write it).
const (
	maxRecordedArgs = 500
	maxRecordedArg  = 4 << 10
)

// argName is a Dockerfile ARG's name, as a build argument recorded in a provenance must be.
var argName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// rebuildOptions turns the records of a reference into the build that rebuilds it: the recorded
// frontend request (mode=max records the build arguments, target and labels) and context, every
// platform, SOURCE_DATE_EPOCH and timestamps as --reproducible sets them, no cache, pushed by
// digest to repo without attestations. A record that cannot be rebuilt, or asks for what a rebuild
// never replays (another frontend, proxies, a context that is not an https git URL pinned to a
// commit), is an error naming it, before anything runs.
func rebuildOptions(o RebuildOptions, repo string, records []registry.BuildRecord) (Options, *RebuildResult, error) {
	res := &RebuildResult{Ref: o.Ref, Platforms: make([]Rebuilt, len(records))}
	bo := Options{Builder: o.Builder, Tags: []string{repo}, PushByDigest: true, NoCache: true, Provenance: "false",
		Progress: o.Progress, Timeout: o.Timeout, Target: o.Target, Reproducible: true}
	if o.ContextPath == "-" || o.File == "-" {
		return bo, res, errors.New("rebuild reads no standard input: give --context DIR and --file PATH")
	}
	if err := sameRequests(records); err != nil {
		return bo, res, err
	}
	for _, rec := range records {
		bo.Platforms = append(bo.Platforms, rec.Platform)
	}
	first := records[0]
	if err := rebuildContext(o, &bo, records, res); err != nil {
		return bo, res, err
	}
	args, ignored, err := replayedArgs(first.Provenance.Args)
	if err != nil {
		return bo, res, err
	}
	if len(first.Provenance.Args) == 0 {
		res.Notes = append(res.Notes, "the provenance is mode=min: it records no build arguments or target (give them with --build-arg and --target; --provenance mode=max records them)")
	}
	if len(ignored) > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("the provenance records %s, which rebuild does not replay", strings.Join(ignored, ", ")))
	}
	epoch, note, err := rebuildEpoch(o, first)
	if err != nil {
		return bo, res, err
	}
	bo.SourceDateEpoch, res.Epoch = epoch, epoch
	if note != "" {
		res.Notes = append(res.Notes, note)
	}
	bo.BuildArgs, bo.Labels = recordedArgs(args, "build-arg:"), recordedArgs(args, "label:")
	bo.BuildArgs = slices.DeleteFunc(bo.BuildArgs, func(kv string) bool { return strings.HasPrefix(kv, sourceDateEpochArg+"=") })
	bo.BuildArgs = append(bo.BuildArgs, o.BuildArgs...)
	if bo.Target == "" {
		bo.Target = args["target"]
	}
	return bo, res, nil
}

// sameRequests checks every record can be rebuilt, and that all were built from the same
// request (but for their platform): one rebuild builds them together.
func sameRequests(records []registry.BuildRecord) error {
	first := records[0]
	for _, rec := range records {
		req := rec.Provenance
		switch {
		case req == nil:
			return fmt.Errorf("%s (image %s) has no provenance attestation to rebuild it from (a push with attestations makes one; a single image without an index has none)", rec.Platform, rec.Image)
		case req.Frontend != "dockerfile.v0":
			return fmt.Errorf("%s was built by frontend %q: only Dockerfile builds (dockerfile.v0) are rebuilt", rec.Platform, bounded.Cut(req.Frontend, 80))
		case req.ConfigURI != first.Provenance.ConfigURI || req.Commit != first.Provenance.Commit || req.ConfigPath != first.Provenance.ConfigPath ||
			!sameArgs(req.Args, first.Provenance.Args):
			return fmt.Errorf("%s was built from another context, commit, Dockerfile or arguments than %s: rebuild each with --platform", rec.Platform, first.Platform)
		}
	}
	return nil
}

// rebuildContext sets where the rebuild reads its context and Dockerfile: --context (a folder or
// URL the user gives), else the git context the provenance recorded, only as an https URL pinned
// to the recorded commit; the Dockerfile is --file, else where the provenance says, inside the
// context (a local one: never outside it, symlinks followed).
func rebuildContext(o RebuildOptions, bo *Options, records []registry.BuildRecord, res *RebuildResult) error {
	req := records[0].Provenance
	path := req.ConfigPath
	if path == "" {
		path = "Dockerfile"
	}
	if !filepath.IsLocal(filepath.FromSlash(path)) || !printableText(path) {
		return fmt.Errorf("the provenance names the Dockerfile %q, which is not a path inside the context: give it with --file", bounded.Cut(path, 200))
	}
	switch {
	case o.ContextPath != "":
		bo.ContextPath = o.ContextPath
	case req.ConfigURI != "":
		uri, err := pinnedGitURL(req.ConfigURI, req.Commit)
		if err != nil {
			return err
		}
		bo.ContextPath = uri
		res.Notes = append(res.Notes, "rebuilding from "+uri+", the context the provenance records (--context overrides it)")
	default:
		return errors.New("the image was built from a local folder: give it with --context DIR")
	}
	switch {
	case o.File != "":
		bo.File = o.File
	case !isLocalContext(bo.ContextPath):
		bo.RemoteFile = path
	default:
		full, err := inside(bo.ContextPath, path)
		if err != nil {
			return err
		}
		bo.File = full
	}
	return nil
}

// inside is a path of a local context, as the OS follows it, refused when it leaves the context.
func inside(dir, rel string) (string, error) {
	root, err := pathutil.Resolve(dir)
	if err != nil {
		return "", err
	}
	full, err := pathutil.Resolve(filepath.Join(root, filepath.FromSlash(rel)))
	if err != nil || !pathutil.Within(full, root) {
		return "", fmt.Errorf("the provenance's Dockerfile %q is not inside %s: give it with --file", rel, dir)
	}
	if st, err := os.Stat(full); err != nil || !st.Mode().IsRegular() {
		return "", fmt.Errorf("the provenance's Dockerfile %q is not a file in %s: give it with --file", rel, dir)
	}
	return full, nil
}

// pinnedGitURL is a recorded git context an https URL at the recorded commit
// (URL#COMMIT[:SUBDIR]); anything else (ssh, plain http, a tarball, no commit) is refused: the
// provenance, which anyone who can push to the repository can write, does not pick where code
// comes from unless it is that plain.
func pinnedGitURL(uri, commit string) (string, error) {
	refuse := func(why string) (string, error) {
		return "", fmt.Errorf("the provenance records the context %q, %s: give the context with --context", bounded.Cut(uri, 200), why)
	}
	commit = strings.ToLower(commit)
	switch {
	case !printableText(uri):
		return refuse("which is not printable")
	case !strings.HasPrefix(uri, "https://"):
		return refuse("which is not an https git URL")
	case strings.Contains(uri, "?"):
		return refuse("whose query is not pinned here")
	case len(commit) != 40 && len(commit) != 64 || strings.Trim(commit, "0123456789abcdef") != "":
		return refuse("without the commit it was built at")
	}
	if _, git, _ := dfgitutil.ParseGitRef(uri); !git {
		return refuse("which is not a git URL")
	}
	base, frag, _ := strings.Cut(uri, "#")
	if _, subdir, ok := strings.Cut(frag, ":"); ok {
		if !filepath.IsLocal(filepath.FromSlash(subdir)) {
			return refuse("whose folder is not inside the repository")
		}
		return base + "#" + commit + ":" + subdir, nil
	}
	return base + "#" + commit, nil
}

// replayedArgs are the recorded frontend attributes a rebuild replays (build arguments, labels,
// target), checked; ignored lists the others. BuildKit's own (BUILDKIT_*: another frontend) and
// proxies are refused, naming them.
func replayedArgs(args map[string]string) (map[string]string, []string, error) {
	if len(args) > maxRecordedArgs {
		return nil, nil, fmt.Errorf("the provenance records %d build attributes, more than the %d rebuild replays", len(args), maxRecordedArgs)
	}
	out, ignored := map[string]string{}, []string(nil)
	for k, v := range args {
		if len(k)+len(v) > maxRecordedArg || !printableText(k) {
			return nil, nil, fmt.Errorf("the provenance records an attribute %q that rebuild does not replay (too long, or not printable)", bounded.Cut(k, 80))
		}
		name, isArg := strings.CutPrefix(k, "build-arg:")
		upper := strings.ToUpper(name)
		switch {
		case isArg && (!argName.MatchString(name) || strings.HasPrefix(upper, "BUILDKIT_") || strings.HasSuffix(upper, "_PROXY")):
			return nil, nil, fmt.Errorf("the provenance records the build argument %q, which rebuild does not replay (it changes the frontend or the network): give it with --build-arg if you mean it", name)
		case isArg, strings.HasPrefix(k, "label:"), k == "target":
			out[k] = v
		case k == "platform", k == "filename", k == "image-resolve-mode", k == "no-cache", strings.HasPrefix(k, "attest:"), sessionBound(k):
		default:
			ignored = append(ignored, fmt.Sprintf("%q", k))
		}
	}
	sort.Strings(ignored)
	return out, ignored, nil
}

func printableText(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0xfffd })
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

// perSolveName is a recorded context value without the name its solve gave it: an OCI layout's
// store (oci-layout://ID[:TAG][@DIGEST], a new ID per solve: its tag and digest say what it held)
// and a tar sent through the session (http://buildkit-session/...).
func perSolveName(k, v string) string {
	if k != "context" && !strings.HasPrefix(k, "context:") {
		return v
	}
	if rest, ok := strings.CutPrefix(v, "oci-layout://"); ok {
		if i := strings.IndexAny(rest, ":@"); i >= 0 {
			return "oci-layout://" + rest[i:]
		}
		return "oci-layout://"
	}
	if strings.HasPrefix(v, "http://buildkit-session/") {
		return "http://buildkit-session/"
	}
	return v
}

// sessionBound: a recorded attribute that names the build's own session (local-sessionid:NAME,
// which solves sharing their local folders set, buildx bake's too): it says nothing of what was
// built, differs between platforms built on different nodes, and means nothing to a rebuild.
func sessionBound(k string) bool { return strings.HasPrefix(k, "local-sessionid:") }

// sameArgs: two platforms' recorded attributes are the same but for their platform and session,
// and the names a build gives its inputs per solve (perSolveName).
func sameArgs(a, b map[string]string) bool {
	strip := func(m map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			if k != "platform" && !sessionBound(k) {
				out[k] = perSolveName(k, v)
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

func isLocalContext(path string) bool { return !urlutil.IsRemoteURL(path) }
