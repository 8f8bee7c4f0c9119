package runner

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/buildx/util/dockerutil"
	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/image"
	mobyclient "github.com/moby/moby/client"
	"github.com/opencontainers/go-digest"

	"github.com/docker-multiarch/docker-multiarch/driver/plan"
	"github.com/docker-multiarch/docker-multiarch/internal/testregistry"
)

// classicOutput is what the classic builder prints for a FROM, a RUN, a cached COPY and a LABEL.
const classicOutput = "Step 1/4 : FROM mcr.microsoft.com/windows/nanoserver:ltsc2022\n" +
	" ---> 3f2a1b0c9d8e\n" +
	"Step 2/4 : RUN echo hi\n" +
	" ---> Running in 0123456789ab\n" +
	"hi\n" +
	"Removing intermediate container 0123456789ab\n" +
	" ---> aaaaaaaaaaaa\n" +
	"Step 3/4 : COPY a b\n" +
	" ---> Using cache\n" +
	" ---> bbbbbbbbbbbb\n" +
	"Step 4/4 : label a=b\n" +
	" ---> Running in 456789abcdef\n" +
	" ---> cccccccccccc\n" +
	"Successfully built cccccccccccc\n"

// fakeFacts is what an engine says it created while a build ran, and its images' records.
type fakeFacts struct {
	created []string               // full IDs, as the engine's events give them
	images  map[string]imageRecord // by the ID asked (short or full)
}

func (f *fakeFacts) now(context.Context) (string, error) { return "2026-12-06T00:00:00Z", nil }

func (f *fakeFacts) creates(_ context.Context, _, _ string, add func(string)) error {
	for _, id := range f.created {
		add(id)
	}
	return nil
}

func (f *fakeFacts) image(_ context.Context, id string) (imageRecord, error) {
	if rec, ok := f.images[id]; ok {
		return rec, nil
	}
	for full, rec := range f.images {
		if strings.HasPrefix(strings.TrimPrefix(full, "sha256:"), strings.TrimPrefix(id, "sha256:")) {
			return rec, nil
		}
	}
	return imageRecord{}, cerrdefs.ErrNotFound
}

// full is a 64-hex ID from a 12-hex short one.
func full(short string) string { return short + strings.Repeat("0", 64-len(short)) }

// watched is an engineBuild whose engine reports facts.
func watched(t *testing.T, api mobyclient.APIClient, f engineFacts, timeout time.Duration) *engineBuild {
	t.Helper()
	w, err := watchEngine(t.Context(), f, timeout)
	if err != nil {
		t.Fatal(err)
	}
	return &engineBuild{api: api, timeout: timeout, watch: w}
}

type tracked struct {
	mu      sync.Mutex
	made    []string
	running []string
}

func (tr *tracked) tracker(w io.Writer) *stepTracker {
	return &stepTracker{w: w,
		made:    func(id string) { tr.mu.Lock(); tr.made = append(tr.made, id); tr.mu.Unlock() },
		running: func(id string) { tr.mu.Lock(); tr.running = append(tr.running, id); tr.mu.Unlock() }}
}

func TestStepTrackerRecordsTheBuildsOwnImages(t *testing.T) {
	for _, chunk := range []int{len(classicOutput), 1, 7, 33} {
		var out bytes.Buffer
		var tr tracked
		w := tr.tracker(&out)
		for rest := classicOutput; rest != ""; {
			n := min(chunk, len(rest))
			if k, err := w.Write([]byte(rest[:n])); err != nil || k != n {
				t.Fatalf("Write: %d, %v", k, err)
			}
			rest = rest[n:]
		}
		// Not the base (FROM) nor the cached one: another build made them.
		if !slices.Equal(tr.made, []string{"aaaaaaaaaaaa", "cccccccccccc"}) {
			t.Errorf("chunks of %d: made %v", chunk, tr.made)
		}
		if !slices.Equal(tr.running, []string{"0123456789ab", "456789abcdef"}) {
			t.Errorf("chunks of %d: running %v", chunk, tr.running)
		}
		if out.String() != classicOutput {
			t.Errorf("chunks of %d: the output is not passed on as it is:\n%s", chunk, out.String())
		}
	}
}

