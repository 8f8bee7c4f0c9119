package plugin

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/docker-multiarch/docker-multiarch/contexts"
	"github.com/docker-multiarch/docker-multiarch/driver"
	"github.com/docker-multiarch/docker-multiarch/driver/bake"
	"github.com/docker-multiarch/docker-multiarch/driver/farm"
	"github.com/docker-multiarch/docker-multiarch/driver/plan"
	"github.com/docker-multiarch/docker-multiarch/driver/registry"
	"github.com/docker-multiarch/docker-multiarch/driver/runner"
)

// fakeService is the API a command drives, answering as its test says and keeping what it was
// asked. A method a test does not expect panics (the embedded nil interface).
type fakeService struct {
	driver.Service
	calls     []string
	build     func(driver.BuildOptions) (*driver.BuildResult, error)
	buildCtx  func(context.Context) (*driver.BuildResult, error)
	bake      func(driver.BakeOptions) (*driver.BakeResult, error)
	merge     func(driver.MergeOptions, []string) (driver.MergeResult, error)
	addNode   func(contexts.AddOptions) (contexts.AddResult, error)
	planFarm  func(path string, allow []string, timeout time.Duration) (*driver.FarmPlan, error)
	applyFarm func(*driver.FarmPlan) (driver.FarmResult, error)
}

func (f *fakeService) Build(ctx context.Context, o driver.BuildOptions, _ io.Reader, _ io.Writer) (*driver.BuildResult, error) {
	f.calls = append(f.calls, "Build")
	if f.buildCtx != nil {
		return f.buildCtx(ctx)
	}
	return f.build(o)
}

func (f *fakeService) Bake(_ context.Context, o driver.BakeOptions, _ io.Reader, _ io.Writer) (*driver.BakeResult, error) {
	f.calls = append(f.calls, "Bake")
	return f.bake(o)
}

func (f *fakeService) Merge(_ context.Context, o driver.MergeOptions, from []string) (driver.MergeResult, error) {
	f.calls = append(f.calls, "Merge")
	return f.merge(o, from)
}

func (f *fakeService) AddNode(_ context.Context, o contexts.AddOptions) (contexts.AddResult, error) {
	f.calls = append(f.calls, "AddNode")
	return f.addNode(o)
}

func (f *fakeService) PlanFarm(_ context.Context, path string, _ io.Reader, allow []string, timeout time.Duration) (*driver.FarmPlan, error) {
	f.calls = append(f.calls, "PlanFarm")
	return f.planFarm(path, allow, timeout)
}

func (f *fakeService) ApplyFarm(_ context.Context, p *driver.FarmPlan) (driver.FarmResult, error) {
	f.calls = append(f.calls, "ApplyFarm")
	return f.applyFarm(p)
}

// lockedBuffer is a bytes.Buffer written and read from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type ran struct {
	stdout, stderr string
	err            error
}

// exitCode is what the docker CLI exits with for the command's error, as cli-plugins' Run does.
func (r ran) exitCode() int {
	var st cli.StatusError
	switch {
	case r.err == nil:
		return 0
	case errors.As(r.err, &st):
		return st.StatusCode
	}
	return 1
}

// run runs `docker multiarch ARGS...` against svc, on a Docker CLI of its own (a temp config).
func run(t *testing.T, svc driver.Service, args ...string) ran {
	t.Helper()
	return runIn(t, svc, "", args...)
}

// runIn is run with stdin (a pipe, not a terminal) reading in.
func runIn(t *testing.T, svc driver.Service, in string, args ...string) ran {
	t.Helper()
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv("BUILDX_BUILDER", "")
	old := service
	service = func(command.Cli) driver.Service { return svc }
	t.Cleanup(func() { service = old })
	var out, errOut lockedBuffer // the interrupt handler writes from its own goroutine
	dockerCli, err := command.NewDockerCli(command.WithInputStream(io.NopCloser(strings.NewReader(in))),
		command.WithOutputStream(&out), command.WithErrorStream(&errOut))
	if err != nil {
		t.Fatal(err)
	}
	root := NewRootCommand(dockerCli, BuildInfo{Version: "test"})
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errOut)
	err = root.ExecuteContext(context.Background())
	return ran{stdout: out.String(), stderr: errOut.String(), err: err}
}

func wantIn(t *testing.T, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, got)
		}
	}
}

