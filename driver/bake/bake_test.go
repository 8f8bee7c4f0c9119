package bake

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/docker-multiarch/docker-multiarch/driver/plan"
	"github.com/docker-multiarch/docker-multiarch/driver/registry"
	"github.com/docker-multiarch/docker-multiarch/driver/runner"
	"github.com/docker-multiarch/docker-multiarch/driver/spec"
)

// fakeRunner builds a target by its context path: it records the options, fails where told,
// writes an OCI archive for an oci output and leaves the publish to the bake (DeferPublish).
type fakeRunner struct {
	mu        sync.Mutex
	order     []string
	opts      map[string]runner.Options
	fail      map[string]error
	loads     []string         // targets whose --load ran, in order
	loadFails map[string]error // a target's --load fails so
	released  int
}

func (f *fakeRunner) Build(ctx context.Context, o runner.Options, _ io.Reader, _ io.Writer) (*runner.Result, error) {
	name := o.ContextPath
	f.mu.Lock()
	f.order, f.opts[name] = append(f.order, name), o
	f.mu.Unlock()
	res := &runner.Result{Builder: "farm", DryRun: o.DryRun, Tags: o.Tags}
	for _, p := range o.Platforms {
		res.Steps = append(res.Steps, runner.StepResult{Step: plan.Step{Platform: p, Node: "n"}})
	}
	if err := f.fail[name]; err != nil {
		return res, err
	}
	for _, out := range outputTexts(o) {
		if dest, ok := strings.CutPrefix(out, "type=oci,dest="); ok {
			if _, err := writeOCIArchive(dest, []byte("image of "+name)); err != nil {
				return res, err
			}
		}
	}
	if pushesTo(o) && o.DeferPublish {
		res.Deferred = &registry.PublishSet{Repo: "r/" + name, Tags: o.Tags, Platforms: o.Platforms,
			Results: []ocispec.Descriptor{{Digest: digest.FromString(name)}}}
	}
	loads := o.Load || slices.ContainsFunc(outputTexts(o), func(out string) bool { return strings.HasPrefix(out, "type=docker") })
	if loads && o.DeferPublish { // as the runner hands a bake's --load back: to run after the publish
		res.Deliver = func(context.Context) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.loads = append(f.loads, name)
			return f.loadFails[name]
		}
		res.Release = func() { f.mu.Lock(); f.released++; f.mu.Unlock() }
	}
	if o.MetadataFile != "" {
		if err := os.WriteFile(o.MetadataFile, []byte(`{"multiarch.builder": "farm"}`), 0o600); err != nil {
			return res, err
		}
	}
	return res, ctx.Err()
}

// outputTexts are a build's outputs as text: its -o values, then those given typed.
func outputTexts(o runner.Options) []string {
	out := slices.Clone(o.Outputs)
	for _, e := range o.Entries.Outputs {
		out = append(out, strings.Join(e.Fields, ","))
	}
	return out
}

// pushesTo is the runner's reading of --push and of the outputs that push (type=registry,
// type=image,push=true).
func pushesTo(o runner.Options) bool {
	return o.Push || slices.ContainsFunc(outputTexts(o), func(out string) bool {
		return strings.HasPrefix(out, "type=registry") || (strings.HasPrefix(out, "type=image") && strings.Contains(out, "push=true"))
	})
}

// withPushOverride is buildx bake's --push on a printed definition (setPushOverride): an image
// output gets push=true, and a target whose outputs are all docker ones (or none) gets an image
// output that pushes.
func withPushOverride(t *testing.T, def string) string {
	var d map[string]any
	if err := json.Unmarshal([]byte(def), &d); err != nil {
		t.Fatal(err)
	}
	for _, v := range d["target"].(map[string]any) {
		target := v.(map[string]any)
		outs, _ := target["output"].([]any)
		add := true
		for _, o := range outs {
			e := o.(map[string]any)
			if e["type"] != "docker" {
				add = false
			}
			if e["type"] == "image" {
				e["push"] = "true"
			}
		}
		if add {
			target["output"] = append(outs, map[string]any{"type": "image", "push": "true"})
		}
	}
	dt, _ := json.Marshal(d)
	return string(dt)
}

// withLoadOverride is buildx bake's --load on a printed definition: a docker output on every target.
func withLoadOverride(t *testing.T, def string) string {
	var d map[string]any
	if err := json.Unmarshal([]byte(def), &d); err != nil {
		t.Fatal(err)
	}
	for _, v := range d["target"].(map[string]any) {
		target := v.(map[string]any)
		outs, _ := target["output"].([]any)
		target["output"] = append(outs, map[string]any{"type": "docker"})
	}
	dt, _ := json.Marshal(d)
	return string(dt)
}