func TestStepTrackerMultiStage(t *testing.T) {
	var tr tracked
	w := tr.tracker(io.Discard)
	io.WriteString(w, "Step 1/4 : FROM golang AS build\n ---> 111111111111\nStep 2/4 : RUN go build\n ---> Running in 222222222222\n ---> 333333333333\n"+
		"Step 3/4 : FROM nanoserver\n ---> 444444444444\nStep 4/4 : COPY --from=build /app /app\n ---> 555555555555\n ---> not an id\n")
	if !slices.Equal(tr.made, []string{"333333333333", "555555555555"}) {
		t.Errorf("made %v", tr.made)
	}
}

func TestPrefixWriter(t *testing.T) {
	var out bytes.Buffer
	w := &prefixWriter{w: &out, prefix: "[windows/amd64 win0] "}
	for _, s := range []string{"Step 1/2 : FROM x\n ---> ab", "cd\n", "", "two\nlines\n", "partial"} {
		if n, err := w.Write([]byte(s)); err != nil || n != len(s) {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	want := "[windows/amd64 win0] Step 1/2 : FROM x\n[windows/amd64 win0]  ---> abcd\n[windows/amd64 win0] two\n[windows/amd64 win0] lines\n[windows/amd64 win0] partial"
	if out.String() != want {
		t.Errorf("got\n%q\nwant\n%q", out.String(), want)
	}
}

func tarNames(t *testing.T, r io.Reader) []string {
	t.Helper()
	var names []string
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			names = append(names, h.Name)
		}
	}
	slices.Sort(names)
	return names
}

func TestEngineContext(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string]string{
		"sub/Dockerfile.windows-amd64": "FROM nanoserver\n", "app.txt": "app", "secret.env": "TOKEN=x", "logs/a.log": "x",
		".dockerignore": "*.env\nlogs\n",
	} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	step := &StepResult{Step: plan.Step{Platform: "windows/amd64", Node: "win0", Dockerfile: filepath.Join(dir, "sub", "Dockerfile.windows-amd64")}}
	p := mustParse(t, Options{ContextPath: dir})
	rc, rel, err := engineContext(p, step)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if rel != filepath.Join("sub", "Dockerfile.windows-amd64") {
		t.Errorf("Dockerfile %q, want its path inside the context", rel)
	}
	if got := tarNames(t, rc); !slices.Equal(got, []string{".dockerignore", "app.txt", "sub/Dockerfile.windows-amd64"}) {
		t.Errorf("context %v, want what .dockerignore leaves", got)
	}

	// A Dockerfile outside the context cannot reach the classic builder.
	outside := filepath.Join(t.TempDir(), "Dockerfile")
	if _, _, err := engineContext(p, &StepResult{Step: plan.Step{Platform: "windows/amd64", Dockerfile: outside}}); err == nil || !strings.Contains(err.Error(), outside) {
		t.Errorf("a Dockerfile outside the context: %v", err)
	}
	// Nor a remote context; its credentials stay out of the error.
	remote := mustParse(t, Options{ContextPath: "https://user:t0ken@git.example/repo.git"})
	if _, _, err := engineContext(remote, step); err == nil || !strings.Contains(err.Error(), "local build context") || strings.Contains(err.Error(), "t0ken") {
		t.Errorf("a remote context: %v", err)
	}

	// A context archive from stdin goes as it is, with the Dockerfile inside it.
	archive := tarOf(t, map[string]string{"Dockerfile": "FROM nanoserver\n"})
	in := mustParse(t, Options{ContextPath: "-"})
	in.stdin = stdinArchive(t, archive)
	rc, rel, err = engineContext(in, &StepResult{Step: plan.Step{Platform: "windows/amd64", Dockerfile: "Dockerfile"}})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(rc); !bytes.Equal(b, archive) || rel != "Dockerfile" {
		t.Errorf("stdin archive: %d bytes, Dockerfile %q", len(b), rel)
	}
	in = mustParse(t, Options{ContextPath: "-", File: outside})
	in.stdin = stdinArchive(t, archive)
	if _, _, err := engineContext(in, &StepResult{Step: plan.Step{Platform: "windows/amd64", Dockerfile: outside}}); err == nil || !strings.Contains(err.Error(), outside) {
		t.Errorf("stdin archive with -f from disk: %v", err)
	}
}

