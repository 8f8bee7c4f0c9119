package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/buildx/builder"
	"github.com/docker/buildx/store"
	"github.com/docker/buildx/util/dockerutil"
	"github.com/docker/buildx/util/progress"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/util/progress/progressui"
	"github.com/moby/moby/api/types/system"
	mobyclient "github.com/moby/moby/client"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/docker-multiarch/docker-multiarch/contexts"
	"github.com/docker-multiarch/docker-multiarch/driver/builders"
	"github.com/docker-multiarch/docker-multiarch/driver/plan"
	"github.com/docker-multiarch/docker-multiarch/driver/registry"
	"github.com/docker-multiarch/docker-multiarch/internal/testregistry"
)

// engineInfo is an engine that answers `docker info` for a platform (err: it does not answer).
func engineInfo(osType, arch string, err error) *fakeAPI {
	return &fakeAPI{info: func(context.Context) (mobyclient.SystemInfoResult, error) {
		return mobyclient.SystemInfoResult{Info: system.Info{OSType: osType, Architecture: arch}}, err
	}}
}

// testRunner is a runner on a test CLI with no multiarch builder: the current context (whose
// engine is api) builds.
func testRunner(t *testing.T, api mobyclient.APIClient) *Runner {
	t.Helper()
	cli := testCLI(t, api)
	nodes := contexts.New(cli.ContextStore(), nil)
	return New(cli, nodes, builders.New(cli, nodes), nil, registry.New(cli.ConfigFile()))
}

func TestPlanWithoutABuilderUsesTheCurrentContext(t *testing.T) {
	r := testRunner(t, engineInfo("linux", "x86_64", nil))
	dir := contextDir(t)
	res, err := r.Plan(t.Context(), Options{ContextPath: dir, Timeout: time.Minute, Platforms: []string{"linux/arm64,linux/amd64"}, Tags: []string{"reg.example/app:v1"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []plan.Step{
		{Platform: "linux/arm64", Node: "default", BuildxNode: "default", Dockerfile: filepath.Join(dir, "Dockerfile.linux-arm64"), Emulated: true, Strategy: plan.StrategyBuildKit},
		{Platform: "linux/amd64", Node: "default", BuildxNode: "default", Dockerfile: filepath.Join(dir, "Dockerfile"), Strategy: plan.StrategyBuildKit},
	}
	var got []plan.Step
	for _, s := range res.Steps {
		got = append(got, s.Step)
	}
	if res.Builder != "context default" || !slices.Equal(got, want) || !slices.Equal(res.Tags, []string{"reg.example/app:v1"}) {
		t.Errorf("plan %+v\nsteps %+v\nwant %+v", res, got, want)
	}

	// Default platforms: the engine's own; the engine strategy on every step.
	res, err = r.Plan(t.Context(), Options{ContextPath: dir, Timeout: time.Minute, Strategy: plan.StrategyEngine})
	if err != nil || len(res.Steps) != 1 || res.Steps[0].Platform != "linux/amd64" || res.Steps[0].Strategy != plan.StrategyEngine {
		t.Errorf("defaults: %+v, %v", res, err)
	}
}

func TestPlanRefuses(t *testing.T) {
	dir := contextDir(t)
	r := testRunner(t, engineInfo("linux", "x86_64", nil))
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{ContextPath: dir, Timeout: time.Minute, Progress: "fancy"}, `"fancy"`},
		{Options{ContextPath: dir, Timeout: time.Minute, Platforms: []string{"linux/amd64"}, FileFor: []string{"linux/arm64=" + filepath.Join(dir, "Dockerfile")}}, "linux/arm64"},
		{Options{ContextPath: t.TempDir(), Timeout: time.Minute}, "Dockerfile"},
	} {
		if _, err := r.Plan(t.Context(), tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err %v, want %q", tc.o, err, tc.want)
		}
	}
	down := testRunner(t, engineInfo("", "", errors.New("connection refused")))
	if _, err := down.Plan(t.Context(), Options{ContextPath: dir, Timeout: time.Minute}); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("an engine that does not answer: %v", err)
	}
}