// writeOCIArchive writes an OCI layout archive of one blob named by index.json.
func writeOCIArchive(path string, blob []byte) (digest.Digest, error) {
	d := digest.FromBytes(blob)
	idx, _ := json.Marshal(ocispec.Index{Manifests: []ocispec.Descriptor{{MediaType: ocispec.MediaTypeImageIndex, Digest: d, Size: int64(len(blob))}}})
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		data []byte
	}{{"oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)}, {"index.json", idx}, {"blobs/sha256/" + d.Encoded(), blob}} {
		_ = tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), Typeflag: tar.TypeReg})
		_, _ = tw.Write(f.data)
	}
	_ = tw.Close()
	return d, os.WriteFile(path, buf.Bytes(), 0o600)
}

type fakePublisher struct {
	calls    [][]registry.PublishSet
	err      error
	reverted int
}

func (p *fakePublisher) Revert(_ context.Context, _ []registry.Publication, cause error) error {
	p.reverted++
	return cause
}

func (p *fakePublisher) PublishMany(_ context.Context, sets []registry.PublishSet) ([]registry.Publication, error) {
	p.calls = append(p.calls, sets)
	var out []registry.Publication
	for _, s := range sets {
		idx := digest.FromString("index of " + s.Repo)
		out = append(out, registry.Publication{Index: ocispec.Descriptor{Digest: idx}, Tags: []registry.TagState{{Tag: s.Tags[0], Now: idx, Index: idx}}})
	}
	return out, p.err
}

// newTestBaker is a baker whose buildx prints def and whose builds and publish are fakes.
func newTestBaker(t *testing.T, def string) (*Baker, *fakeRunner, *fakePublisher, *[][]string) {
	t.Chdir(t.TempDir()) // the targets' contexts: checked before anything is built
	for _, d := range []string{"app", "base", "tool"} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	r := &fakeRunner{opts: map[string]runner.Options{}, fail: map[string]error{}}
	p := &fakePublisher{}
	var args [][]string
	b := &Baker{runner: r, publish: func(time.Duration) publisher { return p },
		resolve: func(_ context.Context, a []string, _ io.Reader) ([]byte, error) {
			args = append(args, a)
			d := def
			if slices.Contains(a, "--load") {
				d = withLoadOverride(t, d)
			}
			if slices.Contains(a, "--push") {
				return []byte(withPushOverride(t, d)), nil
			}
			if d != def {
				return []byte(d), nil
			}
			return []byte(def), nil
		}}
	return b, r, p, &args
}

const threeTargets = `{
  "group": {"default": {"targets": ["app", "tool"]}},
  "target": {
    "app":  {"context": "app", "contexts": {"base": "target:base"}, "tags": ["r/app:1"], "platforms": ["linux/amd64", "linux/arm64"]},
    "base": {"context": "base", "tags": ["r/base:1"], "platforms": ["linux/amd64", "linux/arm64"]},
    "tool": {"context": "tool", "tags": ["r/tool:1"], "platforms": ["linux/arm64"]}
  }
}`