func TestContextTarRefusesABadDockerignore(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte("[\n"), 0o644)
	// The pattern is refused when the tar is made (the error does not name .dockerignore).
	if rc, err := contextTar(dir, "Dockerfile"); err == nil {
		rc.Close()
		t.Error("a bad .dockerignore pattern was accepted")
	}
}

// A .dockerignore that excludes everything but the sources (or the Dockerfile itself) still sends
// the Dockerfile and the .dockerignore, as docker build does.
func TestContextTarKeepsTheBuildFiles(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string]string{".dockerignore": "*\n!src\n", "build/Dockerfile": "FROM scratch\n", "src/a": "a", "secret": "s"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rc, err := contextTar(dir, filepath.Join("build", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var names []string
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		if h.Typeflag == tar.TypeReg {
			names = append(names, h.Name)
		}
	}
	slices.Sort(names)
	if want := []string{".dockerignore", "build/Dockerfile", "src/a"}; !slices.Equal(names, want) {
		t.Errorf("context files %v, want %v", names, want)
	}
}

// fakeEngine is a Windows engine's classic builder: it builds from the context it is sent,
// answers with output, and keeps what was asked of it.
type fakeEngine struct {
	mu        sync.Mutex
	output    string // the build's stream lines
	finalID   string
	platform  string // what the built image reports (os/arch[/variant])
	save      []byte // `docker save` of the image
	opts      mobyclient.ImageBuildOptions
	context   []string // files of the context sent
	removed   []string // images removed, in order
	removedCt []string // containers removed
	inUse     int      // ImageRemove answers "in use by a container" this many times
}

func (e *fakeEngine) api(t *testing.T) *fakeAPI {
	return &fakeAPI{
		imageBuild: func(_ context.Context, r io.Reader, o mobyclient.ImageBuildOptions) (mobyclient.ImageBuildResult, error) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.opts, e.context = o, tarNames(t, r)
			var stream bytes.Buffer
			enc := json.NewEncoder(&stream)
			for line := range strings.SplitAfterSeq(e.output, "\n") {
				if line != "" {
					enc.Encode(map[string]string{"stream": line})
				}
			}
			if e.finalID != "" {
				enc.Encode(map[string]any{"aux": map[string]string{"ID": e.finalID}})
			}
			return mobyclient.ImageBuildResult{Body: io.NopCloser(&stream)}, nil
		},
		imageInspect: func(_ context.Context, id string) (mobyclient.ImageInspectResult, error) {
			parts := strings.Split(e.platform, "/")
			res := mobyclient.ImageInspectResult{InspectResponse: image.InspectResponse{ID: id, Os: parts[0], Architecture: parts[1]}}
			if len(parts) == 3 {
				res.Variant = parts[2]
			}
			return res, nil
		},
		imageSave: func(_ context.Context, ids []string) (mobyclient.ImageSaveResult, error) {
			if !slices.Equal(ids, []string{e.finalID}) {
				return nil, fmt.Errorf("save of %v", ids)
			}
			return io.NopCloser(bytes.NewReader(e.save)), nil
		},
		imageRemove: func(_ context.Context, id string, o mobyclient.ImageRemoveOptions) (mobyclient.ImageRemoveResult, error) {
			e.mu.Lock()
			defer e.mu.Unlock()
			if !o.Force || !o.PruneChildren {
				return mobyclient.ImageRemoveResult{}, fmt.Errorf("remove %s without force and prune", id)
			}
			if e.inUse > 0 {
				e.inUse--
				return mobyclient.ImageRemoveResult{}, errors.New("conflict: unable to delete " + id + " (cannot be forced) - image is being used by running container 456789abcdef")
			}
			if slices.Contains(e.removed, id) {
				return mobyclient.ImageRemoveResult{}, cerrdefs.ErrNotFound
			}
			e.removed = append(e.removed, id)
			return mobyclient.ImageRemoveResult{}, nil
		},
		containerRemove: func(_ context.Context, id string, o mobyclient.ContainerRemoveOptions) (mobyclient.ContainerRemoveResult, error) {
			e.mu.Lock()
			defer e.mu.Unlock()
			if !o.Force {
				return mobyclient.ContainerRemoveResult{}, errors.New("not forced")
			}
			e.removedCt = append(e.removedCt, id)
			return mobyclient.ContainerRemoveResult{}, nil
		},
	}
}

