package runner

import (
	"context"
	"io"
	"path/filepath"
	"testing"

	bxdriver "github.com/docker/buildx/driver"
	"github.com/docker/buildx/util/progress"
	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/flags"
	mobyclient "github.com/moby/moby/client"

	"github.com/docker-multiarch/docker-multiarch/driver/plan"
	"github.com/docker-multiarch/docker-multiarch/driver/registry"
)

// testCLI is a Docker CLI on a temp DOCKER_CONFIG (buildx's config beside it) whose engine API is
// api (nil: no engine may be called); buildx and the engine endpoint (DOCKER_HOST) see nothing
// answering.
func testCLI(t *testing.T, api mobyclient.APIClient) command.Cli {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dir)
	config.SetDir(dir) // the CLI reads DOCKER_CONFIG once per process
	t.Setenv("BUILDX_CONFIG", filepath.Join(dir, "buildx"))
	t.Setenv("BUILDX_BUILDER", "")
	t.Setenv("DOCKER_CONTEXT", "")
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(dir, "no-engine.sock")) // nothing answers there
	cli, err := command.NewDockerCli()
	if err != nil {
		t.Fatal(err)
	}
	if err := cli.Initialize(flags.NewClientOptions()); err != nil {
		t.Fatal(err)
	}
	return &fakeCLI{Cli: cli, api: api}
}

// fakeCLI is a Docker CLI whose engine is a fake.
type fakeCLI struct {
	command.Cli
	api mobyclient.APIClient
}

func (c *fakeCLI) Client() mobyclient.APIClient { return c.api }

// fakeDriver is a buildx driver that only says whether it is the moby (docker) driver; any
// other call panics (the embedded nil interface), so a test sees what it reached.
type fakeDriver struct {
	bxdriver.Driver
	moby bool
}

func (d fakeDriver) IsMobyDriver() bool { return d.moby }

func driverHandle(moby bool) *bxdriver.DriverHandle {
	return &bxdriver.DriverHandle{Driver: fakeDriver{moby: moby}}
}

// fakeAPI is a Docker engine API with only the calls a test sets; any other call panics.
type fakeAPI struct {
	mobyclient.APIClient
	info            func(context.Context) (mobyclient.SystemInfoResult, error)
	imageLoad       func(context.Context, io.Reader) (mobyclient.ImageLoadResult, error)
	imageBuild      func(context.Context, io.Reader, mobyclient.ImageBuildOptions) (mobyclient.ImageBuildResult, error)
	imageInspect    func(context.Context, string) (mobyclient.ImageInspectResult, error)
	imageSave       func(context.Context, []string) (mobyclient.ImageSaveResult, error)
	imageRemove     func(context.Context, string, mobyclient.ImageRemoveOptions) (mobyclient.ImageRemoveResult, error)
	containerRemove func(context.Context, string, mobyclient.ContainerRemoveOptions) (mobyclient.ContainerRemoveResult, error)
}

func (f *fakeAPI) Info(ctx context.Context, _ mobyclient.InfoOptions) (mobyclient.SystemInfoResult, error) {
	return f.info(ctx)
}

func (f *fakeAPI) ImageLoad(ctx context.Context, r io.Reader, _ ...mobyclient.ImageLoadOption) (mobyclient.ImageLoadResult, error) {
	return f.imageLoad(ctx, r)
}

func (f *fakeAPI) ImageBuild(ctx context.Context, r io.Reader, o mobyclient.ImageBuildOptions) (mobyclient.ImageBuildResult, error) {
	return f.imageBuild(ctx, r, o)
}

func (f *fakeAPI) ImageInspect(ctx context.Context, id string, _ ...mobyclient.ImageInspectOption) (mobyclient.ImageInspectResult, error) {
	return f.imageInspect(ctx, id)
}

func (f *fakeAPI) ImageSave(ctx context.Context, ids []string, _ ...mobyclient.ImageSaveOption) (mobyclient.ImageSaveResult, error) {
	return f.imageSave(ctx, ids)
}

func (f *fakeAPI) ImageRemove(ctx context.Context, id string, o mobyclient.ImageRemoveOptions) (mobyclient.ImageRemoveResult, error) {
	return f.imageRemove(ctx, id, o)
}

func (f *fakeAPI) ContainerRemove(ctx context.Context, id string, o mobyclient.ContainerRemoveOptions) (mobyclient.ContainerRemoveResult, error) {
	return f.containerRemove(ctx, id, o)
}

func (f *fakeAPI) DaemonHost() string { return "npipe:////./pipe/fake_engine" }

func (f *fakeAPI) Close() error { return nil }

func (f *fakeAPI) Ping(context.Context, mobyclient.PingOptions) (mobyclient.PingResult, error) {
	return mobyclient.PingResult{}, nil
}

// testRun is the run state the pipeline would hold for p building its platforms (its local
// files made for it).
func testRun(t *testing.T, p *parsed, engines *engineClients, printer *progress.Printer) *runState {
	t.Helper()
	st := &runState{p: p, res: &Result{}, engines: engines, printer: printer, out: io.Discard}
	for _, plat := range p.platforms {
		st.res.Steps = append(st.res.Steps, StepResult{Step: plan.Step{Platform: plat}, several: len(p.platforms) > 1})
	}
	files, err := newLocalFiles(st)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(files.close)
	st.files = files
	return st
}

// registryClient is a registry client with an empty Docker config (and its publish locks in a
// temp dir), for the shared fake registry (internal/testregistry).
func registryClient(t *testing.T) *registry.Client {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	return registry.New(configfile.New(filepath.Join(t.TempDir(), "config.json")))
}