func TestBakeBuildsTheContextFirstAndPublishesOnce(t *testing.T) {
	b, r, p, _ := newTestBaker(t, threeTargets)
	md := filepath.Join(t.TempDir(), "md.json")
	res, err := b.Run(context.Background(), Options{Push: true, MetadataFile: md, Timeout: time.Minute}, nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Index(r.order, "base") > slices.Index(r.order, "app") {
		t.Errorf("app built before base: %v", r.order)
	}
	base, app := r.opts["base"], r.opts["app"]
	if outs := outputTexts(base); len(outs) != 2 || outs[0] != "type=image,push=true" || !strings.HasPrefix(outs[1], "type=oci,dest=") || len(base.Outputs) != 0 {
		t.Errorf("base is not pushed and exported as an OCI layout (typed, no flag text): %v, %v", base.Outputs, base.Entries.Outputs)
	}
	if c := app.Entries.Contexts; len(c) != 1 || c[0].Name != "base" || !strings.HasPrefix(c[0].Value, "oci-layout://") ||
		!strings.HasSuffix(c[0].Value, "@"+digest.FromString("image of base").String()) || len(app.BuildContexts) != 0 {
		t.Errorf("app's context base: %v, %v", app.Entries.Contexts, app.BuildContexts)
	}
	if !slices.Equal(outputTexts(r.opts["tool"]), []string{"type=image,push=true"}) || !base.DeferPublish {
		t.Errorf("tool %+v, base %+v", r.opts["tool"], base)
	}
	if len(p.calls) != 1 || len(p.calls[0]) != 3 {
		t.Fatalf("publishes: %+v", p.calls)
	}
	for i, name := range []string{"app", "base", "tool"} {
		if s := p.calls[0][i]; s.Name != "target "+name || s.Repo != "r/"+name {
			t.Errorf("set %d: %+v", i, s)
		}
		if got := res.Targets[i]; got.Name != name || got.Build.Index.Digest != digest.FromString("index of r/"+name) {
			t.Errorf("target %d: %+v", i, got)
		}
	}
	var meta map[string]map[string]any
	dt, _ := os.ReadFile(md)
	if err := json.Unmarshal(dt, &meta); err != nil || len(meta) != 3 ||
		meta["tool"]["containerimage.digest"] != digest.FromString("index of r/tool").String() ||
		meta["tool"]["image.name"] != "r/tool:1" || meta["tool"]["multiarch.builder"] != "farm" {
		t.Errorf("metadata %s (%v)", dt, err)
	}
}

func TestBakeFailureStopsBeforeAnyPublish(t *testing.T) {
	b, r, p, _ := newTestBaker(t, threeTargets)
	r.fail["base"] = errors.New("linux/arm64 on node n: exit code 1")
	md := filepath.Join(t.TempDir(), "md.json")
	if err := os.WriteFile(md, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := b.Run(context.Background(), Options{Push: true, MetadataFile: md, Timeout: time.Minute}, nil, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "target base: linux/arm64 on node n: exit code 1") ||
		!strings.Contains(err.Error(), "nothing published") {
		t.Fatalf("err = %v", err)
	}
	if _, ok := r.opts["app"]; ok {
		t.Error("app was built although its context failed")
	}
	if len(p.calls) != 0 {
		t.Errorf("published after a failure: %+v", p.calls)
	}
	if _, err := os.Stat(md); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an earlier metadata file was left: %v", err)
	}
}

func TestBakePrintAndDryRun(t *testing.T) {
	b, r, p, args := newTestBaker(t, threeTargets)
	res, err := b.Run(context.Background(), Options{Print: true, Push: true, Files: []string{"a.hcl"}, Targets: []string{"app"}, Timeout: time.Minute}, nil, io.Discard)
	if err != nil || string(res.Print) != withPushOverride(t, threeTargets) || len(r.order) != 0 {
		t.Fatalf("print: %v, built %v", err, r.order)
	}
	want := []string{"buildx", "bake", "--file", "a.hcl", "--push", "--progress", "quiet", "--print", "--", "app"}
	if !slices.Equal((*args)[0], want) {
		t.Errorf("buildx args %v, want %v", (*args)[0], want)
	}

	res, err = b.Run(context.Background(), Options{DryRun: true, Push: true, Timeout: time.Minute}, nil, io.Discard)
	if err != nil || len(res.Targets) != 3 || !res.Targets[0].Build.DryRun || len(p.calls) != 0 {
		t.Fatalf("dry run: %v %+v", err, res)
	}
	if ctxs := r.opts["app"].Entries.Contexts; !slices.Equal(ctxs, []spec.Pair{{Name: "base", Value: "target:base"}}) {
		t.Errorf("dry run contexts %v", ctxs)
	}
	if !slices.Contains((*args)[1], "--print") || !slices.Contains((*args)[1], "--push") {
		t.Errorf("resolving for a build: %v (buildx applies --push to the outputs)", (*args)[1])
	}
	if _, err := b.Run(context.Background(), Options{DryRun: true, Print: true}, nil, io.Discard); err == nil {
		t.Error("--print with --dry-run accepted")
	}
}

func TestResolveArgs(t *testing.T) {
	o := Options{Files: []string{"a.hcl", "-"}, Set: []string{"*.platform=linux/arm64"}, Vars: []string{"TAG=1"}, Allow: []string{"network.host"},
		NoCache: true, Pull: true, Provenance: "mode=max", SBOM: "true", Builder: "farm", Push: true, Load: true, Targets: []string{"app", "db"}}
	want := "buildx bake --file a.hcl --file - --set *.platform=linux/arm64 --var TAG=1 --allow network.host --no-cache --pull " +
		"--provenance mode=max --sbom true --builder farm --push --load --progress quiet --print -- app db"
	if got := strings.Join(resolveArgs(o), " "); got != want {
		t.Errorf("args\n got %s\nwant %s", got, want)
	}
	in := strings.NewReader("")
	if stdinFor(o, in) != in || stdinFor(Options{}, in) != nil {
		t.Error("standard input goes to buildx only for -f -")
	}
	env := pluginFreeEnv([]string{"A=1", "DOCKER_CLI_PLUGIN_SOCKET=x", "DOCKER_CONFIG=/c"})
	if !slices.Equal(env, []string{"A=1", "DOCKER_CONFIG=/c"}) {
		t.Errorf("env %v", env)
	}
}

func TestExtractLayout(t *testing.T) {
	dir := t.TempDir()
	archive := filepath.Join(dir, "l.tar")
	d, err := writeOCIArchive(archive, []byte("content"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := extractLayout(archive, filepath.Join(dir, "layout"))
	if err != nil || got != d {
		t.Fatalf("digest %s (%v), want %s", got, err, d)
	}
	if dt, err := os.ReadFile(filepath.Join(dir, "layout", "blobs", "sha256", d.Encoded())); err != nil || string(dt) != "content" {
		t.Errorf("blob %q (%v)", dt, err)
	}

	// A blob that does not hold its digest, or a path out of the layout, is refused or skipped.
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	bad := digest.FromString("other")
	for _, f := range [][2]string{{"../escape", "x"}, {"index.json", `{"manifests":[{"digest":"` + bad.String() + `"}]}`}, {"blobs/sha256/" + bad.Encoded(), "not it"}} {
		_ = tw.WriteHeader(&tar.Header{Name: f[0], Mode: 0o644, Size: int64(len(f[1])), Typeflag: tar.TypeReg})
		_, _ = tw.Write([]byte(f[1]))
	}
	_ = tw.Close()
	if err := os.WriteFile(archive, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := extractLayout(archive, filepath.Join(dir, "bad")); err == nil || !strings.Contains(err.Error(), "does not hold") {
		t.Errorf("err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "escape")); err == nil {
		t.Error("a path out of the layout was written")
	}
}

func TestProgressWriterPrefixesWholeLines(t *testing.T) {
	var out bytes.Buffer
	var mu sync.Mutex
	w := progressWriter(&out, &mu, "app", "plain", 2)
	_, _ = w.Write([]byte("#1 one\n#2 t"))
	_, _ = w.Write([]byte("wo\n#3 three"))
	_ = w.Close()
	if want := "app | #1 one\napp | #2 two\napp | #3 three\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
	if w := progressWriter(&out, &mu, "app", "plain", 1); w.(nopCloser).Writer != &out {
		t.Error("a single target's progress is prefixed")
	}
	if !sharedDisplay("auto", 2) || sharedDisplay("rawjson", 2) || sharedDisplay("tty", 1) {
		t.Error("sharedDisplay")
	}
}

// A bad value in a target that waits for another is refused before any target is built.
func TestBakeChecksEveryTargetFirst(t *testing.T) {
	bad := strings.Replace(threeTargets, `"tags": ["r/app:1"]`, `"tags": ["r/app:1"], "shm-size": "lots"`, 1)
	b, r, p, _ := newTestBaker(t, bad)
	_, err := b.Run(context.Background(), Options{Push: true, Timeout: time.Minute}, nil, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "target app") || !strings.Contains(err.Error(), "lots") {
		t.Fatalf("err = %v", err)
	}
	if len(r.order) != 0 || len(p.calls) != 0 {
		t.Errorf("built %v, published %v before the bad value was found", r.order, p.calls)
	}
}

// A tag two pushing targets would both publish (as the registry sees it) stops the bake before
// anything is built, naming both (found by review, issue 19).
func TestBakeRefusesATagOfTwoTargetsFirst(t *testing.T) {
	shared := strings.Replace(threeTargets, `"tags": ["r/tool:1"]`, `"tags": ["docker.io/r/app:1"]`, 1)
	b, r, p, _ := newTestBaker(t, shared)
	_, err := b.Run(context.Background(), Options{Push: true, Timeout: time.Minute}, nil, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "published by both target app and target tool") || !strings.Contains(err.Error(), "nothing built") {
		t.Fatalf("err = %v", err)
	}
	if len(r.order) != 0 || len(p.calls) != 0 {
		t.Errorf("built %v, published %v", r.order, p.calls)
	}
	twice := strings.Replace(threeTargets, `"tags": ["r/tool:1"]`, `"tags": ["r/tool:1", "docker.io/r/tool:1"]`, 1)
	b, _, _, _ = newTestBaker(t, twice)
	if _, err := b.Run(context.Background(), Options{Push: true, Timeout: time.Minute}, nil, io.Discard); err != nil {
		t.Errorf("one target's tag twice: %v", err)
	}
}

// Issue 19, case 5 in bake: every target's --load runs after every target's tags moved, never
// after a failed publish; a failed load puts every target's tags back; every load folder is
// released, whatever happened.
func TestBakeLoadsLastAndUndoesThePublishWhenALoadFails(t *testing.T) {
	for name, tc := range map[string]struct {
		publishErr, loadErr error
		loads               []string
		reverted            int
	}{
		"published, then loaded": {loads: []string{"app", "base", "tool"}},
		"the publish fails":      {publishErr: errors.New("tag refused")},
		"a load fails":           {loadErr: errors.New("no space left"), loads: []string{"app"}, reverted: 1},
	} {
		t.Run(name, func(t *testing.T) {
			b, r, p, _ := newTestBaker(t, threeTargets)
			r.loadFails = map[string]error{"app": tc.loadErr}
			p.err = tc.publishErr
			_, err := b.Run(context.Background(), Options{Push: true, Load: true, Timeout: time.Minute}, nil, io.Discard)
			for _, want := range []error{tc.publishErr, tc.loadErr} {
				if want != nil && (err == nil || !strings.Contains(err.Error(), want.Error())) {
					t.Errorf("err = %v, want %v", err, want)
				}
			}
			if !slices.Equal(r.loads, tc.loads) || p.reverted != tc.reverted || r.released != 3 {
				t.Errorf("loads %v (want %v), reverted %d (want %d), released %d of 3", r.loads, tc.loads, p.reverted, tc.reverted, r.released)
			}
		})
	}
}

// Issue 19, case 8: buildx bake --print's output is read within a cap: a CLI that writes without
// end is stopped with an error saying so, not by the machine's memory.
func TestRunBuildxCapsTheDefinition(t *testing.T) {
	if _, err := exec.LookPath("yes"); err != nil {
		t.Skip("no yes(1)")
	}
	script := filepath.Join(t.TempDir(), "docker")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nexec yes\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND", script)
	t.Setenv("DOCKER_CONFIG", t.TempDir()) // no buildx plugin there: the CLI is run
	_, err := runBuildx(context.Background(), "", []string{"buildx", "bake", "--print"}, nil)
	if err == nil || !strings.Contains(err.Error(), "the bake definition (docker buildx bake --print) is larger than 32 MiB") {
		t.Errorf("err = %v", err)
	}
}

// buildx bake --print that never answers is stopped at --timeout, naming it; the bake returns
// within seconds of the deadline (the CLI's children included).
func TestBakePrintStopsAtTheTimeout(t *testing.T) {
	script := filepath.Join(t.TempDir(), "docker")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nsleep 60 & sleep 60\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND", script)
	t.Setenv("DOCKER_CONFIG", t.TempDir()) // no buildx plugin there: the CLI is run
	b := New(nil, nil, "")
	start := time.Now()
	_, err := b.Run(context.Background(), Options{Print: true, Timeout: 300 * time.Millisecond}, nil, io.Discard)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("returned after %s", took)
	}
	if err == nil || !strings.Contains(err.Error(), "did not finish within --timeout 300ms") {
		t.Errorf("err = %v", err)
	}
}

// checkingRunner is fakeRunner that also proves push access, refusing the repositories in deny.
type checkingRunner struct {
	*fakeRunner
	deny  string
	asked [][]string
}

func (c *checkingRunner) CheckPushAccess(_ context.Context, opts []runner.Options) ([]string, error) {
	var tags []string
	for _, o := range opts {
		tags = append(tags, o.Tags...)
	}
	c.asked = append(c.asked, tags)
	warnings := []string{fmt.Sprintf("expected %s", opts[0].Expected)}
	for _, t := range tags {
		if strings.HasPrefix(t, c.deny) {
			return warnings, errors.New("the registry would refuse the push: " + t)
		}
	}
	return warnings, nil
}

var _ pushChecker = (*checkingRunner)(nil) // the fake stays what bake looks for

// Issue 25: every target's push access is proved at once, before any target is built: one
// refused repository builds nothing.
func TestBakeProvesPushAccessBeforeAnyTargetIsBuilt(t *testing.T) {
	b, r, p, _ := newTestBaker(t, threeTargets)
	c := &checkingRunner{fakeRunner: r, deny: "r/tool"}
	b.runner = c
	res, err := b.Run(context.Background(), Options{Push: true, Timeout: time.Minute, Expected: 7 * time.Minute}, nil, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "r/tool") {
		t.Fatalf("err = %v, want the refused repository named", err)
	}
	if !slices.Contains(res.Warnings, "expected 7m0s") {
		t.Errorf("warnings %q: the check's (credentials expiring within the bake's expected time) are lost", res.Warnings)
	}
	if len(r.order) != 0 || len(p.calls) != 0 {
		t.Errorf("built %v, published %v after a refused push", r.order, p.calls)
	}
	if len(c.asked) != 1 || len(c.asked[0]) < 3 {
		t.Errorf("asked %v: want every target's tags in one check", c.asked)
	}
}

// The buildx plugin is run as the docker CLI would run it (its name first, the CLI's path and the
// configuration in its environment), without the CLI; a plugin in the config's extra folders
// comes first, as the CLI finds it.
func TestRunBuildxRunsThePluginAsTheCLIWould(t *testing.T) {
	cfg, extra := t.TempDir(), t.TempDir()
	plugin := func(dir, who string) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		body := "#!/bin/sh\necho " + who + " \"$@\" \"$DOCKER_CONFIG\" \"$DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND\"\n"
		if err := os.WriteFile(filepath.Join(dir, "docker-buildx"), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	plugin(filepath.Join(cfg, "cli-plugins"), "cfg")
	t.Setenv("DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND", "/usr/bin/docker-cli")
	out, err := runBuildx(context.Background(), cfg, []string{"buildx", "bake", "--print"}, nil)
	if err != nil || strings.TrimSpace(string(out)) != "cfg buildx bake --print "+cfg+" /usr/bin/docker-cli" {
		t.Fatalf("%q %v", out, err)
	}
	plugin(extra, "extra")
	if err := os.WriteFile(filepath.Join(cfg, "config.json"), []byte(`{"cliPluginsExtraDirs":["`+extra+`"]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := runBuildx(context.Background(), cfg, []string{"buildx", "bake", "--print"}, nil); err != nil || !strings.HasPrefix(string(out), "extra ") {
		t.Fatalf("with cliPluginsExtraDirs: %q %v", out, err)
	}
}

// warmingRunner is a fakeRunner that records what bake asks it to connect to ahead, and when.
type warmingRunner struct {
	*fakeRunner
	builder string
	builds  [][]string
	built   int // targets built when the warm-up was asked
}

func (w *warmingRunner) WarmPlatforms(_ context.Context, builder string, builds [][]string, _ time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.builder, w.builds, w.built = builder, builds, len(w.order)
}

var _ platformWarmer = (*warmingRunner)(nil) // the fake stays what bake looks for

// Bake asks for every target's nodes to be connected to before any target is planned, with the
// bake's builder and each target's platforms; a dry run connects to nothing.
func TestBakeWarmsEveryTargetsNodesFirst(t *testing.T) {
	b, r, _, _ := newTestBaker(t, threeTargets)
	w := &warmingRunner{fakeRunner: r}
	b.runner = w
	if _, err := b.Run(context.Background(), Options{Builder: "farm", DryRun: true, Timeout: time.Minute}, nil, io.Discard); err != nil {
		t.Fatal(err)
	}
	if w.builds != nil {
		t.Fatalf("a dry run warmed %v", w.builds)
	}
	r.order = nil // the dry run's plans
	if _, err := b.Run(context.Background(), Options{Builder: "farm", Timeout: time.Minute}, nil, io.Discard); err != nil {
		t.Fatal(err)
	}
	if w.builder != "farm" || w.built != 0 {
		t.Errorf("warmed builder %q after %d targets were built: want farm, before any", w.builder, w.built)
	}
	var got []string
	for _, b := range w.builds {
		got = append(got, strings.Join(b, ","))
	}
	slices.Sort(got)
	if want := []string{"linux/amd64,linux/arm64", "linux/amd64,linux/arm64", "linux/arm64"}; !slices.Equal(got, want) {
		t.Errorf("warmed %q, want every target's platforms %q", got, want)
	}
}