func TestEngineStepBuildsChecksPushesAndCleansUp(t *testing.T) {
	reg := testregistry.New(t)
	saved := dockerSave(t, nil, 1)
	final := "sha256:" + strings.Repeat("c", 64)
	eng := &fakeEngine{output: classicOutput, finalID: final, platform: "windows/amd64", save: saved.archive}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM nanoserver\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "app.txt"), []byte("app"), 0o644)
	facts := &fakeFacts{created: []string{full("0123456789ab"), full("456789abcdef"), full("aaaaaaaaaaaa"), strings.Repeat("c", 64)},
		images: map[string]imageRecord{full("aaaaaaaaaaaa"): {}, strings.Repeat("c", 64): {}}}
	r := &Runner{dockerCli: testCLI(t, nil), registry: registryClient(t), facts: func(mobyclient.APIClient) engineFacts { return facts }}
	p := mustParse(t, Options{ContextPath: dir, Push: true, Tags: []string{reg.Host + "/team/app:v1"}, Strategy: plan.StrategyEngine,
		BuildArgs: []string{"A=1"}, Labels: []string{"L=v"}, Target: "final", NoCache: true, Network: "none"})
	engines := r.newEngineClients()
	engines.clients["win0"] = &dockerutil.ClientAPI{APIClient: eng.api(t)}
	s := &StepResult{Step: plan.Step{Platform: "windows/amd64", Node: "win0", Dockerfile: filepath.Join(dir, "Dockerfile"), Strategy: plan.StrategyEngine}}
	var out bytes.Buffer
	desc, err := r.engineStep(t.Context(), testRun(t, p, engines, nil), s, &out)
	if err != nil {
		t.Fatal(err)
	}
	o := eng.opts
	if o.Dockerfile != "Dockerfile" || len(o.Platforms) != 1 || o.Platforms[0].OS != "windows" || o.Platforms[0].Architecture != "amd64" ||
		o.Target != "final" || !o.NoCache || !o.PullParent || !o.Remove || !o.ForceRemove || o.NetworkMode != "none" || o.Version != build.BuilderV1 {
		t.Errorf("build options %+v", o)
	}
	if len(o.BuildArgs) != 1 || o.BuildArgs["A"] == nil || *o.BuildArgs["A"] != "1" || !maps.Equal(o.Labels, map[string]string{"L": "v"}) {
		t.Errorf("build args %v, labels %v", o.BuildArgs, o.Labels)
	}
	if !slices.Equal(eng.context, []string{"Dockerfile", "app.txt"}) {
		t.Errorf("context sent: %v", eng.context)
	}
	for line := range strings.SplitSeq(strings.TrimSuffix(out.String(), "\n"), "\n") {
		if !strings.HasPrefix(line, "[windows/amd64 win0] ") {
			t.Errorf("output line without the step's prefix: %q", line)
		}
	}
	if dt, ok := reg.ManifestOf("team/app@" + desc.Digest.String()); !ok || digest.FromBytes(dt) != desc.Digest {
		t.Errorf("the image is not in the registry by digest %s", desc.Digest)
	}
	// The running step's container first, then the images made, newest first, by the IDs the
	// engine gave; never the base (3f2a1b0c9d8e) nor the cached one (bbbbbbbbbbbb).
	if !slices.Equal(eng.removedCt, []string{full("456789abcdef")}) {
		t.Errorf("containers removed %v", eng.removedCt)
	}
	// The final image is the last one the build committed (cccccccccccc, sha256:ccc... in full).
	if !slices.Equal(eng.removed, []string{strings.Repeat("c", 64), full("aaaaaaaaaaaa")}) {
		t.Errorf("images removed %v", eng.removed)
	}
}