func TestBuildCommand(t *testing.T) {
	dir := t.TempDir()
	idx := digest.FromString("index")
	var got driver.BuildOptions
	svc := &fakeService{build: func(o driver.BuildOptions) (*driver.BuildResult, error) {
		got = o
		return &driver.BuildResult{Builder: "farm", Tags: o.Tags, Index: ocispec.Descriptor{Digest: idx},
			Steps: []runner.StepResult{
				{Step: plan.Step{Platform: "linux/amd64", Node: "amd"}, Digest: "sha256:aaa", Duration: 2 * time.Second},
				{Step: plan.Step{Platform: "linux/arm64", Node: "arm", Emulated: true}, Digest: "sha256:bbb", Duration: 3 * time.Second},
			},
			Published: []registry.TagState{{Tag: "reg.example/app:1", Now: idx, Index: idx, Touched: true}},
			Warnings:  []string{"a base has no linux/arm64 variant"}, Notes: []string{"no --platform: building every platform"}}, nil
	}}
	r := run(t, svc, "--builder", "farm", "build", "-t", "reg.example/app:1", "--platform", "linux/amd64,linux/arm64", "--push",
		"--test", "app --version", "--file-for", "linux/arm64=Dockerfile.arm", "--timeout", "30s", dir)
	if r.err != nil {
		t.Fatalf("exit %d: %v\n%s", r.exitCode(), r.err, r.stderr)
	}
	if got.Builder != "farm" || !slices.Equal(got.Tags, []string{"reg.example/app:1"}) || !slices.Equal(got.Platforms, []string{"linux/amd64", "linux/arm64"}) ||
		!got.Push || got.Test != "app --version" || !slices.Equal(got.FileFor, []string{"linux/arm64=Dockerfile.arm"}) || got.Timeout != 30*time.Second || got.ContextPath != dir {
		t.Errorf("options %+v", got)
	}
	wantIn(t, "stdout", r.stdout, "PLATFORM", "linux/arm64", "arm", "sha256:bbb", idx.String()+" pushed to [reg.example/app:1]: 2 platforms, verified")
	wantIn(t, "stderr", r.stderr, "WARNING: a base has no linux/arm64 variant", "no --platform: building every platform")

	// Bad input stops before the service is asked; a failure is exit 1 with its message.
	svc.calls = nil
	if r := run(t, svc, "build", "--timeout", "soon", dir); r.err == nil || len(svc.calls) != 0 || !strings.Contains(r.err.Error(), "soon") {
		t.Errorf("a bad --timeout: %v, calls %v", r.err, svc.calls)
	}
	svc.build = func(driver.BuildOptions) (*driver.BuildResult, error) {
		return nil, errors.New("nothing built: node arm does not answer")
	}
	if r := run(t, svc, "build", "--push", "-t", "reg.example/app:1", dir); r.exitCode() != 1 || !strings.Contains(r.err.Error(), "node arm does not answer") || r.stdout != "" {
		t.Errorf("a failed build: exit %d, %v, stdout %q", r.exitCode(), r.err, r.stdout)
	}
	// Without --push, --load or -o the results stay in the cache, and the command says so.
	svc.build = func(o driver.BuildOptions) (*driver.BuildResult, error) { return &driver.BuildResult{}, nil }
	if r := run(t, svc, "build", dir); !strings.Contains(r.stderr, "WARNING: no --push, --load or --output") {
		t.Errorf("stderr %q", r.stderr)
	}
}

func TestBakeCommand(t *testing.T) {
	var got driver.BakeOptions
	svc := &fakeService{bake: func(o driver.BakeOptions) (*driver.BakeResult, error) {
		got = o
		if o.Print {
			return &driver.BakeResult{Print: []byte(`{"target": {}}` + "\n")}, nil
		}
		return &driver.BakeResult{Targets: []bake.TargetResult{{Name: "app", Build: &driver.BuildResult{Builder: "farm",
			Steps: []runner.StepResult{{Step: plan.Step{Platform: "linux/amd64", Node: "amd"}, Digest: "sha256:aaa"}}}}}}, nil
	}}
	r := run(t, svc, "bake", "-f", "docker-bake.hcl", "--set", "*.platform=linux/amd64", "--push", "--allow", "fs.read=..", "app", "tool")
	if r.err != nil {
		t.Fatal(r.err)
	}
	if !slices.Equal(got.Files, []string{"docker-bake.hcl"}) || !slices.Equal(got.Targets, []string{"app", "tool"}) || !got.Push ||
		!slices.Equal(got.Set, []string{"*.platform=linux/amd64"}) || !slices.Equal(got.Allow, []string{"fs.read=.."}) {
		t.Errorf("options %+v", got)
	}
	wantIn(t, "stdout", r.stdout, "app", "linux/amd64", "sha256:aaa")
	if r := run(t, svc, "bake", "--print"); r.err != nil || r.stdout != `{"target": {}}`+"\n" {
		t.Errorf("--print: %v, %q (buildx's definition, as it is)", r.err, r.stdout)
	}
}