func TestBuildDryRunFromAStdinArchive(t *testing.T) {
	r := testRunner(t, engineInfo("linux", "aarch64", nil))
	archive := tarOf(t, map[string]string{"Dockerfile": "FROM scratch\n", "Dockerfile.linux-arm": "FROM scratch\n"})
	md := filepath.Join(t.TempDir(), "md.json")
	os.WriteFile(md, []byte("{}"), 0o644)
	res, err := r.Build(t.Context(), Options{ContextPath: "-", DryRun: true, Timeout: time.Minute, MetadataFile: md,
		Platforms: []string{"linux/arm64", "linux/arm/v7", "linux/amd64"}}, bytes.NewReader(archive), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, s := range res.Steps {
		files = append(files, s.Platform+"="+s.Dockerfile)
	}
	if want := []string{"linux/arm64=Dockerfile", "linux/arm/v7=Dockerfile.linux-arm", "linux/amd64=Dockerfile"}; !res.DryRun || !slices.Equal(files, want) {
		t.Errorf("dry run %v (DryRun %v), want %v", files, res.DryRun, want)
	}
	if _, err := os.Stat(md); err != nil {
		t.Errorf("a dry run touched the metadata file: %v", err)
	}
	if _, err := r.Build(t.Context(), Options{ContextPath: "-", File: "-", Timeout: time.Minute}, bytes.NewReader(archive), io.Discard); err == nil || !strings.Contains(err.Error(), "only once") {
		t.Errorf("two readers of stdin: %v", err)
	}
}

func TestBuildStopsWhenTheBuilderDoesNotLoad(t *testing.T) {
	// The current context's engine answers `docker info` (the fake) but nothing listens where
	// buildx connects: the build stops naming the endpoint, the stale metadata gone and none
	// written.
	r := testRunner(t, engineInfo("linux", "x86_64", nil))
	md := filepath.Join(t.TempDir(), "md.json")
	os.WriteFile(md, []byte(`{"stale":true}`), 0o644)
	_, err := r.Build(t.Context(), Options{ContextPath: contextDir(t), Timeout: 5 * time.Second, MetadataFile: md, Progress: "quiet"}, nil, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `builder "default"`) || !strings.Contains(err.Error(), "no-engine.sock") {
		t.Fatalf("err %v, want the builder and its endpoint named", err)
	}
	if _, err := os.Stat(md); !os.IsNotExist(err) {
		t.Errorf("the stale metadata is still there: %v", err)
	}
}

func TestCheckLoadPicksTheEnginesPlatform(t *testing.T) {
	res := func() *Result {
		return &Result{Steps: []StepResult{{Step: plan.Step{Platform: "linux/amd64"}}, {Step: plan.Step{Platform: "linux/arm64"}}}}
	}
	p := mustParse(t, Options{ContextPath: t.TempDir(), Load: true})

	r := &Runner{dockerCli: testCLI(t, engineInfo("linux", "aarch64", nil))}
	got := res()
	if err := r.checkLoad(t.Context(), &runState{p: p, res: got}); err != nil || got.Steps[0].Loaded || !got.Steps[1].Loaded {
		t.Errorf("an arm64 engine: %+v, %v", got.Steps, err)
	}
	r = &Runner{dockerCli: testCLI(t, engineInfo("linux", "armv7l", nil))}
	if err := r.checkLoad(t.Context(), &runState{p: p, res: res()}); err == nil || !strings.Contains(err.Error(), "no linux/arm/v7 variant") {
		t.Errorf("an arm/v7 engine: %v", err)
	}
	r = &Runner{dockerCli: testCLI(t, engineInfo("", "", errors.New("connection refused")))}
	if err := r.checkLoad(t.Context(), &runState{p: p, res: res()}); err == nil || !strings.Contains(err.Error(), "--load: the current Docker engine does not answer") {
		t.Errorf("an engine that does not answer: %v", err)
	}
	r = &Runner{dockerCli: testCLI(t, engineInfo("", "x86_64", nil))}
	if err := r.checkLoad(t.Context(), &runState{p: p, res: res()}); err == nil {
		t.Error("an engine without an OS type was accepted")
	}
	r = &Runner{dockerCli: testCLI(t, nil)} // not called without --load
	if err := r.checkLoad(t.Context(), &runState{p: mustParse(t, Options{ContextPath: t.TempDir()}), res: res()}); err != nil {
		t.Error(err)
	}
}

func TestRunStepsInParallelFirstFailureCancelsTheRest(t *testing.T) {
	r := &Runner{}
	res := &Result{Steps: []StepResult{
		{Step: plan.Step{Platform: "linux/amd64", Node: "amd0"}},
		{Step: plan.Step{Platform: "linux/arm64", Node: "arm0"}},
		{Step: plan.Step{Platform: "linux/arm/v7", Node: "arm0"}},
	}}
	var running atomic.Int32
	allRunning := make(chan struct{})
	descs, err := r.runSteps(t.Context(), res, func(ctx context.Context, s *StepResult) (ocispec.Descriptor, error) {
		if running.Add(1) == 3 {
			close(allRunning)
		}
		<-allRunning // every step runs at once
		switch s.Platform {
		case "linux/arm64":
			time.Sleep(20 * time.Millisecond)
			return ocispec.Descriptor{}, errors.New("RUN failed")
		case "linux/arm/v7":
			<-ctx.Done() // cancelled by the failure
			return ocispec.Descriptor{}, ctx.Err()
		}
		return ocispec.Descriptor{Digest: digest.FromString(s.Platform)}, nil
	})
	if err == nil || !strings.Contains(err.Error(), "linux/arm64 on node arm0: RUN failed") {
		t.Errorf("err %v", err)
	}
	if res.Steps[0].Digest != digest.FromString("linux/amd64").String() || descs[0].Digest == "" || res.Steps[1].Digest != "" {
		t.Errorf("digests %q %q", res.Steps[0].Digest, res.Steps[1].Digest)
	}
	if res.Steps[1].Duration < 20*time.Millisecond || res.Steps[1].Seconds <= 0 {
		t.Errorf("a failed step's duration: %s (%v s)", res.Steps[1].Duration, res.Steps[1].Seconds)
	}
}

func TestPublishRefusesAStepThatPushedNothing(t *testing.T) {
	r := &Runner{} // no registry: nothing may be published
	res := &Result{Steps: []StepResult{{Step: plan.Step{Platform: "linux/amd64", Node: "amd0"}}, {Step: plan.Step{Platform: "windows/amd64", Node: "win0"}}}}
	p := mustParse(t, Options{ContextPath: t.TempDir(), Push: true, Tags: []string{"reg.example/app:v1"}})
	err := r.publish(t.Context(), &runState{p: p, res: res, descs: []ocispec.Descriptor{{Digest: digest.FromString("a")}, {}}})
	if !errors.Is(err, errNoDescriptor) || !strings.Contains(err.Error(), "windows/amd64 on node win0") {
		t.Errorf("err %v", err)
	}
}

func quietPrinter(t *testing.T) *progress.Printer {
	t.Helper()
	printer, err := progress.NewPrinter(context.Background(), io.Discard, progressui.QuietMode)
	if err != nil {
		t.Fatal(err)
	}
	return printer
}

func TestStepRunner(t *testing.T) {
	reg := testregistry.New(t)
	eng := &fakeEngine{output: classicOutput, finalID: "sha256:" + strings.Repeat("c", 64), platform: "windows/amd64", save: dockerSave(t, nil, 1).archive}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM nanoserver\n"), 0o644)
	r := &Runner{dockerCli: testCLI(t, nil), registry: registryClient(t), facts: func(mobyclient.APIClient) engineFacts { return &fakeFacts{} }}
	p := mustParse(t, Options{ContextPath: dir, Push: true, Tags: []string{reg.Host + "/team/app:v1"}})
	engines := r.newEngineClients()
	engines.clients["win0"] = &dockerutil.ClientAPI{APIClient: eng.api(t)}
	var out bytes.Buffer
	printer, err := progress.NewPrinter(context.Background(), &out, progressui.PlainMode)
	if err != nil {
		t.Fatal(err)
	}
	st := testRun(t, p, engines, printer)
	st.nodes = map[string]builder.Node{}
	run := r.stepRunner(st)
	engineStep := &StepResult{Step: plan.Step{Platform: "windows/amd64", Node: "win0", Dockerfile: filepath.Join(dir, "Dockerfile"), Strategy: plan.StrategyEngine}}
	desc, err := run(t.Context(), engineStep)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := reg.ManifestOf("team/app@" + desc.Digest.String()); !ok {
		t.Errorf("the engine step's %s is not in the registry", desc.Digest)
	}
	_, err = run(t.Context(), &StepResult{Step: plan.Step{Platform: "linux/arm64", Node: "arm0", BuildxNode: "arm0", Dockerfile: filepath.Join(dir, "Dockerfile"), Strategy: plan.StrategyBuildKit}})
	if err == nil || !strings.Contains(err.Error(), "builder node arm0 is not loaded") {
		t.Errorf("a node that was not loaded: %v", err)
	}
	printer.Wait()
	engines.close()
	// The classic builder's output goes through the progress display, as a vertex of its own.
	if !strings.Contains(out.String(), "[windows/amd64 win0] Step 2/4 : RUN echo hi") || !strings.Contains(out.String(), "classic build on the engine of node win0") {
		t.Errorf("the engine's output:\n%s", out.String())
	}
}

func TestEngineStepsPublishAVerifiedIndex(t *testing.T) {
	// The data flow of a build: each platform pushed by digest, then one index on every tag,
	// read back and verified.
	reg := testregistry.New(t)
	r := &Runner{dockerCli: testCLI(t, nil), registry: registryClient(t), facts: func(mobyclient.APIClient) engineFacts { return &fakeFacts{} }}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM nanoserver\n"), 0o644)
	p := mustParse(t, Options{ContextPath: dir, Push: true, Tags: []string{reg.Host + "/team/app:v1", reg.Host + "/team/app:latest"}, Timeout: 10 * time.Second})
	engines := r.newEngineClients()
	res := &Result{}
	for i, plat := range []string{"windows/amd64", "windows/arm64"} {
		node := "win" + string(rune('0'+i))
		save := dockerSaveOf(t, ocispec.Platform{OS: "windows", Architecture: strings.TrimPrefix(plat, "windows/")}, nil, 1)
		eng := &fakeEngine{output: classicOutput, finalID: "sha256:" + strings.Repeat(string(rune('c'+i)), 64), platform: plat, save: save.archive}
		engines.clients[node] = &dockerutil.ClientAPI{APIClient: eng.api(t)}
		res.Steps = append(res.Steps, StepResult{Step: plan.Step{Platform: plat, Node: node, Dockerfile: filepath.Join(dir, "Dockerfile"), Strategy: plan.StrategyEngine}})
	}
	printer := quietPrinter(t)
	descs, err := r.runSteps(t.Context(), res, r.stepRunner(testRun(t, p, engines, printer)))
	printer.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.publish(t.Context(), &runState{p: p, res: res, descs: descs}); err != nil {
		t.Fatal(err)
	}
	if res.Index.Digest == "" || len(res.Published) != 2 {
		t.Fatalf("index %+v, tags %+v", res.Index, res.Published)
	}
	for _, tag := range []string{"v1", "latest"} {
		dt, ok := reg.ManifestOf("team/app:" + tag)
		if !ok || digest.FromBytes(dt) != res.Index.Digest {
			t.Fatalf("%s does not point at the index", tag)
		}
		var idx ocispec.Index
		json.Unmarshal(dt, &idx)
		var plats []string
		for _, m := range idx.Manifests {
			plats = append(plats, m.Platform.OS+"/"+m.Platform.Architecture)
		}
		if !slices.Equal(plats, []string{"windows/amd64", "windows/arm64"}) {
			t.Errorf("%s: platforms %v", tag, plats)
		}
	}
}

func TestRunWithoutABuilderPushesInOneSolve(t *testing.T) {
	r := &Runner{dockerCli: testCLI(t, nil), registry: registryClient(t)}
	dir := contextDir(t)
	p := mustParse(t, Options{ContextPath: dir, Push: true, Tags: []string{"reg.example/app:v1"}, Progress: "quiet"})
	target := builders.Target{Fallback: true, Nodes: []plan.RouteNode{{Name: "default", BuildxNode: "default"}}}
	steps := func(arm string) *Result {
		return &Result{Steps: []StepResult{
			{Step: plan.Step{Platform: "linux/amd64", Node: "default", BuildxNode: "default", Dockerfile: filepath.Join(dir, "Dockerfile")}},
			{Step: plan.Step{Platform: "linux/arm64", Node: "default", BuildxNode: "default", Dockerfile: filepath.Join(dir, arm), Emulated: true}},
		}}
	}
	nodes := map[string]builder.Node{"default": {Node: store.Node{Name: "default", Endpoint: "default"}, Err: errors.New("docker driver: no engine")}}
	err := r.run(t.Context(), &runState{p: p, t: target, res: steps("Dockerfile.linux-arm64"), nodes: nodes, out: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "per-platform Dockerfiles need a multiarch builder") {
		t.Errorf("per-platform Dockerfiles: %v", err)
	}
	// One solve for every platform, on the context's BuildKit: its failure names them all.
	err = r.run(t.Context(), &runState{p: p, t: target, res: steps("Dockerfile"), nodes: nodes, out: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "linux/amd64,linux/arm64 on context default") || !strings.Contains(err.Error(), "no engine") {
		t.Errorf("a node that did not load: %v", err)
	}
}

func TestRunStopsAtAFailedStepBeforePublishing(t *testing.T) {
	r := &Runner{dockerCli: testCLI(t, nil)} // no registry: nothing may be published
	p := mustParse(t, Options{ContextPath: contextDir(t), Push: true, Tags: []string{"reg.example/app:v1"}, Progress: "quiet"})
	res := &Result{Steps: []StepResult{{Step: plan.Step{Platform: "linux/arm64", Node: "arm0", BuildxNode: "arm0", Strategy: plan.StrategyBuildKit}}}}
	err := r.run(t.Context(), &runState{p: p, t: builders.Target{Name: "farm"}, res: res, nodes: map[string]builder.Node{}, out: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "linux/arm64 on node arm0: builder node arm0 is not loaded") {
		t.Errorf("err %v", err)
	}
}

type recorder struct {
	discard
	n atomic.Int32
}

func (r *recorder) Write(*client.SolveStatus) { r.n.Add(1) }

func TestDetachableDropsProgressOnceDetached(t *testing.T) {
	rec := &recorder{}
	d := &detachable{Writer: rec}
	d.Write(&client.SolveStatus{})
	d.detach()
	d.Write(&client.SolveStatus{})
	if rec.n.Load() != 1 {
		t.Errorf("%d statuses reached the printer, want 1", rec.n.Load())
	}
}