func TestEngineStepWithoutPushBuildsOnly(t *testing.T) {
	eng := &fakeEngine{output: "Step 1/1 : FROM x\n ---> 3f2a1b0c9d8e\n", finalID: "sha256:" + strings.Repeat("d", 64), platform: "windows/amd64"}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM x\n"), 0o644)
	r := &Runner{dockerCli: testCLI(t, nil), registry: registryClient(t), facts: func(mobyclient.APIClient) engineFacts { return &fakeFacts{} }} // no registry: nothing may be pushed
	p := mustParse(t, Options{ContextPath: dir, Strategy: plan.StrategyEngine})
	engines := r.newEngineClients()
	engines.clients["win0"] = &dockerutil.ClientAPI{APIClient: eng.api(t)}
	desc, err := r.engineStep(t.Context(), testRun(t, p, engines, nil), &StepResult{Step: plan.Step{Platform: "windows/amd64", Node: "win0", Dockerfile: filepath.Join(dir, "Dockerfile")}}, io.Discard)
	if err != nil || desc.Digest != "" {
		t.Errorf("desc %+v, err %v", desc, err)
	}
}

func TestEngineBuildRefuses(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM x\n"), 0o644)
	r := &Runner{dockerCli: testCLI(t, nil), registry: registryClient(t)}
	p := mustParse(t, Options{ContextPath: dir, Strategy: plan.StrategyEngine})
	s := &StepResult{Step: plan.Step{Platform: "windows/amd64", Node: "win0", Dockerfile: filepath.Join(dir, "Dockerfile")}}
	for _, tc := range []struct {
		name string
		eng  *fakeEngine
		want string
	}{
		{"the wrong platform", &fakeEngine{output: "Step 1/1 : FROM x\n", finalID: "sha256:" + strings.Repeat("e", 64), platform: "linux/amd64"}, "node win0 built linux/amd64, not windows/amd64"},
		{"an unknown platform", &fakeEngine{output: "Step 1/1 : FROM x\n", finalID: "sha256:" + strings.Repeat("e", 64), platform: "plan9/amd64"}, "built an image for plan9/amd64"},
		{"no image", &fakeEngine{output: "Step 1/1 : FROM x\n", platform: "windows/amd64"}, "node win0 built no image"},
		{"a failed step", &fakeEngine{output: "Step 1/1 : RUN exit 1\n", platform: "windows/amd64"}, "RUN exit 1 failed"},
	} {
		api := tc.eng.api(t)
		if tc.name == "a failed step" {
			api.imageBuild = func(_ context.Context, r io.Reader, _ mobyclient.ImageBuildOptions) (mobyclient.ImageBuildResult, error) {
				io.Copy(io.Discard, r) // the engine takes the whole context first
				return mobyclient.ImageBuildResult{Body: io.NopCloser(strings.NewReader(`{"stream":"Step 1/1 : RUN exit 1\n"}` + "\n" +
					`{"errorDetail":{"code":1,"message":"RUN exit 1 failed"},"error":"RUN exit 1 failed"}` + "\n"))}, nil
			}
		}
		b := &engineBuild{api: api, timeout: time.Second}
		_, err := r.engineBuild(t.Context(), b, p, s, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestEngineCleanupWaitsForTheInterruptedContainer(t *testing.T) {
	eng := &fakeEngine{inUse: 2}
	b := watched(t, eng.api(t), &fakeFacts{created: []string{full("aaaaaaaaaaaa"), full("456789abcdef"), full("cccccccccccc")},
		images: map[string]imageRecord{"aaaaaaaaaaaa": {}, "cccccccccccc": {}}}, 5*time.Second)
	b.made("aaaaaaaaaaaa")
	b.step("456789abcdef")
	b.made("cccccccccccc")
	b.cleanup(t.Context())
	if !slices.Equal(eng.removedCt, []string{full("456789abcdef")}) || !slices.Equal(eng.removed, []string{full("cccccccccccc"), full("aaaaaaaaaaaa")}) {
		t.Errorf("removed containers %v, images %v", eng.removedCt, eng.removed)
	}

	// An image others use is left, at once; one already gone is no error.
	api := eng.api(t)
	calls := 0
	api.imageRemove = func(_ context.Context, id string, _ mobyclient.ImageRemoveOptions) (mobyclient.ImageRemoveResult, error) {
		calls++
		if id == "gone" {
			return mobyclient.ImageRemoveResult{}, cerrdefs.ErrNotFound
		}
		return mobyclient.ImageRemoveResult{}, errors.New("conflict: unable to delete (must be forced) - image has dependent child images")
	}
	b = &engineBuild{api: api, timeout: time.Second}
	if err := b.remove(t.Context(), "gone"); err != nil {
		t.Errorf("an image already gone: %v", err)
	}
	start := time.Now()
	if err := b.remove(t.Context(), "shared"); err == nil || calls != 2 || time.Since(start) > 100*time.Millisecond {
		t.Errorf("an image with children: %v after %d calls, %s", err, calls, time.Since(start))
	}

	// A container that never lets go: the removal gives up at the deadline.
	api.imageRemove = func(context.Context, string, mobyclient.ImageRemoveOptions) (mobyclient.ImageRemoveResult, error) {
		return mobyclient.ImageRemoveResult{}, errors.New("image is being used by running container x")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if err := b.remove(ctx, "held"); err == nil || !strings.Contains(err.Error(), "container") {
		t.Errorf("an image held by a container: %v", err)
	}
}

func TestEngineBuildLeavesACachedOrBaseFinalImage(t *testing.T) {
	final := "bbbbbbbbbbbb"
	eng := &fakeEngine{output: "Step 1/2 : FROM x\n ---> 3f2a1b0c9d8e\nStep 2/2 : COPY a b\n ---> Using cache\n ---> " + final + "\n", finalID: final, platform: "windows/amd64"}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM x\n"), 0o644)
	r := &Runner{dockerCli: testCLI(t, nil), registry: registryClient(t), facts: func(mobyclient.APIClient) engineFacts { return &fakeFacts{images: map[string]imageRecord{final: {}}} }} // created before the build
	p := mustParse(t, Options{ContextPath: dir, Strategy: plan.StrategyEngine})
	engines := r.newEngineClients()
	engines.clients["win0"] = &dockerutil.ClientAPI{APIClient: eng.api(t)}
	if _, err := r.engineStep(t.Context(), testRun(t, p, engines, nil), &StepResult{Step: plan.Step{Platform: "windows/amd64", Node: "win0", Dockerfile: filepath.Join(dir, "Dockerfile")}}, io.Discard); err != nil {
		t.Fatal(err)
	}
	if len(eng.removed) != 0 {
		t.Errorf("removed %v: the cached image is not the build's own", eng.removed)
	}
}

func TestPlatformFromAndVariant(t *testing.T) {
	if p := platformFrom("linux/arm/v7"); p.OS != "linux" || p.Architecture != "arm" || p.Variant != "v7" {
		t.Errorf("platformFrom = %+v", p)
	}
	if variantSuffix("") != "" || variantSuffix("v8") != "/v8" {
		t.Error("variantSuffix")
	}
}

// Issue 19, case 2: what the clean-up removes is what the engine says the build made. A RUN that
// prints " ---> ID" or " ---> Running in ID" of an image or container the engine did not create
// during the build (the user's own, another build's) names a candidate the engine does not
// confirm: it stays. A tagged image stays even when created then; an untagged one committed from
// a container of the build (an engine with the classic store, which reports no image creations)
// goes.
func TestEngineCleanupRemovesOnlyWhatTheEngineSaysTheBuildMade(t *testing.T) {
	users, usersCt, tagged := strings.Repeat("7", 64), strings.Repeat("8", 64), full("999999999999")
	step, classic := full("abcabcabcabc"), full("def012def012")
	facts := &fakeFacts{
		created: []string{step, tagged},
		images: map[string]imageRecord{
			users:          {RepoTags: nil},                      // an unrelated untagged image of the user
			tagged:         {RepoTags: []string{"app:latest"}},   // created now, but someone's tag
			classic:        {Container: "sha256:" + step},        // committed from the build's own container
			full("ffffff"): {Container: strings.Repeat("1", 64)}, // committed from another container
		},
	}
	eng := &fakeEngine{}
	b := watched(t, eng.api(t), facts, time.Second)
	w := &stepTracker{w: io.Discard, made: b.made, running: b.step}
	io.WriteString(w, "Step 2/3 : RUN echo\n ---> Running in "+usersCt[:12]+"\n ---> "+users[:12]+"\n ---> "+users+"\n ---> "+tagged[:12]+"\n"+
		"Step 3/3 : RUN x\n ---> "+classic[:12]+"\n ---> "+full("ffffff")[:12]+"\n")
	b.cleanup(t.Context())
	if len(eng.removedCt) != 0 {
		t.Errorf("containers removed %v: the engine created none the output named", eng.removedCt)
	}
	if !slices.Equal(eng.removed, []string{classic[:12]}) {
		t.Errorf("images removed %v, want only %s (untagged, committed from the build's own container)", eng.removed, classic[:12])
	}
	b = &engineBuild{api: eng.api(t), timeout: time.Second} // no watch: the engine was not asked
	b.made("aaaaaaaaaaaa")
	b.cleanup(t.Context())
	if len(eng.removed) != 1 {
		t.Errorf("without the engine's word, removed %v", eng.removed)
	}
}

func TestCreatedSetMatches(t *testing.T) {
	var c createdSet
	c.add("sha256:" + full("abcdef012345"))
	c.add(full("abcdef012399"))
	c.add("not-an-id")
	c.add(strings.Repeat("A", 64))
	for id, want := range map[string]string{
		"abcdef012345":                   full("abcdef012345"),
		"sha256:" + full("abcdef012345"): full("abcdef012345"),
		"abcdef0123":                     "", // too short
		"abcdef01234":                    "", // too short (and ambiguous)
		"ABCDEF012345":                   "", // not lower-case hex
		"":                               "",
		strings.Repeat("a", 64):          "",
	} {
		if got, ok := c.match(id); got != want || ok != (want != "") {
			t.Errorf("match(%q) = %q, %v; want %q", id, got, ok, want)
		}
	}
}

// A RUN that prints without newlines is passed on, not kept: the tracker holds at most one
// builder-sized line, and reads the lines after it again.
func TestStepTrackerDropsAnEndlessLine(t *testing.T) {
	var out bytes.Buffer
	var tr tracked
	w := tr.tracker(&out)
	io.WriteString(w, "Step 2/3 : RUN yes\n")
	for range 1000 {
		io.WriteString(w, strings.Repeat("y", 1024))
	}
	if len(w.partial) > maxTrackedLine {
		t.Errorf("the tracker keeps %d bytes of one line", len(w.partial))
	}
	io.WriteString(w, " ---> aaaaaaaaaaaa\nStep 3/3 : RUN x\n ---> bbbbbbbbbbbb\n")
	if !slices.Equal(tr.made, []string{"bbbbbbbbbbbb"}) || out.Len() != 1000*1024+len("Step 2/3 : RUN yes\n")+len(" ---> aaaaaaaaaaaa\nStep 3/3 : RUN x\n ---> bbbbbbbbbbbb\n") {
		t.Errorf("made %v, passed on %d bytes", tr.made, out.Len())
	}
}

// The set of IDs an engine reported created is bounded: past maxCreated, more are not followed
// (what is missed stays on the engine; nothing is removed on a guess).
func TestCreatedSetIsBounded(t *testing.T) {
	var c createdSet
	for i := range maxCreated + 10 {
		c.add(fmt.Sprintf("%064x", i))
	}
	if len(c.ids) != maxCreated {
		t.Errorf("%d IDs kept, want %d", len(c.ids), maxCreated)
	}
	if _, ok := c.match(fmt.Sprintf("%064x", maxCreated+5)); ok {
		t.Error("an ID past the bound matched")
	}
}