func TestMergeCommand(t *testing.T) {
	idx := digest.FromString("merged")
	var got driver.MergeOptions
	var from []string
	svc := &fakeService{merge: func(o driver.MergeOptions, f []string) (driver.MergeResult, error) {
		got, from = o, f
		return driver.MergeResult{Index: ocispec.Descriptor{Digest: idx}, JSON: []byte(`{"schemaVersion":2}`),
			Entries: []registry.MergeEntry{{Platform: "linux/amd64", Digest: "sha256:aaa", Source: "reg.example/app:amd64"}}}, nil
	}}
	r := run(t, svc, "merge", "-t", "reg.example/app:1", "--from-metadata", "a.json", "--from-metadata", "b.json", "--annotation", "index:org.opencontainers.image.source=https://example.com")
	if r.err != nil {
		t.Fatal(r.err)
	}
	if !slices.Equal(got.Tags, []string{"reg.example/app:1"}) || !slices.Equal(from, []string{"a.json", "b.json"}) || got.Annotations["org.opencontainers.image.source"] != "https://example.com" {
		t.Errorf("options %+v, from %v", got, from)
	}
	wantIn(t, "stdout", r.stdout, "linux/amd64", "reg.example/app:amd64", idx.String()+" pushed to [reg.example/app:1]: 1 platforms, verified")
	if r := run(t, svc, "merge", "-t", "reg.example/app:1", "--dry-run", "reg.example/app:amd64"); r.err != nil || strings.TrimSpace(r.stdout) != `{"schemaVersion":2}` {
		t.Errorf("--dry-run: %v, %q", r.err, r.stdout)
	}
	svc.calls = nil
	if r := run(t, svc, "merge", "-t", "reg.example/app:1"); r.err == nil || len(svc.calls) != 0 || !strings.Contains(r.err.Error(), "--from-metadata") {
		t.Errorf("no source: %v, calls %v", r.err, svc.calls)
	}
}

func TestNodeAddCommand(t *testing.T) {
	var got contexts.AddOptions
	svc := &fakeService{addNode: func(o contexts.AddOptions) (contexts.AddResult, error) {
		got = o
		return contexts.AddResult{Node: contexts.Node{Name: o.Name, Endpoint: "tcp://u:hunter2@10.0.0.5:2376",
			Data: contexts.Data{Platforms: []string{"linux/arm64"}, PlatformSource: contexts.SourceEngine, Engine: contexts.Engine{Version: "29.1.0"}}}}, nil
	}}
	r := run(t, svc, "node", "add", "arm-box", "--host", "ssh://ci@arm-box", "--platform", "linux/arm64", "--description", "the arm runner", "--timeout", "5s")
	if r.err != nil {
		t.Fatal(r.err)
	}
	if got.Name != "arm-box" || got.Host != "ssh://ci@arm-box" || !slices.Equal(got.Platforms, []string{"linux/arm64"}) || got.Description != "the arm runner" || got.Timeout != 5*time.Second {
		t.Errorf("options %+v", got)
	}
	if r.stdout != "arm-box\n" || strings.Contains(r.stderr, "hunter2") {
		t.Errorf("stdout %q, stderr %q (the name on stdout; no password anywhere)", r.stdout, r.stderr)
	}
	wantIn(t, "stderr", r.stderr, `node "arm-box": linux/arm64, detected from engine 29.1.0`)
	svc.calls = nil
	if r := run(t, svc, "node", "add"); r.err == nil || len(svc.calls) != 0 {
		t.Errorf("no name: %v, calls %v", r.err, svc.calls)
	}
}

func TestApplyCommand(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "multiarch.yaml")
	if err := os.WriteFile(path, []byte("nodes: [{name: amd, host: 'unix:///a'}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file, err := farm.Load(path, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	plan := &driver.FarmPlan{File: file, Changes: []farm.Change{{Kind: "node", Name: "amd", Action: "create", Changes: []string{"host unix:///a"}}}}
	var gotAllow []string
	svc := &fakeService{
		planFarm: func(p string, allow []string, _ time.Duration) (*driver.FarmPlan, error) {
			gotAllow = allow
			return plan, nil
		},
		applyFarm: func(*driver.FarmPlan) (driver.FarmResult, error) {
			return driver.FarmResult{Changes: plan.Changes, Warnings: []string{"node amd: offline"}}, nil
		},
	}
	r := run(t, svc, "apply", "-f", path, "--dry-run", "--allow", "fs.read=/etc/certs")
	if r.err != nil || !slices.Equal(svc.calls, []string{"PlanFarm"}) || !slices.Equal(gotAllow, []string{"fs.read=/etc/certs"}) {
		t.Fatalf("--dry-run: %v, calls %v, allow %v", r.err, svc.calls, gotAllow)
	}
	wantIn(t, "dry run", r.stderr, "dry run of "+path+": 1 of 1 entries would change; nothing written")
	wantIn(t, "dry run", r.stdout, "node", "amd", "create")
	svc.calls = nil
	r = run(t, svc, "apply", "-f", path, "--format", "json")
	if r.err != nil || !slices.Equal(svc.calls, []string{"PlanFarm", "ApplyFarm"}) {
		t.Fatalf("apply: %v, calls %v", r.err, svc.calls)
	}
	wantIn(t, "apply --format json", r.stdout, `"kind":"node"`, `"name":"amd"`, `"action":"create"`)
	wantIn(t, "apply", r.stderr, "WARNING: node amd: offline", path+" applied: 1 of 1 entries changed")
	svc.calls = nil
	if r := run(t, svc, "apply"); r.err == nil || len(svc.calls) != 0 || !strings.Contains(r.err.Error(), "-f FILE") {
		t.Errorf("no file: %v, calls %v", r.err, svc.calls)
	}
}
